import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FetchedArtifact } from '../remote/remote-cache.js';
import { assertArchiveSafe, extractArchive } from '../store/archive.js';
import { clearOutputs } from '../store/output-paths.js';
import { assertArchiveComplete } from '../store/tar-end.js';
import { StrideError } from '../util/errors.js';

/**
 * Restores a verified artifact straight into the workspace, with no local
 * store in between (`localCache: "nx"`, where Nx keeps the local copy): the
 * same checks as a store restore (every entry matched by a declared output,
 * links resolved; outputs cleared, then extracted) on the bytes that were
 * checked. A small artifact is unpacked from the bytes readArtifact hashed; a
 * large one's archive is copied out of the download into a private folder,
 * hashed as it is copied, so a file swapped in the temp folder meanwhile is
 * refused rather than unpacked. Returns the terminal output to replay.
 */
export async function restoreArtifact(root: string, artifact: FetchedArtifact, outputs: readonly string[]): Promise<string> {
  const { header, payloadOffset, content } = artifact.checked;
  const terminalStart = payloadOffset + header.archiveBytes;
  const terminal = content ? content.subarray(terminalStart, terminalStart + header.terminalBytes) : await readRange(artifact.source as string, terminalStart, header.terminalBytes);
  if (createHash('sha256').update(terminal).digest('hex') !== header.terminalSha256) {
    throw new StrideError(`artifact ${header.hash} changed since it was checked (terminal output); it was not restored`);
  }
  if (header.archiveSha256 === null) {
    await clearOutputs(root, outputs);
    return terminal.toString('utf8');
  }
  if (content) {
    const archive = content.subarray(payloadOffset, terminalStart);
    await assertArchiveSafe(archive, outputs, root);
    await clearOutputs(root, outputs);
    await extractArchive(archive, root);
    return terminal.toString('utf8');
  }
  const copy = await privateSegment(artifact.source as string, payloadOffset, header.archiveBytes);
  try {
    if (copy.sha256 !== header.archiveSha256) throw new StrideError(`artifact ${header.hash} changed since it was checked (checksum mismatch); it was not restored`);
    await assertArchiveComplete(copy.file);
    await assertArchiveSafe(copy.file, outputs, root);
    await clearOutputs(root, outputs);
    await extractArchive(copy.file, root);
  } finally {
    await copy.remove();
  }
  return terminal.toString('utf8');
}

async function readRange(file: string, start: number, bytes: number): Promise<Buffer> {
  if (bytes === 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { start, end: start + bytes - 1 })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `bytes` bytes of `file` from `start`, copied into a fresh 0700 folder under the OS temp dir and hashed on the way. */
async function privateSegment(file: string, start: number, bytes: number): Promise<{ file: string; sha256: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'stride-restore-'));
  const remove = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const target = join(dir, 'outputs.tar');
    const hash = createHash('sha256');
    const tee = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(createReadStream(file, { start, end: start + bytes - 1 }), tee, createWriteStream(target, { mode: 0o600, flags: 'wx' }));
    return { file: target, sha256: hash.digest('hex'), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
