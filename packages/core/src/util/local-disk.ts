import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `mkdir -p` that always ends. Node's `mkdir(path, { recursive: true })` loops
 * forever (sync and async alike, at 100% CPU) when a parent exists but the
 * child still answers ENOENT: a path under /proc, or under a dangling symlink.
 * It also reports a read-only or full disk as ENOENT. Here each level is tried
 * once: an ENOENT after the parent was made (or found) is final, and every
 * error keeps its own code.
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      // A file, or a link to nowhere, is not a folder to write into.
      const found = await stat(dir);
      if (!found.isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: dir });
      return;
    }
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
  }
  await makeDir(dirname(dir));
  try {
    await mkdir(dir);
  } catch (error) {
    // Made meanwhile by another process: as good as ours. ENOENT again: the file system refuses it.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    await makeDir(dir);
  }
}

/** Error codes of a local disk that cannot take a write: read-only, no permission, full, over quota, failing. */
const DISK_WRITE_CODES: Record<string, string> = {
  EROFS: 'is on a read-only file system',
  EACCES: 'is not writable by this user',
  EPERM: 'is not writable by this user',
  ENOSPC: 'is full',
  EDQUOT: 'is over its disk quota',
  EIO: 'has a failing disk',
};

/** Why a local write failed when the disk (not the code, not the network) is the cause; undefined otherwise. */
export function diskWriteProblem(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? DISK_WRITE_CODES[code] : undefined;
}
