import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { NxJsonConfiguration } from '@nx/devkit';
import { clearOutputs, digestOutputs, listWorkspaceFiles, LocalStore, outputsDiffer, printable, type RunRecord, verdictOf, type VerifyVerdict } from '@stride/core';
import { readSettings } from '../settings.js';
import { nxTaskGraph } from './shard.js';

const VERDICT_TEXT: Record<VerifyVerdict, string> = {
  reproduced: 'reproduced byte for byte',
  'differs-reproducibly': 'DIFFERS from the restored artifact, and two rebuilds agree: the artifact was poisoned, or built with an input its hash does not see (an undeclared env var or file)',
  'non-deterministic': 'NOT DETERMINISTIC: two rebuilds differ; make the task deterministic, or stop caching it',
  'outputs-differ': "OUTPUTS DIFFER: the store entry records other outputs than the task declares, so it was made for other paths or edited; it was not rebuilt, and nothing was cleared or compared at the entry's paths",
};

/**
 * `stride verify`: rebuilds restored tasks in a scratch copy of the workspace
 * and compares their outputs with the artifacts, file by file. Exit 1 when any
 * task does not reproduce, so a scheduled job fails loudly. The outputs it
 * clears and compares are the task's own, from Nx's project graph, never the
 * ones a store entry (or the artifact it came from) records: those are data an
 * attacker may have written (`["../.."]`).
 */
export async function verify(argv: string[], root: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { sample: { type: 'string', default: '10%' }, task: { type: 'string', multiple: true }, keep: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  const settings = readSettings(root, JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration);
  const recordFile = resolve(positionals[0] ?? join(settings.strideDir, 'runs', 'last.json'));
  if (!existsSync(recordFile)) throw new Error(`no run record at ${recordFile}: run tasks through Stride first, or name a record`);
  const record = JSON.parse(readFileSync(recordFile, 'utf8')) as RunRecord;
  const restored = record.tasks.filter((t) => t.status === 'success' && t.cache !== 'miss' && t.hash);
  const chosen = values.task?.length ? restored.filter((t) => values.task?.includes(t.id)) : sample(restored, values.sample);
  const unknown = (values.task ?? []).filter((id) => !restored.some((t) => t.id === id));
  if (unknown.length > 0) throw new Error(`not restored in ${recordFile}: ${unknown.join(', ')} (verify rebuilds tasks that were restored from a cache)`);
  if (chosen.length === 0) {
    process.stdout.write(`stride verify: no restored task to check in ${recordFile}\n`);
    return 0;
  }
  const badHash = chosen.find((t) => !/^[A-Za-z0-9_-]+$/.test(String(t.hash)));
  if (badHash) throw new Error(`${recordFile}: ${badHash.id} has the hash ${printable(badHash.hash)}, which is not a task hash`);
  const declared = declaredOutputs(root, chosen.map((t) => t.id));
  const store = new LocalStore(settings.cacheDirectory, root);
  const scratch = await scratchCopy(root);
  process.stdout.write(`stride verify: rebuilding ${chosen.length} of ${restored.length} restored tasks twice each, in ${scratch}\n`);
  const nx = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(join(scratch, 'node_modules', '.bin', 'nx'), args, {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, ...env, NX_DAEMON: 'false', NX_TUI: 'false', NX_NO_CLOUD: 'true', STRIDE_REMOTE_MODE: 'off', NX_CACHE_DIRECTORY: join(scratch, '.nx', 'cache') },
    });
  let failures = 0;
  try {
    for (const task of chosen) {
      const meta = await store.lookup(task.hash as string);
      if (!meta) {
        process.stdout.write(`  ${task.id}: skipped, ${task.hash} is no longer in the local store\n`);
        continue;
      }
      const outputs = declared.get(task.id) as string[];
      if (outputsDiffer(meta.outputs, outputs)) {
        failures++;
        process.stdout.write(`  ${task.id} ${task.hash}: ${VERDICT_TEXT['outputs-differ']} (entry: ${printable(meta.outputs)}; declared: ${printable(outputs)})\n`);
        continue;
      }
      // The artifact (and its dependencies' outputs) as a restore puts them, from the real store.
      const restore = nx(['run', task.id, '--output-style=static'], { STRIDE_CACHE_DIRECTORY: settings.cacheDirectory });
      if (restore.status !== 0) throw new Error(`could not restore ${task.id} in the scratch copy:\n${restore.stdout}${restore.stderr}`);
      const artifact = await digestOutputs(scratch, outputs);
      const rebuilds: Array<Record<string, string>> = [];
      for (let i = 0; i < 2; i++) {
        await clearOutputs(scratch, outputs);
        const run = nx(['run', task.id, '--exclude-task-dependencies', '--skip-nx-cache', '--output-style=static'], { STRIDE_CACHE_DIRECTORY: join(scratch, '.stride', 'verify-store') });
        if (run.status !== 0) throw new Error(`rebuilding ${task.id} failed:\n${run.stdout}${run.stderr}`);
        rebuilds.push(await digestOutputs(scratch, outputs));
      }
      const { verdict, files } = verdictOf(artifact, rebuilds[0] as Record<string, string>, rebuilds[1] as Record<string, string>);
      if (verdict !== 'reproduced') failures++;
      const which = files.length > 0 ? ` (${files.slice(0, 5).map((file) => printable(file)).join(', ')}${files.length > 5 ? `, ${files.length - 5} more` : ''})` : '';
      process.stdout.write(`  ${task.id} ${task.hash}: ${VERDICT_TEXT[verdict]}${which}\n`);
    }
  } finally {
    if (!values.keep) rmSync(scratch, { recursive: true, force: true });
  }
  process.stdout.write(failures === 0 ? 'stride verify: every checked task reproduced\n' : `stride verify: ${failures} task(s) did not reproduce\n`);
  return failures === 0 ? 0 : 1;
}

/**
 * Each task's declared outputs, workspace-relative, as Nx resolves them from
 * the project graph (`nx run-many --graph`, one call per configuration).
 */
function declaredOutputs(root: string, ids: readonly string[]): Map<string, string[]> {
  const byConfiguration = new Map<string, string[]>();
  for (const id of ids) {
    const configuration = id.split(':')[2] ?? '';
    byConfiguration.set(configuration, [...(byConfiguration.get(configuration) ?? []), id]);
  }
  const out = new Map<string, string[]>();
  for (const [configuration, group] of byConfiguration) {
    const projects = [...new Set(group.map((id) => id.split(':')[0] as string))];
    const targets = [...new Set(group.map((id) => id.split(':')[1] as string))];
    const graph = nxTaskGraph(root, targets, undefined, [`--projects=${projects.join(',')}`, ...(configuration ? [`--configuration=${configuration}`] : [])]);
    for (const id of group) {
      const task = graph.tasks.tasks[id];
      if (!task) throw new Error(`${id} is not in the workspace's task graph (was it renamed?): verify checks only tasks the project graph declares`);
      out.set(id, task.outputs ?? []);
    }
  }
  return out;
}

/** `10%` of the tasks (at least one), or a count; a random pick, so scheduled runs cover everything over time. */
function sample<T>(items: readonly T[], spec: string): T[] {
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(spec.trim());
  if (!match) throw new Error(`--sample ${spec}: give a percentage (10%) or a number of tasks (5)`);
  const count = match[2] ? Math.ceil((items.length * Number(match[1])) / 100) : Math.floor(Number(match[1]));
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as T, shuffled[i] as T];
  }
  return shuffled.slice(0, Math.min(items.length, Math.max(items.length > 0 ? 1 : 0, count)));
}

/** The workspace's files (as git would see them, outputs excluded) in a temp folder, node_modules linked. */
async function scratchCopy(root: string): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'stride-verify-'));
  for (const file of await listWorkspaceFiles(root)) {
    if (file.startsWith('node_modules/')) continue;
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    copyFileSync(join(root, file), join(scratch, file));
  }
  symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
  return scratch;
}
