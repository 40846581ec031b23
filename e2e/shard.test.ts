import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorkspace } from '../tools/workspace-gen.mjs';
import { s3Client, startS3WithProxy, TEST_CREDENTIALS } from './support/s3.js';
import { createWorkspaceWith, type RunRecord, type TestWorkspace, withDependants } from './support/workspace.js';

type Started = Awaited<ReturnType<typeof startS3WithProxy>>;

const AWS_ENV = { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1', STRIDE_REMOTE_SCOPE: 'trusted' };
const MACHINES = 4;
const TARGETS = 'build,test';

/**
 * The CI workspace: 16 libraries in 4 layers; build sleeps 0.6-1.5 s (varying
 * by project, so the split has something to balance) and test, after its
 * project's build, 1.2 s.
 */
function ciWorkspace(): TestWorkspace {
  return createWorkspaceWith((root) => {
    const graph = generateWorkspace(root, { projects: 16, width: 4 });
    graph.projects.forEach((name, i) => {
      const file = join(root, 'libs', name, 'project.json');
      const project = readJson(file) as { targets: Record<string, { options: { env?: Record<string, string> } }> };
      (project.targets.build as { options: { env: Record<string, string> } }).options.env.BUILD_SLEEP_MS = String(600 + ((i * 7) % 10) * 100);
      project.targets.test = { executor: '@stride/nx:run', options: { command: 'sleep 1.2' } } as never;
      writeFileSync(file, `${JSON.stringify(project, null, 2)}\n`);
    });
    const nxFile = join(root, 'nx.json');
    const nx = readJson(nxFile) as { targetDefaults: Record<string, unknown>; plugins: unknown };
    nx.targetDefaults.test = { dependsOn: ['build'], cache: false, inputs: ['default'] };
    writeFileSync(nxFile, `${JSON.stringify(nx, null, 2)}\n`);
    return graph;
  });
}

const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));

function useBucket(ws: TestWorkspace, endpoint: string, bucket: string, prefix: string): void {
  ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
    ...nx,
    plugins: [{ plugin: '@stride/nx', options: { remote: { bucket, endpoint, forcePathStyle: true, prefix } } }],
  }));
}

interface ShardJson {
  index: number;
  total: number;
  tasks: string[];
  projects: string[];
  predictedMs: number;
  predictedMsByShard: number[];
  plan: string;
}

describe('a simulated 4-machine CI run: stride shard over a shared bucket', () => {
  let server: Started;
  const machines: TestWorkspace[] = [];
  const figures: Record<string, unknown> = {};

  beforeAll(async () => {
    server = await startS3WithProxy();
  });
  afterAll(async () => {
    for (const ws of machines) ws.remove();
    await server.stop();
    mkdirSync(join(import.meta.dirname, '..', 'dist'), { recursive: true });
    writeFileSync(join(__dirname, '..', 'dist', 'ci-sim.json'), `${JSON.stringify(figures, null, 2)}\n`);
  });

  it('splits the work four ways, each machine runs its shard once, and the next commit misses only what it changed', async () => {
    // One machine does it all first: the wall time to beat, and the timing history the split learns from.
    const solo = ciWorkspace();
    machines.push(solo);
    useBucket(solo, server.s3.endpoint, server.s3.bucket, 'solo');
    const soloStart = Date.now();
    const soloRun = await solo.nxAsync(['run-many', '-t', TARGETS], AWS_ENV);
    const soloMs = Date.now() - soloStart;
    expect(soloRun.code, soloRun.output).toBe(0);
    const expectedOutputs = solo.digest(solo.graph.projects.map((p) => `libs/${p}/dist`));
    const allTasks = solo.lastRun().tasks.map((t) => t.id).sort();
    expect(allTasks).toHaveLength(32);

    // The team's timing history, as the main branch's runs leave it in the fleet's bucket prefix.
    const client = s3Client(server.s3.endpoint);
    await client.send(new CopyObjectCommand({ Bucket: server.s3.bucket, CopySource: `${server.s3.bucket}/solo/timings/trusted.json`, Key: 'fleet/timings/trusted.json' }));
    client.destroy();

    const fleet = Array.from({ length: MACHINES }, () => ciWorkspace());
    machines.push(...fleet);
    for (const ws of fleet) useBucket(ws, server.s3.endpoint, server.s3.bucket, 'fleet');
    const shards: ShardJson[] = [];
    for (const [index, ws] of fleet.entries()) {
      const planned = await ws.strideAsync(['shard', '--total', String(MACHINES), '--index', String(index), '-t', TARGETS, '--json'], AWS_ENV);
      expect(planned.code, planned.output).toBe(0);
      shards.push(JSON.parse(planned.stdout) as ShardJson);
    }
    // Every machine computed the same split, from the bucket's timings (no machine has local ones).
    for (const s of shards) expect(s.predictedMsByShard).toEqual(shards[0]?.predictedMsByShard);
    expect(shards.flatMap((s) => s.tasks).sort()).toEqual(allTasks);
    const projects = shards.flatMap((s) => s.projects);
    expect(new Set(projects).size).toBe(16);
    for (const s of shards) expect(s.projects.length).toBeGreaterThan(0);
    const plain = await fleet[0]!.strideAsync(['shard', '--total', String(MACHINES), '--index', '0', '-t', TARGETS], AWS_ENV);
    expect(plain.stdout.trim()).toBe(shards[0]!.projects.join(','));

    // All four at once, each with its own empty store, against the one bucket.
    const runs = await Promise.all(
      fleet.map(async (ws, index) => {
        const start = Date.now();
        const result = await ws.nxAsync(['run-many', '-t', TARGETS, `--projects=${shards[index]!.projects.join(',')}`], { ...AWS_ENV, STRIDE_SHARD_PLAN: '.stride/shard-plan.json' });
        return { result, ms: Date.now() - start, record: ws.lastRun() };
      }),
    );
    for (const { result } of runs) expect(result.code, result.output).toBe(0);
    const ranBy = new Map<string, number[]>();
    runs.forEach(({ record }, index) => {
      for (const t of record.tasks) if (t.cache === 'miss') ranBy.set(t.id, [...(ranBy.get(t.id) ?? []), index]);
    });
    // Each machine built every task of its own shard; a task of another shard it needed came from the bucket, waited for.
    for (const [index, s] of shards.entries()) for (const id of s.tasks) expect(ranBy.get(id), id).toContain(index);
    const waited = runs.flatMap(({ record }, index) => record.tasks.filter((t) => !shards[index]!.tasks.includes(t.id)));
    const fromBucket = waited.filter((t) => t.cache === 'remote' && (t.phases.waitMs ?? 0) > 0);
    expect(fromBucket.length).toBeGreaterThan(0);
    const builtTwice = [...ranBy.values()].filter((who) => who.length > 1).length;
    // Each machine's own outputs are the solo machine's, byte for byte.
    for (const [index, ws] of fleet.entries()) {
      const mine = shards[index]!.projects.map((p) => `libs/${p}/dist`);
      const want = Object.fromEntries(Object.entries(expectedOutputs).filter(([path]) => mine.some((m) => path.startsWith(`${m}/`))));
      expect(ws.digest(mine)).toEqual(want);
    }

    // The next commit, on a fifth fresh machine: only the edited project and its dependants miss.
    const next = ciWorkspace();
    machines.push(next);
    useBucket(next, server.s3.endpoint, server.s3.bucket, 'fleet');
    next.write('libs/lib05/src/util.js', 'export const changed = true;\n');
    const nextRun = await next.nxAsync(['run-many', '-t', TARGETS], AWS_ENV);
    expect(nextRun.code, nextRun.output).toBe(0);
    // Builds read their dependencies' sources (^production); a test reads only its own project.
    const changed = [...withDependants(next.graph, 'lib05').map((p) => `${p}:build`), 'lib05:test'].sort();
    const nextRecord: RunRecord = next.lastRun();
    expect(nextRecord.tasks.filter((t) => t.cache === 'miss').map((t) => t.id).sort()).toEqual(changed);
    expect(nextRecord.tasks.filter((t) => t.cache === 'remote')).toHaveLength(32 - changed.length);

    Object.assign(figures, {
      tasks: 32,
      machines: MACHINES,
      oneMachineMs: soloMs,
      shardMs: runs.map((r) => r.ms),
      slowestShardMs: Math.max(...runs.map((r) => r.ms)),
      slowestVsOneMachine: +(Math.max(...runs.map((r) => r.ms)) / soloMs).toFixed(2),
      predictedMsByShard: shards[0]!.predictedMsByShard,
      foreignTasksFromBucket: fromBucket.length,
      foreignTasksNeeded: waited.length,
      tasksBuiltTwice: builtTwice,
      nextCommitMisses: changed.length,
    });
    console.log(`[ci-sim] ${JSON.stringify(figures)}`);
  });
});
