// Scheduler benchmark (issue 6): the same graphs of real `sleep` tasks through
// `nx run-many -t build --parallel=2`, Stride's batch runner (critical path
// first, durations learned from one earlier run) against Nx's own scheduler
// (nx:run-commands, cache off, its task history equally warmed), alternating
// the two round by round. Reports wall time and Nx's "Run duration" (the task
// phase) as ratios Stride / Nx.
//
//   pnpm bench:schedule                           (packs Stride first)
//   node tools/bench/schedule.mjs --rounds 3      (tarballs must be in dist/packages)
//
// Options: --rounds N (default 3), --parallel N (default 2), --dir PATH, --out FILE.
// Exits non-zero only when a run fails, never because of a timing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateTimedWorkspace } from '../workspace-gen.mjs';
import { benchEnv, installStride, medianOf, NX_VERSION, repoRoot, strideTarballs } from './common.mjs';

const core = await import(join(repoRoot, 'packages', 'core', 'dist', 'index.js'));
const { values: flags } = parseArgs({ options: { rounds: { type: 'string' }, parallel: { type: 'string' }, dir: { type: 'string' }, out: { type: 'string' } } });
const rounds = Number(flags.rounds ?? 3);
const parallel = Number(flags.parallel ?? 2);
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(parallel) || parallel < 1) {
  console.error('--rounds and --parallel must be positive integers');
  process.exit(2);
}
const benchDir = resolve(flags.dir ?? join(tmpdir(), 'stride-bench'));
const log = (line = '') => process.stdout.write(`${line}\n`);
const env = benchEnv();
const installDir = installStride(benchDir, strideTarballs(), log);

const shapes = {
  skewed: { graph: core.skewedDag(6, 6), what: '6 fan libraries (1 s, 2 dependants of 0.5 s each) beside a chain of 6 x 2 s' },
  diamond: { graph: core.diamondDag(4), what: '4 stacked diamonds, each a 0.5 s and a 1.5 s branch between 0.5 s joins' },
  fan: { graph: core.fanDag(12), what: 'one 1 s root, 12 leaves of 0.5-2 s, one 1 s join' },
};

const failures = [];
const results = [];
for (const [name, shape] of Object.entries(shapes)) {
  const dirs = { stride: join(benchDir, `sched-${name}-stride`), nx: join(benchDir, `sched-${name}-nx`) };
  for (const [variant, dir] of Object.entries(dirs)) {
    rmSync(dir, { recursive: true, force: true });
    generateTimedWorkspace(dir, shape.graph, { stride: variant === 'stride' });
    symlinkSync(join(installDir, 'node_modules'), join(dir, 'node_modules'), 'junction');
    execFileSync('git', ['init', '-q'], { cwd: dir });
  }
  const duration = (id) => shape.graph.durationMs[id] ?? 0;
  const bound = core.makespanLowerBound(shape.graph.dag, duration, parallel);
  log(`\n${name}: ${shape.what}; work ${sum(Object.values(shape.graph.durationMs)) / 1000} s, lower bound ${bound / 1000} s at parallel ${parallel}`);
  // One untimed run each: Stride records durations, Nx its task history.
  for (const variant of ['stride', 'nx']) check(run(variant, dirs[variant], shape.graph), name, 'warm-up');
  const samples = { stride: [], nx: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const variant of round % 2 ? ['stride', 'nx'] : ['nx', 'stride']) {
      const r = run(variant, dirs[variant], shape.graph);
      check(r, name, `round ${round}`);
      samples[variant].push(r);
    }
    log(`  round ${round}: stride ${(samples.stride.at(-1).wallMs / 1000).toFixed(2)} s, nx ${(samples.nx.at(-1).wallMs / 1000).toFixed(2)} s`);
  }
  const wall = { stride: medianOf(samples.stride.map((s) => s.wallMs)), nx: medianOf(samples.nx.map((s) => s.wallMs)) };
  const taskPhase = { stride: medianOf(samples.stride.map((s) => s.runDurationMs)), nx: medianOf(samples.nx.map((s) => s.runDurationMs)) };
  results.push({ shape: name, what: shape.what, boundMs: bound, wallMs: wall, taskPhaseMs: taskPhase, wallRatio: wall.stride / wall.nx, taskPhaseRatio: taskPhase.stride / taskPhase.nx, samples: { stride: samples.stride.map(brief), nx: samples.nx.map(brief) } });
  for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
}

const markdown = [
  `| shape | Stride wall (s) | Nx wall (s) | wall ratio | Stride task phase (s) | Nx task phase (s) | task-phase ratio | lower bound (s) |`,
  `|---|---|---|---|---|---|---|---|`,
  ...results.map((r) => `| ${r.shape} | ${s(r.wallMs.stride)} | ${s(r.wallMs.nx)} | **${r.wallRatio.toFixed(2)}x** | ${s(r.taskPhaseMs.stride)} | ${s(r.taskPhaseMs.nx)} | ${r.taskPhaseRatio.toFixed(2)}x | ${s(r.boundMs)} |`),
].join('\n');
log(`\nMedians of ${rounds} rounds, parallel ${parallel}, nx ${NX_VERSION}, ${cpus().length} cores, load ${loadavg()[0].toFixed(2)}:\n\n${markdown}\n`);
const out = resolve(flags.out ?? join(import.meta.dirname, 'results', 'schedule.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), nx: NX_VERSION, rounds, parallel, cores: cpus().length, results, markdown }, null, 2)}\n`);
log(`Results written to ${out}`);
if (failures.length > 0) {
  console.error(`\n${failures.length} run(s) FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}

function run(variant, dir, graph) {
  const t0 = performance.now();
  const child = spawnSync(join(dir, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'build', `--parallel=${parallel}`, '--skip-nx-cache', '--output-style=static'], { cwd: dir, env, encoding: 'utf8' });
  const wallMs = performance.now() - t0;
  const output = `${child.stdout}${child.stderr}`;
  const match = /Run duration:\s+([\d.]+)\s*(ms|s)\b/.exec(output);
  const runDurationMs = match ? Number(match[1]) * (match[2] === 's' ? 1000 : 1) : NaN;
  const recordFile = join(dir, '.stride', 'runs', 'last.json');
  const record = variant === 'stride' && existsSync(recordFile) ? JSON.parse(readFileSync(recordFile, 'utf8')) : undefined;
  return { variant, dir, graph, wallMs, runDurationMs, status: child.status, output, record };
}

function check(r, shape, label) {
  const problems = [];
  if (r.status !== 0) problems.push(`nx exited with ${r.status}: ${r.output.slice(-500)}`);
  if (Number.isNaN(r.runDurationMs)) problems.push('no "Run duration" in the output');
  if (r.variant === 'stride') {
    const ran = r.record?.tasks.filter((t) => t.cache === 'miss' && t.status === 'success').length ?? 0;
    if (ran !== r.graph.dag.ids.length) problems.push(`expected Stride to run ${r.graph.dag.ids.length} tasks, it ran ${ran}`);
  }
  if (problems.length > 0) failures.push(`${shape} ${r.variant} ${label}: ${problems.join('; ')}`);
}

function brief(r) {
  return { wallMs: Math.round(r.wallMs), runDurationMs: r.runDurationMs, ...(r.record ? { predicted: r.record.criticalPath?.predicted, actual: r.record.criticalPath?.actual } : {}) };
}

function sum(values) {
  return values.reduce((a, b) => a + b, 0);
}

function s(ms) {
  return (ms / 1000).toFixed(2);
}
