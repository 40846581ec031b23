import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import picomatch from 'picomatch';

/**
 * A task's declared outputs, workspace-relative: plain paths (a file or a
 * folder) or globs. Resolving them never consults ignore files, since outputs
 * are usually git-ignored.
 */
export async function existingOutputPaths(root: string, outputs: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const output of outputs) {
    const { base, isGlob } = picomatch.scan(output);
    if (!isGlob) {
      if (await exists(join(root, output))) found.add(output);
      continue;
    }
    const matches = picomatch(output, { dot: true });
    for (const file of await listTree(root, base)) if (matches(file)) found.add(file);
  }
  return [...found].sort();
}

/** Removes what a task's declared outputs currently hold, before a restore. */
export async function clearOutputs(root: string, outputs: readonly string[]): Promise<void> {
  for (const path of await existingOutputPaths(root, outputs)) {
    await rm(join(root, path), { recursive: true, force: true });
  }
}

/** The folder every path of an output lies under: itself, or a glob's static base. */
export function outputBase(output: string): string {
  const { base, isGlob } = picomatch.scan(output);
  return isGlob ? base : output;
}

async function listTree(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listTree(root, path)));
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

/** Every file (not folder) under the given workspace-relative paths, for hashing outputs. */
export async function filesUnder(root: string, paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await lstat(join(root, path)).catch(() => undefined);
    if (!info) continue;
    if (info.isDirectory()) out.push(...(await listTree(root, path)));
    else out.push(path);
  }
  return [...new Set(out)].sort();
}
