import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../store/local-store.js';
import { type RunRequest, type TaskHost, type TaskOutcome, TaskRunner } from './runner.js';
import type { RemoteTier } from '../remote/remote-cache.js';
import { storeCache } from '../cache/store-cache.js';
import { TimingHistory } from '../schedule/timings.js';
import { runCaptured } from './spawn.js';
import { simulateMakespan } from '../schedule/simulate.js';

/** The runner over Stride's own store (and a remote behind it), as the adapter builds it in "stride" mode. */
function newRunner({ store, remote, ...request }: Omit<RunRequest, 'cache'> & { store: LocalStore; remote?: RemoteTier }): TaskRunner {
  return new TaskRunner({ ...request, cache: storeCache(store, remote) });
}

/** A host whose tasks are in-memory functions: this pins the runner's own behaviour. */
function host(options: { fail?: string[]; delayMs?: Record<string, number>; failTimes?: Record<string, number> } = {}) {
  const executed: string[] = [];
  const failuresLeft = { ...options.failTimes };
  let running = 0;
  let maxRunning = 0;
  const impl: TaskHost = {
    hash: async (id) => `h-${id}`.replace(/[^a-z0-9-]/g, ''),
    outputs: () => [],
    execute: async (id) => {
      executed.push(id);
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((resolve) => setTimeout(resolve, options.delayMs?.[id] ?? 5));
      running--;
      const flakyFailure = (failuresLeft[id] ?? 0) > 0;
      if (flakyFailure) failuresLeft[id] = (failuresLeft[id] ?? 0) - 1;
      return { success: !options.fail?.includes(id) && !flakyFailure, terminalOutput: `ran ${id}\n` };
    },
  };
  return { impl, executed, maxRunning: () => maxRunning };
}

async function collect(runner: TaskRunner): Promise<TaskOutcome[]> {
  const out: TaskOutcome[] = [];
  for await (const outcome of runner.run()) out.push(outcome);
  return out;
}

const diamond = { ids: ['a', 'b', 'c', 'd'], dependencies: { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] } };

describe('TaskRunner', () => {
  it('runs in dependency order, then restores everything from the store', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const first = host();
    const cold = await collect(newRunner({ dag: diamond, parallel: 2, store, readCache: true, host: first.impl }));
    expect(first.executed[0]).toBe('a');
    expect(first.executed[3]).toBe('d');
    expect(cold.every((o) => o.status === 'success' && o.cache === 'miss')).toBe(true);

    const second = host();
    const warm = await collect(newRunner({ dag: diamond, parallel: 2, store, readCache: true, host: second.impl }));
    expect(second.executed).toEqual([]);
    expect(warm.map((o) => o.cache)).toEqual(['local', 'local', 'local', 'local']);
    expect(warm.find((o) => o.id === 'd')?.terminalOutput).toBe('ran d\n');

    const skipping = host();
    await collect(newRunner({ dag: diamond, parallel: 2, store, readCache: false, host: skipping.impl }));
    expect(skipping.executed.sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('skips the dependants of a failure and nothing else, and never stores a failure', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const dag = { ids: ['a', 'b', 'c', 'd', 'e'], dependencies: { a: [], b: ['a'], c: [], d: ['b', 'c'], e: [] } };
    const run = host({ fail: ['b'] });
    const outcomes = await collect(newRunner({ dag, parallel: 3, store, readCache: true, host: run.impl }));
    const status = Object.fromEntries(outcomes.map((o) => [o.id, o.status]));
    expect(status).toEqual({ a: 'success', b: 'failure', c: 'success', d: 'skipped', e: 'success' });
    expect(await store.lookup('h-b')).toBeUndefined();
  });

  it('never runs more than `parallel` tasks at once', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const ids = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const run = host();
    await collect(newRunner({ dag: { ids, dependencies: {} }, parallel: 3, store, readCache: true, host: run.impl }));
    expect(run.executed).toHaveLength(8);
    expect(run.maxRunning()).toBe(3);
  });

  it('starts the head of the longest chain before short independent tasks', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const dag = { ids: ['chain1', 'chain2', 'chain3', 'x', 'y'], dependencies: { chain2: ['chain1'], chain3: ['chain2'] } };
    const run = host();
    // chain1 is the slowest to hash: it must still get the only slot first.
    const slowHash: TaskHost = {
      ...run.impl,
      hash: async (id) => {
        await new Promise((resolve) => setTimeout(resolve, id === 'chain1' ? 30 : 0));
        return `h-${id}`;
      },
    };
    await collect(newRunner({ dag, parallel: 1, store, readCache: true, host: slowHash }));
    expect(run.executed).toEqual(['chain1', 'chain2', 'chain3', 'x', 'y']);
  });

  it('reports a task whose hash cannot be computed as failed, with the reason', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const run = host();
    const impl: TaskHost = { ...run.impl, hash: async () => { throw new Error('the named input "prod" is not defined'); } };
    const [outcome] = await collect(newRunner({ dag: { ids: ['a'], dependencies: {} }, parallel: 1, store, readCache: true, host: impl }));
    expect(outcome?.status).toBe('failure');
    expect(outcome?.terminalOutput).toMatch(/named input "prod"/);
  });

  it('retries a failure with backoff: a retried success is flaky, a deterministic failure still fails', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const run = host({ failTimes: { flaky: 1 }, fail: ['broken'] });
    const impl: TaskHost = { ...run.impl, limits: () => ({ retries: 2, retryDelayMs: 10 }) };
    const outcomes = await collect(newRunner({ dag: { ids: ['flaky', 'broken'], dependencies: {} }, parallel: 2, store, readCache: true, host: impl }));
    const byId = Object.fromEntries(outcomes.map((o) => [o.id, o]));
    expect(byId.flaky).toMatchObject({ status: 'success', attempts: 2, flaky: true });
    expect(byId.flaky?.terminalOutput).toMatch(/attempt 1 of 3\); retrying in 0s[\s\S]*marked flaky/);
    expect(byId.broken).toMatchObject({ status: 'failure', attempts: 3, flaky: false });
    // The stored (replayed) output is the successful attempt's alone.
    expect((await store.restore((await store.lookup('h-flaky'))!, [])).terminalOutput).toBe('ran flaky\n');
  });

  it('kills a task that outlives its timeout, with the processes it started, and says so', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const marker = join(mkdtempSync(join(tmpdir(), 'stride-timeout-')), 'grandchild-survived');
    const impl: TaskHost = {
      hash: async (id) => `h-${id}`,
      outputs: () => [],
      // The shell starts a grandchild that would write the marker after 1.5 s.
      execute: async (_id, _hash, signal) => {
        const result = await runCaptured({ command: `(sleep 1.5; touch ${marker}) & sleep 30`, cwd: tmpdir(), env: process.env, shell: true, ...(signal ? { signal } : {}) });
        return { success: result.exitCode === 0, terminalOutput: result.output };
      },
      limits: () => ({ retries: 0, retryDelayMs: 0, timeoutMs: 300 }),
    };
    const started = Date.now();
    const [outcome] = await collect(newRunner({ dag: { ids: ['slow'], dependencies: {} }, parallel: 1, store, readCache: true, host: impl }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome?.status).toBe('failure');
    expect(outcome?.terminalOutput).toMatch(/slow timed out after 0.3s \(its "timeout" option\) and was killed/);
    await new Promise((resolve) => setTimeout(resolve, 1800));
    const { existsSync } = await import('node:fs');
    expect(existsSync(marker)).toBe(false);
  });

  it('under bail, skips everything not yet started after the first failure', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const ids = ['bad', 'a', 'b', 'c', 'd'];
    const run = host({ fail: ['bad'] });
    // bad has the highest priority (a dependant), so it runs first, alone.
    const dag = { ids: [...ids, 'after'], dependencies: { after: ['bad'] } };
    const outcomes = await collect(newRunner({ dag, parallel: 1, store, readCache: true, bail: true, host: run.impl }));
    expect(run.executed).toEqual(['bad']);
    expect(outcomes.filter((o) => o.status === 'skipped').map((o) => o.id).sort()).toEqual(['a', 'after', 'b', 'c', 'd']);
    const withoutBail = host({ fail: ['bad'] });
    await collect(newRunner({ dag, parallel: 1, store, readCache: false, host: withoutBail.impl }));
    expect(withoutBail.executed.sort()).toEqual(['a', 'b', 'bad', 'c', 'd']);
  });

  it('orders a second run better than the first from the durations the first recorded', async () => {
    // Unequal tasks, parallel 2: `long` (600 ms) has no dependants, `s1..s4` (60 ms each) one each.
    // With nothing known, ties go by dependants and the short ones go first; once durations are
    // known, `long` starts at once and the run is shorter.
    const dag = {
      ids: ['long', 's1', 's2', 's3', 's4', 'd1', 'd2', 'd3', 'd4'],
      dependencies: { d1: ['s1'], d2: ['s2'], d3: ['s3'], d4: ['s4'] },
    };
    const delayMs: Record<string, number> = { long: 600, s1: 60, s2: 60, s3: 60, s4: 60, d1: 60, d2: 60, d3: 60, d4: 60 };
    const history = new TimingHistory();
    const runOnce = async () => {
      const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
      const run = host({ delayMs });
      const outcomes = await collect(newRunner({ dag, parallel: 2, store, readCache: true, host: run.impl, estimateMs: (id) => history.estimate(id) }));
      for (const o of outcomes) history.record(o.id, o.phases.runMs);
      // The runner's choices are its start order; replaying that order with the true durations
      // gives the makespan those choices cost, free of this machine's timer noise.
      const rank = new Map(run.executed.map((id, i) => [id, i]));
      const makespan = simulateMakespan(dag, (id) => delayMs[id] ?? 0, 2, (a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0));
      return { order: run.executed, makespan, longStart: run.executed.indexOf('long') };
    };
    const first = await runOnce();
    const second = await runOnce();
    expect(first.longStart).toBeGreaterThan(0);
    expect(second.order[0]).toBe('long');
    expect(first.makespan).toBe(840);
    expect(second.makespan).toBe(600);
  });

  it('with a remote, asks it for every early-hashable task at once, each exactly once', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const chain = { ids: ['c1', 'c2', 'c3', 'c4', 'c5'], dependencies: { c2: ['c1'], c3: ['c2'], c4: ['c3'], c5: ['c4'] } };
    const asked: Array<{ id: string; at: number }> = [];
    const remote = {
      fetch: async (_hash: string, id: string) => {
        asked.push({ id, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 30));
        return undefined;
      },
      scheduleUpload: () => undefined,
    };
    const run = host({ delayMs: { c1: 100 } });
    const impl: TaskHost = { ...run.impl, canHashEarly: (id) => id !== 'c5' };
    const outcomes = await collect(newRunner({ dag: chain, parallel: 1, store, readCache: true, host: impl, remote }));
    expect(outcomes.every((o) => o.status === 'success' && o.cache === 'miss')).toBe(true);
    expect(asked.map((a) => a.id).sort()).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    const c1Done = outcomes.find((o) => o.id === 'c1')!.endTime;
    // c2-c4 were asked for while c1 still ran; c5 (its hash reads c4's outputs) only in its turn.
    for (const id of ['c2', 'c3', 'c4']) expect(asked.find((a) => a.id === id)!.at, id).toBeLessThan(c1Done);
    expect(asked.find((a) => a.id === 'c5')!.at).toBeGreaterThanOrEqual(c1Done);
  });

  it('restores a fully cached chain at once, not one layer after another, and still completes it in order', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache');
    const chain = { ids: ['c1', 'c2', 'c3', 'c4', 'c5'], dependencies: { c2: ['c1'], c3: ['c2'], c4: ['c3'], c5: ['c4'] } };
    await collect(newRunner({ dag: chain, parallel: 1, store: new LocalStore(dir, tmpdir()), readCache: true, host: host().impl }));
    const restoresStarted = new Map<string, number>();
    class SlowRestores extends LocalStore {
      override async restore(...args: Parameters<LocalStore['restore']>) {
        restoresStarted.set(args[0].taskId, Date.now());
        await new Promise((resolve) => setTimeout(resolve, 50));
        return super.restore(...args);
      }
    }
    const warm = host();
    const impl: TaskHost = { ...warm.impl, canHashEarly: () => true };
    const outcomes = await collect(newRunner({ dag: chain, parallel: 1, store: new SlowRestores(dir, tmpdir()), readCache: true, host: impl }));
    expect(outcomes.map((o) => [o.id, o.cache])).toEqual(chain.ids.map((id) => [id, 'local']));
    expect(warm.executed).toEqual([]);
    const c1Done = outcomes[0]!.endTime;
    for (const id of chain.ids) expect(restoresStarted.get(id), id).toBeLessThan(c1Done);

    // c1 changed: it runs, and nothing after it is restored before it is done.
    restoresStarted.clear();
    const changed: TaskHost = { ...impl, hash: async (id) => (id === 'c1' ? 'h-c1-changed' : `h-${id}`) };
    const mixed = await collect(newRunner({ dag: chain, parallel: 1, store: new SlowRestores(dir, tmpdir()), readCache: true, host: changed }));
    expect(mixed.map((o) => o.cache)).toEqual(['miss', 'local', 'local', 'local', 'local']);
    for (const id of ['c2', 'c3', 'c4', 'c5']) expect(restoresStarted.get(id), id).toBeGreaterThanOrEqual(mixed[0]!.endTime);
  });

  it('reports what an early fetch brought as remote hits, however the fetch and the restore interleave', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const chain = { ids: ['c1', 'c2', 'c3', 'c4'], dependencies: { c2: ['c1'], c3: ['c2'], c4: ['c3'] } };
    const remote = {
      // Some imports land before their task's turn, some after it has begun (and waits for them).
      fetch: async (hash: string, id: string) => {
        await new Promise((resolve) => setTimeout(resolve, { c1: 0, c2: 40, c3: 20, c4: 60 }[id] ?? 0));
        return await store.save({ hash, taskId: id, outputs: [], terminalOutput: `built elsewhere: ${id}\n`, durationMs: 5 });
      },
      scheduleUpload: () => undefined,
    };
    const run = host();
    const outcomes = await collect(newRunner({ dag: chain, parallel: 1, store, readCache: true, host: { ...run.impl, canHashEarly: () => true }, remote }));
    expect(run.executed).toEqual([]);
    expect(outcomes.map((o) => [o.id, o.cache])).toEqual(chain.ids.map((id) => [id, 'remote']));
    expect(outcomes.find((o) => o.id === 'c4')?.terminalOutput).toBe('built elsewhere: c4\n');
  });

  it('waits for a task another machine owns until it appears in the remote, and builds it itself past the deadline', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const dag = { ids: ['late', 'never', 'mine'], dependencies: { mine: ['late', 'never'] } };
    const run = host({});
    const lateHash = await run.impl.hash('late');
    const start = Date.now();
    let asked = 0;
    // The other machine's upload of 'late' lands 600 ms in; nobody ever uploads 'never'.
    const remote = {
      fetch: async (hash: string) => {
        asked++;
        if (hash !== lateHash || Date.now() - start < 600) return undefined;
        return await store.save({ hash, taskId: 'late', outputs: [], terminalOutput: 'built elsewhere\n', durationMs: 5 });
      },
      scheduleUpload: () => undefined,
      readable: true,
    };
    const outcomes = await collect(
      newRunner({ dag, parallel: 2, store, readCache: true, host: run.impl, remote, awaitRemoteUntil: (id) => (id === 'mine' ? undefined : start + 1500) }),
    );
    const late = outcomes.find((o) => o.id === 'late')!;
    const never = outcomes.find((o) => o.id === 'never')!;
    expect(late.cache).toBe('remote');
    expect(late.attempts).toBe(0);
    expect(late.phases.waitMs).toBeGreaterThanOrEqual(500);
    // Nobody uploaded 'never': it ran here once the deadline passed.
    expect(never.cache).toBe('miss');
    expect(never.attempts).toBe(1);
    expect(never.startTime + (never.phases.waitMs ?? 0)).toBeGreaterThanOrEqual(start + 1400);
    expect(outcomes.find((o) => o.id === 'mine')!.status).toBe('success');
    expect(run.executed.sort()).toEqual(['mine', 'never']);
    expect(asked).toBeGreaterThan(2);
  });
});
