import { open } from 'node:fs/promises';
import { StrideError } from '../util/errors.js';

const BLOCK = 512;

/**
 * Refuses an archive that is not whole. node-tar reads a tar cut at an entry
 * boundary (no end-of-archive blocks) without complaint, so a truncated
 * outputs.tar would restore with outputs missing. This walks the headers only
 * (skipping file data; of a large archive, only header blocks are read): every header's checksum must hold and its data fit,
 * and the walk must end on the two zero blocks that close a tar, followed by
 * nothing but zero padding. Given the bytes that were checksummed, it checks
 * exactly those.
 */
export async function assertArchiveComplete(archive: string | Buffer, part?: { start: number; bytes: number }): Promise<void> {
  const problem = Buffer.isBuffer(archive) ? walkBytes(archive) : await walkFile(archive, part);
  if (problem) {
    throw new StrideError(`incomplete archive: ${problem}`, {
      fix: 'the artifact was not restored; the task runs instead and stores a whole one',
    });
  }
}

/** One step of the header walk: the next header's offset, the end of the archive (after its end blocks), or what is wrong. */
type Step = { next: number } | { endAt: number } | { problem: string };

/** Reads the header at `at` (given up to two blocks from there) of an archive of `size` bytes. */
function step(blocks: Buffer, at: number, size: number): Step {
  if (isZero(blocks.subarray(0, BLOCK))) {
    if (blocks.length < BLOCK * 2 || !isZero(blocks.subarray(BLOCK, BLOCK * 2))) return { problem: `only one end-of-archive block at byte ${at}` };
    return { endAt: at + BLOCK * 2 };
  }
  if (!checksumHolds(blocks.subarray(0, BLOCK))) return { problem: `the header at byte ${at} is damaged (checksum mismatch)` };
  const dataBytes = entrySize(blocks.subarray(0, BLOCK));
  if (dataBytes === undefined) return { problem: `the header at byte ${at} has an unreadable size` };
  const next = at + BLOCK + Math.ceil(dataBytes / BLOCK) * BLOCK;
  return next > size ? { problem: 'it ends inside an entry (truncated)' } : { next };
}

const ranOut = (at: number, size: number): string =>
  at === size ? 'it has no end-of-archive blocks (cut at an entry boundary)' : 'it ends inside a header (truncated)';

function walkBytes(bytes: Buffer): string | undefined {
  let at = 0;
  while (at + BLOCK <= bytes.length) {
    const result = step(bytes.subarray(at, at + BLOCK * 2), at, bytes.length);
    if ('problem' in result) return result.problem;
    if ('endAt' in result) return isZero(bytes.subarray(result.endAt)) ? undefined : `it has data after its end-of-archive blocks (byte ${result.endAt})`;
    at = result.next;
  }
  return ranOut(at, bytes.length);
}

/** The same walk over a file too large to read whole: only header blocks are read, never file data. */
async function walkFile(file: string, part: { start: number; bytes: number } | undefined): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const base = part?.start ?? 0;
    const size = part?.bytes ?? (await handle.stat()).size;
    const buffer = Buffer.alloc(BLOCK * 2);
    let at = 0;
    while (at + BLOCK <= size) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(BLOCK * 2, size - at), base + at);
      const result = step(buffer.subarray(0, bytesRead), at, size);
      if ('problem' in result) return result.problem;
      if ('endAt' in result) {
        // The padding after the end blocks (tar pads to its record size): zeros only.
        for (let from = result.endAt; from < size; from += BLOCK) {
          const read = await handle.read(buffer, 0, Math.min(BLOCK, size - from), base + from);
          if (!isZero(buffer.subarray(0, read.bytesRead))) return `it has data after its end-of-archive blocks (byte ${from})`;
        }
        return undefined;
      }
      at = result.next;
    }
    return ranOut(at, size);
  } finally {
    await handle.close();
  }
}

/**
 * The same walk over an archive that arrives in chunks of any size, for a
 * restore that reads a large archive once to hash it, walk it and list its
 * entries together. `size` is the whole archive's, known up front; `problem()`
 * after the last chunk says what walkBytes would say of the same bytes.
 */
export class TarEndWalk {
  /** Offset of the next header to read. */
  private at = 0;
  /** Bytes from `at` kept from earlier chunks (less than two blocks), and where they start. */
  private carry = Buffer.alloc(0);
  private seen = 0;
  private endAt: number | undefined;
  private found: string | undefined;

  constructor(private readonly size: number) {}

  push(chunk: Buffer): void {
    const start = this.seen;
    this.seen += chunk.length;
    if (this.found !== undefined) return;
    if (this.endAt !== undefined) {
      this.checkPadding(chunk.subarray(Math.max(0, this.endAt - start)));
      return;
    }
    // Only bytes from `at` on matter; a header (up to two blocks) can straddle two chunks.
    const skip = Math.max(0, this.at - start);
    if (skip >= chunk.length) return;
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk.subarray(skip);
    const base = this.carry.length > 0 ? this.at : start + skip;
    this.carry = Buffer.alloc(0);
    const end = base + bytes.length;
    while (this.at + BLOCK * 2 <= end || (this.at + BLOCK <= end && end === this.size)) {
      const from = this.at - base;
      const result = step(bytes.subarray(from, from + BLOCK * 2), this.at, this.size);
      if ('problem' in result) {
        this.found = result.problem;
        return;
      }
      if ('endAt' in result) {
        this.endAt = result.endAt;
        this.checkPadding(bytes.subarray(Math.min(bytes.length, result.endAt - base)));
        return;
      }
      this.at = result.next;
    }
    if (this.at < end) this.carry = Buffer.from(bytes.subarray(this.at - base));
  }

  /** What is wrong with the archive after its last chunk, or undefined when it is whole. */
  problem(): string | undefined {
    if (this.found !== undefined || this.endAt !== undefined) return this.found;
    if (this.carry.length > 0 && this.at + BLOCK <= this.size) {
      // A header closer than two blocks to the end: only an end block could be there, and it lacks its twin.
      const result = step(this.carry, this.at, this.size);
      if ('problem' in result) return result.problem;
      if ('next' in result) this.at = result.next;
    }
    return ranOut(this.at, this.size);
  }

  /** The padding after the end blocks (tar pads to its record size): zeros only. */
  private checkPadding(bytes: Buffer): void {
    if (!isZero(bytes)) this.found = `it has data after its end-of-archive blocks (byte ${this.endAt})`;
  }
}

function isZero(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

/** The ustar checksum: the sum of the header's bytes with the checksum field read as spaces. */
function checksumHolds(header: Buffer): boolean {
  const recorded = parseOctal(header.subarray(148, 156));
  if (recorded === undefined) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum === recorded;
}

/** Bytes of data after a header: octal, or GNU base-256 for large files. Pax and long-name headers carry data too. */
function entrySize(header: Buffer): number | undefined {
  const field = header.subarray(124, 136);
  if (((field[0] as number) & 0x80) !== 0) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] as number);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const type = String.fromCharCode(header[156] as number);
  // Links, folders, devices and FIFOs carry no data whatever their size field says (POSIX).
  if (['1', '2', '3', '4', '5', '6'].includes(type)) return 0;
  return parseOctal(field);
}

function parseOctal(field: Buffer): number | undefined {
  const text = field.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}
