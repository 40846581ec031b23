import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { STRIDE_FORMAT_VERSION } from '../hash/task-hash.js';
import { SMALL_FILE_BYTES } from '../store/archive.js';
import { ENTRY_FORMAT, type EntryMeta, type LocalStore } from '../store/local-store.js';
import { StrideError } from '../util/errors.js';
import type { ObjectBytes } from './s3-http.js';
import { type ArtifactSignature, signArtifact } from './signing.js';

/**
 * The remote artifact: one object per task hash, made of a JSON header line,
 * then the outputs archive, then the terminal output. The header records the
 * sizes and the sha256 of the bytes after it, and (from a trusted writer) an
 * Ed25519 signature over hash, format and that digest.
 */
export interface ArtifactHeader extends Omit<EntryMeta, 'format'> {
  magic: 'stride-artifact';
  version: 1;
  strideFormat: string;
  /** sha256 of archive + terminal bytes. */
  payloadSha256: string;
  signature?: ArtifactSignature;
}

const MAX_HEADER_BYTES = 4 * 1024 * 1024;

/**
 * Packs a local store entry into an artifact: in memory when it is small (up
 * to SMALL_FILE_BYTES, so it never touches the disk on its way up), else into
 * `file`. Returns its header and where its bytes are.
 */
export async function writeArtifact(store: LocalStore, meta: EntryMeta, file: string, signingKey: KeyObject | undefined): Promise<{ header: ArtifactHeader; body: ObjectBytes }> {
  const dir = store.entryDir(meta.hash);
  const parts = [...(meta.archiveSha256 ? [join(dir, 'outputs.tar')] : []), join(dir, 'terminal.txt')];
  const small = parts.reduce((total, part) => total + statSync(part).size, 0) <= SMALL_FILE_BYTES;
  const contents = small ? parts.map((part) => readFileSync(part)) : undefined;
  const digest = createHash('sha256');
  if (contents) for (const content of contents) digest.update(content);
  else for (const part of parts) for await (const chunk of createReadStream(part)) digest.update(chunk as Buffer);
  const payloadSha256 = digest.digest('hex');
  const { format: _format, ...entry } = meta;
  const header: ArtifactHeader = {
    magic: 'stride-artifact',
    version: 1,
    strideFormat: STRIDE_FORMAT_VERSION,
    ...entry,
    terminalBytes: statSync(join(dir, 'terminal.txt')).size,
    payloadSha256,
    ...(signingKey ? { signature: signArtifact(signingKey, meta.hash, payloadSha256) } : {}),
  };
  const headerLine = `${JSON.stringify(header)}\n`;
  if (contents) return { header, body: Buffer.concat([Buffer.from(headerLine), ...contents]) };
  const out = createWriteStream(file);
  await new Promise<void>((resolve, reject) => out.write(headerLine, (e) => (e ? reject(e) : resolve())));
  for (const part of parts) await pipeline(createReadStream(part), out, { end: false });
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return { header, body: { file, bytes: (await stat(file)).size } };
}

/**
 * Reads and checks a downloaded artifact's structure and bytes: the header is
 * well-formed, names the expected hash and format, the sizes add up (a truncated
 * object fails here) and the payload's sha256 matches (a flipped byte fails here).
 * Whether to trust it (signatures) is the caller's decision.
 */
export async function readArtifact(source: string | Buffer, expectedHash: string): Promise<CheckedArtifact> {
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
  let header: ArtifactHeader;
  try {
    header = JSON.parse(headerText) as ArtifactHeader;
  } catch {
    throw bad('malformed (unreadable header)');
  }
  if (header.magic !== 'stride-artifact' || header.version !== 1) throw bad('not a Stride artifact');
  if (header.hash !== expectedHash) throw bad(`stored under the wrong key (it is for ${String(header.hash)})`);
  if (header.strideFormat !== STRIDE_FORMAT_VERSION) throw bad(`from another Stride format (${String(header.strideFormat)})`);
  const payloadOffset = Buffer.byteLength(headerText) + 1;
  if (size !== payloadOffset + header.archiveBytes + header.terminalBytes) throw bad(`truncated or padded (${size} bytes, header says ${payloadOffset + header.archiveBytes + header.terminalBytes})`);
  const digest = createHash('sha256');
  if (content) digest.update(content.subarray(payloadOffset));
  else for await (const chunk of createReadStream(file, { start: payloadOffset })) digest.update(chunk as Buffer);
  if (digest.digest('hex') !== header.payloadSha256) throw bad('corrupt (checksum mismatch)');
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
  let terminalOutput: string;
  if (content) terminalOutput = content.subarray(terminalStart, terminalStart + header.terminalBytes).toString('utf8');
  else {
    const terminal: Buffer[] = [];
    if (header.terminalBytes > 0) {
      for await (const chunk of createReadStream(file, { start: terminalStart, end: terminalStart + header.terminalBytes - 1 })) terminal.push(chunk as Buffer);
    }
    terminalOutput = Buffer.concat(terminal).toString('utf8');
  }
  const { magic: _magic, version: _version, strideFormat: _format, payloadSha256: _digest, signature: _signature, ...entry } = header;
  const writeArchive = content
    ? (target: string) => writeFile(target, content.subarray(payloadOffset, terminalStart))
    : (target: string) => pipeline(createReadStream(file, { start: payloadOffset, end: terminalStart - 1 }), createWriteStream(target));
  return store.importEntry({ format: ENTRY_FORMAT, ...entry }, header.archiveSha256 ? writeArchive : undefined, terminalOutput);
}
