import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { StrideError } from '../util/errors.js';
import { printable } from '../util/untrusted-text.js';
import { linkOnTheWay, removeInside, workspaceRelative } from './confine.js';

/**
 * A task's declared outputs, workspace-relative: plain paths (a file or a
 * folder) or globs. Resolving them never consults ignore files, since outputs
 * are usually git-ignored. Nothing is found through a symlink: an output
 * below a link (or a glob whose base lies below one) holds nothing of the
 * task's; a glob whose base is itself a link yields the link.
 */
export async function existingOutputPaths(root: string, outputs: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const output of outputs) {
    const { base, isGlob } = confinedOutput(output);
    if (linkOnTheWay(root, base) !== undefined) continue;
    if (!isGlob) {
      if (await exists(join(root, base))) found.add(base);
      continue;
    }
    if (base !== '' && (await lstat(join(root, base)).catch(() => undefined))?.isSymbolicLink()) {
      found.add(base);
      continue;
    }
    const matches = picomatch(output, { dot: true });
    for (const file of await listTree(root, base)) if (matches(file)) found.add(file);
  }
  return [...found].sort();
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

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
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
