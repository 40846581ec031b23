// Remote pull benchmark (issue 5): a fresh machine pulls every task of a
// generated workspace from S3 on loopback (s3rver), Stride's own S3 tier
// against Nx 24's own remote cache path (its NX_SELF_HOSTED_REMOTE_CACHE_SERVER
// client, talking to `stride serve` with an empty disk, backed by the same
// bucket), alternating round by round; plus the cold-run cost of uploading
// (Stride with the remote against Stride with the local store only).
//
//   pnpm run pack && node tools/bench/pull.mjs [--rounds 3] [--projects 200] [--files 20] [--mode nx|stride]
//                                          [--latency-ms 20]
//
// --mode: Stride's localCache mode (default "nx", what init sets up: Nx's cache
// in front, empty on the fresh machine, so the batch gets every task).
// --latency-ms: every chunk between the clients and S3 goes through the fault
// proxy (tools/s3/fault-proxy.mjs, `delay`) held that long, for Stride and for
// `stride serve` alike: a CI runner's link to its bucket rather than loopback.
//
// Writes tools/bench/results/pull.json. Exits non-zero only when a run fails.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startS3Server } from '../s3/server.mjs';
import { generateWorkspace } from '../workspace-gen.mjs';
import { benchEnv, installStride, medianOf, NX_VERSION, strideTarballs } from './common.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, projects: { type: 'string', default: '200' }, files: { type: 'string', default: '20' }, width: { type: 'string', default: '10' }, dir: { type: 'string' }, out: { type: 'string' }, mode: { type: 'string', default: 'nx' }, 'latency-ms': { type: 'string', default: '0' } } });
const latencyMs = Number(values['latency-ms']);
if (!Number.isInteger(latencyMs) || latencyMs < 0) throw new Error(`--latency-ms must be a whole number of milliseconds, got ${values['latency-ms']}`);
const mode = values.mode;
if (!['nx', 'stride'].includes(mode)) throw new Error(`--mode must be "nx" or "stride", got ${mode}`);
const rounds = Number(values.rounds);
const projects = Number(values.projects);
const benchDir = resolve(values.dir ?? join(tmpdir(), 'stride-bench'));
const log = (line = '') => process.stdout.write(`${line}\n`);
const installDir = installStride(benchDir, strideTarballs(), log);
const s3 = await startS3Server();
const proxy = latencyMs > 0 ? await startLatencyProxy(s3.port, latencyMs) : undefined;
const baseEnv = {
  ...benchEnv(),
  AWS_ACCESS_KEY_ID: 'stride',
  AWS_SECRET_ACCESS_KEY: 'stride-secret',
  AWS_REGION: 'us-east-1',
  STRIDE_LOCAL_CACHE: mode,
};
const remoteEnv = { STRIDE_REMOTE_BUCKET: s3.bucket, STRIDE_REMOTE_ENDPOINT: proxy?.endpoint ?? s3.endpoint, STRIDE_REMOTE_FORCE_PATH_STYLE: 'true', STRIDE_REMOTE_SCOPE: 'trusted' };
const failures = [];

/** The fault proxy in its own process (latency-proxy.mjs): this script blocks in spawnSync while nx runs. */
async function startLatencyProxy(targetPort, ms) {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'latency-proxy.mjs'), String(targetPort), String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) ok(JSON.parse(out.split('\n')[0]).endpoint);
    });
    child.on('exit', (code) => fail(new Error(`latency proxy exited ${code}`)));
  });
  return { endpoint, stop: () => new Promise((ok) => (child.on('exit', ok), child.kill('SIGTERM'))) };
}

function workspace(name, stride) {
  const dir = join(benchDir, `pull-${name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const graph = generateWorkspace(dir, { projects, width: Number(values.width), stride, filesPerProject: Number(values.files), nxCacheInFront: stride && mode === 'nx' });
  symlinkSync(join(installDir, 'node_modules'), join(dir, 'node_modules'), 'junction');
  execFileSync('git', ['init', '-q'], { cwd: dir });
  return { dir, graph };
}

function wipe(ws) {
  for (const p of ws.graph.projects) rmSync(join(ws.dir, 'libs', p, 'dist'), { recursive: true, force: true });
  rmSync(join(ws.dir, '.stride'), { recursive: true, force: true });
  rmSync(join(ws.dir, '.nx'), { recursive: true, force: true });
  rmSync(join(ws.dir, 'build-log.txt'), { force: true });
}

function nx(ws, env, label) {
  const t0 = performance.now();
  // Each workspace its own Nx cache: Nx 24 otherwise shares ~/.nx/<id>/cache between look-alike checkouts.
  const child = spawnSync(join(ws.dir, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'build', '--output-style=static'], {
    cwd: ws.dir,
    encoding: 'utf8',
    env: { ...baseEnv, NX_CACHE_DIRECTORY: join(ws.dir, '.nx', 'cache'), ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - t0;
  if (child.status !== 0) failures.push(`${label}: nx exited ${child.status}: ${(child.stdout + child.stderr).slice(-800)}`);
  return { ms, output: child.stdout + child.stderr };
}

const built = (ws) => (existsSync(join(ws.dir, 'build-log.txt')) ? readFileSync(join(ws.dir, 'build-log.txt'), 'utf8').split('\n').filter(Boolean).length : 0);

async function serve(ws, serveDir) {
  rmSync(serveDir, { recursive: true, force: true });
  const child = spawn(join(ws.dir, 'node_modules', '.bin', 'stride'), ['serve', '--port', '0', '--dir', serveDir], { cwd: ws.dir, env: { ...baseEnv, ...remoteEnv, STRIDE_SERVE_TOKEN: 'bench-token-0123456789' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((ok, fail) => {
    let err = '';
    child.stderr.on('data', (c) => {
      err += c;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) ok(m[1]);
    });
    child.on('exit', (code) => fail(new Error(`stride serve exited ${code}: ${err}`)));
  });
  return { url, stop: () => new Promise((ok) => (child.on('exit', ok), child.kill('SIGTERM'))) };
}

log(`Generating workspaces of ${projects} projects x ${values.files} files in ${benchDir}; S3 at ${s3.endpoint}${proxy ? `, ${latencyMs} ms added by the fault proxy` : ''}; Stride in localCache "${mode}" mode`);
const strideLocal = workspace('stride-local', true);
const strideA = workspace('stride-a', true);
const strideB = workspace('stride-b', true);
const nxA = workspace('nx-a', false);
const nxB = workspace('nx-b', false);

// Cold-run cost of uploading: the same cold build with the remote (uploads flushed before the run ends) and without.
const cold = { remote: [], local: [] };
for (let round = 1; round <= rounds; round++) {
  for (const which of round % 2 ? ['remote', 'local'] : ['local', 'remote']) {
    const ws = which === 'remote' ? strideA : strideLocal;
    wipe(ws);
    // A fresh prefix each round: every task misses and uploads.
    const env = which === 'remote' ? { ...remoteEnv, STRIDE_REMOTE_PREFIX: `cold-${round}` } : {};
    cold[which].push(nx(ws, env, `cold ${which} ${round}`).ms);
  }
  log(`cold round ${round}: with remote ${(cold.remote.at(-1) / 1000).toFixed(2)} s, local only ${(cold.local.at(-1) / 1000).toFixed(2)} s`);
}

// Seed the bucket for the pulls: Stride's artifacts under stride/, Nx's blobs through stride serve.
wipe(strideA);
nx(strideA, remoteEnv, 'seed stride');
const seedServer = await serve(nxA, join(benchDir, 'pull-serve-seed'));
wipe(nxA);
nx(nxA, { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: seedServer.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'bench-token-0123456789' }, 'seed nx');
await seedServer.stop();

const pull = { stride: [], nx: [] };
for (let round = 1; round <= rounds; round++) {
  for (const which of round % 2 ? ['stride', 'nx'] : ['nx', 'stride']) {
    if (which === 'stride') {
      wipe(strideB);
      const run = nx(strideB, { ...remoteEnv, STRIDE_REMOTE_MODE: 'read-only' }, `pull stride ${round}`);
      const record = JSON.parse(readFileSync(join(strideB.dir, '.stride', 'runs', 'last.json'), 'utf8'));
      const remoteHits = record.tasks.filter((t) => t.cache === 'remote').length;
      if (remoteHits !== projects || built(strideB) !== 0) failures.push(`pull stride ${round}: ${remoteHits} remote hits, ${built(strideB)} built`);
      pull.stride.push(run.ms);
    } else {
      // A server with an empty disk: every blob comes from the bucket, as on a fresh CI machine's sidecar.
      const server = await serve(nxB, join(benchDir, 'pull-serve'));
      wipe(nxB);
      const run = nx(nxB, { NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url, NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: 'bench-token-0123456789' }, `pull nx ${round}`);
      await server.stop();
      const remoteHits = (run.output.match(/\[remote cache\]/g) ?? []).length;
      if (remoteHits !== projects || built(nxB) !== 0) failures.push(`pull nx ${round}: ${remoteHits} remote hits, ${built(nxB)} built`);
      pull.nx.push(run.ms);
    }
  }
  log(`pull round ${round}: stride ${(pull.stride.at(-1) / 1000).toFixed(2)} s, nx via its remote cache client ${(pull.nx.at(-1) / 1000).toFixed(2)} s`);
}
await proxy?.stop();
await s3.stop();

const m = (list) => medianOf(list);
const result = {
  date: new Date().toISOString(),
  nx: NX_VERSION,
  cores: cpus().length,
  projects,
  filesPerProject: Number(values.files),
  rounds,
  mode,
  latencyMs,
  pullMs: { stride: m(pull.stride), nx: m(pull.nx) },
  pullSpeedup: m(pull.nx) / m(pull.stride),
  coldMs: { remote: m(cold.remote), local: m(cold.local) },
  coldCostRatio: m(cold.remote) / m(cold.local),
  samples: { pull, cold },
};
const table = [
  '| measure | Stride | other | ratio |',
  '|---|---|---|---|',
  `| fresh machine pulls every task (s) | ${(result.pullMs.stride / 1000).toFixed(2)} | Nx's client via stride serve: ${(result.pullMs.nx / 1000).toFixed(2)} | **${result.pullSpeedup.toFixed(2)}x faster** |`,
  `| cold build (s) | with the remote: ${(result.coldMs.remote / 1000).toFixed(2)} | local store only: ${(result.coldMs.local / 1000).toFixed(2)} | **${result.coldCostRatio.toFixed(2)}x** |`,
].join('\n');
log(`\n${table}\n`);
const out = resolve(values.out ?? join(import.meta.dirname, 'results', 'pull.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ ...result, table }, null, 2)}\n`);
for (const ws of [strideLocal, strideA, strideB, nxA, nxB]) rmSync(ws.dir, { recursive: true, force: true });
if (failures.length > 0) {
  console.error(`\n${failures.length} run(s) FAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exit(1);
}
