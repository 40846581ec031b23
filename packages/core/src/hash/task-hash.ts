import { toHex64, xxhashApi } from './xxhash.js';

/**
 * Bumped whenever the meaning of a hash changes (what goes in, how an artifact
 * is laid out), so artifacts of an older Stride are never restored by a newer one.
 */
export const STRIDE_FORMAT_VERSION = '3';

/** Everything a task's hash covers, already resolved to plain values. */
export interface TaskFingerprint {
  /** What runs the task: `@stride/nx:run` plus the command or wrapped executor. */
  runner: string;
  /** The task's resolved options, as JSON-compatible data. */
  options: unknown;
  /**
   * Input file sets as [what selected them, digest of their paths and contents]
   * (see digestFileSet), so a project's files are digested once per run however
   * many tasks include them.
   */
  fileSets: ReadonlyArray<readonly [string, string]>;
  /** Other named values: environment variables, runtime outputs, package versions. */
  values: Readonly<Record<string, string>>;
}

/** The task's content hash, hex. Key order in `options` does not matter. */
export async function computeTaskHash(fingerprint: TaskFingerprint): Promise<string> {
  const api = await xxhashApi();
  const state = api.create64();
  const line = (text: string): void => void state.update(`${text}\n`);
  line(`stride:${STRIDE_FORMAT_VERSION}`);
  line(`runner:${fingerprint.runner}`);
  line(`options:${stableStringify(fingerprint.options)}`);
  for (const [label, digest] of [...fingerprint.fileSets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) line(`files:${label}:${digest}`);
  for (const name of Object.keys(fingerprint.values).sort()) line(`value:${name}=${fingerprint.values[name]}`);
  return toHex64(state.digest());
}

/** One digest for a set of files, from [path, content hash] pairs sorted by path. */
export async function digestFileSet(files: ReadonlyArray<readonly [string, string]>): Promise<string> {
  const api = await xxhashApi();
  const state = api.create64();
  for (const [path, hash] of files) state.update(`${path}\0${hash}\n`);
  return toHex64(state.digest());
}

/** The hash of a text (a canonical description of something hashed as one value), hex. */
export async function hashText(text: string): Promise<string> {
  return toHex64((await xxhashApi()).h64(text));
}

/** JSON with object keys sorted, so equal options always hash equally. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}
