import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { outputBase, selectionOf } from './output-paths.js';

/** Folders a task may write to without it being part of its result. */
const NEVER_OUTPUTS = new Set(['node_modules', '.git', '.nx', '.stride', '.cache']);
/** A project folder larger than this is not checked: the check must stay cheap. */
const MAX_ENTRIES = 20_000;

/**
 * Files under `dir` (workspace-relative) modified at or after `sinceMs` that
 * no declared output covers: what a task wrote but Stride will not cache, so a
 * restore would leave them out. Only the task's own project folder is looked
 * at, which is where such writes usually go. A path a negated output
 * excludes is not reported: the target says it is deliberately not a result.
 */
export async function strayWrites(root: string, dir: string, sinceMs: number, outputs: readonly string[]): Promise<string[]> {
  const { positive, excluded } = selectionOf(outputs);
  const covered = positive.map(outputBase).map((base) => base.replace(/\/+$/, ''));
  const isCovered = (path: string): boolean => covered.some((base) => base === '' || path === base || path.startsWith(`${base}/`)) || excluded?.(path) === true;
  const found: string[] = [];
  let seen = 0;
  const walk = async (relative: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(root, relative));
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (++seen > MAX_ENTRIES || NEVER_OUTPUTS.has(name)) continue;
      const path = relative === '' || relative === '.' ? name : `${relative}/${name}`;
      if (isCovered(path)) continue;
      const info = await lstat(join(root, path)).catch(() => undefined);
      if (!info) continue;
      if (info.isDirectory()) await walk(path);
      else if (info.mtimeMs >= sinceMs) found.push(path);
    }
  };
  await walk(dir);
  return found;
}
