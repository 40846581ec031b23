import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, readSync, type Stats, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import picomatch from 'picomatch';
import * as tar from 'tar';
import { errorMessage, StrideError } from '../util/errors.js';
import { printable } from '../util/untrusted-text.js';
import { openRegularFileSync, readRegularFileSync, regularFileSize } from '../util/regular-file.js';
import { diskLinks, placeLink, resolveLinkTarget } from './confine.js';
import { confinedOutput, existingOutputPaths, selectionOf } from './output-paths.js';
import { TarEndWalk } from './tar-end.js';
import { unpackChecked } from './unpack.js';

/** Entry types an artifact may hold. Hard links, devices and FIFOs are refused. */
const ALLOWED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink']);

/**
 * A link cache that remembers nothing, so tar never writes a hard-link entry:
 * restores refuse those (a hard link can reach outside the outputs), and tar's
 * asynchronous packer can throw an uncaught "write after end" when it meets one.
 * Hard-linked outputs are archived as plain files instead.
 */
class NoHardLinks extends Map<`${number}:${number}`, string> {
  override set(): this {
    return this;
  }
}

/** Writes the given workspace-relative paths into an uncompressed tar at `file`. */
export async function packArchive(root: string, paths: readonly string[], file: string): Promise<void> {
  // Entries are always `/`-separated, whichever machine packs them, so Windows and Linux read each other's artifacts.
  await tar.c({ cwd: root, file, follow: false, noDirRecurse: false, linkCache: new NoHardLinks() }, paths.map(toSlashes));
}

const toSlashes = (path: string): string => path.replace(/\\/g, '/');

/**
 * Archives and artifacts up to this size are read whole and handled
 * synchronously: most build outputs are a few kB, and for those the stream
 * machinery (opens, reads and callbacks per step) costs more than the work.
 * Larger ones always stream, so none is ever held whole in memory.
 */
export const SMALL_FILE_BYTES = 1024 * 1024;

/** How much of a large archive is read and unpacked between two turns of the event loop. */
const SLICE_BYTES = 4 * 1024 * 1024;

const isSmall = (file: string): boolean => (statSync(file, { throwIfNoEntry: false })?.size ?? Infinity) <= SMALL_FILE_BYTES;

/** The sha256 of a file, or of bytes already read from one. */
export async function sha256File(file: string | Buffer): Promise<string> {
  const hash = createHash('sha256');
  if (Buffer.isBuffer(file)) return hash.update(file).digest('hex');
  if (isSmall(file)) return hash.update(await readFile(file)).digest('hex');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Checks every entry of an archive before anything is written: each must be a
 * plain file, folder or symlink, lie under one of `outputs` (the task's
 * declared outputs) and outside what its negated outputs exclude, and never
 * reach outside the workspace at `root`, whether by `..`, an absolute path, or
 * a path through a link. A link to an absolute target is data (Nx caches and
 * restores it as is): it is recreated with its target text and nothing is
 * written through it. A relative link is judged by where it resolves, the way
 * the kernel would: component by component, through
 * every link the archive makes (`up -> ../..`, then `esc -> up/..`) and every
 * link on disk that the restore leaves (what clearOutputs removes does not
 * count), at most MAX_LINK_HOPS of them. node-tar cannot be left to do this:
 * 7.5.23 refuses to write a file through a link already on disk, but it creates
 * the chain above (it checks a link's target after collapsing `up/..`) and
 * keeps setuid bits (both tried on the installed version). Names in the refusal
 * are escaped (printable): they are an attacker's bytes.
 */
export async function assertArchiveSafe(archive: string | Buffer, outputs: readonly string[], root: string): Promise<void> {
  await assertEntriesSafe((await scanArchive(archive)).entries, outputs, root);
}

/** assertArchiveSafe over the entries scanArchive listed. */
export async function assertEntriesSafe(entries: readonly ArchiveEntry[], outputs: readonly string[], root: string): Promise<void> {
  // Negated outputs only take paths out: what they match is never the task's to write, not even a folder.
  const { positive, excluded } = selectionOf(outputs);
  const bases = positive.map((output) => {
    try {
      return confinedOutput(output).base;
    } catch {
      return undefined;
    }
  });
  // What the restore clears before unpacking: whatever is on disk there now does not count.
  const cleared = await existingOutputPaths(root, outputs);
  const problems = archiveProblems(entries, bases, root, cleared);
  // A glob output covers what it matches, not everything under its static base: `libs/a/**/*.d.ts` must not let
  // an archive put back `libs/a/src/index.ts`. Folders under a base are allowed (making one writes no file).
  if (problems.length === 0) {
    const covers = positive.map((output, i) => {
      const base = bases[i];
      if (base === undefined) return (): boolean => false;
      if (!confinedOutput(output).isGlob) return (path: string): boolean => base === '' || path === base || path.startsWith(`${base}/`);
      const matches = picomatch(output.replace(/\\/g, '/').replace(/^\.\//, ''), { dot: true });
      return (path: string): boolean => matches(path);
    });
    for (const entry of entries) {
      if (excluded?.(entry.path)) problems.push(`${printable(entry.raw)}: excluded by a negated output of the task`);
      else if (entry.type === 'Directory') continue;
      else if (!covers.some((cover) => cover(entry.path))) problems.push(`${printable(entry.raw)}: not matched by any of the task's declared outputs`);
    }
  }
  if (problems.length > 0) {
    throw new StrideError(`refused an unsafe artifact: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; ${problems.length - 3} more` : ''}`, {
      fix: 'the artifact was not restored; the task runs instead. If this repeats, delete the entry from the cache.',
    });
  }
}

/** An archive entry as its header says, and its path as a restore reads it (`/`-separated, normalized). */
export interface ArchiveEntry {
  raw: string;
  path: string;
  type: string;
  linkpath: string | undefined;
}

/** What one read of an archive tells: its sha256, what makes it incomplete (if anything), and its entries. */
export interface ArchiveScan {
  sha256: string;
  incomplete: string | undefined;
  entries: ArchiveEntry[];
}

/**
 * Reads an archive once, hashing it, walking its headers to its end blocks
 * (tar-end.ts) and listing its entries together: a large archive used to be
 * read three times over before the unpack (sha256, the header walk, tar's
 * listing). Read a slice at a time, yielding to the event loop between slices,
 * as the unpack is (unpack.ts). Nothing here trusts the bytes: the caller
 * compares the sha256 and refuses what is incomplete or unsafe.
 */
export async function scanArchive(archive: string | Buffer): Promise<ArchiveScan> {
  const entries: ArchiveEntry[] = [];
  const parser = new tar.Parser({
    onReadEntry: (entry) => {
      entries.push({ raw: entry.path, path: normalizeEntryPath(entry.path), type: entry.type, linkpath: entry.linkpath });
      entry.resume();
    },
  });
  const hash = createHash('sha256');
  if (Buffer.isBuffer(archive)) {
    const walk = new TarEndWalk(archive.length);
    walk.push(archive);
    parser.end(archive);
    return { sha256: hash.update(archive).digest('hex'), incomplete: walk.problem(), entries };
  }
  const fd = openRegularFileSync(archive);
  try {
    const walk = new TarEndWalk(fstatSync(fd).size);
    for (;;) {
      const slice = Buffer.allocUnsafe(SLICE_BYTES);
      const bytes = readSync(fd, slice, 0, SLICE_BYTES, null);
      if (bytes === 0) break;
      const chunk = slice.subarray(0, bytes);
      hash.update(chunk);
      walk.push(chunk);
      parser.write(chunk);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    parser.end();
    return { sha256: hash.digest('hex'), incomplete: walk.problem(), entries };
  } finally {
    closeSync(fd);
  }
}

function archiveProblems(entries: readonly ArchiveEntry[], bases: ReadonlyArray<string | undefined>, root: string, cleared: readonly string[]): string[] {
  const problems: string[] = [];
  const links = new Map<string, string>();
  const plain = new Set<string>();
  for (const entry of entries) {
    const problem = entryProblem(entry, bases);
    if (problem) problems.push(problem);
    else if (entry.type === 'SymbolicLink') links.set(entry.path, entry.linkpath as string);
    else plain.add(entry.path);
  }
  if (problems.length > 0) return problems;
  // The workspace as it will be: the archive's links first (the last one written wins, and any
  // link the archive makes counts, whatever its order), its files and folders (which replace what
  // is on disk), then what is on disk now.
  const disk = diskLinks(root);
  const isCleared = (path: string): boolean => cleared.some((gone) => path === gone || path.startsWith(`${gone}/`));
  const readLink = (path: string): string | undefined => links.get(path) ?? (plain.has(path) || isCleared(path) ? undefined : disk(path));
  for (const entry of entries) {
    const parts = entry.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const ancestor = parts.slice(0, i).join('/');
      if (readLink(ancestor) !== undefined) {
        problems.push(`${printable(entry.raw)}: path goes through the symlink ${printable(ancestor)}${links.has(ancestor) ? '' : ' on disk'}`);
        break;
      }
    }
    // An absolute link is data, as in Nx: restored as a link with its target text, never resolved or written
    // through (an entry below it, in the archive or on disk, was refused just above).
    if (entry.type !== 'SymbolicLink' || isRootAbsolute(entry.linkpath as string)) continue;
    const resolved = resolveLinkTarget(parts.slice(0, -1), entry.linkpath as string, readLink);
    if (!resolved.inside) problems.push(`${printable(entry.raw)}: symlink to ${printable(entry.linkpath)} ${resolved.why}`);
  }
  return problems;
}

function entryProblem(entry: ArchiveEntry, bases: ReadonlyArray<string | undefined>): string | undefined {
  const { raw, path, type, linkpath } = entry;
  const name = printable(raw);
  if (!ALLOWED_TYPES.has(type)) return `${name}: entry type ${printable(type)} is not allowed`;
  if (isAbsolute(raw) || raw.startsWith('\\') || /^[a-zA-Z]:/.test(raw)) return `${name}: absolute path`;
  if (raw.includes('\0') || path === '' || path === '..' || path.startsWith('../') || raw.split(/[\\/]/).includes('..')) {
    return `${name}: path leaves the workspace`;
  }
  if (!bases.some((base) => base !== undefined && (base === '' || path === base || path.startsWith(`${base}/`)))) {
    return `${name}: outside the task's declared outputs`;
  }
  if (type === 'SymbolicLink') {
    if (!linkpath) return `${name}: symlink with no target`;
    if (isRootAbsolute(linkpath)) return undefined;
    // A drive letter is absolute on Windows and a folder name on Linux: neither reading is safe to resolve.
    if (/^[a-zA-Z]:/.test(linkpath)) return `${name}: symlink to a drive path`;
    const target = posix.normalize(posix.join(posix.dirname(path), linkpath.replace(/\\/g, '/')));
    if (target === '..' || target.startsWith('../')) return `${name}: symlink points outside the workspace`;
  }
  return undefined;
}

/**
 * A link target from the filesystem root (`/usr/lib/x`, or `\\x` from a Windows tool, which unpacks as `/x`):
 * such a link is restored as written. Relative targets are resolved, and refused when they climb out of the
 * workspace: one that does reaches whatever lies beside this checkout, which no build means to point at.
 */
function isRootAbsolute(linkpath: string): boolean {
  return linkpath.startsWith('/') || linkpath.startsWith('\\');
}

function normalizeEntryPath(path: string): string {
  return posix.normalize(path.replace(/\\/g, '/')).replace(/\/+$/, '').replace(/^\.\//, '').replace(/^\.$/, '');
}

/**
 * Unpacks a checked archive into the workspace with the permissions it
 * recorded, and only those: setuid, setgid and sticky bits are dropped from
 * every entry (mode & 0o777, as Nx's own cache does), so no artifact can plant
 * a setuid file. Given the bytes that were checked, it unpacks exactly those
 * (the file cannot change in between). node-tar refuses on its own to write
 * through a link already on disk (7.5: SymlinkError); its messages carry entry
 * names, so they are escaped before anyone prints them. node-tar also strips
 * the `/` from an absolute link target (and strict mode then fails the whole
 * unpack), so absolute links are set aside and made afterwards by placeLink,
 * with the target text they were stored with. That is for a small archive,
 * unpacked from memory by node-tar's synchronous unpacker; a large one is
 * unpacked by unpack.ts (unpackChecked), with the same guards, several small
 * files at a time.
 */
export async function extractArchive(archive: string | Buffer, root: string): Promise<void> {
  // A `\` in an entry (a Windows tool's archive) is a separator, on Linux too: the entry is then written
  // where assertArchiveSafe, which reads it so, checked it would go (not as one file named `libs\a\x.js`).
  const onReadEntry = (entry: tar.ReadEntry): void => {
    entry.path = toSlashes(entry.path);
    if (entry.linkpath) entry.linkpath = toSlashes(entry.linkpath);
  };
  const absoluteLinks: Array<{ path: string; target: string }> = [];
  // The filter sees an entry before onReadEntry does: paths and targets are read with `\` as a separator here too.
  const filter = (path: string, entry: tar.ReadEntry | Stats): boolean => {
    if (typeof entry.mode === 'number') entry.mode &= 0o777;
    if ('type' in entry && entry.type === 'SymbolicLink' && entry.linkpath && isRootAbsolute(entry.linkpath)) {
      absoluteLinks.push({ path: normalizeEntryPath(path), target: toSlashes(entry.linkpath) });
      return false;
    }
    return true;
  };
  const options = { cwd: root, strict: true, preservePaths: false, preserveOwner: false, chmod: true, processUmask: 0, filter, onReadEntry };
  try {
    if (Buffer.isBuffer(archive)) new tar.UnpackSync(options).end(archive);
    else {
      await unpackChecked(archive, root);
      return;
    }
    for (const { path, target } of absoluteLinks) await placeLink(root, path, target);
  } catch (error) {
    throw new StrideError(`could not unpack the artifact: ${printable(errorMessage(error))}`, { fix: 'the task runs instead; if this repeats, delete the entry from the cache' });
  }
}

/**
 * A small archive's bytes, read once for checking and unpacking; undefined for one that must stream. Only a
 * regular file is read (a FIFO in a store folder would block the read for ever): anything else is ENOTREG.
 */
export function readIfSmall(file: string): Buffer | undefined {
  const size = regularFileSize(file);
  return size !== undefined && size <= SMALL_FILE_BYTES ? readRegularFileSync(file) : undefined;
}
