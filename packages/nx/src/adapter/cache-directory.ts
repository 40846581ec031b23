import { randomBytes } from 'node:crypto';
import { lstat, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { diskWriteProblem, type EntryMeta, errorMessage, LocalStore, makeDir, type OutputsOnDisk, type RemoteTier, type SaveRequest, type StoreTrust, StrideError } from '@stride/core';

/**
 * Opening the local store. Two kinds of trouble, told apart at startup:
 * - a path that can never be a folder (under /proc, under a file, through a
 *   dangling link) is a setting mistake: an error before any task runs;
 * - a folder that cannot take writes now (read-only, no permission, full) is
 *   the machine's state: the run goes on, restoring what is already there and
 *   running the rest, the remote tier off (its hits land in this folder), and
 *   one warning names the folder, the setting and the fix.
 * The probe writes one byte, so a disk that fills up later is met by `RunStore`.
 */
export async function openCacheDirectory(dir: string, setting: string): Promise<{ writable: true } | { writable: false; problem: string; cause: string }> {
  const tmp = join(dir, '.tmp');
  try {
    await makeDir(dir);
    // `.tmp` is Stride's own: anything there that is not a real folder (a file, a link, put there by whoever
    // can write the folder) is removed, never followed, so it can neither stop the build nor redirect its writes.
    const existing = await lstat(tmp).catch(() => undefined);
    if (existing && (!existing.isDirectory() || existing.isSymbolicLink())) await rm(tmp, { force: true });
    await makeDir(tmp);
    // The name follows the temp-entry pattern, so a run killed right here leaves nothing that lasts.
    const probe = join(tmp, `probe-${process.pid}-${randomBytes(4).toString('hex')}`);
    await writeFile(probe, 'x');
    await rm(probe, { force: true });
    return { writable: true };
  } catch (error) {
    const problem = diskWriteProblem(error);
    if (problem) return { writable: false, problem, cause: errorMessage(error) };
    throw new StrideError(`the cache directory ${dir} cannot be created or used (${errorMessage(error)})`, {
      setting,
      value: dir,
      fix: 'point it at a folder on an ordinary writable file system (not under /proc, a file or a broken link), or unset it for the default ".stride/cache"',
    });
  }
}

/**
 * The local store as a run uses it: a result it cannot store (the directory is
 * read-only or full, or filled up during the run) does not warn once per task.
 * The run's one warning, `warning`, names the folder, the setting, the first
 * cause and the tasks concerned; those results are neither stored nor uploaded.
 */
export class RunStore extends LocalStore {
  private readonly notStored: string[] = [];
  private firstError: unknown;
  /** Results this run could not store: nothing to upload for them. */
  private readonly unstored = new WeakSet<EntryMeta>();

  constructor(
    dir: string,
    root: string,
    outputsOnDisk: OutputsOnDisk,
    private readonly setting: string,
    /** Known at startup to refuse writes: saves are not even tried (and the remote tier was not opened, when one is configured). */
    private readonly unwritable?: { problem: string; cause: string; remoteSkipped: boolean },
    /** Who this run is (LocalStore's trust). */
    trust?: StoreTrust,
  ) {
    super(dir, root, outputsOnDisk, trust);
  }

  override async save(request: SaveRequest): Promise<EntryMeta> {
    if (!this.unwritable) {
      try {
        return await super.save(request);
      } catch (error) {
        this.firstError ??= error;
      }
    }
    this.notStored.push(request.taskId);
    // A marker of a result that was not stored (never uploaded: see guardRemote), not a record anyone reads.
    const meta: EntryMeta = {
      magic: 'stride-artifact',
      format: 0,
      strideFormat: '',
      hash: request.hash,
      taskId: request.taskId,
      createdAt: new Date().toISOString(),
      durationMs: request.durationMs,
      outputs: [...request.outputs],
      archivedPaths: [],
      archiveBytes: 0,
      archiveSha256: null,
      terminalBytes: Buffer.byteLength(request.terminalOutput),
      terminalSha256: '',
      scope: '',
    };
    this.unstored.add(meta);
    return meta;
  }

  /** A remote hit that could not be brought into the directory: the task runs instead. */
  notImported(taskId: string, error: unknown): void {
    this.firstError ??= error;
    this.notStored.push(taskId);
  }

  stored(meta: EntryMeta): boolean {
    return !this.unstored.has(meta);
  }

  get warning(): string | undefined {
    const tasks = [...new Set(this.notStored)];
    if (this.unwritable) {
      const remote = this.unwritable.remoteSkipped ? ', and did not use the remote cache (its hits land in this directory)' : '';
      return `the cache directory ${this.dir} ${this.unwritable.problem} (${this.unwritable.cause}; set by ${this.setting}): this run restored what it holds and ran the rest${tasks.length > 0 ? ` (${tasks.length} not stored)` : ''}${remote}; ${this.fix(this.unwritable.problem)}`;
    }
    if (tasks.length === 0) return undefined;
    const which = tasks.length === 1 ? tasks[0] : `${tasks[0]} and ${tasks.length - 1} more`;
    const problem = diskWriteProblem(this.firstError);
    const cause = errorMessage(this.firstError);
    return problem
      ? `${which}: could not store the result in the local store: the cache directory ${this.dir} ${problem} (${cause}; set by ${this.setting}); the tasks ran; ${this.fix(problem)}`
      : `${which}: could not store the result in the local store: ${cause}; the tasks ran`;
  }

  private fix(problem: string): string {
    const what = /full|quota/.test(problem) ? `free space in ${this.dir}` : `make ${this.dir} writable`;
    return `fix: ${what}, or point ${this.setting.replace(' (environment)', '')} at another folder`;
  }
}

/**
 * The remote tier as the runner sees it: a hit that cannot land in the local
 * store (a full or read-only disk) is a miss, reported by the store's one
 * warning, never a failed build; a result that was not stored is not uploaded.
 */
export function guardRemote(remote: RemoteTier, store: RunStore): RemoteTier {
  return {
    fetch: async (hash, taskId) => {
      try {
        return await remote.fetch(hash, taskId);
      } catch (error) {
        store.notImported(taskId, error);
        return undefined;
      }
    },
    scheduleUpload: (meta) => {
      if (store.stored(meta)) remote.scheduleUpload(meta);
    },
    get readable() {
      return remote.readable;
    },
  };
}
