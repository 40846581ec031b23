import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createProjectGraphAsync, type NxJsonConfiguration } from '@nx/devkit';
import { diffRecords, HASH_RECORD_FORMAT, HashRecordStore, type IndexEntry, type InputChange, printable } from '@stride/core';
import { readSettings } from '../settings.js';

/**
 * `stride why <project:target>`: what changed between the task's hash in the
 * last run that hashed it and an earlier one (its newest other hash, its last
 * restore with `--last-hit`, or `--against`), from the records each run with a miss
 * keeps in `.stride/why/`. Exit 1 for a task that does not exist; exit 0 with a
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
  const settings = readSettings(root, JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration);
  const store = new HashRecordStore(join(settings.strideDir, 'why'));
  const history = store.index()[taskId] ?? [];
  const say = (text: string): number => {
    process.stdout.write(values.json ? `${JSON.stringify({ task: taskId, message: text })}\n` : `${text}\n`);
    return 0;
  };

  if (history.length === 0) {
    const problem = await unknownTask(taskId);
    if (problem) {
      process.stderr.write(`stride why: ${problem}\n`);
      return 1;
    }
    return say(`${taskId}: no earlier build to compare with (no run with a miss has hashed it here yet)`);
  }
  const current = history[0] as IndexEntry;
  const now = store.read(current.hash);
  if (!now.record) return say(oldFormat(taskId, current.hash, now.format));

  let earlier: IndexEntry | undefined;
  if (values.against !== undefined) {
    earlier = history.find((e) => e.hash === values.against) ?? { hash: values.against, at: 0, how: 'built' };
  } else {
    // The newest other hash (what the last run before this one had), or with --last-hit the last one restored.
    const others = history.slice(1);
    earlier = values['last-hit'] ? others.find((e) => e.how === 'restored') : others[0];
  }
  if (!earlier) return say(`${taskId}: no earlier ${values['last-hit'] ? 'restore' : 'build'} to compare with (only ${current.hash} is on record)`);
  const then = store.read(earlier.hash);
  if (!then.record) {
    if (then.format !== undefined) return say(oldFormat(taskId, earlier.hash, then.format));
    process.stderr.write(`stride why: no record of ${taskId} with hash ${earlier.hash} here (the hashes on record: ${history.map((e) => e.hash).join(', ')})\n`);
    return 1;
  }
  const changes = diffRecords(then.record, now.record, (digest) => store.files(digest));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ task: taskId, hash: current.hash, against: earlier.hash, changes }, null, 2)}\n`);
    return 0;
  }
  const lines = [`${taskId}: ${current.hash} (${describe(current)}) against ${earlier.hash} (${describe(earlier)})`];
  if (changes.length === 0) lines.push('  the same inputs: it missed because no cache held that result (evicted, never stored, or --skip-nx-cache)');
  // File names come from the checkout (a pull request can name a file with terminal escapes): printed escaped.
  for (const change of changes) lines.push(`  ${printable(showValue(change, values['show-values'] === true), 1000)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

function describe(entry: IndexEntry): string {
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

async function unknownTask(taskId: string): Promise<string | undefined> {
  const [project, target] = taskId.split(':');
  if (!project || !target) return `"${taskId}" is not a task: name it as <project>:<target>`;
  const graph = await createProjectGraphAsync({ exitOnError: false });
  const node = graph.nodes[project];
  if (!node) return `unknown task ${taskId}: there is no project "${project}" (nx show projects lists them)`;
  if (!node.data.targets?.[target]) return `unknown task ${taskId}: project ${project} has no target "${target}" (its targets: ${Object.keys(node.data.targets ?? {}).sort().join(', ') || 'none'})`;
  return undefined;
}


