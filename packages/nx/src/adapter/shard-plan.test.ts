import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadShardWaits, MAX_WAIT_MS, MIN_WAIT_MS } from './shard-plan.js';

describe('loadShardWaits', () => {
  it('bounds every wait, whatever the plan says (a poisoned history must not hang a machine)', () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-plan-'));
    const plan = {
      version: 1,
      index: 0,
      total: 2,
      createdAt: '',
      owner: { 'a:build': 1, 'b:build': 1, 'c:build': 1, 'd:build': 0 },
      finishMs: { 'a:build': 1e15, 'b:build': 2000, c: null },
      estimateMs: { 'a:build': 1e15, 'b:build': 4000, 'c:build': 'NaN' },
    };
    writeFileSync(join(root, 'plan.json'), JSON.stringify(plan));
    const wait = loadShardWaits('plan.json', root, 1000);
    expect(wait('a:build')).toBe(1000 + MAX_WAIT_MS);
    expect(wait('b:build')).toBe(1000 + 6000);
    expect(wait('c:build')).toBe(1000 + MIN_WAIT_MS);
    expect(wait('d:build')).toBeUndefined();
  });
});
