import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { decryptBytes, decryptFile, encryptBytes, encryptFile, isEncrypted } from './encryption.js';
import { join } from 'node:path';
import type { EntryMeta, LocalStore } from '../store/local-store.js';
import { errorMessage } from '../util/errors.js';
import { diskWriteProblem, makeDir } from '../util/local-disk.js';
import { createLimit } from '../util/limit.js';
import { maskSecrets } from '../util/secrets.js';
import { printable } from '../util/untrusted-text.js';
import { mergeTimings, timingsFromJson, type TimingsFile } from '../schedule/timings.js';
import { type ArtifactHeader, type CheckedArtifact, importArtifact, readArtifact, writeArtifact } from './artifact.js';
import { type ObjectBytes, sizeOf } from './s3-http.js';
import { ArtifactTooLargeError, type Downloaded, type ObjectStore } from './s3-store.js';
import { TRUSTED_SCOPE, type RemoteSettings } from './settings.js';
import { type ArtifactSignature, keyId, signRecord, verifyRecord } from './signing.js';
import { type Location, objectKey, readOrder, timingsKey, writeLocation } from './locations.js';

/** What the runner needs of a remote tier. */
export interface RemoteTier {
  /** Looks the hash up remotely; a verified hit lands in the local store. */
  fetch(hash: string, taskId: string): Promise<EntryMeta | undefined>;
  /** Uploads a freshly stored entry in the background. */
  scheduleUpload(meta: EntryMeta): void;
  /** False once reading is off (mode, or the circuit breaker): waiting for an upload is pointless then. */
  readonly readable?: boolean;
}

/**
 * A verified artifact (structure, checksums, trust), held as downloaded (in
 * memory when small, in temp files in the store's `.tmp` when large) until
 * `release`: for a run with no local store, which restores straight from it.
 */
export interface FetchedArtifact {
  readonly header: ArtifactHeader;
  readonly source: Buffer | string;
  readonly checked: CheckedArtifact;
  release(): Promise<void>;
}

/** A download that passed every check, with what its stats need once it is used. */
interface VerifiedDownload {
  artifact: FetchedArtifact;
  bytes: number;
  started: number;
}

export interface RemoteStats {
  hits: number;
  downloadBytes: number;
  downloadMs: number;
  uploads: number;
  uploadBytes: number;
  uploadMs: number;
  /** Uploads skipped because the bucket already held the hash. */
  alreadyStored: number;
  /** Objects found but not restored: corrupt, truncated, unsigned, too large. */
  refused: number;
  /** Uploads still pending when the end-of-run flush gave up. */
  notUploaded: number;
  /** Whether repeated failures switched the remote off during the run. */
  switchedOff: boolean;
  /** Each object found but not restored, and why. */
  refusedObjects: Array<{ taskId: string; key: string; reason: string }>;
  /** Each artifact moved, for timelines: epoch milliseconds (run-relative in a run record). */
  transfers: RemoteTransfer[];
}

export interface RemoteTransfer {
  taskId: string;
  direction: 'down' | 'up';
  startMs: number;
  endMs: number;
  bytes: number;
}

/** A timing history larger than this in the bucket is not read: it cannot be one Stride wrote. */
const MAX_TIMINGS_BYTES = 4 * 1024 * 1024;

/** Failed requests in a row after which the remote is off for the rest of the run. */
const FAILURES_BEFORE_SWITCH_OFF = 3;

/**
 * The S3 remote tier with trust tiers (where each kind of run reads and writes
 * is decided in `locations.ts`): every run reads `<prefix>/trusted/` first; a
 * pull-request or named scope then reads its own `<prefix>/scopes/<scope>/`; a
 * trusted run writes `trusted/`, a developer on the default scope writes
 * nothing, anyone else only its own scope. With public keys configured,
 * nothing from `trusted/` is restored without a valid signature, so an artifact
 * an untrusted job wrote, wherever it wrote it, never reaches a trusted build.
 * Remote trouble never fails a task: it is counted, reported once, and after
 * repeated failures the remote is switched off for the run.
 */
export class RemoteCache implements RemoteTier {
  readonly stats: RemoteStats = { hits: 0, downloadBytes: 0, downloadMs: 0, uploads: 0, uploadBytes: 0, uploadMs: 0, alreadyStored: 0, refused: 0, notUploaded: 0, switchedOff: false, refusedObjects: [], transfers: [] };
  private readonly objectWarnings: string[] = [];
  private connectivityWarning: string | undefined;
  private failuresInARow = 0;
  private readonly limit: <T>(job: () => Promise<T>) => Promise<T>;
  /** Hash-record uploads, apart from the artifacts' limit (EXPLAIN_UPLOADS_AT_ONCE). */
  private readonly explainLimit: <T>(job: () => Promise<T>) => Promise<T>;
  private readonly pending = new Set<Promise<void>>();
  /**
   * Keys this run found missing: their upload skips the existence check (the
   * conditional write still keeps a copy another machine stored meanwhile), which
   * saves a request per task on a cold build.
   */
  private readonly missing = new Set<string>();
  /** Hashes whose trusted object was refused: a trusted writer replaces them. */
  private readonly toReplace = new Set<string>();
  /** Whether the trusted timing history was refused (unsigned or forged where signatures are required). */
  private timingsRefused = false;
  private readonly trusted: boolean;
  private setupWarning: string | undefined;
  private tempDirReady: Promise<void> | undefined;
  private tempCount = 0;
  private readonly runId = randomBytes(4).toString('hex');

  constructor(
    private readonly settings: RemoteSettings,
    private readonly objects: ObjectStore,
    private readonly store: LocalStore,
    private readonly signingKey: KeyObject | undefined,
    private readonly publicKeys: readonly KeyObject[],
    /** STRIDE_ENCRYPTION_KEY: artifacts go up AES-256-GCM encrypted, and nothing unencrypted is restored. */
    private readonly encryptionKey?: Buffer,
  ) {
    this.limit = createLimit(settings.uploadConcurrency);
    this.explainLimit = createLimit(EXPLAIN_UPLOADS_AT_ONCE);
    this.trusted = settings.scope === TRUSTED_SCOPE;
    if (this.trusted && publicKeys.length > 0 && !signingKey && this.canWrite) {
      this.setupWarning = 'this trusted run has no signing key (STRIDE_SIGNING_KEY), so it uploads nothing: trusted readers would refuse unsigned artifacts';
    } else if (signingKey && publicKeys.length > 0 && !publicKeys.some((key) => keyId(key) === keyId(signingKey))) {
      this.setupWarning = `the signing key (${keyId(signingKey)}) is not among remote.publicKeys, so trusted readers will refuse what this run uploads`;
    }
  }

  /**
   * At most one warning line for the whole run, however many requests failed:
   * connectivity, refused objects (the first one named; all of them are in the
   * run record), and setup problems, joined.
   */
  get warnings(): string[] {
    const refused = this.stats.refusedObjects;
    const first = refused[0];
    const refusedLine = first
      ? `refused ${refused.length === 1 ? 'a remote object' : `${refused.length} remote objects`}, ${first.key} (${first.taskId}): ${first.reason}${refused.length > 1 ? `; ${refused.length - 1} more in the run record` : ''}; those tasks ran instead`
      : undefined;
    const parts = [this.setupWarning, this.connectivityWarning, refusedLine, ...this.objectWarnings, ...(this.objects.notes ?? [])].filter((w): w is string => w !== undefined);
    return parts.length > 0 ? [parts.join('; also, ')] : [];
  }

  get readable(): boolean {
    return this.canRead && !this.stats.switchedOff;
  }

  /**
   * Whether what this run builds reaches other machines through the bucket: not
   * on the default scope (which writes nothing), not read-only, not a trusted run
   * without its key. The machines of one sharded job run alike, so when this one
   * shares nothing, waiting for another's task is waiting in vain.
   */
  get sharesResults(): boolean {
    return this.canWrite && writeLocation(this.settings) !== undefined && !(this.trusted && this.publicKeys.length > 0 && !this.signingKey);
  }

  private get canRead(): boolean {
    return this.settings.mode === 'read-write' || this.settings.mode === 'read-only';
  }

  private get canWrite(): boolean {
    return this.settings.mode === 'read-write' || this.settings.mode === 'write-only';
  }

  private key(location: Location, hash: string): string {
    return objectKey(this.settings, location, `${hash}.stride`);
  }

  /** Looks the hash up (trusted/ first); a verified hit is imported into the local store this remote was opened on. */
  async fetch(hash: string, taskId: string): Promise<EntryMeta | undefined> {
    const found = await this.download(hash, taskId);
    if (!found) return undefined;
    try {
      const meta = await importArtifact(this.store, found.artifact.source, found.artifact.checked);
      this.countHit(taskId, found);
      return meta;
    } finally {
      await found.artifact.release();
    }
  }

  /**
   * Looks the hash up like `fetch`, but imports nothing: the verified artifact
   * is handed over as downloaded, for the caller to restore from and release.
   */
  async fetchArtifact(hash: string, taskId: string): Promise<FetchedArtifact | undefined> {
    const found = await this.download(hash, taskId);
    if (!found) return undefined;
    this.countHit(taskId, found);
    return found.artifact;
  }

  private countHit(taskId: string, found: VerifiedDownload): void {
    this.stats.hits++;
    this.stats.downloadBytes += found.bytes;
    this.stats.downloadMs += Date.now() - found.started;
    this.stats.transfers.push({ taskId, direction: 'down', startMs: found.started, endMs: Date.now(), bytes: found.bytes });
  }

  private async download(hash: string, taskId: string): Promise<VerifiedDownload | undefined> {
    if (!this.canRead || this.stats.switchedOff) return undefined;
    for (const location of readOrder(this.settings)) {
      const found = await this.downloadFrom(location, hash, taskId);
      if (found) return found;
      if (this.stats.switchedOff) return undefined;
    }
    return undefined;
  }

  private async downloadFrom(location: Location, hash: string, taskId: string): Promise<VerifiedDownload | undefined> {
    const key = this.key(location, hash);
    const spill = await this.tempFile(hash);
    const started = Date.now();
    // Only large objects were written to disk (spilled, then decrypted beside it).
    const release = async (): Promise<void> => {
      if (existsSync(spill)) {
        await rm(spill, { force: true });
        await rm(`${spill}.plain`, { force: true });
      }
    };
    let handedOver = false;
    try {
      let downloaded: Downloaded | undefined;
      try {
        downloaded = await this.objects.download(key, spill, this.settings.maxArtifactBytes);
        this.succeeded();
      } catch (error) {
        if (error instanceof ArtifactTooLargeError) return this.refuse(taskId, key, hash, location, error.message);
        // A full or read-only local disk is not the remote's fault: the caller reports it, naming the directory.
        if (diskWriteProblem(error)) throw error;
        this.failed(error);
        return undefined;
      }
      if (downloaded === undefined) {
        this.missing.add(key);
        return undefined;
      }
      const opened = await openObject(downloaded.source, this.encryptionKey, `stride-artifact:${hash}`);
      if ('refusal' in opened) return this.refuse(taskId, key, hash, location, opened.refusal);
      let checked;
      try {
        checked = await readArtifact(opened.source, hash, (header) => this.trustProblem(location, header));
      } catch (error) {
        return this.refuse(taskId, key, hash, location, errorMessage(error));
      }
      handedOver = true;
      return { artifact: { header: checked.header, source: opened.source, checked, release }, bytes: downloaded.bytes, started };
    } finally {
      if (!handedOver) await release();
    }
  }

  /**
   * Why an artifact from `location` may not be restored by this run, judged on
   * its header before any byte behind it is read: what trusted/ holds must carry
   * a valid signature over the whole header (with public keys configured) and
   * say it was stored by a trusted run.
   */
  private trustProblem(location: Location, header: ArtifactHeader): string | undefined {
    if (location !== 'trusted') return undefined;
    if (this.publicKeys.length > 0 && !verifyRecord(this.publicKeys, header, 'stride-artifact')) {
      return 'it carries no valid signature from a key in remote.publicKeys over its whole header';
    }
    if (header.scope !== TRUSTED_SCOPE) return `its header says it was stored by the scope ${printable(header.scope, 100)}, not trusted`;
    return undefined;
  }

  /**
   * Uploads a stored entry in the background. `done` runs once the upload is
   * over, whatever became of it (or at once when nothing is uploaded): a caller
   * that packed the entry only to upload it removes it there.
   */
  scheduleUpload(meta: EntryMeta, done?: () => Promise<void>): void {
    if (!this.willUpload) {
      void done?.().catch(() => undefined);
      return;
    }
    const job = this.limit(() => this.upload(meta))
      .finally(() => done?.().catch(() => undefined))
      .finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /** Whether a result stored now would be uploaded: not when nothing may be written, nor after the circuit breaker. */
  get willUpload(): boolean {
    return this.canWrite && !this.stats.switchedOff && writeLocation(this.settings) !== undefined && !(this.trusted && this.publicKeys.length > 0 && !this.signingKey);
  }

  private async upload(meta: EntryMeta): Promise<void> {
    if (this.stats.switchedOff) return;
    const location = writeLocation(this.settings) as Location;
    const key = this.key(location, meta.hash);
    const replace = this.toReplace.has(meta.hash);
    const file = await this.tempFile(meta.hash);
    const started = Date.now();
    try {
      if (!replace && !this.missing.has(key) && (await this.objects.exists(key))) {
        this.succeeded();
        this.stats.alreadyStored++;
        return;
      }
      // A trusted run uploads only what it stored as trusted (and signed, where readers need signatures): anything else
      // would be refused. Only a trusted run's store signs (LocalStore), so nothing in a scope carries a signature.
      if (this.trusted && (meta.scope !== TRUSTED_SCOPE || (this.publicKeys.length > 0 && !meta.signature))) return;
      const { body } = await writeArtifact(this.store, meta, file);
      const bytes = sizeOf(body);
      if (bytes > this.settings.maxArtifactBytes) {
        this.objectWarnings.push(`${meta.taskId}: not uploaded, ${bytes} bytes is over remote.maxArtifactSize`);
        return;
      }
      const sent = await sealObject(body, this.encryptionKey, `stride-artifact:${meta.hash}`, `${file}.enc`);
      const sentBytes = sizeOf(sent);
      const stored = await this.objects.upload(key, sent, replace);
      this.succeeded();
      if (!stored) {
        this.stats.alreadyStored++;
        return;
      }
      this.stats.uploads++;
      this.stats.uploadBytes += sentBytes;
      this.stats.uploadMs += Date.now() - started;
      this.stats.transfers.push({ taskId: meta.taskId, direction: 'up', startMs: started, endMs: Date.now(), bytes: sentBytes });
    } catch (error) {
      this.failed(error);
    } finally {
      // Only large artifacts were written to disk.
      if (existsSync(file)) {
        await rm(file, { force: true });
        await rm(`${file}.enc`, { force: true });
      }
    }
  }

  /**
   * The team's timing history, so a fresh machine schedules well on its first
   * run, read from where artifacts are (`readOrder`): a trusted run and a
   * developer read only the trusted history, a pull-request or named scope its
   * own scope's too. It decides no restore, but it decides how `stride shard`
   * splits the work and how long a machine waits for another: so with public
   * keys configured the trusted history is read only with a valid signature
   * (an unsigned or forged one is ignored, and a trusted run replaces it), and
   * every entry read is bounded (timings.ts).
   */
  async readTimings(): Promise<TimingsFile | undefined> {
    if (!this.canRead || this.stats.switchedOff) return undefined;
    let merged: TimingsFile | undefined;
    for (const location of readOrder(this.settings)) {
      const found = await this.readTimingsFrom(location);
      if (found) merged = merged ? mergeTimings(merged, found) : found;
      if (this.stats.switchedOff) break;
    }
    return merged;
  }

  /** True when the trusted history was refused: a trusted run with the key writes its own signed copy even if no task ran. */
  get timingsNeedReplacing(): boolean {
    return this.timingsRefused && this.trusted && this.canWrite && this.signingKey !== undefined;
  }

  private async readTimingsFrom(location: Location): Promise<TimingsFile | undefined> {
    const key = timingsKey(this.settings, location);
    const spill = await this.tempFile('timings');
    try {
      const downloaded = await this.objects.download(key, spill, MAX_TIMINGS_BYTES);
      this.succeeded();
      if (downloaded === undefined) return undefined;
      const raw: unknown = JSON.parse(Buffer.isBuffer(downloaded.source) ? downloaded.source.toString('utf8') : await readFile(downloaded.source, 'utf8'));
      if (location === 'trusted' && this.publicKeys.length > 0 && !verifyRecord(this.publicKeys, raw, TIMINGS_MAGIC)) {
        if (!this.timingsRefused) {
          this.timingsRefused = true;
          this.objectWarnings.push(`ignored the timing history ${key}: it carries no valid signature from a key in remote.publicKeys${this.trusted && this.signingKey ? '; a trusted run with the signing key replaces it with a signed one' : ''}`);
        }
        return undefined;
      }
      return timingsFromJson(raw);
    } catch (error) {
      if (!(error instanceof ArtifactTooLargeError) && !(error instanceof SyntaxError)) this.failed(error);
      return undefined;
    } finally {
      if (existsSync(spill)) await rm(spill, { force: true });
    }
  }

  /**
   * Merges this run's history into the bucket's copy for its own scope (read,
   * merge, write: two machines writing at once can lose one's newest samples,
   * which only costs a slightly worse order once), signed when it is the
   * trusted history and this run has the key. Written in the end-of-run flush.
   */
  scheduleTimingsUpload(history: () => TimingsFile): void {
    const location = writeLocation(this.settings);
    if (!this.canWrite || this.stats.switchedOff || location === undefined) return;
    if (this.trusted && this.publicKeys.length > 0 && !this.signingKey) return;
    const job = this.limit(async () => {
      // A refused (unsigned, forged) copy is not merged: this run's own history replaces it.
      const current = await this.readTimingsFrom(location);
      if (this.stats.switchedOff) return;
      const merged = current ? mergeTimings(current, history()) : history();
      const body = this.trusted && this.signingKey ? signTimings(this.signingKey, merged) : merged;
      try {
        await this.objects.upload(timingsKey(this.settings, location), Buffer.from(`${JSON.stringify(body, null, 2)}\n`), true);
        this.succeeded();
      } catch (error) {
        this.failed(error);
      }
    }).finally(() => this.pending.delete(job));
    this.pending.add(job);
  }

  /**
   * Objects of `stride why`'s hash records (explain/bucket-records.ts), under this run's write location as
   * `<location>/<name>`: uploaded in the background with the artifacts, flushed with them, never failing the run.
   * `replace: false` keeps what is there (a file set's list is the same whoever writes it).
   */
  scheduleExplainUploads(objects: ReadonlyArray<{ name: string; body: Buffer; replace: boolean }>): void {
    const location = writeLocation(this.settings);
    // Where this run uploads no artifact (a trusted run without the key, a developer), it explains none either.
    if (!this.sharesResults || this.stats.switchedOff || location === undefined) return;
    for (const { name, body, replace } of objects) {
      const job = this.explainLimit(async () => {
        if (this.stats.switchedOff) return;
        try {
          // Records name the workspace's files: with STRIDE_ENCRYPTION_KEY they go up encrypted, as artifacts do.
          const sealed = await sealObject(body, this.encryptionKey, `stride-why:${name}`, '');
          await this.objects.upload(objectKey(this.settings, location, name), sealed, replace);
          this.succeeded();
        } catch (error) {
          this.failed(error);
        }
      }).finally(() => this.pending.delete(job));
      this.pending.add(job);
    }
  }

  /**
   * An explain object by name, from the first location of the run's read order that has it (trusted/ first), as
   * parsed JSON with where it was found; undefined when none has it, it is over `maxBytes`, or it is not JSON.
   * What it holds is unchecked: the caller validates its shape (parseHashRecord, parseFileList).
   */
  async readExplain(name: string, maxBytes: number): Promise<{ value: unknown; location: Location } | undefined> {
    if (!this.canRead || this.stats.switchedOff) return undefined;
    for (const location of readOrder(this.settings)) {
      const key = objectKey(this.settings, location, name);
      const spill = await this.tempFile('explain');
      try {
        const downloaded = await this.objects.download(key, spill, maxBytes);
        this.succeeded();
        if (downloaded === undefined) continue;
        // Encrypted when a key is set (and then nothing unencrypted is read), as artifacts are; a refusal only explains less.
        const opened = await openObject(downloaded.source, this.encryptionKey, `stride-why:${name}`);
        if ('refusal' in opened) return undefined;
        const text = Buffer.isBuffer(opened.source) ? opened.source.toString('utf8') : await readFile(opened.source, 'utf8');
        return { value: JSON.parse(text) as unknown, location };
      } catch (error) {
        if (!(error instanceof ArtifactTooLargeError) && !(error instanceof SyntaxError)) this.failed(error);
        return undefined;
      } finally {
        if (existsSync(spill)) await rm(spill, { force: true });
        if (existsSync(`${spill}.plain`)) await rm(`${spill}.plain`, { force: true });
      }
    }
    return undefined;
  }

  /** Uploads (and the timing history) not yet finished. */
  get pendingUploads(): number {
    return this.pending.size;
  }

  /** Waits for pending uploads, at most `flushTimeoutMs`; what is left is reported. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), this.settings.flushTimeoutMs)));
    const result = await Promise.race([Promise.allSettled([...this.pending]).then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.stats.notUploaded = this.pending.size;
      this.objectWarnings.push(`${this.pending.size} uploads did not finish within ${this.settings.flushTimeoutMs} ms (remote.flushTimeoutMs); they stay in the local store`);
    }
  }

  private refuse(taskId: string, key: string, hash: string, location: Location, why: string): undefined {
    this.stats.refused++;
    this.stats.refusedObjects.push({ taskId, key, reason: why });
    if (location === 'trusted' && this.trusted) this.toReplace.add(hash);
    if (location === 'scope') this.toReplace.add(hash);
    return undefined;
  }

  private succeeded(): void {
    this.failuresInARow = 0;
  }

  private failed(error: unknown): void {
    // Errors from the SDK or the network must never carry a credential, nor raw control characters, into a log.
    const message = printable(maskSecrets(errorMessage(error)), 500);
    this.failuresInARow++;
    if (this.failuresInARow >= FAILURES_BEFORE_SWITCH_OFF) {
      this.stats.switchedOff = true;
      this.connectivityWarning = `remote cache ${this.objects.location} switched off for the rest of this run after ${this.failuresInARow} failed requests (last: ${message}); tasks run and are stored locally`;
    } else if (!this.stats.switchedOff) {
      this.connectivityWarning = `remote cache ${this.objects.location} unavailable (${message}); the tasks concerned ran locally`;
    }
  }

  /**
   * A fresh path in the store's temp folder (created once per run); nothing is
   * written there yet. The name ends in `-<pid>-<8 hex digits>`, the pattern by
   * which `removeAbandonedTemps` clears what a killed run left behind.
   */
  private async tempFile(hash: string): Promise<string> {
    const dir = join(this.store.dir, '.tmp');
    // Not Node's recursive mkdir: it spins forever where the file system refuses the folder (/proc, a dangling link).
    this.tempDirReady ??= makeDir(dir).then(
      () => undefined,
      (error: unknown) => {
        this.tempDirReady = undefined; // tried again on the next download
        throw error;
      },
    );
    await this.tempDirReady;
    return join(dir, `remote-${hash}-${++this.tempCount}-${process.pid}-${this.runId}`);
  }
}

const TIMINGS_MAGIC = 'stride-timings';
/**
 * Hash-record objects are small (a few kB) and many (a task, its file sets, its pointer): sent more at once than
 * artifacts, or a cold run of 200 tasks waits 2-4 s at its end for 600 PUTs four at a time.
 */
const EXPLAIN_UPLOADS_AT_ONCE = 16;

/** The trusted timing history as uploaded: the history, named as such, signed whole (every field but the signature). */
function signTimings(signingKey: KeyObject, timings: TimingsFile): TimingsFile & { magic: typeof TIMINGS_MAGIC; signature: ArtifactSignature } {
  const record = { magic: TIMINGS_MAGIC, ...timings } as const;
  return { ...record, signature: signRecord(signingKey, record) };
}

/**
 * A downloaded object made ready to read: decrypted when a key is set. With a
 * key, an unencrypted object is refused (only holders of the key could have
 * written an encrypted one); without one, an encrypted object is refused.
 * A small object is decrypted in memory, a large one into `<file>.plain`.
 */
export async function openObject(source: Buffer | string, key: Buffer | undefined, context: string): Promise<{ source: Buffer | string } | { refusal: string }> {
  const encrypted = await isEncrypted(source);
  if (!key) return encrypted ? { refusal: 'it is encrypted, and STRIDE_ENCRYPTION_KEY is not set here' } : { source };
  if (!encrypted) return { refusal: 'it is not encrypted, and STRIDE_ENCRYPTION_KEY is set' };
  try {
    if (Buffer.isBuffer(source)) return { source: decryptBytes(key, context, source) };
    await decryptFile(key, context, source, `${source}.plain`);
    return { source: `${source}.plain` };
  } catch (error) {
    return { refusal: errorMessage(error) };
  }
}

/** What goes up: the bytes as they are, or encrypted with `key` (a large object into `encryptedFile`). */
export async function sealObject(body: ObjectBytes, key: Buffer | undefined, context: string, encryptedFile: string): Promise<ObjectBytes> {
  if (!key) return body;
  if (Buffer.isBuffer(body)) return encryptBytes(key, context, body);
  await encryptFile(key, context, body.file, encryptedFile);
  return { file: encryptedFile, bytes: (await stat(encryptedFile)).size };
}
