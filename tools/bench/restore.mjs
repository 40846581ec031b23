// Restore benchmark (issue 19, item 11): one task whose outputs are a 100 MB
// file and 3,000 small files, restored from the local cache after its outputs
// were deleted: Stride's store against Nx's own local cache, in one run,
// alternating which goes first round by round.
//
//   pnpm run pack && node tools/bench/restore.mjs [--rounds 5] [--big-mb 100] [--small 3000] [--profile] [--nx-mode]
//                                                [--baseline DIR]
//
// --baseline DIR adds a variant: Stride installed from the tarballs in DIR (an
// older build, to measure a change against in the same run). --trusted adds
// one: this build as a trusted run (STRIDE_REMOTE_SCOPE=trusted), which copies
// a large archive into a private folder before checking and unpacking it.
// --nx-mode adds one: this build with `localCache: "nx"` (Nx's local cache in
// front of Stride's targets, `cache: true`), where Nx restores its own hits.
// --profile writes a CPU profile of every Node process of Stride's last
// restore into <dir>/profile (cpu-prof.cjs: Node 20 refuses --cpu-prof in
// NODE_OPTIONS, and Nx forks the batch process itself; open the files in
// Chrome DevTools).
// Each run is checked: exit 0, the task restored (Stride's run record says
// `local`; Nx prints "local cache"), every output back with its size. It exits
// non-zero only when a run fails, never because of a timing.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { benchEnv, installStride, medianOf, NX_VERSION, strideTarballs } from './common.mjs';

const cpuProf = join(import.meta.dirname, 'cpu-prof.cjs');
const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string' },
    'big-mb': { type: 'string' },
    small: { type: 'string' },
    dir: { type: 'string' },
    profile: { type: 'boolean' },
    keep: { type: 'boolean' },
    baseline: { type: 'string' },
    trusted: { type: 'boolean' },
    'nx-mode': { type: 'boolean' },
  },
});
const count = (value, fallback, name) => {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${value}`);
    process.exit(2);
  }
  return n;
};
const rounds = count(flags.rounds, 5, 'rounds');
const bigMb = count(flags['big-mb'], 100, 'big-mb');
const small = count(flags.small, 3000, 'small');
const benchDir = resolve(flags.dir ?? join(tmpdir(), 'stride-bench-restore'));
const log = (line = '') => process.stdout.write(`${line}\n`);

// The task: a 100 MB file (random bytes, so no file system can store it cheaply) and small files of 1 to 4 kB
// in 30 folders. Written by a script, so a cold build is also what the cache stores.
const BUILD = `const { mkdirSync, writeFileSync, appendFileSync } = require('node:fs');
const { randomBytes } = require('node:crypto');
appendFileSync('../../build-log.txt', 'big\\n');
mkdirSync('dist', { recursive: true });
const chunk = randomBytes(1024 * 1024);
const big = Buffer.alloc(${bigMb} * 1024 * 1024);
for (let i = 0; i < ${bigMb}; i++) { chunk.copy(big, i * chunk.length); chunk[i % chunk.length] ^= 0xff; }
writeFileSync('dist/big.bin', big);
for (let i = 0; i < ${small}; i++) {
  const folder = 'dist/small/' + String(i % 30).padStart(2, '0');
  if (i < 30) mkdirSync(folder, { recursive: true });
  writeFileSync(folder + '/f' + i + '.js', 'export const v' + i + ' = ' + JSON.stringify('x'.repeat(1024 + (i * 37) % 3072)) + ';\\n');
}
`;

function generate(dir, variant) {
  const stride = variant !== 'nx';
  // In "nx" mode Nx's cache stays on for the Stride target: Nx restores its own hits in front of the batch.
  const nxCacheOn = !stride || variant === 'nxMode';
  const write = (path, text) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  write('package.json', JSON.stringify({ name: 'restore-bench', private: true }));
  write('nx.json', JSON.stringify({ neverConnectToCloud: true, useDaemonProcess: false }));
  write('.gitignore', 'node_modules\ndist\n.nx\n.stride\nbuild-log.txt\n');
  write('tools/build.cjs', BUILD);
  write('libs/big/src/index.js', 'export {};\n');
  const build = stride
    ? { executor: '@stride/nx:run', options: { command: 'node ../../tools/build.cjs' }, cache: nxCacheOn }
    : { executor: 'nx:run-commands', options: { command: 'node ../../tools/build.cjs', cwd: 'libs/big' }, cache: true };
  write('libs/big/project.json', JSON.stringify({ name: 'big', root: 'libs/big', targets: { build: { ...build, inputs: ['{projectRoot}/src/**/*'], outputs: ['{projectRoot}/dist'] } } }));
}

const failures = [];
const tarballsIn = (dir) => readdirSync(dir).filter((f) => f.endsWith('.tgz')).sort().map((f) => join(dir, f));
const current = installStride(benchDir, strideTarballs(), log);
const installs = { stride: current, nx: current };
// Its own folder: installStride keeps one install per folder.
if (flags.baseline) installs.baseline = installStride(join(benchDir, 'baseline'), tarballsIn(resolve(flags.baseline)), log);
if (flags.trusted) installs.trusted = current;
if (flags['nx-mode']) installs.nxMode = current;
/** What a variant adds to the environment of each of its runs. */
const variantEnv = { trusted: { STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_LOCAL_CACHE: 'stride' }, stride: { STRIDE_LOCAL_CACHE: 'stride' }, baseline: { STRIDE_LOCAL_CACHE: 'stride' }, nxMode: { STRIDE_LOCAL_CACHE: 'nx' } };
const variants = Object.fromEntries(Object.keys(installs).map((variant) => [variant, join(benchDir, `ws-${variant}`)]));
for (const [variant, dir] of Object.entries(variants)) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  generate(dir, variant);
  symlinkSync(join(installs[variant], 'node_modules'), join(dir, 'node_modules'), 'junction');
  execFileSync('git', ['init', '-q'], { cwd: dir });
}
const profileDir = join(benchDir, 'profile');
rmSync(profileDir, { recursive: true, force: true });

function run(variant, label, env = {}) {
  const dir = variants[variant];
  const t0 = performance.now();
  const child = spawnSync(join(dir, 'node_modules', '.bin', 'nx'), ['run', 'big:build', '--output-style=static'], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...benchEnv(), NX_CACHE_DIRECTORY: join(dir, '.nx', 'cache'), ...variantEnv[variant], ...env },
  });
  const wallMs = performance.now() - t0;
  const output = `${child.stdout}${child.stderr}`;
  if (child.status !== 0) failures.push(`${variant} ${label}: exit ${child.status}\n${output.slice(-2000)}`);
  return { wallMs, output };
}

function restored(variant, output) {
  // Nx restores the hits itself in "nx" mode: no batch runs, so Stride writes no run record.
  if (variant === 'nx' || variant === 'nxMode') return /local cache/.test(output);
  const record = JSON.parse(readFileSync(join(variants[variant], '.stride', 'runs', 'last.json'), 'utf8'));
  return record.tasks.find((t) => t.id === 'big:build')?.cache === 'local';
}

/** Every output back, with its size: a restore that skipped files would look fast. */
function outputsOf(dir) {
  const sizes = {};
  const walk = (path) => {
    for (const name of readdirSync(join(dir, path))) {
      const p = `${path}/${name}`;
      const info = statSync(join(dir, p));
      if (info.isDirectory()) walk(p);
      else sizes[p] = info.size;
    }
  };
  walk('libs/big/dist');
  return sizes;
}

log(`Restore benchmark: one task, ${bigMb} MB file + ${small} small files, nx ${NX_VERSION}, ${cpus().length} cores, in ${benchDir}`);
const expected = {};
const names = Object.keys(variants);
for (const variant of names) {
  const cold = run(variant, 'cold');
  expected[variant] = outputsOf(variants[variant]);
  log(`  ${variant.padEnd(6)} cold build ${(cold.wallMs / 1000).toFixed(1)} s, ${Object.keys(expected[variant]).length} files`);
}

const times = Object.fromEntries(names.map((variant) => [variant, []]));
const loads = [];
for (let round = 1; round <= rounds; round++) {
  // Each round starts with another variant, so none always runs first (or right after the other's writes).
  const order = names.map((_, i) => names[(i + round - 1) % names.length]);
  const line = [];
  for (const variant of order) {
    const dir = variants[variant];
    rmSync(join(dir, 'libs/big/dist'), { recursive: true, force: true });
    // Settle the page cache's dirty pages of the delete, so neither variant pays for the other's writes.
    spawnSync('sync');
    loads.push(loadavg()[0]);
    const profiling = flags.profile && round === rounds && variant === 'stride';
    const { wallMs, output } = run(variant, `round ${round}`, profiling ? { NODE_OPTIONS: `--require "${cpuProf}"`, STRIDE_BENCH_CPU_PROF_DIR: profileDir } : {});
    if (!restored(variant, output)) failures.push(`${variant} round ${round}: the task was not restored from the cache`);
    const sizes = outputsOf(dir);
    if (JSON.stringify(sizes) !== JSON.stringify(expected[variant])) failures.push(`${variant} round ${round}: the restored outputs differ from the built ones`);
    times[variant].push(wallMs);
    line.push(`${variant} ${(wallMs / 1000).toFixed(2)} s`);
  }
  log(`round ${round}/${rounds}: ${line.join(', ')}`);
}
const builds = (variant) => readFileSync(join(variants[variant], 'build-log.txt'), 'utf8').split('\n').filter(Boolean).length;
for (const variant of names) if (builds(variant) !== 1) failures.push(`${variant}: the task ran ${builds(variant)} times, expected once (the cold build)`);

const n = medianOf(times.nx);
log('');
log('| restore of the whole task (nx run big:build, outputs deleted) | wall, median of ' + rounds + ' rounds | / Nx | per round / Nx |');
log('|---|---|---|---|');
for (const variant of names) {
  const m = medianOf(times[variant]);
  const label = { stride: 'Stride (this build)', trusted: 'Stride (this build), trusted run', baseline: `Stride (${flags.baseline})`, nx: 'Nx 24 local cache', nxMode: 'Stride (this build), localCache "nx"' }[variant];
  log(`| ${label} | ${(m / 1000).toFixed(2)} s | ${(m / n).toFixed(2)}x | ${times[variant].map((t, i) => (t / times.nx[i]).toFixed(2)).join(', ')} |`);
}
log(`\n1-minute load average before the runs: median ${medianOf(loads).toFixed(2)}, max ${Math.max(...loads).toFixed(2)}`);
if (flags.profile) log(`CPU profiles of Stride's last restore: ${profileDir}`);
if (!flags.keep) for (const dir of Object.values(variants)) rmSync(dir, { recursive: true, force: true });
if (failures.length > 0) {
  console.error(`\n${failures.length} run(s) FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}
