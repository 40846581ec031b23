import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** Folders that never hold task inputs, whatever the ignore files say. */
const ALWAYS_SKIPPED = new Set(['.git', 'node_modules', '.nx', '.stride']);

interface IgnoreScope {
  /** Workspace-relative folder the rules were written in ('' for the root). */
  base: string;
  rules: Ignore;
}

/**
 * Lists every file of the workspace that can be a task input, as sorted
 * workspace-relative POSIX paths, honouring `.gitignore` files at every level
 * and the root `.nxignore` the way git and Nx do.
 */
export async function listWorkspaceFiles(root: string): Promise<string[]> {
  const files: string[] = [];
  const rootScopes = await scopesFor(root, '', [], ['.gitignore', '.nxignore']);
  await walk(root, '', rootScopes, files);
  return files.sort();
}

async function walk(root: string, dir: string, scopes: IgnoreScope[], files: string[]): Promise<void> {
  const entries = await readdir(join(root, dir), { withFileTypes: true });
  const subdirs: Promise<void>[] = [];
  for (const entry of entries) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (ALWAYS_SKIPPED.has(entry.name) || isIgnored(scopes, `${path}/`)) continue;
      subdirs.push(scopesFor(root, path, scopes, ['.gitignore']).then((inner) => walk(root, path, inner, files)));
    } else if ((entry.isFile() || entry.isSymbolicLink()) && !isIgnored(scopes, path)) {
      files.push(path);
    }
  }
  await Promise.all(subdirs);
}

async function scopesFor(root: string, dir: string, outer: IgnoreScope[], names: string[]): Promise<IgnoreScope[]> {
  const texts = await Promise.all(names.map((name) => readFile(join(root, dir, name), 'utf8').catch(() => undefined)));
  const present = texts.filter((text): text is string => text !== undefined);
  if (present.length === 0) return outer;
  return [...outer, { base: dir, rules: ignore().add(present.join('\n')) }];
}

function isIgnored(scopes: IgnoreScope[], path: string): boolean {
  for (const scope of scopes) {
    const relative = scope.base ? path.slice(scope.base.length + 1) : path;
    if (relative && scope.rules.ignores(relative)) return true;
  }
  return false;
}
