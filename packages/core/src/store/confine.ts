import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join, posix, sep } from 'node:path';
import { StrideError } from '../util/errors.js';
import { printable } from '../util/untrusted-text.js';

/**
 * Confining paths that come from data (a task's declared outputs, a store
 * entry's meta.json, an artifact header, a tar entry) to the workspace before
 * anything is written or deleted. Lexical checks are not enough once links are
 * involved, so links are followed here the way the kernel would, component by
 * component, never trusting the whole string.
 */

/** Linux follows at most 40 links while resolving one path; a chain longer than that is refused too. */
export const MAX_LINK_HOPS = 40;

/**
 * `path` made workspace-relative and normalized (`a/b`, `''` for the root
 * itself), or undefined when it is absolute, names a drive, holds a NUL, or
 * climbs out with `..`.
 */
export function workspaceRelative(path: string): string | undefined {
  if (typeof path !== 'string' || path.includes('\0')) return undefined;
  const slashed = path.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-zA-Z]:/.test(slashed)) return undefined;
  const normal = posix.normalize(slashed).replace(/\/+$/, '').replace(/^(\.\/)+/, '');
  if (normal === '..' || normal.startsWith('../')) return undefined;
  return normal === '.' ? '' : normal;
}

/**
 * The first component of `path` (workspace-relative, normalized) that is a
 * symlink on disk, looking at the proper ancestors only, or at `path` itself
 * too with `includeSelf`. Stops at the first component that does not exist.
 */
export function linkOnTheWay(root: string, path: string, includeSelf = false): string | undefined {
  if (path === '') return undefined;
  const parts = path.split('/');
  const last = includeSelf ? parts.length : parts.length - 1;
  for (let i = 1; i <= last; i++) {
    const prefix = parts.slice(0, i).join('/');
    const info = lstatSync(join(root, prefix), { throwIfNoEntry: false });
    if (!info) return undefined;
    if (info.isSymbolicLink()) return prefix;
  }
  return undefined;
}

/**
 * Where a relative link target leads, followed component by component through
 * `readLink` (which answers a link's target text for a workspace-relative path,
 * or undefined for anything that is not a link): 'inside' while it never climbs
 * above the workspace root, else why not.
 */
export function resolveLinkTarget(
  from: readonly string[],
  target: string,
  readLink: (path: string) => string | undefined,
): { inside: true } | { inside: false; why: string } {
  const stack = [...from];
  let pending = target.replace(/\\/g, '/').split('/');
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return { inside: false, why: 'resolves outside the workspace' };
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = readLink(stack.join('/'));
    if (link === undefined) continue;
    if (++hops > MAX_LINK_HOPS) return { inside: false, why: `goes through more than ${MAX_LINK_HOPS} links (a loop?)` };
    if (link.startsWith('/') || link.startsWith('\\') || /^[a-zA-Z]:/.test(link)) return { inside: false, why: 'resolves to an absolute path' };
    stack.pop();
    pending = [...link.replace(/\\/g, '/').split('/'), ...pending];
  }
  return { inside: true };
}

/** A `readLink` for resolveLinkTarget over what is on disk under `root`, remembering each answer. */
export function diskLinks(root: string): (path: string) => string | undefined {
  const seen = new Map<string, string | undefined>();
  return (path) => {
    if (seen.has(path)) return seen.get(path);
    let link: string | undefined;
    try {
      link = lstatSync(join(root, path)).isSymbolicLink() ? readlinkSync(join(root, path)) : undefined;
    } catch {
      link = undefined;
    }
    seen.set(path, link);
    return link;
  };
}

/**
 * Removes `path` (workspace-relative), recursively, never through a link: when
 * one of its ancestors is a symlink nothing is removed (what lies behind it is
 * not this workspace's to delete), and the real parent folder must lie inside
 * the real workspace root. A link at `path` itself is removed, not followed.
 */
export async function removeInside(root: string, path: string): Promise<boolean> {
  const relative = workspaceRelative(path);
  if (relative === undefined || relative === '') {
    throw new StrideError(`refused to remove ${printable(path)}: it is not a path inside the workspace`);
  }
  if (linkOnTheWay(root, relative) !== undefined) return false;
  const full = join(root, relative);
  let parent: string;
  try {
    parent = realpathSync(dirname(full));
  } catch {
    return false;
  }
  const realRoot = realpathSync(root);
  if (parent !== realRoot && !parent.startsWith(`${realRoot}${sep}`)) {
    throw new StrideError(`refused to remove ${printable(path)}: its folder resolves to ${printable(parent)}, outside the workspace`);
  }
  await rm(full, { recursive: true, force: true });
  return true;
}

/**
 * Makes a symlink at `path` (workspace-relative) whose target is `target`,
 * taken as text: the target is never resolved, and nothing is written through
 * it. Whatever stands at `path` is removed first (removeInside: never through a
 * link). Refused when a folder on the way is a link, or the real parent folder
 * lies outside the real workspace root, so the link itself lands inside.
 */
export async function placeLink(root: string, path: string, target: string): Promise<void> {
  const relative = workspaceRelative(path);
  const on = relative === undefined || relative === '' ? undefined : linkOnTheWay(root, relative);
  if (relative === undefined || relative === '' || on !== undefined) {
    throw new StrideError(`refused to make the link ${printable(path)}: ${on === undefined ? 'it is not a path inside the workspace' : `${printable(on)} on the way is a link`}`);
  }
  const full = join(root, relative);
  await mkdir(dirname(full), { recursive: true });
  await removeInside(root, relative);
  await symlink(target, full);
}
