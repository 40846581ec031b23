import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ESTIMATE_MS, MAX_ESTIMATE_MS, MAX_TIMING_ENTRIES, TimingHistory, mergeTimings, parseTimings } from './timings.js';

const targetOf = (id: string): string => id.slice(id.indexOf(':') + 1);
const tempFile = (): string => join(mkdtempSync(join(tmpdir(), 'stride-timings-')), 'timings.json');

describe('TimingHistory', () => {
  it('estimates from a decaying average, then the target median, then the default', () => {
    const history = new TimingHistory(undefined, targetOf);
    expect(history.estimate('a:build')).toBe(DEFAULT_ESTIMATE_MS);
    history.record('a:build', 1000);
    history.record('a:build', 3000);
    expect(history.estimate('a:build')).toBe(2000);
    history.record('b:build', 4000);
    history.record('c:build', 9000);
    // Unknown d:build: median of 2000, 4000, 9000.
    expect(history.estimate('d:build')).toBe(4000);
    expect(history.estimateSource('d:build')).toBe('target-median');
    expect(history.estimate('d:test')).toBe(DEFAULT_ESTIMATE_MS);
  });

  it('refines a new task estimate from its input size only where the target history shows size predicts time', () => {
    const history = new TimingHistory(undefined, targetOf);
    // build: 100 ms of start-up plus 1 ms per kB, recorded with each task's input bytes.
    for (const [id, kb] of [['a', 1000], ['b', 2000], ['c', 4000], ['d', 8000]] as const) history.record(`${id}:build`, 100 + kb, 1, kb * 1000);
    expect(history.estimate('new:build')).toBe(3100); // no size given: the median
    expect(history.estimate('new:build', 6_000_000)).toBe(6100);
    expect(history.estimateSource('new:build', 6_000_000)).toBe('input-size');
    // Never beyond four times the median either way: size is only a proxy for work.
    expect(history.estimate('new:build', 100_000_000)).toBe(4 * 3100);
    expect(history.estimate('new:build', 1)).toBe(Math.round(3100 / 4));
    // A task's own history is not rescaled by its size.
    expect(history.estimate('a:build', 8_000_000)).toBe(1100);

    // test: durations that do not follow size (r² below 0.5), so size is not used.
    for (const [id, kb, ms] of [['a', 1000, 5000], ['b', 2000, 900], ['c', 4000, 7000], ['d', 8000, 1200]] as const) history.record(`${id}:test`, ms, 1, kb * 1000);
    expect(history.estimateSource('new:test', 6_000_000)).toBe('target-median');
    expect(history.estimate('new:test', 6_000_000)).toBe(history.estimate('new:test'));
    // Given lazily, a size is read only where it is used: a start-up reads no files for nothing.
    let reads = 0;
    const size = (): number => {
      reads++;
      return 6_000_000;
    };
    expect(history.estimate('new:test', size)).toBe(history.estimate('new:test'));
    expect(reads).toBe(0);
    expect(history.estimate('new:build', size)).toBe(6100);
    expect(reads).toBe(1);

    // The sizes survive a round trip through the file format.
    const reread = new TimingHistory(parseTimings(JSON.stringify(history.toJSON())), targetOf);
    expect(reread.estimate('new:build', 6_000_000)).toBe(6100);
  });

  it('saves by merging into what is on disk, so two runs finishing together both count', async () => {
    const file = tempFile();
    const first = (await TimingHistory.load(file, targetOf)).history;
    const second = (await TimingHistory.load(file, targetOf)).history;
    first.record('a:build', 1000);
    second.record('b:build', 2000);
    await Promise.all([first.save(file), second.save(file)]);
    const merged = (await TimingHistory.load(file, targetOf)).history;
    expect(merged.estimate('a:build')).toBe(1000);
    expect(merged.estimate('b:build')).toBe(2000);
  });

  it('reads a corrupt file as empty, with a warning, and rewrites it', async () => {
    const file = tempFile();
    writeFileSync(file, '{ not json');
    const { history, warning } = await TimingHistory.load(file, targetOf);
    expect(warning).toMatch(/not valid JSON/);
    history.record('a:build', 500);
    await history.save(file);
    expect(JSON.parse(readFileSync(file, 'utf8')).tasks['a:build'].ms).toBe(500);
  });

  it('drops malformed entries and keeps at most MAX_TIMING_ENTRIES, newest first', () => {
    const tasks: Record<string, unknown> = { bad: { ms: -1, runs: 1, at: 1 }, worse: 'x' };
    for (let i = 0; i < MAX_TIMING_ENTRIES + 5; i++) tasks[`p${i}:build`] = { ms: 10, runs: 1, at: i };
    const parsed = parseTimings(JSON.stringify({ version: 1, tasks }));
    expect(Object.keys(parsed.tasks)).toHaveLength(MAX_TIMING_ENTRIES);
    expect(parsed.tasks['p0:build']).toBeUndefined();
    expect(parsed.tasks.bad).toBeUndefined();
  });

  it('merges histories entry by entry, the more recent winning, without losing this run\'s samples', () => {
    const merged = mergeTimings(
      { version: 1, tasks: { 'a:x': { ms: 1, runs: 1, at: 10 }, 'b:x': { ms: 2, runs: 1, at: 30 } } },
      { version: 1, tasks: { 'a:x': { ms: 5, runs: 3, at: 20 }, 'b:x': { ms: 9, runs: 3, at: 5 } } },
    );
    expect(merged.tasks['a:x']?.ms).toBe(5);
    expect(merged.tasks['b:x']?.ms).toBe(2);
    const history = new TimingHistory(undefined, targetOf);
    history.record('c:x', 700);
    history.mergeFrom({ version: 1, tasks: { 'd:x': { ms: 100, runs: 1, at: 1 } } });
    expect(history.estimate('c:x')).toBe(700);
    expect(history.estimate('d:x')).toBe(100);
  });

  it('bounds what it reads: durations clamped to a day, future sample times read as now, non-finite entries dropped', () => {
    const now = 1_700_000_000_000;
    const parsed = parseTimings(
      JSON.stringify({ version: 1, tasks: { 'a:build': { ms: 1e15, runs: 1e9, at: 1e15 }, 'b:build': { ms: 'NaN', runs: 1, at: 1 }, 'c:build': { ms: 10, runs: 1, at: now - 5 } } }),
      now,
    );
    expect(parsed.tasks).toEqual({ 'a:build': { ms: MAX_ESTIMATE_MS, runs: 20, at: now }, 'c:build': { ms: 10, runs: 1, at: now - 5 } });
    // A genuine sample taken later displaces the poisoned one in a merge.
    const genuine = { version: 1 as const, tasks: { 'a:build': { ms: 2000, runs: 1, at: now + 1 } } };
    expect(mergeTimings(parsed, genuine).tasks['a:build']?.ms).toBe(2000);
    const history = new TimingHistory(undefined, targetOf);
    history.record('x:build', 1e18);
    expect(history.estimate('x:build')).toBe(MAX_ESTIMATE_MS);
  });
});

