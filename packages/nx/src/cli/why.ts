import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createProjectGraphAsync, type NxJsonConfiguration, type ProjectGraph } from '@nx/devkit';
import { BucketRecords, diffRecords, HASH_RECORD_FORMAT, type FileList, type HashRecord, HashRecordStore, type IndexEntry, type InputChange, LocalStore, printable } from '@stride/core';
import { hashTaskNow } from '../adapter/hash-now.js';
import { openRemote } from '../adapter/open-remote.js';
import { readSettings, type StrideSettings } from '../settings.js';

/**
 * `stride why <project:target>`: what changed between the task's hash as the
 * checkout is now (hashed here, as the next run would: a pull request asks
 * before it runs) and an earlier one (the newest other hash on record, the last
 * restore with `--last-hit`, or `--against`), from the records each run with a
 * miss keeps in `.stride/why/`; with a bucket configured and no earlier hash
 * here (a fresh CI machine), against the newest one the bucket knows, which is
 * what main built. Exit 1 for a task that does not exist; exit 0 with a
 * sentence for one never built before.
 */
export async function why(argv: string[], root: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { against: { type: 'string' }, 'last-hit': { type: 'boolean' }, json: { type: 'boolean' }, 'show-values': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const taskId = positionals[0];
  if (!taskId || positionals.length > 1) throw new Error('name one task: stride why <project>:<target>[:<configuration>] [--against <hash> | --last-hit] [--json] [--show-values]');
  const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration;
  const settings = readSettings(root, nxJson);
  const store = new HashRecordStore(join(settings.strideDir, 'why'));
  const history = store.index()[taskId] ?? [];
  const say = (text: string): number => {
    process.stdout.write(values.json ? `${JSON.stringify({ task: taskId, message: text })}\n` : `${text}\n`);
    return 0;
  };

  const graph = await createProjectGraphAsync({ exitOnError: false });
  const problem = unknownTask(graph, taskId);
  if (problem) {
    process.stderr.write(`stride why: ${problem}\n`);
    return 1;
  }
  // The hash the next run will have (a pull request asks before it runs); if it cannot be had, the last run's.
  const now = await hashTaskNow(root, graph, nxJson, settings.strideDir, taskId);
  let current: Entry;
  let nowRecord: HashRecord | undefined;
  let nowFiles: ReadonlyMap<string, FileList> = new Map();
  if ('problem' in now) {
    process.stderr.write(`stride why: ${now.problem}: comparing the hash of the last run instead\n`);
    if (history.length === 0) return say(`${taskId}: no earlier build to compare with (no run with a miss has hashed it here yet)`);
    current = history[0] as IndexEntry;
    const read = store.read(current.hash);
    if (!read.record) return say(oldFormat(taskId, current.hash, read.format));
    nowRecord = read.record;
  } else {
    current = history.find((e) => e.hash === now.hash) ?? { hash: now.hash, at: 0, how: 'not built yet' };
    nowRecord = now.record;
    nowFiles = now.files;
  }

  let earlier: Entry | undefined;
  const others = history.filter((e) => e.hash !== current.hash);
  if (values.against !== undefined) {
    earlier = history.find((e) => e.hash === values.against) ?? { hash: values.against, at: 0, how: 'built' };
  } else {
    // The newest other hash (what the last run had, or the one before it), or with --last-hit the last one restored.
    earlier = values['last-hit'] ? others.find((e) => e.how === 'restored') : others[0];
  }
  let then: { record?: HashRecord; format?: unknown } = earlier ? store.read(earlier.hash) : {};
  let theirFiles: ReadonlyMap<string, readonly (readonly [string, string])[]> = new Map();
  let where = '';
  // Nothing here to compare with: ask the bucket (a fresh CI machine compares with main's build there).
  if (!then.record && then.format === undefined && !values['last-hit']) {
    const fromBucket = await bucketRecord(settings, root, taskId, values.against, current.hash);
    if (fromBucket) {
      earlier = { hash: fromBucket.record.hash, at: fromBucket.record.at, how: 'built' };
      then = { record: fromBucket.record };
      theirFiles = fromBucket.files;
      where = ` in the bucket (${fromBucket.location === 'trusted' ? 'trusted/, what main built' : 'this scope'})`;
    }
  }
  if (!earlier) {
    if (history.length === 0) return say(`${taskId}: no earlier build to compare with (no run with a miss has hashed it here yet${settings.remote ? ', and the bucket has no record of it' : ''})`);
    return say(`${taskId}: no earlier ${values['last-hit'] ? 'restore' : 'build'} to compare with (only ${current.hash} is on record${settings.remote ? ', here and in the bucket' : ''})`);
  }
  if (!then.record) {
    if (then.format !== undefined) return say(oldFormat(taskId, earlier.hash, then.format));
    process.stderr.write(`stride why: no record of ${taskId} with hash ${printable(earlier.hash, 200)} here${settings.remote ? ' or in the bucket' : ''} (the hashes on record: ${history.map((e) => e.hash).join(', ') || 'none'})\n`);
    return 1;
  }
  const changes = diffRecords(then.record, nowRecord, (digest) => nowFiles.get(digest) ?? store.files(digest) ?? theirFiles.get(digest));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ task: taskId, hash: current.hash, against: earlier.hash, changes }, null, 2)}\n`);
    return 0;
  }
  const lines = [`${taskId}: ${current.hash} (${describe(current)}) against ${earlier.hash} (${describe(earlier)}${where})`];
  if (changes.length === 0) lines.push('  the same inputs: it missed because no cache held that result (evicted, never stored, or --skip-nx-cache)');
  // File names come from the checkout (a pull request can name a file with terminal escapes): printed escaped.
  for (const change of changes) lines.push(`  ${printable(showValue(change, values['show-values'] === true), 1000)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * The bucket's record to compare with: the named hash, else the newest other hash of the task it knows, with the
 * file lists it names (untrusted: BucketRecords checks their shape; what is printed is escaped).
 */
async function bucketRecord(settings: StrideSettings, root: string, taskId: string, against: string | undefined, current: string) {
  if (!settings.remote) return undefined;
  const remote = await openRemote({ ...settings, remote: { ...settings.remote, mode: 'read-only' } }, new LocalStore(settings.cacheDirectory, root));
  if (!remote) return undefined;
  const bucket = new BucketRecords(remote);
  const found = against !== undefined ? await bucket.record(against) : await bucket.newest(taskId, current);
  if (!found || found.record.taskId !== taskId) {
    for (const warning of remote.warnings) process.stderr.write(`stride why: ${warning}\n`);
    return undefined;
  }
  return { ...found, files: await bucket.files(Object.values(found.record.fileSets)) };
}

/** A hash on record here, or the one the checkout has now that no run has built yet. */
type Entry = IndexEntry | { hash: string; at: number; how: 'not built yet' };

function describe(entry: Entry): string {
  return `${entry.how}${entry.at ? ` ${new Date(entry.at).toISOString().replace('T', ' ').slice(0, 19)}` : ''}`;
}

function oldFormat(taskId: string, hash: string, format: unknown): string {
  return `${taskId}: the record of ${hash} is in another format (${String(format)}, this Stride reads ${HASH_RECORD_FORMAT}): build it again to compare`;
}

/** Env values are never on record (they may be secrets); asked for, the value in this shell is shown. */
function showValue(change: InputChange, show: boolean): string {
  if (!show || change.kind !== 'env') return change.text;
  const name = change.subject.slice('env '.length);
  const value = process.env[name];
  return `${change.text} (in this shell: ${value === undefined ? 'unset' : JSON.stringify(value)})`;
}

function unknownTask(graph: ProjectGraph, taskId: string): string | undefined {
  const [project, target] = taskId.split(':');
  if (!project || !target) return `"${taskId}" is not a task: name it as <project>:<target>`;
  const node = graph.nodes[project];
  if (!node) return `unknown task ${taskId}: there is no project "${project}" (nx show projects lists them)`;
  if (!node.data.targets?.[target]) return `unknown task ${taskId}: project ${project} has no target "${target}" (its targets: ${Object.keys(node.data.targets ?? {}).sort().join(', ') || 'none'})`;
  return undefined;
}


