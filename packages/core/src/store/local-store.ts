import { lstatSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StrideError } from '../util/errors.js';
import { assertArchiveSafe, extractArchive, packArchive, readIfSmall, sha256File } from './archive.js';
import { clearOutputs, existingOutputPaths } from './output-paths.js';
import type { OutputsOnDisk } from './outputs-on-disk.js';

/** Layout version of a store entry; entries of another version are ignored. */
export const ENTRY_FORMAT = 1;
const META = 'meta.json';
const ARCHIVE = 'outputs.tar';
const TERMINAL = 'terminal.txt';

/** What the store records of one cached task run. */
export interface EntryMeta {
  format: number;
  hash: string;
  taskId: string;
  createdAt: string;
  durationMs: number;
  /** The declared outputs (workspace-relative, possibly globs) the archive was made from. */
  outputs: string[];
  /** Paths the archive holds at its top level; empty when the task wrote no output. */
  archivedPaths: string[];
  archiveBytes: number;
  /** sha256 of outputs.tar, checked before every restore; null when there is no archive. */
  archiveSha256: string | null;
  terminalBytes: number;
}

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
  ) {}

  entryDir(hash: string): string {
    return join(this.dir, hash.slice(0, 2), hash);
  }

  async lookup(hash: string): Promise<EntryMeta | undefined> {
    try {
      // A few hundred bytes, read for every task of a run: synchronous is cheaper than a promise round trip.
      const meta = JSON.parse(readFileSync(join(this.entryDir(hash), META), 'utf8')) as EntryMeta;
      return meta.format === ENTRY_FORMAT && meta.hash === hash ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /** Archives the task's outputs as they are on disk and stores them under `hash`. */
  async save(request: SaveRequest): Promise<EntryMeta> {
    this.outputsOnDisk?.forget(request.taskId);
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
      await writeFile(join(temp, TERMINAL), request.terminalOutput);
      const meta: EntryMeta = {
        format: ENTRY_FORMAT,
        hash: request.hash,
        taskId: request.taskId,
        createdAt: new Date().toISOString(),
        durationMs: request.durationMs,
        outputs: [...request.outputs],
        archivedPaths,
        archiveBytes,
        archiveSha256,
        terminalBytes: Buffer.byteLength(request.terminalOutput),
      };
      await writeFile(join(temp, META), `${JSON.stringify(meta, null, 2)}\n`);
      await this.publish(temp, request.hash);
      return meta;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  /**
   * Adds an entry made elsewhere (a remote artifact), assembled and published
   * like any other so readers never see it half-written.
   */
  async importEntry(meta: EntryMeta, writeArchive: ((target: string) => Promise<void>) | undefined, terminalOutput: string): Promise<EntryMeta> {
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
    const terminalOutput = await readFile(join(dir, TERMINAL), 'utf8');
    // Used, for `stride gc`'s least-recently-used order, whether or not anything is extracted.
    const touch = (): Promise<void> => utimes(join(dir, META), new Date(), new Date()).catch(() => undefined);
    if (await this.outputsOnDisk?.match(meta.taskId, meta.hash, outputs)) {
      await touch();
      return { meta, terminalOutput };
    }
    // A small archive is read once: the bytes checked are the bytes unpacked.
    const archive = meta.archiveSha256 ? (readIfSmall(join(dir, ARCHIVE)) ?? join(dir, ARCHIVE)) : join(dir, ARCHIVE);
    if (meta.archiveSha256) {
      const actual = await sha256File(archive);
      if (actual !== meta.archiveSha256) {
        await this.evict(meta.hash);
        throw new StrideError(`cache entry ${meta.hash} is corrupt (checksum mismatch); it was removed`);
      }
      await assertArchiveSafe(archive, outputs, this.root);
    }
    this.outputsOnDisk?.forget(meta.taskId);
    await clearOutputs(this.root, outputs);
    if (meta.archiveSha256) await extractArchive(archive, this.root);
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
