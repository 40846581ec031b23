import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDir } from './local-disk.js';

/**
 * Writes a file so that readers see either the old content or the new, never a
 * torn one: a killed process leaves at most a stray temp file beside it.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  // Not Node's recursive mkdir, which never returns for a path under /proc (say, STRIDE_PROFILE=/proc/x/trace.json).
  await makeDir(dirname(path));
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
