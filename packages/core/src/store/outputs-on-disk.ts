import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RACY_WINDOW_MS } from '../hash/file-hasher.js';
import { toHex64, xxhashApi } from '../hash/xxhash.js';
import { writeJsonAtomic } from '../util/atomic-write.js';
import { existingOutputPaths, filesUnder } from './output-paths.js';

const FORMAT = 1;

interface Persisted {
  format: number;
  tasks: Record<string, { hash: string; fingerprint: string }>;
}

/**
 * What each task's outputs looked like on disk when Stride last restored them,
 * so a hit whose outputs are still exactly there is not extracted again (Nx's
 * "existing outputs match the cache, left as is"). The fingerprint covers every
 * file under the declared outputs (path, size, mtime, ctime, inode, mode): a file
 * added, removed, edited or rebuilt since changes it, and the restore happens.
 * Files written within the last two seconds are not fingerprinted at all.
 */
export class OutputsOnDisk {
  private tasks: Persisted['tasks'] = {};
  private dirty = false;

  constructor(
    private readonly root: string,
    private readonly file: string,
  ) {}

  /** A missing file is a cold start; an unreadable one is ignored and rewritten, with a warning. */
  async load(): Promise<string | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.file, 'utf8')) as Persisted;
      if (parsed.format === FORMAT && parsed.tasks && typeof parsed.tasks === 'object') this.tasks = parsed.tasks;
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.dirty = true;
      return `ignored an unreadable record of restored outputs at ${this.file}; it will be rebuilt`;
    }
  }

  /** True when the task's outputs are exactly what Stride restored for this hash. */
  async match(taskId: string, hash: string, outputs: readonly string[]): Promise<boolean> {
    const known = this.tasks[taskId];
    if (!known || known.hash !== hash) return false;
    return (await this.fingerprint(outputs)) === known.fingerprint;
  }

  /** Records the outputs as they are now, after a restore; forgets them when they are too fresh to trust. */
  async remember(taskId: string, hash: string, outputs: readonly string[]): Promise<void> {
    const fingerprint = await this.fingerprint(outputs);
    if (fingerprint === undefined) this.forget(taskId);
    else {
      this.tasks[taskId] = { hash, fingerprint };
      this.dirty = true;
    }
  }

  /** The task ran (or its outputs changed some other way): its record no longer holds. */
  forget(taskId: string): void {
    if (!(taskId in this.tasks)) return;
    delete this.tasks[taskId];
    this.dirty = true;
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await writeJsonAtomic(this.file, { format: FORMAT, tasks: this.tasks } satisfies Persisted);
    this.dirty = false;
  }

  private async fingerprint(outputs: readonly string[]): Promise<string | undefined> {
    const files = await filesUnder(this.root, await existingOutputPaths(this.root, outputs));
    const now = Date.now();
    const api = await xxhashApi();
    const state = api.create64();
    for (const file of files) {
      const stat = lstatSync(join(this.root, file), { throwIfNoEntry: false });
      if (!stat || now - stat.mtimeMs < RACY_WINDOW_MS) return undefined;
      // ctime too: unlike mtime, no tool can set it back after an edit.
      state.update(`${file}\0${stat.size}\0${stat.mtimeMs}\0${stat.ctimeMs}\0${stat.ino}\0${stat.mode}\n`);
    }
    return toHex64(state.digest());
  }
}
