// Stride's speed benchmark (issue 4, "Speed"): fully cached `nx run-many -t
// build` over a synthetic workspace of 200 projects and ~20,000 source files,
// Stride against Nx's own local cache, in one run, alternating the two
// variants round by round. See BENCHMARKS.md for what each figure means.
//
//   pnpm bench                          (packs Stride first, then runs this)
//   node tools/bench/run.mjs --rounds 3 (tarballs must already be in dist/packages)
//
// Options (flag, or environment variable):
//   --rounds N       STRIDE_BENCH_ROUNDS    rounds of every measurement (default 5, at least 1)
//   --projects N     STRIDE_BENCH_PROJECTS  projects (default 200)
//   --files N        STRIDE_BENCH_FILES     source files per project (default 100)
//   --width N        STRIDE_BENCH_WIDTH     projects per layer of the dependency graph (default 10)
//   --dir PATH       STRIDE_BENCH_DIR       where the workspaces go (default <os tmpdir>/stride-bench)
//   --no-probe       STRIDE_BENCH_PROBE=0   skip the in-process hashing probe
//   --out FILE                              results file (default tools/bench/results/latest.json)
//   --keep                                  keep the workspaces afterwards
//
// It prints Markdown tables and writes tools/bench/results/latest.json. It
// exits non-zero only when a run fails (non-zero exit, a task not restored, an
// output missing), never because of a timing.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { generateWorkspace } from '../workspace-gen.mjs';
import { benchEnv, installStride, NX_VERSION, repoRoot, strideTarballs } from './common.mjs';
import { breakdown, median, readPerfDumps } from './timeline.mjs';

const perfDump = join(import.meta.dirname, 'perf-dump.cjs');
const hashProbe = join(import.meta.dirname, 'hash-probe.mjs');

function positive(value, fallback, name) {
  const n = value === undefined || value === '' ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${value}`);
  return n;
}

let flags;
let config;
try {
  ({ values: flags } = parseArgs({
    options: {
      rounds: { type: 'string' },
      projects: { type: 'string' },
      files: { type: 'string' },
      width: { type: 'string' },
      dir: { type: 'string' },
      'no-probe': { type: 'boolean' },
      out: { type: 'string' },
      keep: { type: 'boolean' },
      mode: { type: 'string' },
    },
  }));
  config = {
    rounds: positive(flags.rounds ?? process.env.STRIDE_BENCH_ROUNDS, 5, 'rounds'),
    projects: positive(flags.projects ?? process.env.STRIDE_BENCH_PROJECTS, 200, 'projects'),
    filesPerProject: positive(flags.files ?? process.env.STRIDE_BENCH_FILES, 100, 'files'),
    width: positive(flags.width ?? process.env.STRIDE_BENCH_WIDTH, 10, 'width'),
    probe: !flags['no-probe'] && process.env.STRIDE_BENCH_PROBE !== '0',
    mode: flags.mode ?? process.env.STRIDE_BENCH_MODE ?? 'nx',
  };
  if (!['nx', 'stride'].includes(config.mode)) throw new Error(`mode must be "nx" (Nx's local cache in front, init's default) or "stride" (Stride's own store), got ${config.mode}`);
} catch (error) {
  console.error(`${error.message}\nOptions: --rounds N --projects N --files N --width N --mode nx|stride --dir PATH --no-probe --keep --out FILE (see the head of tools/bench/run.mjs)`);
  process.exit(2);
}
const benchDir = resolve(flags.dir ?? process.env.STRIDE_BENCH_DIR ?? join(tmpdir(), 'stride-bench'));

const baseEnv = benchEnv();

const failures = [];
// The 1-minute load average before each measured run: other work on the
// machine shows here (2.0 = both cores busy), and the report quotes it.
const loadSamples = [];
const benchStarted = Date.now();
const log = (line = '') => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------- set-up
const tarballs = strideTarballs();
mkdirSync(benchDir, { recursive: true });
const installDir = installStride(benchDir, tarballs, log);
const variants = {
  stride: join(benchDir, 'ws-stride'),
  nx: join(benchDir, 'ws-nx'),
};
rmSync(join(benchDir, 'perf'), { recursive: true, force: true, maxRetries: 5 });
const logsDir = join(benchDir, 'logs');
rmSync(logsDir, { recursive: true, force: true });
mkdirSync(logsDir, { recursive: true });

log(`\nGenerating two workspaces of ${config.projects} projects x ${config.filesPerProject} source files (width ${config.width}) in ${benchDir}`);
let graph;
for (const [variant, dir] of Object.entries(variants)) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  graph = generateWorkspace(dir, {
    projects: config.projects,
    width: config.width,
    stride: variant === 'stride',
    filesPerProject: config.filesPerProject,
    nxCacheInFront: config.mode === 'nx',
  });
  symlinkSync(join(installDir, 'node_modules'), join(dir, 'node_modules'), 'junction');
  execFileSync('git', ['init', '-q'], { cwd: dir });
}
const sourceFiles = countFiles(join(variants.stride, 'libs'));
const depth = Math.ceil(config.projects / config.width);
log(`${sourceFiles} files under libs/ per workspace, ${depth} layers of dependencies; Stride in localCache "${config.mode}" mode`);
// The edited library: the first of the bottom layer, so its dependants (up to the top layer) miss and the rest hit.
const leaf = graph.projects[0];
const leafMisses = dependantsOf(leaf).size + 1;
/** Per workspace, the builds logged before the current edit. */
const buildsBefore = new Map();

log('\nCold builds (empty caches), then one untimed cached run of each: every later run is fully cached.');
const cold = {};
for (const variant of ['stride', 'nx']) {
  const run = nxRun(variant, 'cold-build', 0, {});
  cold[variant] = run.wallMs;
  check(run, { expect: 'ran' });
  log(`  ${variant.padEnd(6)} cold build ${(run.wallMs / 1000).toFixed(1)} s`);
}
for (const variant of ['stride', 'nx']) check(nxRun(variant, 'warm-up', 0, {}), { expect: 'cached' });

// ---------------------------------------------------------------- rounds
const scenarios = [
  { key: 'cached', title: 'Fully cached, outputs on disk', prepare: () => {} },
  { key: 'restore', title: 'Fully cached, outputs deleted first (all restored)', prepare: deleteOutputs, outputs: true },
  {
    key: 'coldHash',
    title: 'Fully cached, file-hash cache deleted first',
    // Stride's persisted file hashes, and Nx's (its native workspace context's store).
    prepare: (variant, dir) =>
      rmSync(variant === 'stride' && config.mode === 'stride' ? join(dir, '.stride', 'file-hashes.json') : join(dir, '.nx', 'workspace-data', 'nx_files_v2.nxt'), {
        force: true,
      }),
  },
  { key: 'noIsolation', title: 'Fully cached, NX_ISOLATE_PLUGINS=false', prepare: () => {}, env: { NX_ISOLATE_PLUGINS: 'false' } },
  // Last in a round: it rebuilds what it touches, so the next round starts fully cached again.
  { key: 'leafEdit', title: 'One library of the bottom layer edited (it and its dependants miss)', prepare: editLeaf, expect: 'edited' },
];
const runs = [];
const probes = [];
for (let round = 1; round <= config.rounds; round++) {
  // Odd rounds start with Stride, even rounds with Nx.
  const order = round % 2 ? ['stride', 'nx'] : ['nx', 'stride'];
  const line = [];
  for (const scenario of scenarios) {
    for (const variant of order) {
      scenario.prepare(variant, variants[variant]);
      const run = nxRun(variant, scenario.key, round, scenario.env ?? {});
      check(run, { expect: scenario.expect ?? 'cached', outputs: scenario.outputs });
      runs.push({ scenario: scenario.key, variant, round, wallMs: round1(run.wallMs), ...analyse(run) });
      line.push(`${scenario.key}/${variant} ${(run.wallMs / 1000).toFixed(2)}`);
    }
  }
  if (config.probe) {
    for (const which of order) {
      if (which === 'stride') {
        probes.push({ round, ...probe('stride', 'cold') }, { round, ...probe('stride', 'warm') });
      } else probes.push({ round, ...probe('nx') });
    }
  }
  log(`round ${round}/${config.rounds}: ${line.join(', ')} (s)`);
}

// ---------------------------------------------------------------- results
const results = summarise();
const markdown = report(results);
log(`\n${markdown}`);
const resultsFile = resolve(flags.out ?? join(import.meta.dirname, 'results', 'latest.json'));
mkdirSync(dirname(resultsFile), { recursive: true });
writeFileSync(resultsFile, `${JSON.stringify({ ...results, markdown, runs, probes }, null, 2)}\n`);
log(`Results written to ${resultsFile}; logs of the last run of each kind in ${logsDir}`);
rmSync(join(benchDir, 'perf'), { recursive: true, force: true, maxRetries: 5 });
if (!flags.keep) {
  for (const dir of Object.values(variants)) rmSync(dir, { recursive: true, force: true });
}
log(`Benchmark took ${((Date.now() - benchStarted) / 1000).toFixed(0)} s.`);
if (failures.length > 0) {
  console.error(`\n${failures.length} run(s) FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}

// ---------------------------------------------------------------- helpers

/**
 * One `nx run-many -t build`, timed from just before the spawn to just after
 * the exit, with every Node process of the run dumping Nx's performance
 * entries (perf-dump.cjs, an exit hook and nothing else) for the breakdown.
 */
function nxRun(variant, label, round, env) {
  const dir = variants[variant];
  if (round > 0) loadSamples.push(loadavg()[0]);
  // Plugin workers may outlive the CLI by a moment: each run gets its own
  // folder, all removed at the end, and only the CLI's and the batch's dumps are read.
  mkdirSync(join(benchDir, 'perf'), { recursive: true });
  const perfDir = mkdtempSync(join(benchDir, 'perf', 'run-'));
  const logFile = join(logsDir, `${label}-${variant}.log`);
  const fd = openSync(logFile, 'w');
  const t0 = performance.timeOrigin + performance.now();
  const child = spawnSync(join(dir, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'build', '--output-style=static'], {
    cwd: dir,
    stdio: ['ignore', fd, fd],
    env: { ...baseEnv, ...(variant === 'stride' ? { STRIDE_LOCAL_CACHE: config.mode } : {}), ...env, NODE_OPTIONS: `--require "${perfDump}"`, STRIDE_BENCH_PERF_DIR: perfDir },
  });
  const t1 = performance.timeOrigin + performance.now();
  closeSync(fd);
  const dumps = readPerfDumps(perfDir);
  const recordFile = join(dir, '.stride', 'runs', 'last.json');
  let record;
  if (variant === 'stride' && existsSync(recordFile)) {
    record = JSON.parse(readFileSync(recordFile, 'utf8'));
    if (Date.parse(record.startedAt) < t0 - 1000) record = undefined; // an older run's
  }
  return { variant, label, round, dir, t0, t1, wallMs: t1 - t0, pid: child.pid, status: child.status, error: child.error, logFile, dumps, record };
}

/** Records a failure when a run did not do what the measurement assumes. */
function check(run, { expect, outputs = false }) {
  const name = `${run.label} ${run.variant}${run.round ? ` round ${run.round}` : ''}`;
  const text = readFileSync(run.logFile, 'utf8');
  const problems = [];
  if (run.error || run.status !== 0) problems.push(`nx exited with ${run.error ? run.error.message : `code ${run.status}`}`);
  if (expect === 'edited') {
    const ran = buildsLogged(run.dir) - (buildsBefore.get(run.dir) ?? 0);
    if (ran !== leafMisses) problems.push(`expected ${leafMisses} tasks to run after editing ${leaf} (it and its dependants), ${ran} ran`);
  } else if (run.variant === 'stride' && !(config.mode === 'nx' && expect === 'cached')) {
    if (!run.record) problems.push('no Stride run record was written');
    else {
      const tasks = run.record.tasks;
      const good = tasks.filter((t) => t.status === 'success' && (expect === 'cached' ? t.cache === 'local' : t.cache === 'miss')).length;
      if (tasks.length !== config.projects || good !== config.projects) {
        problems.push(`expected ${config.projects} tasks ${expect === 'cached' ? 'restored' : 'run'} by Stride, got ${good} of ${tasks.length}`);
      }
    }
  } else if (expect === 'cached') {
    const hits = /for (\d+) out of (\d+) tasks/.exec(text);
    if (!hits || Number(hits[1]) !== config.projects) problems.push(`expected ${config.projects} tasks from Nx's cache, got ${hits ? hits[1] : 'none'}`);
  }
  if (outputs) {
    const missing = graph.projects.filter((p) => !existsSync(join(run.dir, 'libs', p, 'dist', 'index.js')));
    if (missing.length) problems.push(`outputs missing after the run: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '...' : ''}`);
  }
  if (problems.length > 0) {
    failures.push(`${name}: ${problems.join('; ')} (log: ${run.logFile})`);
    console.error(`FAILED ${name}: ${problems.join('; ')}\n${text.split('\n').slice(-25).join('\n')}`);
  }
}

function analyse(run) {
  try {
    const b = breakdown({ t0: run.t0, t1: run.t1, pid: run.pid, dumps: run.dumps, record: run.record, dependencies: graph.dependencies });
    return { ...b };
  } catch (error) {
    return { analysisError: String(error.message ?? error) };
  }
}

/** Tasks the build script ran in this workspace so far (it appends a line per build to build-log.txt). */
function buildsLogged(dir) {
  const file = join(dir, 'build-log.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
}
/** A new line in one source file of the leaf library: a different content hash on every round. */
function editLeaf(_variant, dir) {
  buildsBefore.set(dir, buildsLogged(dir));
  appendFileSync(join(dir, 'libs', leaf, 'src', 'util.js'), `// edit ${Date.now()}\n`);
}

function dependantsOf(project) {
  const found = new Set();
  const visit = (name) => {
    for (const [other, deps] of Object.entries(graph.dependencies)) {
      if (deps.includes(name) && !found.has(other)) {
        found.add(other);
        visit(other);
      }
    }
  };
  visit(project);
  return found;
}

function deleteOutputs(_variant, dir) {
  for (const project of graph.projects) rmSync(join(dir, 'libs', project, 'dist'), { recursive: true, force: true });
}

/** The in-process hashing probe (hash-probe.mjs), in the variant's workspace. */
function probe(which, temperature) {
  const dir = variants[which];
  const child = spawnSync(process.execPath, [hashProbe, which, ...(temperature ? [temperature] : [])], {
    cwd: dir,
    env: baseEnv,
    encoding: 'utf8',
  });
  if (child.status !== 0) {
    failures.push(`hash probe ${which} ${temperature ?? ''}: exit ${child.status}: ${child.stderr.trim().split('\n').slice(-3).join(' ')}`);
    return { which, temperature, failed: true };
  }
  return JSON.parse(child.stdout.trim().split('\n').at(-1));
}

function countFiles(dir) {
  let n = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) n++;
  return n;
}

function round1(x) {
  return Math.round(x * 10) / 10;
}

function stats(values) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: round1(median(v)), min: round1(Math.min(...v)), max: round1(Math.max(...v)), n: v.length };
}

function summarise() {
  const pick = (scenario, variant) => runs.filter((r) => r.scenario === scenario && r.variant === variant);
  const wall = {};
  for (const { key, title } of scenarios) {
    const s = pick(key, 'stride');
    const n = pick(key, 'nx');
    const paired = s.map((r) => r.wallMs / (n.find((x) => x.round === r.round)?.wallMs ?? NaN));
    wall[key] = {
      title,
      stride: stats(s.map((r) => r.wallMs)),
      nx: stats(n.map((r) => r.wallMs)),
      ratioOfMedians: 0,
      pairedRatio: stats(paired.map((x) => x * 1000)),
    };
    wall[key].ratioOfMedians = Math.round((wall[key].stride.median / wall[key].nx.median) * 100) / 100;
    wall[key].pairedRatio = {
      median: Math.round(wall[key].pairedRatio.median) / 1000,
      min: Math.round(wall[key].pairedRatio.min) / 1000,
      max: Math.round(wall[key].pairedRatio.max) / 1000,
    };
  }
  // Where the time goes: median of each segment over the rounds.
  const segments = {};
  for (const key of ['cached', 'restore', 'coldHash', 'noIsolation']) {
    for (const variant of ['stride', 'nx']) {
      const rs = pick(key, variant).filter((r) => r.segments);
      const names = [...new Set(rs.flatMap((r) => Object.keys(r.segments)))];
      segments[`${key}/${variant}`] = Object.fromEntries(names.map((name) => [name, stats(rs.map((r) => r.segments[name])).median]));
      segments[`${key}/${variant}`].total = stats(rs.map((r) => r.totalMs)).median;
    }
  }
  const detailStats = (key, variant, get) => stats(pick(key, variant).filter((r) => r.detail).map((r) => get(r.detail)));
  const strideHash = (key) => ({
    listFilesMs: detailStats(key, 'stride', (d) => d.listFilesMs),
    loadFileHashesMs: detailStats(key, 'stride', (d) => d.loadFileHashesMs),
    hashUnionMs: detailStats(key, 'stride', (d) => d.hashUnionMs),
    hashSpreadMs: detailStats(key, 'stride', (d) => d.hashSpreadMs),
    hashSumMs: detailStats(key, 'stride', (d) => d.hashSumMs),
    hashTotalMs: detailStats(key, 'stride', (d) => d.hashTotalMs),
    hashMedianMs: detailStats(key, 'stride', (d) => d.hashMedianMs),
    criticalHashMs: detailStats(key, 'stride', (d) => d.critical?.hashMs),
    saveFileHashesMs: detailStats(key, 'stride', (d) => d.saveFileHashesMs),
    restoreUnionMs: detailStats(key, 'stride', (d) => d.restoreUnionMs),
    restoreSumMs: detailStats(key, 'stride', (d) => d.restoreSumMs),
    restoreMedianMs: detailStats(key, 'stride', (d) => d.restoreMedianMs),
    criticalRestoreMs: detailStats(key, 'stride', (d) => d.critical?.restoreMs),
    criticalWaitMs: detailStats(key, 'stride', (d) => d.critical?.waitMs),
    criticalTasks: detailStats(key, 'stride', (d) => d.critical?.tasks),
  });
  const nxHash = (key, variant) => stats(pick(key, variant).map((r) => r.segments?.nxHashing));
  const probeStats = (which, temperature, field) =>
    stats(probes.filter((p) => p.which === which && (temperature === undefined || p.temperature === temperature) && !p.failed).map((p) => p[field]));
  const hashing = {
    stride: { warm: strideHash('cached'), cold: strideHash('coldHash'), restore: strideHash('restore') },
    nx: {
      warm: nxHash('cached', 'nx'),
      cold: nxHash('coldHash', 'nx'),
      inStrideRun: nxHash('cached', 'stride'),
      inStrideRunCold: nxHash('coldHash', 'stride'),
    },
    probe: config.probe
      ? {
          strideCold: { listFilesMs: probeStats('stride', 'cold', 'listFilesMs'), taskHashMs: probeStats('stride', 'cold', 'taskHashMs'), totalMs: probeStats('stride', 'cold', 'totalMs') },
          strideWarm: {
            listFilesMs: probeStats('stride', 'warm', 'listFilesMs'),
            loadFileHashesMs: probeStats('stride', 'warm', 'loadFileHashesMs'),
            taskHashMs: probeStats('stride', 'warm', 'taskHashMs'),
            totalMs: probeStats('stride', 'warm', 'totalMs'),
          },
          nx: { fileHashColdMs: probeStats('nx', undefined, 'fileHashColdMs'), fileHashWarmMs: probeStats('nx', undefined, 'fileHashWarmMs'), taskHashMs: probeStats('nx', undefined, 'taskHashMs') },
        }
      : undefined,
  };
  const plugin = {
    strideWorkerStartsMs: stats(pick('cached', 'stride').flatMap((r) => r.detail?.strideWorkerStartsMs ?? [])),
    graphStrideMs: stats(pick('cached', 'stride').map((r) => r.segments?.projectGraph)),
    graphNxMs: stats(pick('cached', 'nx').map((r) => r.segments?.projectGraph)),
    preTasksHookMs: stats(pick('cached', 'stride').map((r) => r.segments?.preTasksHook)),
    preTasksHookNoIsolationMs: stats(pick('noIsolation', 'stride').map((r) => r.segments?.preTasksHook)),
    // What NX_ISOLATE_PLUGINS=false saves, round by round (the same round's
    // cached run minus its no-isolation run), for each variant.
    isolationSavingMs: Object.fromEntries(
      ['stride', 'nx'].map((variant) => [
        variant,
        stats(pick('cached', variant).map((r) => r.wallMs - (pick('noIsolation', variant).find((x) => x.round === r.round)?.wallMs ?? NaN))),
      ]),
    ),
  };
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (packages/ modified)';
  } catch {}
  return {
    date: new Date().toISOString(),
    machine: {
      cores: availableParallelism(),
      cpu: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      loadAverage1m: { median: Math.round(median(loadSamples) * 100) / 100, max: Math.round(Math.max(...loadSamples) * 100) / 100 },
    },
    nx: NX_VERSION,
    commit,
    config: { ...config, sourceFiles, depth, benchDir },
    coldBuildMs: { stride: round1(cold.stride), nx: round1(cold.nx) },
    wall,
    hashing,
    plugin,
    segments,
    failures,
  };
}

function report(r) {
  const s = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');
  const m = (ms) => (Number.isFinite(ms) ? String(Math.round(ms)) : 'n/a');
  const sp = (st) => `${s(st.median)} (${s(st.min)}-${s(st.max)})`;
  const mp = (st) => (st && st.n ? `${m(st.median)} (${m(st.min)}-${m(st.max)})` : 'n/a');
  const out = [];
  out.push(`## Stride (localCache "${r.config.mode}") vs Nx ${r.nx}: ${r.config.projects} projects, ${r.config.sourceFiles} files, ${r.config.rounds} rounds`);
  out.push('');
  out.push(`${r.date.slice(0, 10)}, ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, Stride ${r.commit}; 1-minute load average before the runs: median ${r.machine.loadAverage1m.median}, max ${r.machine.loadAverage1m.max}. Wall seconds from spawn to exit of \`nx run-many -t build\`, median (min-max); ratio = Stride/Nx of the medians, and the median of the per-round ratios.`);
  out.push('');
  out.push('| `nx run-many -t build` | Stride s | Nx s | Stride/Nx | per-round ratio (min-max) |');
  out.push('|---|---|---|---|---|');
  for (const w of Object.values(r.wall)) {
    out.push(`| ${w.title} | ${sp(w.stride)} | ${sp(w.nx)} | **${w.ratioOfMedians.toFixed(2)}x** | ${w.pairedRatio.median.toFixed(2)} (${w.pairedRatio.min.toFixed(2)}-${w.pairedRatio.max.toFixed(2)}) |`);
  }
  out.push(`| Cold build, empty caches (1 run, for scale) | ${s(r.coldBuildMs.stride)} | ${s(r.coldBuildMs.nx)} | ${(r.coldBuildMs.stride / r.coldBuildMs.nx).toFixed(2)}x | |`);
  out.push('');
  const h = r.hashing;
  out.push('### Hashing (ms, median (min-max) over the rounds)');
  out.push('');
  out.push('| | warm | cold |');
  out.push('|---|---|---|');
  out.push(`| Stride: list workspace files (setup.listFilesMs) | ${mp(h.stride.warm.listFilesMs)} | ${mp(h.stride.cold.listFilesMs)} |`);
  out.push(`| Stride: load file-hash cache (setup.loadFileHashesMs) | ${mp(h.stride.warm.loadFileHashesMs)} | ${mp(h.stride.cold.loadFileHashesMs)} |`);
  out.push(`| Stride: hash phase, wall (union of the tasks' hash+lookup spans) | ${mp(h.stride.warm.hashUnionMs)} | ${mp(h.stride.cold.hashUnionMs)} |`);
  out.push(`| Stride: hash+lookup on the critical path | ${mp(h.stride.warm.criticalHashMs)} | ${mp(h.stride.cold.criticalHashMs)} |`);
  out.push(`| Stride: sum of phases.hashMs over all tasks (task-ms, concurrent) | ${mp(h.stride.warm.hashSumMs)} | ${mp(h.stride.cold.hashSumMs)} |`);
  out.push(`| Stride: max(startMs+hashMs) - min(startMs) (spans the restores too) | ${mp(h.stride.warm.hashSpreadMs)} | ${mp(h.stride.cold.hashSpreadMs)} |`);
  out.push(`| Stride: save file-hash cache (setup.saveFileHashesMs) | ${mp(h.stride.warm.saveFileHashesMs)} | ${mp(h.stride.cold.saveFileHashesMs)} |`);
  out.push(`| **Stride total: list + load + hash phase wall + save** | **${mp(h.stride.warm.hashTotalMs)}** | **${mp(h.stride.cold.hashTotalMs)}** |`);
  out.push(`| **Nx, own variant: hashMultipleTasks (main process, sum)** | **${mp(h.nx.warm)}** | **${mp(h.nx.cold)}** |`);
  out.push(`| Nx inside the Stride run: hashMultipleTasks (sum) | ${mp(h.nx.inStrideRun)} | ${mp(h.nx.inStrideRunCold)} |`);
  if (h.probe) {
    out.push(`| Probe, one process, every task at once: Stride list + load + hash | ${mp(h.probe.strideWarm.totalMs)} | ${mp(h.probe.strideCold.totalMs)} |`);
    out.push(`| Probe: of which Stride's task hashing alone | ${mp(h.probe.strideWarm.taskHashMs)} | ${mp(h.probe.strideCold.taskHashMs)} |`);
    out.push(`| Probe: Nx file hashing, native workspace context (every file) | ${mp(h.probe.nx.fileHashWarmMs)} | ${mp(h.probe.nx.fileHashColdMs)} |`);
    out.push(`| Probe: Nx task hashing (hashTasks, file hashes known) | ${mp(h.probe.nx.taskHashMs)} | same |`);
  }
  out.push('');
  out.push('### Where the time goes (ms, medians; fully cached run)');
  out.push('');
  const seg = r.segments;
  const rows = [
    ['boot', 'Node + Nx CLI start, until the project graph starts'],
    ['projectGraph', 'Project graph (plugin workers, createNodes, cached graph)'],
    ['preTasksHook', 'preTasksExecution hook (Stride: plugin worker started again)'],
    ['taskGraph', 'Task graph and run set-up'],
    ['nxHashing', "Nx's hashing of every task (hashMultipleTasks)"],
    ['nxRestore', "Nx's cache lookups and restores"],
    ['batchStart', 'Batch: fork, load executor + Stride, receive graphs'],
    ['strideSetup', 'Stride setup: settings + list files + load file-hash cache'],
    ['strideSetupOther', 'Stride setup: hasher, remote (none here), runner; since early restores, the up-front hashing of every task that can hash at once'],
    ['strideTasks', `Stride tasks: hash + lookup + restore, ${r.config.projects} tasks`],
    ['strideFinish', 'Stride: remote flush (none here) + save file-hash cache'],
    ['batchEnd', 'Batch: run record, summary, process exit'],
    ['nxBatchHandling', "Nx's handling of the batch (waves, results)"],
    ['wrapUp', 'Nx wrap-up: post-run hooks, summary, task history'],
    ['processExit', 'Process exit'],
    ['total', '**Total wall**'],
  ];
  out.push('| Segment | Stride, outputs on disk | Stride, outputs deleted | Stride, no isolation | Nx, outputs on disk | Nx, outputs deleted | Nx, no isolation |');
  out.push('|---|---|---|---|---|---|---|');
  for (const [key, label] of rows) {
    const cells = ['cached/stride', 'restore/stride', 'noIsolation/stride', 'cached/nx', 'restore/nx', 'noIsolation/nx'].map((k) => (seg[k]?.[key] === undefined ? '' : m(seg[k][key])));
    if (cells.every((c) => c === '' || c === '0')) continue;
    out.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  const c = h.stride.warm;
  const d = h.stride.restore;
  out.push('');
  out.push(
    `Inside "Stride tasks" (outputs on disk / deleted): hashing + lookup busy ${m(c.hashUnionMs.median)} / ${m(d.hashUnionMs.median)} ms, restoring busy ${m(c.restoreUnionMs.median)} / ${m(d.restoreUnionMs.median)} ms; ` +
      `critical path of ${m(c.criticalTasks.median)} tasks: ${m(c.criticalHashMs.median)} / ${m(d.criticalHashMs.median)} ms hashing, ${m(c.criticalRestoreMs.median)} / ${m(d.criticalRestoreMs.median)} ms restoring, ${m(c.criticalWaitMs.median)} / ${m(d.criticalWaitMs.median)} ms waiting; ` +
      `per task median hash ${m(c.hashMedianMs.median)} ms, restore ${m(c.restoreMedianMs.median)} / ${m(d.restoreMedianMs.median)} ms.`,
  );
  out.push(
    `Plugin entry: Stride's plugin worker starts ${mp(r.plugin.strideWorkerStartsMs)} ms (twice per run: project graph, then the hook); project graph ${m(r.plugin.graphStrideMs.median)} ms with the plugin vs ${m(r.plugin.graphNxMs.median)} ms without; ` +
      `hook ${m(r.plugin.preTasksHookMs.median)} ms isolated, ${m(r.plugin.preTasksHookNoIsolationMs.median)} ms in-process. ` +
      `NX_ISOLATE_PLUGINS=false saves Stride ${mp(r.plugin.isolationSavingMs.stride)} ms and Nx ${mp(r.plugin.isolationSavingMs.nx)} ms per run (same-round differences).`,
  );
  out.push('');
  return out.join('\n');
}
