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
