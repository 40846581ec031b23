import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { NxJsonConfiguration } from '@nx/devkit';
import { LocalStore, planShards, safeWarning, TimingHistory, type TaskDag } from '@stride/core';
import { openRemote } from '../adapter/open-remote.js';
import { writeShardPlan } from '../adapter/shard-plan.js';
import { targetOf } from '../adapter/task-id.js';
import { readSettings } from '../settings.js';
import { parseShardSpec } from './shard-spec.js';

/** The part of `nx ... --graph=file.json` this reads: Nx's task graph. */
export interface NxGraphFile {
  tasks: {
    /** `outputs`: the task's declared outputs, workspace-relative, as Nx resolved them. */
    tasks: Record<string, { id: string; target: { project: string; target: string }; outputs?: string[] }>;
    /** Edges `{ id }` in Nx 24 (plain ids in older versions). */
    dependencies: Record<string, Array<{ id: string } | string>>;
  };
}

/** What `stride shard --json` prints. */
export interface ShardOutput {
  index: number;
  total: number;
  tasks: string[];
  projects: string[];
  predictedMs: number;
  /** Every shard's predicted time, so any machine can report the balance. */
  predictedMsByShard: number[];
  plan: string;
}

/**
 * `stride shard`: the tasks Nx would run for the targets (all projects, or the
 * affected ones), split over `--total` machines by predicted time; prints
 * shard `--index`'s projects. Every machine computes the same split.
 */
export async function shard(argv: string[], root: string): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      total: { type: 'string' },
      index: { type: 'string' },
      shard: { type: 'string' },
      targets: { type: 'string', short: 't', multiple: true },
      target: { type: 'string', multiple: true },
      affected: { type: 'boolean' },
      base: { type: 'string' },
      head: { type: 'string' },
      parallel: { type: 'string' },
      json: { type: 'boolean' },
      plan: { type: 'string' },
    },
    strict: true,
  });
  if (values.shard !== undefined && (values.index !== undefined || values.total !== undefined)) {
    throw new Error(`--shard ${values.shard} names the shard already: drop --index/--total (or use them alone, counting from 0)`);
  }
  const { index, total } = values.shard !== undefined ? parseShardSpec(values.shard) : indexAndTotal(values.index, values.total);
  const targets = [...(values.targets ?? []), ...(values.target ?? [])].flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
  if (targets.length === 0) throw new Error('name the targets to split with -t, e.g. -t build,test');
  if ((values.base || values.head) && !values.affected) throw new Error('--base and --head only mean something with --affected');

  const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration;
  const parallel = values.parallel !== undefined ? wholeNumber(values.parallel, '--parallel', 'the worker slots per machine, as given to nx') : (nxJson.parallel ?? 3);
  const graph = nxTaskGraph(root, targets, values.affected ? { base: values.base, head: values.head } : undefined);
  const ids = Object.keys(graph.tasks.tasks).sort();
  const inGraph = new Set(ids);
  const edgeId = (edge: { id: string } | string): string => (typeof edge === 'string' ? edge : edge.id);
  const dag: TaskDag = {
    ids,
    dependencies: Object.fromEntries(ids.map((id) => [id, (graph.tasks.dependencies[id] ?? []).map(edgeId).filter((dep) => inGraph.has(dep))])),
  };
  const projectOf = (id: string): string => graph.tasks.tasks[id]?.target.project ?? id.slice(0, id.indexOf(':'));

  const settings = readSettings(root, nxJson);
  const { history, warning } = await TimingHistory.load(join(settings.strideDir, 'timings.json'), targetOf);
  if (warning) process.stderr.write(`stride shard: ${safeWarning(warning)}\n`);
  const remote = await openRemote(settings, new LocalStore(settings.cacheDirectory, root));
  const team = await remote?.readTimings();
  if (team) history.mergeFrom(team);
  for (const line of remote?.warnings ?? []) process.stderr.write(`stride shard: ${safeWarning(line)}\n`);
  const estimateMs = (id: string): number => history.estimate(id);

  const plan = planShards({ dag, unitOf: projectOf, estimateMs, total, parallel });
  const mine = plan.shards[index] as (typeof plan.shards)[number];
  const planFile = resolve(values.plan ?? join(settings.strideDir, 'shard-plan.json'));
  await writeShardPlan(planFile, plan, index, estimateMs);
  if (values.json) {
    const output: ShardOutput = {
      index,
      total,
      tasks: mine.tasks,
      projects: mine.units,
      predictedMs: Math.round(mine.predictedMs),
      predictedMsByShard: plan.shards.map((s) => Math.round(s.predictedMs)),
      plan: planFile,
    };
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  } else {
    process.stdout.write(`${mine.units.join(',')}\n`);
    const known = ids.filter((id) => history.estimateSource(id) === 'history').length;
    process.stderr.write(
      `stride shard: ${index + 1} of ${total}: ${mine.tasks.length} of ${ids.length} tasks, ${mine.units.length} projects, predicted ${seconds(mine.predictedMs)} ` +
        `(shards ${plan.shards.map((s) => seconds(s.predictedMs)).join(' / ')}; ${known} of ${ids.length} tasks timed before)` +
        `${mine.units.length === 0 ? '; nothing to run here: skip nx, since --projects= with no names means every project' : ''}\n`,
    );
  }
  return 0;
}

/** Nx's own task graph for the targets, as `nx run-many|affected --graph=file.json` writes it (`extra`: more flags, e.g. --projects). */
export function nxTaskGraph(root: string, targets: string[], affected: { base?: string | undefined; head?: string | undefined } | undefined, extra: readonly string[] = []): NxGraphFile {
  const nxBin = createRequire(join(root, 'package.json')).resolve('nx/bin/nx.js');
  const dir = mkdtempSync(join(tmpdir(), 'stride-shard-'));
  const file = join(dir, 'graph.json');
  try {
    const args = [
      nxBin,
      affected ? 'affected' : 'run-many',
      `--targets=${targets.join(',')}`,
      ...(affected?.base ? [`--base=${affected.base}`] : []),
      ...(affected?.head ? [`--head=${affected.head}`] : []),
      ...extra,
      `--graph=${file}`,
    ];
    const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: process.env, maxBuffer: 64 * 1024 * 1024 });
    if (result.status !== 0) throw new Error(`nx ${args.slice(1).join(' ')} failed (exit ${result.status}):\n${(result.stderr || result.stdout).trim()}`);
    const graph = JSON.parse(readFileSync(file, 'utf8')) as NxGraphFile;
    if (!graph.tasks?.tasks) throw new Error(`nx ${args.slice(1).join(' ')} wrote no task graph to ${file}`);
    return graph;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function indexAndTotal(indexFlag: string | undefined, totalFlag: string | undefined): { index: number; total: number } {
  if (indexFlag === undefined && totalFlag === undefined) throw new Error('name this machine\'s shard: --shard 2/4 (1-based, as Jest and Playwright write it) or --index 1 --total 4 (0-based)');
  const total = wholeNumber(totalFlag, '--total', 'the number of machines, e.g. --total 4');
  if (total < 1) throw new Error(`--total ${totalFlag} must be at least 1`);
  const index = wholeNumber(indexFlag, '--index', `this machine's shard, from 0 to ${total - 1}`);
  if (index >= total) throw new Error(`--index ${index} is out of range for --total ${total}: use 0 to ${total - 1} (GitHub Actions: strategy.job-index; GitLab: CI_NODE_INDEX - 1)`);
  return { index, total };
}

function wholeNumber(value: string | undefined, flag: string, meaning: string): number {
  if (value === undefined) throw new Error(`${flag} is required: ${meaning}`);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} ${value} is not a whole number: give ${meaning}`);
  return n;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
