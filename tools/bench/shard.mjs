// Shard balance on the 200-project benchmark workspace (issue 10): builds it once
// through Stride so the timing history holds every task's recorded duration,
// then asks `stride shard` for 2, 3 and 4 machines and reports how far apart the
// shards' predicted times are ((slowest - fastest) / slowest), and the slowest
// shard against one machine (the same simulation with one shard).
//
//   pnpm run pack && node tools/bench/shard.mjs [--projects 200] [--width 10] [--dir PATH]
//
// Results go to tools/bench/results/shard.json. Exits non-zero only when a command fails.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateWorkspace } from '../workspace-gen.mjs';
import { benchEnv, installStride, repoRoot, strideTarballs } from './common.mjs';

const { values: flags } = parseArgs({ options: { projects: { type: 'string' }, width: { type: 'string' }, dir: { type: 'string' } } });
const projects = Number(flags.projects ?? 200);
const width = Number(flags.width ?? 10);
const benchDir = resolve(flags.dir ?? join(tmpdir(), 'stride-bench'));
const log = (line = '') => process.stdout.write(`${line}\n`);
const env = benchEnv();
const installDir = installStride(benchDir, strideTarballs(), log);

const dir = join(benchDir, 'shard-workspace');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
generateWorkspace(dir, { projects, width });
symlinkSync(join(installDir, 'node_modules'), join(dir, 'node_modules'));
const run = (bin, args) => execFileSync(join(dir, 'node_modules', '.bin', bin), args, { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
execFileSync('git', ['init', '-q'], { cwd: dir });

log(`Recording timings: one cold build of ${projects} projects through Stride...`);
run('nx', ['run-many', '-t', 'build']);
const results = { projects, width, date: new Date().toISOString().slice(0, 10), shards: {} };
for (const total of [1, 2, 3, 4]) {
  const shard = JSON.parse(run('stride', ['shard', '--total', String(total), '--index', '0', '-t', 'build', '--json']));
  const ends = shard.predictedMsByShard;
  const spread = Math.max(...ends) === 0 ? 0 : (Math.max(...ends) - Math.min(...ends)) / Math.max(...ends);
  results.shards[total] = { predictedMsByShard: ends, spread: +spread.toFixed(3), slowestMs: Math.max(...ends) };
  log(`${total} machine(s): predicted ${ends.map((ms) => `${(ms / 1000).toFixed(2)}s`).join(' / ')}, spread ${(spread * 100).toFixed(1)}%`);
}
for (const total of [2, 3, 4]) results.shards[total].slowestVsOneMachine = +(results.shards[total].slowestMs / results.shards[1].slowestMs).toFixed(3);
mkdirSync(join(repoRoot, 'tools', 'bench', 'results'), { recursive: true });
writeFileSync(join(repoRoot, 'tools', 'bench', 'results', 'shard.json'), `${JSON.stringify(results, null, 2)}\n`);
log(JSON.stringify(results));
