import { closeSync, constants, createWriteStream, fstatSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

/**
 * Files of a store folder are read through these, never by plain path reads:
 * whoever can write the folder could put a FIFO there (a plain open blocks in
 * open(2), freezing the event loop, so no timeout ever fires), a device, or a
 * link. The open does not block (O_NONBLOCK), does not follow a link at the
 * last component (O_NOFOLLOW), and what was opened must be a regular file.
 */
const SAFE_OPEN = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

const notRegular = (path: string): NodeJS.ErrnoException => Object.assign(new Error(`not a regular file: ${path}`), { code: 'ENOTREG' });

/** The bytes of `path`, a regular file. */
export function readRegularFileSync(path: string): Buffer {
  const fd = openSync(path, SAFE_OPEN);
  try {
    if (!fstatSync(fd).isFile()) throw notRegular(path);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A descriptor of `path`, a regular file, opened to read: the caller closes it. */
export function openRegularFileSync(path: string): number {
  const fd = openSync(path, SAFE_OPEN);
  try {
    if (!fstatSync(fd).isFile()) throw notRegular(path);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Its size, without reading it: undefined when it is missing; ENOTREG when it is not a regular file. */
export function regularFileSize(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, SAFE_OPEN);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw notRegular(path);
    return info.size;
  } finally {
    closeSync(fd);
  }
}

/**
 * A private copy of `path` (a fresh 0700 folder under the OS temp dir) made
 * through one descriptor, hashed as it is copied: the bytes hashed are exactly
 * the bytes later checked and unpacked from the copy, whatever a writer of the
 * store folder does to the original meanwhile (rename another file over it, or
 * write into it). `remove` deletes the copy.
 */
export async function privateCopy(path: string): Promise<{ file: string; sha256: string; remove: () => Promise<void> }> {
  const handle = await open(path, SAFE_OPEN);
  const dir = await mkdtemp(join(tmpdir(), 'stride-restore-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    if (!(await handle.stat()).isFile()) throw notRegular(path);
    const file = join(dir, 'copy');
    const hash = createHash('sha256');
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(handle.createReadStream({ autoClose: false }), tee, createWriteStream(file, { mode: 0o600, flags: 'wx' }));
    return { file, sha256: hash.digest('hex'), remove };
  } catch (error) {
    await remove();
    throw error;
  } finally {
    await handle.close();
  }
}
