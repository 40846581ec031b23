import { lstatSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STRIDE_FORMAT_VERSION } from '../hash/task-hash.js';
import { signRecord } from '../remote/signing.js';
import { errorMessage, StrideError } from '../util/errors.js';
import { type ArchiveScan, assertEntriesSafe, extractArchive, packArchive, readIfSmall, scanArchive, sha256File } from './archive.js';
import { ENTRY_FORMAT, ENTRY_MAGIC, type EntryMeta, entryProblem, isTrustedScope, type StoreTrust, trustProblem } from './entry-record.js';
import { assertOutputsSelect, clearOutputs, existingOutputPaths } from './output-paths.js';
import type { OutputsOnDisk } from './outputs-on-disk.js';
import { privateCopy, readRegularFileSync } from '../util/regular-file.js';

export { ENTRY_FORMAT, type EntryMeta, type StoreTrust } from './entry-record.js';
const META = 'meta.json';
const ARCHIVE = 'outputs.tar';
const TERMINAL = 'terminal.txt';

/** Runs that say nothing of their trust are untrusted (a developer's machine). */
const UNTRUSTED: StoreTrust = { scope: 'local' };

export interface StoreHit {
  meta: EntryMeta;
  terminalOutput: string;
}

export interface SaveRequest {
  hash: string;
  taskId: string;
  durationMs: number;
  outputs: readonly string[];
  terminalOutput: string;
}

/**
 * The local content-addressed store: `<dir>/<hash[0..2]>/<hash>/` holds
 * `meta.json`, `outputs.tar` and `terminal.txt`. An entry is assembled in
 * `<dir>/.tmp/` and renamed into place whole, so a reader (or a process killed
 * mid-write) never sees a partial entry, and two writers of one hash simply
 * race to the same content.
 */
export class LocalStore {
  constructor(
    readonly dir: string,
    private readonly root: string,
    /** When given, a restore whose outputs are still on disk as last restored leaves them as they are. */
    private readonly outputsOnDisk?: OutputsOnDisk,
    /** Who this run is: recorded in (and, for a trusted run, signed into) what it stores, and required of what it restores. */
    private readonly trust: StoreTrust = UNTRUSTED,
  ) {}

  /** Entries this run removed because they could not be used, or refused because of who wrote them: hash, and why. */
  private readonly removed = new Map<string, string>();

  /**
   * At most one warning for the run: entries removed as unusable or refused
   * as untrusted (the first named). Each was replaced by the task's fresh run.
   */
  get warnings(): string[] {
    const [first, ...rest] = this.removed;
    if (!first) return [];
    return [`removed ${this.removed.size === 1 ? 'a local cache entry' : `${this.removed.size} local cache entries`} (${first[0]}: ${first[1]}${rest.length > 0 ? `; ${rest.length} more` : ''}); those tasks ran and were stored afresh`];
  }

  entryDir(hash: string): string {
    return join(this.dir, hash.slice(0, 2), hash);
  }

  /**
   * The entry stored under `hash`, when this run may restore it. An entry that
   * cannot be used (garbage or another format's meta.json) is removed, so the
   * task's run stores a fresh one instead of missing forever; so is one a
   * trusted run may not restore (stored by an untrusted scope, or unsigned
   * where public keys are configured), so its own replaces it.
   */
  async lookup(hash: string): Promise<EntryMeta | undefined> {
    let text: string;
    try {
      // A few hundred bytes, read for every task of a run: synchronous is cheaper than a promise round trip.
      text = readRegularFileSync(join(this.entryDir(hash), META)).toString('utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      return this.unusable(hash, `its meta.json cannot be read (${code ?? errorMessage(error)})`);
    }
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      return this.unusable(hash, 'its meta.json is not valid JSON');
    }
    // Written by an older Stride: replaced quietly, as an upgrade does to every entry once.
    const old = typeof record === 'object' && record !== null && typeof (record as { format?: unknown }).format === 'number' && (record as { format: number }).format < ENTRY_FORMAT;
    const problem = entryProblem(record, hash);
    if (problem) return this.unusable(hash, problem, old);
    const meta = record as EntryMeta;
    const refusal = trustProblem(meta, this.trust);
    if (refusal) return this.unusable(hash, `not restored by this trusted run: ${refusal}`);
    return meta;
  }

  private async unusable(hash: string, why: string, quietly = false): Promise<undefined> {
    if (!quietly) this.removed.set(hash, why);
    await this.evict(hash).catch(() => undefined);
    return undefined;
  }

  /** Archives the task's outputs as they are on disk and stores them under `hash`. */
  async save(request: SaveRequest): Promise<EntryMeta> {
    this.outputsOnDisk?.forget(request.taskId);
    assertOutputsSelect(request.outputs);
    const temp = join(this.dir, '.tmp', `${request.hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(temp, { recursive: true });
    try {
      const archivedPaths = await existingOutputPaths(this.root, request.outputs);
      let archiveBytes = 0;
      let archiveSha256: string | null = null;
      if (archivedPaths.length > 0) {
        const archive = join(temp, ARCHIVE);
        await packArchive(this.root, archivedPaths, archive);
        archiveSha256 = await sha256File(archive);
        archiveBytes = (await stat(archive)).size;
      }
      const terminal = Buffer.from(request.terminalOutput);
      await writeFile(join(temp, TERMINAL), terminal);
      const meta = this.sign({
        magic: ENTRY_MAGIC,
        format: ENTRY_FORMAT,
        strideFormat: STRIDE_FORMAT_VERSION,
        hash: request.hash,
        taskId: request.taskId,
        createdAt: new Date().toISOString(),
        durationMs: request.durationMs,
        outputs: [...request.outputs],
        archivedPaths,
        archiveBytes,
        archiveSha256,
        terminalBytes: terminal.length,
        terminalSha256: createHash('sha256').update(terminal).digest('hex'),
        scope: this.trust.scope,
      });
      await writeFile(join(temp, META), `${JSON.stringify(meta, null, 2)}\n`);
      await this.publish(temp, request.hash);
      return meta;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  /** A trusted run with the signing key signs the whole record; nothing else is signed. */
  private sign(meta: EntryMeta): EntryMeta {
    const { signingKey } = this.trust;
    return signingKey && isTrustedScope(this.trust.scope) ? { ...meta, signature: signRecord(signingKey, meta) } : meta;
  }

  /**
   * Adds an entry made elsewhere (a checked remote artifact) with its record
   * as it came, signature included, assembled and published like any other so
   * readers never see it half-written. The terminal output is written as the
   * bytes its sha256 was taken of.
   */
  async importEntry(meta: EntryMeta, writeArchive: ((target: string) => Promise<void>) | undefined, terminalOutput: Buffer): Promise<EntryMeta> {
    const temp = join(this.dir, '.tmp', `${meta.hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(temp, { recursive: true });
    try {
      if (writeArchive) await writeArchive(join(temp, ARCHIVE));
      await writeFile(join(temp, TERMINAL), terminalOutput);
      await writeFile(join(temp, META), `${JSON.stringify(meta, null, 2)}\n`);
      await this.publish(temp, meta.hash);
      return meta;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  /**
   * Replaces the task's outputs with the stored ones and returns the terminal
   * output to replay. The archive is checked (checksum, then every entry)
   * before anything on disk is touched.
   */
  async restore(meta: EntryMeta, outputs: readonly string[]): Promise<StoreHit> {
    const dir = this.entryDir(meta.hash);
    // Anything wrong with the entry's own files removes it, so the task's run stores a whole one.
    const refuse = async (why: string): Promise<never> => {
      await this.evict(meta.hash);
      throw new StrideError(`cache entry ${meta.hash} ${why}; it was removed`);
    };
    let terminal: Buffer;
    try {
      terminal = readRegularFileSync(join(dir, TERMINAL));
    } catch (error) {
      return refuse(`has no readable terminal.txt (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`);
    }
    if (createHash('sha256').update(terminal).digest('hex') !== meta.terminalSha256) return refuse('is corrupt (terminal.txt checksum mismatch)');
    const terminalOutput = terminal.toString('utf8');
    // Used, for `stride gc`'s least-recently-used order, whether or not anything is extracted.
    const touch = (): Promise<void> => utimes(join(dir, META), new Date(), new Date()).catch(() => undefined);
    if (await this.outputsOnDisk?.match(meta.taskId, meta.hash, outputs)) {
      await touch();
      return { meta, terminalOutput };
    }
    // The bytes checked must be the bytes unpacked: a small archive is read once into memory; a large one, for a
    // trusted run, is copied through one descriptor into a private folder and used from there, since whoever can
    // write a shared store folder could swap or rewrite it between the check and the unpack. An untrusted run
    // restores whatever its folder holds anyway (SECURITY.md), so it is spared the copy.
    let archive: Buffer | string = join(dir, ARCHIVE);
    let copy: { remove: () => Promise<void> } | undefined;
    try {
      if (meta.archiveSha256) {
        // One read of the archive hashes it, walks its headers to the end blocks and lists its entries.
        let scan: ArchiveScan;
        try {
          const small = readIfSmall(archive);
          if (small) archive = small;
          else if (isTrustedScope(this.trust.scope)) {
            const copied = await privateCopy(archive);
            copy = copied;
            archive = copied.file;
          }
          scan = await scanArchive(archive);
        } catch (error) {
          return await refuse(`has no readable outputs.tar (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`);
        }
        if (scan.sha256 !== meta.archiveSha256) return await refuse('is corrupt (checksum mismatch)');
        try {
          if (scan.incomplete) {
            throw new StrideError(`incomplete archive: ${scan.incomplete}`, { fix: 'the artifact was not restored; the task runs instead and stores a whole one' });
          }
          await assertEntriesSafe(scan.entries, outputs, this.root);
        } catch (error) {
          await this.evict(meta.hash);
          throw error;
        }
      }
      this.outputsOnDisk?.forget(meta.taskId);
      await clearOutputs(this.root, outputs);
      if (meta.archiveSha256) await extractArchive(archive, this.root);
    } finally {
      await copy?.remove();
    }
    await this.outputsOnDisk?.remember(meta.taskId, meta.hash, outputs);
    await touch();
    return { meta, terminalOutput };
  }

  /**
   * Removes what writers that died (a `kill -9`, a full disk) left in `.tmp`:
   * any temp entry whose process is gone. Never an entry in use: every temp
   * name carries its writer's pid.
   */
  async removeAbandonedTemps(): Promise<number> {
    const tmp = join(this.dir, '.tmp');
    let names: string[];
    // A link in place of .tmp would have this delete what it points to.
    if (!lstatSync(tmp, { throwIfNoEntry: false })?.isDirectory()) return 0;
    try {
      names = await readdir(tmp);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const pid = Number(/-(\d+)-[0-9a-f]{8}(?:\.[a-z]+)?$/.exec(name)?.[1]);
      if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
      await rm(join(tmp, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  async evict(hash: string): Promise<void> {
    const dir = this.entryDir(hash);
    const doomed = join(this.dir, '.tmp', `evict-${hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
    // Renamed away first so a concurrent reader never sees a half-deleted entry.
    await mkdir(join(this.dir, '.tmp'), { recursive: true });
    await rename(dir, doomed).catch(() => undefined);
    await rm(doomed, { recursive: true, force: true });
  }

  private async publish(temp: string, hash: string): Promise<void> {
    const final = this.entryDir(hash);
    await mkdir(join(final, '..'), { recursive: true });
    try {
      await rename(temp, final);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Another process stored the same hash first: its entry is as good as ours.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed writer whose parent died too can linger as a zombie that no one reaps: dead all the same.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
  }
}
