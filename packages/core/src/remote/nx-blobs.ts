import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { errorMessage } from '../util/errors.js';
import { objectKey, readOrder, signsAt, writeLocation, type Location } from './locations.js';
import { openObject, sealObject } from './remote-cache.js';
import { maskSecrets } from '../util/secrets.js';
import type { ObjectStore } from './s3-store.js';
import { TRUSTED_SCOPE, type RemoteSettings } from './settings.js';
import { type ArtifactSignature, signRecord, verifyRecord } from './signing.js';
import { printable } from '../util/untrusted-text.js';

/**
 * The header line in front of an Nx blob in the bucket. Version 2: the
 * signature covers every field but itself (canonical JSON, signing.ts), and
 * the header names the scope that wrote it. Version 1 headers, whose
 * signature covered only kind, hash and sha256, are refused.
 */
interface BlobHeader {
  magic: 'stride-nx-blob';
  version: 2;
  hash: string;
  bytes: number;
  payloadSha256: string;
  /** The scope whose location it was written to: `trusted`, or the writer's own scope. */
  scope: string;
  signature?: ArtifactSignature;
}
const BLOB_VERSION = 2;

const MAX_HEADER_BYTES = 64 * 1024;
/** Failures in a row after which the bucket is left alone for COOL_DOWN_MS (a server lives long: no switching off for good). */
const FAILURES_BEFORE_COOL_DOWN = 3;
const COOL_DOWN_MS = 30_000;

/**
 * Nx's own cache blobs (the tar archives Nx's HTTP remote cache client sends)
 * in the same bucket, trust tiers and signatures as Stride's artifacts:
 * `<prefix>/trusted/nx/<hash>.blob` or `<prefix>/scopes/<scope>/nx/<hash>.blob`,
 * a JSON header line (size, sha256, writer's scope, a signature over all of
 * it) then the blob. A blob whose bytes
 * do not match, or that lacks a valid signature where one is required, is never
 * served.
 */
export class RemoteNxBlobs {
  private failuresInARow = 0;
  private coolingUntil = 0;
  /** Hashes whose object where this server writes was refused: its next upload replaces it rather than keeping the bad one. */
  private readonly toReplace = new Set<string>();

  constructor(
    private readonly settings: RemoteSettings,
    private readonly objects: ObjectStore,
    private readonly signingKey: KeyObject | undefined,
    private readonly publicKeys: readonly KeyObject[],
    private readonly warn: (message: string) => void,
    private readonly encryptionKey?: Buffer,
  ) {}

  get location(): string {
    return this.objects.location;
  }

  private key(location: Location, hash: string): string {
    return objectKey(this.settings, location, `nx/${hash}.blob`);
  }

  private get available(): boolean {
    return Date.now() >= this.coolingUntil;
  }

  /** Looks the hash up; a verified blob's bytes are written to `dest`. */
  async fetch(hash: string, dest: string, temp: string): Promise<boolean> {
    const canRead = this.settings.mode === 'read-write' || this.settings.mode === 'read-only';
    if (!canRead || !this.available) return false;
    for (const location of readOrder(this.settings)) {
      const key = this.key(location, hash);
      try {
        const downloaded = await this.objects.download(key, temp, this.settings.maxArtifactBytes + MAX_HEADER_BYTES);
        this.succeeded();
        if (downloaded === undefined) continue;
        const opened = await openObject(downloaded.source, this.encryptionKey, `nx-blob:${hash}`);
        // `stride serve` checks and copies blobs from a file: a small one that came in memory is written there.
        if (!('refusal' in opened) && Buffer.isBuffer(opened.source)) await writeFile(temp, opened.source);
        const why = 'refusal' in opened ? opened.refusal : await this.extract(Buffer.isBuffer(opened.source) ? temp : opened.source, hash, location, dest);
        if (why === undefined) return true;
        if (location === writeLocation(this.settings) && this.toReplace.size < 10_000) this.toReplace.add(hash);
        this.warn(`refused remote object ${key}: ${why}`);
      } catch (error) {
        this.failed(error);
        return false;
      } finally {
        await rm(temp, { force: true });
        await rm(`${temp}.plain`, { force: true });
      }
    }
    return false;
  }

  /** Checks the header, size, sha256 and (where required) signature; copies the payload out. Returns why not, or undefined. */
  private async extract(file: string, hash: string, location: Location, dest: string): Promise<string | undefined> {
    const handle = await open(file, 'r');
    let header: BlobHeader;
    let offset: number;
    try {
      const head = Buffer.alloc(Math.min(MAX_HEADER_BYTES, (await handle.stat()).size));
      await handle.read(head, 0, head.length, 0);
      const newline = head.indexOf(10);
      if (newline < 0) return 'it has no header';
      header = JSON.parse(head.subarray(0, newline).toString('utf8')) as BlobHeader;
      offset = newline + 1;
      if (typeof header !== 'object' || header === null || header.magic !== 'stride-nx-blob' || header.hash !== hash) return 'its header names another object';
      if (header.version !== BLOB_VERSION) return `its header is in format ${printable(header.version, 20)}, not ${BLOB_VERSION} (an old format, not wholly signed)`;
      if (typeof header.bytes !== 'number' || typeof header.payloadSha256 !== 'string' || typeof header.scope !== 'string') return 'its header is incomplete';
      if ((await handle.stat()).size - offset !== header.bytes) return 'it is truncated or padded';
    } catch {
      return 'its header is not valid JSON';
    } finally {
      await handle.close();
    }
    const digest = createHash('sha256');
    for await (const chunk of createReadStream(file, { start: offset })) digest.update(chunk as Buffer);
    if (digest.digest('hex') !== header.payloadSha256) return 'its bytes do not match their sha256';
    if (location === 'trusted') {
      if (this.publicKeys.length > 0 && !verifyRecord(this.publicKeys, header, 'stride-nx-blob')) {
        return 'it carries no valid signature from a key in remote.publicKeys over its whole header';
      }
      if (header.scope !== TRUSTED_SCOPE) return `its header says it was written by the scope ${printable(header.scope, 100)}, not trusted`;
    }
    await pipeline(createReadStream(file, { start: offset }), createWriteStream(dest));
    return undefined;
  }

  /** Uploads a blob unless the bucket already has it. */
  async upload(hash: string, file: string, temp: string): Promise<void> {
    const canWrite = this.settings.mode === 'read-write' || this.settings.mode === 'write-only';
    if (!canWrite || !this.available) return;
    const location = writeLocation(this.settings);
    // A developer on the default scope writes nothing to the bucket.
    if (location === undefined) return;
    if (location === 'trusted' && this.publicKeys.length > 0 && !this.signingKey) return;
    // Only a write into trusted/ is signed: a signed blob in a scope (a pull request's token, say) would be
    // a forgery anyone with write access to trusted/ could copy there, so a scope's blob never carries one.
    const signingKey = signsAt(location) ? this.signingKey : undefined;
    const key = this.key(location, hash);
    try {
      const replace = this.toReplace.has(hash);
      if (!replace && (await this.objects.exists(key))) return this.succeeded();
      const digest = createHash('sha256');
      for await (const chunk of createReadStream(file)) digest.update(chunk as Buffer);
      const payloadSha256 = digest.digest('hex');
      const bytes = (await stat(file)).size;
      const unsigned: BlobHeader = {
        magic: 'stride-nx-blob',
        version: BLOB_VERSION,
        hash,
        bytes,
        payloadSha256,
        scope: location === 'trusted' ? TRUSTED_SCOPE : this.settings.scope,
      };
      const header: BlobHeader = signingKey ? { ...unsigned, signature: signRecord(signingKey, unsigned) } : unsigned;
      const out = createWriteStream(temp);
      await new Promise<void>((resolve, reject) => out.write(`${JSON.stringify(header)}\n`, (e) => (e ? reject(e) : resolve())));
      await pipeline(createReadStream(file), out);
      const sent = await sealObject({ file: temp, bytes: (await stat(temp)).size }, this.encryptionKey, `nx-blob:${hash}`, `${temp}.enc`);
      await this.objects.upload(key, sent, replace);
      this.toReplace.delete(hash);
      this.succeeded();
    } catch (error) {
      this.failed(error);
    } finally {
      await rm(temp, { force: true });
      await rm(`${temp}.enc`, { force: true });
    }
  }

  private succeeded(): void {
    this.failuresInARow = 0;
  }

  private failed(error: unknown): void {
    this.failuresInARow++;
    const message = maskSecrets(errorMessage(error));
    if (this.failuresInARow >= FAILURES_BEFORE_COOL_DOWN) {
      this.coolingUntil = Date.now() + COOL_DOWN_MS;
      this.failuresInARow = 0;
      this.warn(`remote ${this.objects.location} failed ${FAILURES_BEFORE_COOL_DOWN} times in a row (last: ${message}); serving from disk only for ${COOL_DOWN_MS / 1000}s`);
    } else {
      this.warn(`remote ${this.objects.location} request failed: ${message}`);
    }
  }
}
