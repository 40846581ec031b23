import { createHash } from 'node:crypto';
import { readFile, readlink, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { existingOutputPaths, filesUnder } from './output-paths.js';

/** Every file of a task's declared outputs and the sha256 of its bytes (a symlink: of its target text). */
export async function digestOutputs(root: string, outputs: readonly string[]): Promise<Record<string, string>> {
  const files = await filesUnder(root, await existingOutputPaths(root, outputs));
  const digests: Record<string, string> = {};
  for (const file of files) {
    const path = join(root, file);
    const info = await lstat(path);
    const bytes = info.isSymbolicLink() ? Buffer.from(`symlink:${await readlink(path)}`) : await readFile(path);
    digests[file] = createHash('sha256').update(bytes).digest('hex');
  }
  return digests;
}

/** The files whose digests differ between two output sets (added, removed or changed), sorted. */
export function differingFiles(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((file) => a[file] !== b[file]).sort();
}

export type VerifyVerdict = 'reproduced' | 'differs-reproducibly' | 'non-deterministic' | 'outputs-differ';

/**
 * Whether a store entry records other outputs than the task declares (its
 * meta.json or artifact header says `["../victim"]`, say): such an entry was
 * made for other paths or edited, and is never "reproduced". `recorded` is
 * untrusted data, of any shape.
 */
export function outputsDiffer(recorded: unknown, declared: readonly string[]): boolean {
  if (!Array.isArray(recorded) || recorded.some((output) => typeof output !== 'string')) return true;
  const a = [...new Set(recorded as string[])].sort();
  const b = [...new Set(declared)].sort();
  return a.length !== b.length || a.some((output, i) => output !== b[i]);
}

/**
 * What two rebuilds say of a restored artifact: both equal to it (reproduced);
 * equal to each other but not to it (poisoned, or built with an input the hash
 * does not see); different from each other (the task is not deterministic).
 */
export function verdictOf(artifact: Record<string, string>, first: Record<string, string>, second: Record<string, string>): { verdict: VerifyVerdict; files: string[] } {
  const between = differingFiles(first, second);
  if (between.length > 0) return { verdict: 'non-deterministic', files: between };
  const against = differingFiles(artifact, first);
  return against.length > 0 ? { verdict: 'differs-reproducibly', files: against } : { verdict: 'reproduced', files: [] };
}
