import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, posix } from 'node:path';
import * as tar from 'tar';
import { StrideError } from '../util/errors.js';

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
 * plain file, folder or symlink, lie under one of `allowedBases` (the task's
 * declared outputs), and never reach outside the workspace, whether by `..`,
 * an absolute path, a link target, or a path through a link the archive made.
 */
export async function assertArchiveSafe(archive: string | Buffer, allowedBases: readonly string[]): Promise<void> {
  const links = new Set<string>();
  const problems: string[] = [];
  const onReadEntry = (entry: tar.ReadEntry): void => {
    const problem = entryProblem(entry.path, entry.type, entry.linkpath, allowedBases, links);
    if (problem) problems.push(problem);
    if (entry.type === 'SymbolicLink') links.add(normalizeEntryPath(entry.path));
  };
  if (Buffer.isBuffer(archive)) {
    // A small archive, read once (readIfSmall): parsed synchronously, each entry seen and skipped.
    const parser = new tar.Parser({ onReadEntry: (entry) => (onReadEntry(entry), entry.resume()) });
    parser.end(archive);
  } else await tar.t({ file: archive, onReadEntry });
  if (problems.length > 0) {
    throw new StrideError(`refused an unsafe artifact: ${problems.slice(0, 3).join('; ')}`, {
      fix: 'the artifact was not restored; the task runs instead. If this repeats, delete the entry from the cache.',
    });
  }
}

function entryProblem(
  rawPath: string,
  type: string,
  linkpath: string | undefined,
  allowedBases: readonly string[],
  links: ReadonlySet<string>,
): string | undefined {
  if (!ALLOWED_TYPES.has(type)) return `${rawPath}: entry type ${type} is not allowed`;
  if (isAbsolute(rawPath) || /^[a-zA-Z]:/.test(rawPath)) return `${rawPath}: absolute path`;
  const path = normalizeEntryPath(rawPath);
  if (path === '' || path === '..' || path.startsWith('../') || rawPath.split(/[\\/]/).includes('..')) {
    return `${rawPath}: path leaves the workspace`;
  }
  if (!allowedBases.some((base) => base === '' || path === base || path.startsWith(`${base}/`))) {
    return `${rawPath}: outside the task's declared outputs`;
  }
  for (const link of links) {
    if (path.startsWith(`${link}/`)) return `${rawPath}: path goes through the symlink ${link}`;
  }
  if (type === 'SymbolicLink') {
    // Judged with `\` as a separator, as extractArchive writes it.
    const link = linkpath === undefined ? undefined : toSlashes(linkpath);
    if (!link || isAbsolute(link) || /^[a-zA-Z]:/.test(link)) return `${rawPath}: symlink to an absolute path`;
    const target = posix.normalize(posix.join(posix.dirname(path), link));
    if (target === '..' || target.startsWith('../')) return `${rawPath}: symlink points outside the workspace`;
  }
  return undefined;
}

function normalizeEntryPath(path: string): string {
  return posix.normalize(path.replace(/\\/g, '/')).replace(/\/+$/, '').replace(/^\.\//, '').replace(/^\.$/, '');
}

/**
 * Unpacks a checked archive into the workspace with the modes it recorded.
 * Given the bytes that were checked, it unpacks exactly those (the file cannot
 * change in between).
 */
export async function extractArchive(archive: string | Buffer, root: string): Promise<void> {
  // A `\` in an entry (a Windows tool's archive) is a separator, on Linux too: the entry is then written
  // where assertArchiveSafe, which reads it so, checked it would go (not as one file named `libs\a\x.js`).
  const onReadEntry = (entry: tar.ReadEntry): void => {
    entry.path = toSlashes(entry.path);
    if (entry.linkpath) entry.linkpath = toSlashes(entry.linkpath);
  };
  const options = { cwd: root, strict: true, preservePaths: false, preserveOwner: false, chmod: true, processUmask: 0, onReadEntry };
  if (Buffer.isBuffer(archive)) new tar.UnpackSync(options).end(archive);
  else await tar.x({ ...options, file: archive });
}

/** A small archive's bytes, read once for checking and unpacking; undefined for one that must stream. */
export function readIfSmall(file: string): Buffer | undefined {
  return isSmall(file) ? readFileSync(file) : undefined;
}
