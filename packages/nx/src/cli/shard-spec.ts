/**
 * `--shard i/n` as Jest, Vitest and Playwright write it: 1-based, so `1/4` is
 * the first of four machines (GitHub's `matrix.shard: [1, 2, 3, 4]`). Returns
 * the 0-based index `--index` takes.
 */
export function parseShardSpec(value: string): { index: number; total: number } {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!match) throw new Error(`--shard ${value} is not of the form i/n: write this machine's shard and the number of machines, e.g. --shard 2/4`);
  const shard = Number(match[1]);
  const total = Number(match[2]);
  if (total < 1) throw new Error(`--shard ${value}: the number of machines must be at least 1, e.g. --shard 1/1`);
  if (shard < 1) throw new Error(`--shard ${value}: shards count from 1, as in Jest, Vitest and Playwright: use 1/${total} to ${total}/${total} (or --index ${Math.max(0, shard)} --total ${total}, which counts from 0)`);
  if (shard > total) throw new Error(`--shard ${value}: shard ${shard} is out of range for ${total} machines: use 1/${total} to ${total}/${total}`);
  return { index: shard - 1, total };
}
