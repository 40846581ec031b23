import { describe, expect, it } from 'vitest';
import { parseShardSpec } from './shard-spec.js';

describe('parseShardSpec', () => {
  it('reads i/n 1-based, as Jest, Vitest and Playwright write it', () => {
    expect(parseShardSpec('1/4')).toEqual({ index: 0, total: 4 });
    expect(parseShardSpec('2/4')).toEqual({ index: 1, total: 4 });
    expect(parseShardSpec('4/4')).toEqual({ index: 3, total: 4 });
    expect(parseShardSpec(' 1 / 1 ')).toEqual({ index: 0, total: 1 });
  });
  it('refuses bad forms with the fix', () => {
    expect(() => parseShardSpec('0/4')).toThrow(/shards count from 1.*use 1\/4 to 4\/4/);
    expect(() => parseShardSpec('5/4')).toThrow(/shard 5 is out of range for 4 machines: use 1\/4 to 4\/4/);
    expect(() => parseShardSpec('2/0')).toThrow(/number of machines must be at least 1/);
    for (const bad of ['x', '2', '2/4/1', '-1/4', '1.5/4', '']) expect(() => parseShardSpec(bad), bad).toThrow(/is not of the form i\/n/);
  });
});
