import type { FileList, HashRecord } from './hash-record.js';

/** One difference between two hashes of a task, as `stride why` prints it. */
export interface InputChange {
  /** What kind of input changed, for grouping and ranking. */
  kind: 'file' | 'file-set' | 'env' | 'runtime' | 'external' | 'option' | 'executor' | 'config' | 'dependency-output' | 'other';
  /** What changed (a path, `env API_URL`, ...): misses are counted by it. */
  subject: string;
  /** The line printed. */
  text: string;
}

/** Printed in this order: what people edit first. */
const RANK: InputChange['kind'][] = ['file', 'file-set', 'env', 'option', 'external', 'runtime', 'dependency-output', 'config', 'executor', 'other'];

/**
 * What changed from `before` to `after` (two hashes of the same task). File
 * sets are compared file by file when both lists are at hand; environment
 * values only as changed or not (a record keeps their digest, never the value).
 */
export function diffRecords(before: HashRecord, after: HashRecord, filesOf: (digest: string) => FileList | undefined): InputChange[] {
  const changes: InputChange[] = [];
  if (before.runner !== after.runner) changes.push({ kind: 'executor', subject: 'executor', text: `executor ${before.runner} -> ${after.runner}` });
  changes.push(...diffOptions(before.options, after.options));
  for (const label of union(Object.keys(before.fileSets), Object.keys(after.fileSets))) {
    const [old, now] = [before.fileSets[label], after.fileSets[label]];
    if (old === now) continue;
    if (old === undefined || now === undefined) {
      changes.push({ kind: 'file-set', subject: `input ${label}`, text: `input ${label} ${old === undefined ? 'added' : 'removed'}` });
      continue;
    }
    const [oldFiles, newFiles] = [filesOf(old), filesOf(now)];
    if (!oldFiles || !newFiles) {
      changes.push({ kind: 'file-set', subject: `input ${label}`, text: `files of ${label} changed` });
      continue;
    }
    changes.push(...diffFiles(oldFiles, newFiles));
  }
  for (const name of union(Object.keys(before.values), Object.keys(after.values))) {
    const [old, now] = [before.values[name], after.values[name]];
    if (old !== now) changes.push(valueChange(name, old, now));
  }
  const seen = new Set<string>();
  return changes
    .filter((c) => (seen.has(c.text) ? false : (seen.add(c.text), true)))
    .sort((a, b) => RANK.indexOf(a.kind) - RANK.indexOf(b.kind) || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
}

function diffFiles(before: FileList, after: FileList): InputChange[] {
  const old = new Map(before);
  const now = new Map(after);
  const out: InputChange[] = [];
  const added: string[] = [];
  for (const [path, digest] of now) {
    if (!old.has(path)) added.push(path);
    else if (old.get(path) !== digest) out.push({ kind: 'file', subject: path, text: `${path} changed` });
  }
  for (const path of old.keys()) if (!now.has(path)) out.push({ kind: 'file', subject: path, text: `${path} removed` });
  // Many new files in one folder are one cause, not a screenful.
  const byFolder = new Map<string, string[]>();
  for (const path of added) byFolder.set(folderOf(path), [...(byFolder.get(folderOf(path)) ?? []), path]);
  for (const [folder, paths] of byFolder) {
    if (paths.length > 2) out.push({ kind: 'file', subject: `${folder}/`, text: `${paths.length} files added under ${folder}` });
    else for (const path of paths) out.push({ kind: 'file', subject: path, text: `${path} added` });
  }
  return out;
}

function diffOptions(beforeText: string, afterText: string): InputChange[] {
  if (beforeText === afterText) return [];
  const parse = (text: string): Record<string, unknown> => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
    } catch {
      return { value: text };
    }
  };
  const [old, now] = [parse(beforeText), parse(afterText)];
  const out: InputChange[] = [];
  for (const key of union(Object.keys(old), Object.keys(now))) {
    const [a, b] = [JSON.stringify(old[key]), JSON.stringify(now[key])];
    if (a === b) continue;
    const text = old[key] === undefined ? `option --${key}=${short(b)} added` : now[key] === undefined ? `option --${key} removed` : `option --${key}: ${short(a)} -> ${short(b)}`;
    out.push({ kind: 'option', subject: `option --${key}`, text });
  }
  return out;
}

function valueChange(name: string, old: string | undefined, now: string | undefined): InputChange {
  const [prefix, ...rest] = name.split(':');
  const key = rest.join(':');
  const how = old === undefined ? 'added' : now === undefined ? 'removed' : 'changed';
  switch (prefix) {
    case 'env':
      return { kind: 'env', subject: `env ${key}`, text: `env ${key} ${how === 'changed' ? 'changed' : how === 'added' ? 'set' : 'unset'}` };
    case 'runtime':
      return { kind: 'runtime', subject: `runtime ${key}`, text: how === 'changed' ? `runtime ${key}: ${short(old)} -> ${short(now)}` : `runtime ${key} ${how}` };
    case 'npm':
      return externalChange(key, how, old, now);
    case 'output':
      return { kind: 'dependency-output', subject: `dependency output ${key}`, text: `dependency output ${key} ${how}` };
    case 'config':
    case 'tsconfig':
    case 'tsconfig-paths':
    case 'nx.json':
      return { kind: 'config', subject: name, text: `${name === 'config' || prefix === 'config' ? `project configuration of ${key}` : name} ${how}` };
    default:
      return { kind: 'other', subject: name, text: `${name} ${how}` };
  }
}

/**
 * An external dependency's value is `<version>[:<lockfile hash>]` under its graph node's name (`npm:react`): shown
 * as the package and its versions (they are public, never secrets), or as changed when only the lockfile's hash moved.
 */
function externalChange(key: string, how: 'added' | 'removed' | 'changed', old: string | undefined, now: string | undefined): InputChange {
  if (key === '*') return { kind: 'external', subject: 'external dependency *', text: `external dependency (every locked package) ${how}` };
  const name = key.startsWith('npm:') ? key.slice('npm:'.length) : key;
  const subject = `external dependency ${name}`;
  if (how !== 'changed') return { kind: 'external', subject, text: `${subject} ${how}` };
  const [before, after] = [versionOf(old), versionOf(now)];
  return { kind: 'external', subject, text: before !== after ? `${subject} ${short(before)} -> ${short(after)}` : `${subject} changed (the same version, another lockfile hash)` };
}

function versionOf(value: string | undefined): string {
  return (value ?? '').split(':')[0] ?? '';
}

function short(text: string | undefined): string {
  const value = text ?? '';
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

function folderOf(path: string): string {
  const at = path.lastIndexOf('/');
  return at > 0 ? path.slice(0, at) : '.';
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])].sort();
}

/**
 * The causes of a run's misses, most common first: each missed task counts
 * once per subject that changed for it ("28 from libs/core/src/a.ts").
 */
export function topMissCauses(changesByTask: ReadonlyMap<string, readonly InputChange[]>, limit = 3): Array<{ subject: string; tasks: number }> {
  const counts = new Map<string, number>();
  for (const changes of changesByTask.values()) for (const subject of new Set(changes.map((c) => c.subject))) counts.set(subject, (counts.get(subject) ?? 0) + 1);
  return [...counts.entries()]
    .map(([subject, tasks]) => ({ subject, tasks }))
    .sort((a, b) => b.tasks - a.tasks || (a.subject < b.subject ? -1 : 1))
    .slice(0, limit);
}
