import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { makeDir } from '../util/local-disk.js';

/** Nx's cache hashes, and anything else a client may name: letters, digits, `-`, `_`; no path in them. */
export function isValidBlobHash(hash: string): boolean {
  return /^[A-Za-z0-9_-]{1,128}$/.test(hash);
}

/** More bytes arrived than the request announced, or than the limit allows. */
export class BodyTooLargeError extends Error {}

/**
 * Opaque blobs by hash on local disk (`<dir>/<hash[0..2]>/<hash>`): the disk
 * tier of `stride serve`. A blob is written to a temp file and linked into
 * place, so readers never see a partial one and an existing blob is never
 * replaced (the link fails).
 */
export class DiskBlobs {
  constructor(readonly dir: string) {}

  path(hash: string): string {
    return join(this.dir, hash.slice(0, 2), hash);
  }

  async size(hash: string): Promise<number | undefined> {
    try {
      return (await stat(this.path(hash))).size;
    } catch {
      return undefined;
    }
  }

  /** A fresh temp file path inside the store (same file system, so linking is atomic). */
  async tempFile(): Promise<string> {
    // Not Node's recursive mkdir: it never returns for a --dir under /proc or a dangling link.
    await makeDir(join(this.dir, '.tmp'));
    return join(this.dir, '.tmp', `${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  /** Streams `body` into a temp file, refusing more than `maxBytes`; returns its path and size. */
  async receive(body: Readable, maxBytes: number): Promise<{ file: string; bytes: number }> {
    const file = await this.tempFile();
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done(bytes > maxBytes ? new BodyTooLargeError(`the body is over ${maxBytes} bytes`) : null, chunk);
      },
    });
    try {
      await pipeline(body, count, createWriteStream(file));
      return { file, bytes };
    } catch (error) {
      await rm(file, { force: true });
      throw error;
    }
  }

  /** Moves a received temp file into place; 'exists' (and the temp file removed) when the hash is taken. */
  async adopt(hash: string, file: string): Promise<'stored' | 'exists'> {
    const target = this.path(hash);
    await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true });
    try {
      await link(file, target);
      return 'stored';
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return 'exists';
      throw error;
    } finally {
      await rm(file, { force: true });
    }
  }
}
