import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../store/local-store.js';
import { type TaskHost, type TaskOutcome, TaskRunner } from './runner.js';

/** A host whose tasks are in-memory functions: this pins the runner's own behaviour. */
function host(options: { fail?: string[]; delayMs?: Record<string, number> } = {}) {
  const executed: string[] = [];
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
      return { success: !options.fail?.includes(id), terminalOutput: `ran ${id}\n` };
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
    const cold = await collect(new TaskRunner({ dag: diamond, parallel: 2, store, readCache: true, host: first.impl }));
    expect(first.executed[0]).toBe('a');
    expect(first.executed[3]).toBe('d');
    expect(cold.every((o) => o.status === 'success' && o.cache === 'miss')).toBe(true);

    const second = host();
    const warm = await collect(new TaskRunner({ dag: diamond, parallel: 2, store, readCache: true, host: second.impl }));
    expect(second.executed).toEqual([]);
    expect(warm.map((o) => o.cache)).toEqual(['local', 'local', 'local', 'local']);
    expect(warm.find((o) => o.id === 'd')?.terminalOutput).toBe('ran d\n');

    const skipping = host();
    await collect(new TaskRunner({ dag: diamond, parallel: 2, store, readCache: false, host: skipping.impl }));
    expect(skipping.executed.sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('skips the dependants of a failure and nothing else, and never stores a failure', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const dag = { ids: ['a', 'b', 'c', 'd', 'e'], dependencies: { a: [], b: ['a'], c: [], d: ['b', 'c'], e: [] } };
    const run = host({ fail: ['b'] });
    const outcomes = await collect(new TaskRunner({ dag, parallel: 3, store, readCache: true, host: run.impl }));
    const status = Object.fromEntries(outcomes.map((o) => [o.id, o.status]));
    expect(status).toEqual({ a: 'success', b: 'failure', c: 'success', d: 'skipped', e: 'success' });
    expect(await store.lookup('h-b')).toBeUndefined();
  });

  it('never runs more than `parallel` tasks at once', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const ids = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const run = host();
    await collect(new TaskRunner({ dag: { ids, dependencies: {} }, parallel: 3, store, readCache: true, host: run.impl }));
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
    await collect(new TaskRunner({ dag, parallel: 1, store, readCache: true, host: slowHash }));
    expect(run.executed).toEqual(['chain1', 'chain2', 'chain3', 'x', 'y']);
  });

  it('reports a task whose hash cannot be computed as failed, with the reason', async () => {
    const store = new LocalStore(join(mkdtempSync(join(tmpdir(), 'stride-runner-')), 'cache'), tmpdir());
    const run = host();
    const impl: TaskHost = { ...run.impl, hash: async () => { throw new Error('the named input "prod" is not defined'); } };
    const [outcome] = await collect(new TaskRunner({ dag: { ids: ['a'], dependencies: {} }, parallel: 1, store, readCache: true, host: impl }));
    expect(outcome?.status).toBe('failure');
    expect(outcome?.terminalOutput).toMatch(/named input "prod"/);
  });
});
