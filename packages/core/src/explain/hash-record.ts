import { hashText, type TaskFingerprint } from '../hash/task-hash.js';

/** Bumped when a record's shape changes: `stride why` says an older record cannot be compared. */
export const HASH_RECORD_FORMAT = 1;

/**
 * What went into one task hash, kept so that two hashes of the same task can
 * be compared later (`stride why`, the miss causes in the summary). File sets
 * are kept as their digests here; their per-file digests are stored once per
 * digest beside the records, since one project's files feed many tasks.
 */
export interface HashRecord {
  format: number;
  taskId: string;
  hash: string;
  /** When it was recorded (epoch ms). */
  at: number;
  runner: string;
  /** The options the hash covered, as canonical JSON text. */
  options: string;
  /** Label (what selected the files) -> digest of the set. */
  fileSets: Record<string, string>;
  /**
   * Named values (`env:X`, `runtime:cmd`, `npm:pkg`, ...). Environment
   * variables may hold secrets: only a digest of their value is kept, so a record
   * can say "changed" and never what it was.
   */
  values: Record<string, string>;
}

/** [path, content digest] pairs of one file set, sorted by path. */
export type FileList = ReadonlyArray<readonly [string, string]>;

/** Values whose text may be a secret: recorded as a digest only. */
export function isSecretValueName(name: string): boolean {
  return name.startsWith('env:');
}

export async function buildHashRecord(taskId: string, hash: string, fingerprint: TaskFingerprint, optionsText: string, at = Date.now()): Promise<HashRecord> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(fingerprint.values)) values[name] = isSecretValueName(name) ? `digest:${await hashText(value)}` : value;
  return {
    format: HASH_RECORD_FORMAT,
    taskId,
    hash,
    at,
    runner: fingerprint.runner,
    options: optionsText,
    fileSets: Object.fromEntries(fingerprint.fileSets.map(([label, digest]) => [label, digest])),
    values,
  };
}

/** Caps on what is accepted from a record read back (the bucket's are untrusted: anyone a scope lets write made them). */
const MAX_ENTRIES = 100_000;
const MAX_TEXT = 64 * 1024;

const isText = (value: unknown, max = 1024): value is string => typeof value === 'string' && value.length <= max;

/**
 * A hash record read back from storage, checked field by field: undefined for anything that is not exactly a
 * record of this format (a wrong type, an extra-long string, too many entries), so a crafted object in the bucket
 * can make `stride why` say less, never crash it or smuggle more than text into what it prints.
 */
export function parseHashRecord(raw: unknown): HashRecord | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.format !== HASH_RECORD_FORMAT || !isText(r.taskId) || !isText(r.hash, 128) || typeof r.at !== 'number' || !Number.isFinite(r.at)) return undefined;
  if (!isText(r.runner, MAX_TEXT) || !isText(r.options, MAX_TEXT)) return undefined;
  const textMap = (value: unknown): Record<string, string> | undefined => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length > MAX_ENTRIES || !entries.every(([k, v]) => isText(k, MAX_TEXT) && isText(v, MAX_TEXT))) return undefined;
    return Object.fromEntries(entries) as Record<string, string>;
  };
  const fileSets = textMap(r.fileSets);
  const values = textMap(r.values);
  if (!fileSets || !values) return undefined;
  return { format: HASH_RECORD_FORMAT, taskId: r.taskId, hash: r.hash, at: r.at, runner: r.runner, options: r.options, fileSets, values };
}

/** A file set's [path, digest] list read back from storage, checked the same way. */
export function parseFileList(raw: unknown): FileList | undefined {
  if (!Array.isArray(raw) || raw.length > MAX_ENTRIES) return undefined;
  for (const pair of raw) if (!Array.isArray(pair) || pair.length !== 2 || !isText(pair[0], 4096) || !isText(pair[1], 256)) return undefined;
  return raw as FileList;
}
