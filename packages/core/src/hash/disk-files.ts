import { lstatSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';

/**
 * Folders a disk-backed file set never descends into, as Nx 24's
 * `includeIgnored` expansion skips them (`node_modules`, `.git`, Nx's and
 * Yarn's caches), plus Stride's own state: `.stride` changes on every run,
 * and a `{workspaceRoot}/**` input that saw it would never hit.
 */
const SKIPPED_PATHS = ['.nx/cache', '.nx/workspace-data', '.yarn/cache'];
const SKIPPED_NAMES = new Set(['node_modules', '.git', '.stride']);

export interface DiskFileSet {
  /** Workspace-relative POSIX globs or plain paths. */
  include: string[];
  exclude: string[];
  /** Folders left out whole: the roots of projects nested in the one that reads. */
  skip?: string[];
}

export interface DiskFiles {
  /** The files found, sorted. */
  files: string[];
  /** Plain paths among the includes that do not exist: their absence is part of the hash. */
  missing: string[];
}

/**
 * The files a file set selects straight from disk, ignored files included
 * (Nx's `includeIgnored: true`). Only the static base of each pattern is
 * walked, so a narrow set never lists the workspace.
 */
export async function listDiskFiles(root: string, set: DiskFileSet): Promise<DiskFiles> {
  const excluded = set.exclude.map((pattern) => picomatch(pattern, { dot: true }));
  const skip = (set.skip ?? []).filter(Boolean);
  const found = new Set<string>();
  const missing: string[] = [];
  for (const pattern of set.include) {
    const { base, isGlob } = picomatch.scan(pattern);
    if (!isGlob) {
      const stat = lstatSync(join(root, pattern), { throwIfNoEntry: false });
      if (!stat) missing.push(pattern);
      else if (stat.isDirectory()) await walk(root, pattern, () => true, skip, found);
      else found.add(pattern);
      continue;
    }
    const matches = picomatch(pattern, { dot: true });
    const start = base.replace(/\/+$/, '');
    if (start && !lstatSync(join(root, start), { throwIfNoEntry: false })?.isDirectory()) continue;
    await walk(root, start, matches, skip, found);
  }
  const files = [...found].filter((file) => !excluded.some((matches) => matches(file)) && !isSkipped(file, skip)).sort();
  return { files, missing: missing.sort() };
}

async function walk(root: string, dir: string, matches: (path: string) => boolean, skip: string[], found: Set<string>): Promise<void> {
  const entries = await readdir(join(root, dir), { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (entry) => {
      const path = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (SKIPPED_NAMES.has(entry.name) || SKIPPED_PATHS.some((skipped) => path === skipped || path.endsWith(`/${skipped}`)) || skip.includes(path)) return;
        await walk(root, path, matches, skip, found);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && matches(path)) {
        found.add(path);
      }
    }),
  );
}

function isSkipped(file: string, skip: string[]): boolean {
  return skip.some((folder) => file.startsWith(`${folder}/`));
}
