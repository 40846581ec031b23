import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { StrideError } from '../util/errors.js';
import { printable } from '../util/untrusted-text.js';
import { linkOnTheWay, removeInside, workspaceRelative } from './confine.js';

/**
 * A task's declared outputs split the way Nx 24 reads them: what the plain
 * outputs select, and the `!` patterns that take paths back out of that
 * selection. A negation never selects anything by itself; it excludes a path
 * when it matches the path or any folder above it (so `!{projectRoot}/dist/tmp`
 * excludes everything under tmp), as Nx's output globs do.
 */
export interface OutputSelection {
  /** The outputs that select paths (no leading `!`). */
  positive: string[];
  /** Whether a workspace-relative path is excluded by a negated output; undefined when there is none. */
  excluded: ((path: string) => boolean) | undefined;
}

export function selectionOf(outputs: readonly string[]): OutputSelection {
  const positive: string[] = [];
  const negated: string[] = [];
  for (const output of outputs) {
    if (typeof output !== 'string' || !output.startsWith('!')) positive.push(output);
    else {
      const pattern = output.slice(1).replace(/\\/g, '/').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      // A bare `!` names nothing (and picomatch refuses an empty pattern): it excludes nothing.
      if (pattern !== '') negated.push(pattern);
    }
  }
  if (negated.length === 0) return { positive, excluded: undefined };
  const matches = picomatch(negated, { dot: true });
  const excluded = (path: string): boolean => {
    const parts = path.split('/');
    for (let i = parts.length; i > 0; i--) if (matches(parts.slice(0, i).join('/'))) return true;
    return false;
  };
  return { positive, excluded };
}

/**
 * Refuses outputs made of negations alone before anything is stored. Nx reads
 * them as "the whole workspace but these": it would archive, and on a hit
 * overwrite, every file of the checkout. Stride stores nothing for them (and
 * selectionOf selects nothing, so nothing is cleared either).
 */
export function assertOutputsSelect(outputs: readonly string[]): void {
  const { positive, excluded } = selectionOf(outputs);
  if (positive.length > 0 || excluded === undefined) return;
  throw new StrideError(`its outputs ${printable(outputs)} are only negated patterns, which select no files (Nx would read them as the whole workspace)`, {
    fix: 'list what the task writes first, then what to leave out of it: ["{projectRoot}/dist", "!{projectRoot}/dist/**/*.map"]',
  });
}

/**
 * A task's declared outputs, workspace-relative: plain paths (a file or a
 * folder) or globs, minus what negated outputs exclude. Resolving them never
 * consults ignore files, since outputs are usually git-ignored. Nothing is
 * found through a symlink: an output below a link (or a glob whose base lies
 * below one) holds nothing of the task's; a glob whose base is itself a link
 * yields the link. Without negations a folder output is returned whole (and
 * archived, cleared and restored whole, empty folders too); with them, as in
 * Nx, it is expanded into the files and links under it that no negation
 * excludes, so an excluded file is neither archived nor cleared.
 */
export async function existingOutputPaths(root: string, outputs: readonly string[]): Promise<string[]> {
  const { positive, excluded } = selectionOf(outputs);
  const found = new Set<string>();
  for (const output of positive) {
    const { base, isGlob } = confinedOutput(output);
    if (linkOnTheWay(root, base) !== undefined) continue;
    if (!isGlob) {
      const info = await lstat(join(root, base)).catch(() => undefined);
      if (!info) continue;
      if (excluded && info.isDirectory()) for (const file of await listTree(root, base)) found.add(file);
      else found.add(base);
      continue;
    }
    if (base !== '' && (await lstat(join(root, base)).catch(() => undefined))?.isSymbolicLink()) {
      found.add(base);
      continue;
    }
    const matches = picomatch(output, { dot: true });
    for (const file of await listTree(root, base)) if (matches(file)) found.add(file);
  }
  return [...found].filter((path) => !excluded?.(path)).sort();
}

/**
 * Removes what a task's declared outputs currently hold, before a restore or a
 * rebuild. Never through a link, never outside the workspace (removeInside).
 */
export async function clearOutputs(root: string, outputs: readonly string[]): Promise<void> {
  for (const path of await existingOutputPaths(root, outputs)) await removeInside(root, path);
}

/** The folder every path of an output lies under: itself, or a glob's static base. */
export function outputBase(output: string): string {
  const { base, isGlob } = picomatch.scan(output);
  return isGlob ? base : output;
}

/**
 * An output's static base, normalized and confined to the workspace. An
 * output that is absolute or climbs out with `..` is refused: Stride caches,
 * clears and restores only what lies inside the workspace.
 */
export function confinedOutput(output: string): { base: string; isGlob: boolean } {
  const { base, isGlob } = typeof output === 'string' ? picomatch.scan(output) : { base: '', isGlob: false };
  const confined = workspaceRelative(isGlob ? base : output);
  const climbs = typeof output === 'string' && output.replace(/\\/g, '/').split('/').includes('..');
  if (confined === undefined || climbs || (confined === '' && !isGlob)) {
    throw new StrideError(`the output ${printable(output)} does not lie inside the workspace`, {
      fix: "declare the target's outputs as paths inside the workspace ({projectRoot}/dist, {workspaceRoot}/dist/x); Stride never clears, stores or restores anything outside it",
    });
  }
  return { base: confined, isGlob };
}

/** Every path under `dir`, never descending into a symlink (a link is listed, not followed). */
async function listTree(root: string, dir: string): Promise<string[]> {
  if (linkOnTheWay(root, dir, true) !== undefined) return [];
  return walk(root, dir);
}

async function walk(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    // A Dirent describes the entry itself (lstat), so a link to a folder is listed here, not walked.
    if (entry.isDirectory()) out.push(...(await walk(root, path)));
    else out.push(path);
  }
  return out;
}

/** Every file (not folder) under the given workspace-relative paths, for hashing outputs; never through a link. */
export async function filesUnder(root: string, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const relative = workspaceRelative(path);
    if (relative === undefined || linkOnTheWay(root, relative) !== undefined) continue;
    const info = await lstat(join(root, relative)).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) out.push(...(await listTree(root, relative)));
    else out.push(relative);
  }
  return [...new Set(out)].sort();
}
