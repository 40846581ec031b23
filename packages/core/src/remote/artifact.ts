import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SMALL_FILE_BYTES } from '../store/archive.js';
import { type EntryMeta, entryProblem } from '../store/entry-record.js';
import type { LocalStore } from '../store/local-store.js';
import { assertArchiveComplete } from '../store/tar-end.js';
import { StrideError } from '../util/errors.js';
import type { ObjectBytes } from './s3-http.js';

/**
 * The remote artifact: one object per task hash, made of a JSON header line,
 * then the outputs archive, then the terminal output. The header is the store
 * entry's record itself (entry-record.ts): sizes and sha256 of both parts, the
 * scope that wrote it, and (from a trusted writer) an Ed25519 signature over
 * every other field, so an imported artifact is a store entry with its
 * signature intact.
 */
export type ArtifactHeader = EntryMeta;

const MAX_HEADER_BYTES = 4 * 1024 * 1024;

/**
 * Packs a local store entry into an artifact: in memory when it is small (up
 * to SMALL_FILE_BYTES, so it never touches the disk on its way up), else into
 * `file`. The header is the entry's record as stored (signed by the trusted run
 * that stored it); its parts must still be the sizes it records.
 */
export async function writeArtifact(store: LocalStore, meta: EntryMeta, file: string): Promise<{ header: ArtifactHeader; body: ObjectBytes }> {
  const dir = store.entryDir(meta.hash);
  const parts = [...(meta.archiveSha256 ? [join(dir, 'outputs.tar')] : []), join(dir, 'terminal.txt')];
  const sizes = parts.map((part) => statSync(part).size);
  if ((meta.archiveSha256 ? (sizes[0] as number) : 0) !== meta.archiveBytes || sizes[sizes.length - 1] !== meta.terminalBytes) {
    throw new StrideError(`cache entry ${meta.hash} changed since it was stored; it was not uploaded`);
  }
  const header = meta;
  const headerLine = `${JSON.stringify(header)}\n`;
  if (sizes.reduce((total, size) => total + size, 0) <= SMALL_FILE_BYTES) {
    return { header, body: Buffer.concat([Buffer.from(headerLine), ...parts.map((part) => readFileSync(part))]) };
  }
  const out = createWriteStream(file);
  await new Promise<void>((resolve, reject) => out.write(headerLine, (e) => (e ? reject(e) : resolve())));
  for (const part of parts) await pipeline(createReadStream(part), out, { end: false });
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return { header, body: { file, bytes: (await stat(file)).size } };
}

/**
 * Reads and checks a downloaded artifact's structure and bytes: the header is
 * a well-formed entry record for the expected hash and format, the sizes add up
 * (a truncated object fails here), the archive's and the terminal output's
 * sha256 match (a flipped byte fails here), and the archive is a whole tar (one
 * cut at an entry boundary fails here). Whether to trust it is the caller's
 * decision, given as `accept`: it sees the header as soon as it is known to be
 * well-formed, before any of the bytes behind it are looked at (a trusted
 * reader checks the signature there), and returns why not, or undefined.
 */
export async function readArtifact(source: string | Buffer, expectedHash: string, accept?: (header: ArtifactHeader) => string | undefined): Promise<CheckedArtifact> {
  const bad = (why: string): StrideError => new StrideError(`artifact ${expectedHash} is ${why}; it was not restored`);
  const size = Buffer.isBuffer(source) ? source.length : (await stat(source)).size;
  // A small artifact is read once, whole; a large one streams (never held in memory).
  const content = Buffer.isBuffer(source) ? source : size <= SMALL_FILE_BYTES ? await readFile(source) : undefined;
  const file = Buffer.isBuffer(source) ? '' : source;
  let head: Buffer;
  if (content) head = content.subarray(0, MAX_HEADER_BYTES);
  else {
    const handle = await open(file, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(MAX_HEADER_BYTES, size));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  const newline = head.indexOf(0x0a);
  if (newline < 0) throw bad('malformed (no header)');
  const headerText = head.subarray(0, newline).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerText);
  } catch {
    throw bad('malformed (unreadable header)');
  }
  // Every field printed from here comes from unsigned bytes: entryProblem passes them through printable().
  const problem = entryProblem(parsed, expectedHash);
  if (problem) throw bad(`not restorable: ${problem}`);
  const header = parsed as ArtifactHeader;
  const refusal = accept?.(header);
  if (refusal) throw new StrideError(refusal);
  const payloadOffset = Buffer.byteLength(headerText) + 1;
  const expected = payloadOffset + header.archiveBytes + header.terminalBytes;
  if (size !== expected) throw bad(`truncated or padded (${size} bytes, header says ${expected})`);
  const archiveDigest = createHash('sha256');
  const terminalDigest = createHash('sha256');
  const terminalStart = payloadOffset + header.archiveBytes;
  if (content) {
    archiveDigest.update(content.subarray(payloadOffset, terminalStart));
    terminalDigest.update(content.subarray(terminalStart));
  } else {
    let at = payloadOffset;
    for await (const chunk of createReadStream(file, { start: payloadOffset }) as AsyncIterable<Buffer>) {
      const split = Math.max(0, Math.min(chunk.length, terminalStart - at));
      if (split > 0) archiveDigest.update(chunk.subarray(0, split));
      if (split < chunk.length) terminalDigest.update(chunk.subarray(split));
      at += chunk.length;
    }
  }
  const archiveOk = header.archiveSha256 === null ? header.archiveBytes === 0 : archiveDigest.digest('hex') === header.archiveSha256;
  if (!archiveOk || terminalDigest.digest('hex') !== header.terminalSha256) throw bad('corrupt (checksum mismatch)');
  if (header.archiveSha256 !== null) {
    try {
      await (content ? assertArchiveComplete(content.subarray(payloadOffset, terminalStart)) : assertArchiveComplete(file, { start: payloadOffset, bytes: header.archiveBytes }));
    } catch (error) {
      throw bad(`not restorable: ${error instanceof Error ? (error.message.split('\n')[0] as string) : String(error)}`);
    }
  }
  return { header, payloadOffset, ...(content ? { content } : {}) };
}

/** A downloaded artifact that passed readArtifact's checks; `content` holds a small one's bytes. */
export interface CheckedArtifact {
  header: ArtifactHeader;
  payloadOffset: number;
  content?: Buffer;
}

/** Copies a checked artifact (from the file or bytes readArtifact checked) into the local store, so it is restored like any local hit. */
export async function importArtifact(store: LocalStore, source: string | Buffer, artifact: CheckedArtifact): Promise<EntryMeta> {
  const { header, payloadOffset, content } = artifact;
  const file = Buffer.isBuffer(source) ? '' : source;
  const terminalStart = payloadOffset + header.archiveBytes;
  let terminal: Buffer;
  if (content) terminal = Buffer.from(content.subarray(terminalStart, terminalStart + header.terminalBytes));
  else {
    const chunks: Buffer[] = [];
    if (header.terminalBytes > 0) {
      for await (const chunk of createReadStream(file, { start: terminalStart, end: terminalStart + header.terminalBytes - 1 })) chunks.push(chunk as Buffer);
    }
    terminal = Buffer.concat(chunks);
  }
  const writeArchive = content
    ? (target: string) => writeFile(target, content.subarray(payloadOffset, terminalStart))
    : (target: string) => pipeline(createReadStream(file, { start: payloadOffset, end: terminalStart - 1 }), createWriteStream(target));
  // The record goes in as it came: a trusted writer's signature keeps verifying in the store.
  return store.importEntry(header, header.archiveSha256 ? writeArchive : undefined, terminal);
}
