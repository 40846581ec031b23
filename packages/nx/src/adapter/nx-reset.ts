import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { collectGarbage, LocalStore } from '@stride/core';

/** Where Nx keeps what `nx reset` deletes, as the workspace's Nx resolves it. */
interface NxDirectories {
  cacheDir: string;
  workspaceDataDirectory: string;
}

/** What the last run left: the Nx folders it marked. */
interface MarkedFolders {
  folders: string[];
}

/**
 * Makes `nx reset` reset Stride's local store too, as Nx users expect of a
 * cache (issue 19, item 9). `nx reset` deletes Nx's cache folder and this
 * checkout's workspace-data folder (`--only-cache` the first alone), and calls
 * no plugin, so Stride leaves a small marker file in each: a folder that is
 * there again without its marker was deleted since the last run, and the
 * store's entries, the file-hash cache and the record of restored outputs go
 * the same way. A folder Stride had not marked (the first run, a moved
 * NX_CACHE_DIRECTORY, a fresh CI clone) only gets its marker: nothing cached
 * is dropped for a reason other than a reset.
 */
export async function followNxReset(root: string, strideDir: string, storeDir: string): Promise<string | undefined> {
  const nx = nxDirectories(root);
  if (!nx) return undefined;
  const recordFile = join(strideDir, 'nx-reset-markers.json');
  const marker = `stride-${createHash('sha256').update(storeDir).digest('hex').slice(0, 12)}.marker`;
  const folders = [nx.cacheDir, nx.workspaceDataDirectory];
  const marked = readMarked(recordFile);
  const reset = folders.filter((folder) => marked.includes(folder) && !existsSync(join(folder, marker)));

  let notice: string | undefined;
  if (reset.length > 0) {
    const report = await collectGarbage(new LocalStore(storeDir, root), { maxBytes: 0 }).catch(() => undefined);
    for (const file of ['file-hashes.json', 'outputs.json']) rmSync(join(strideDir, file), { force: true });
    notice = `Nx's cache was reset since the last run (nx reset removed ${reset.join(' and ')}): Stride's local store was cleared too${report ? ` (${report.removed} entries)` : ''}`;
  }
  const nowMarked: string[] = [];
  for (const folder of folders) {
    try {
      // Written only when missing: a fully cached run does two existence checks here, no write.
      if (!existsSync(join(folder, marker))) {
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, marker), 'Stride: deleted with this folder by `nx reset`, it tells Stride to clear its local store too.\n');
      }
      nowMarked.push(folder);
    } catch {
      // A folder Stride cannot write is one it cannot watch: it is left unmarked, never a reason to clear.
    }
  }
  if (nowMarked.join('\n') !== marked.join('\n')) {
    try {
      mkdirSync(strideDir, { recursive: true });
      writeFileSync(recordFile, `${JSON.stringify({ folders: nowMarked } satisfies MarkedFolders)}\n`);
    } catch {
      // Without the record the next run cannot see a reset; it clears nothing either.
    }
  }
  return notice;
}

function readMarked(file: string): string[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<MarkedFolders>;
    return Array.isArray(parsed.folders) ? parsed.folders.filter((f): f is string => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

function nxDirectories(root: string): NxDirectories | undefined {
  try {
    const dirs = createRequire(join(root, 'package.json'))('nx/src/utils/cache-directory.js') as Partial<NxDirectories>;
    return typeof dirs.cacheDir === 'string' && typeof dirs.workspaceDataDirectory === 'string' ? (dirs as NxDirectories) : undefined;
  } catch {
    return undefined;
  }
}
