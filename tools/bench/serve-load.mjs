// Load test of `stride serve` (issue 9): N concurrent clients on loopback doing
// a mix of PUT (new hash) and GET (a hash already stored) with bodies of
// 1-20 MB for a fixed time; every GET body is checked against what was PUT.
//
//   node tools/bench/serve-load.mjs [--clients 50] [--seconds 30]   (after `pnpm run pack`)
//
// The server runs from packages/nx/dist with its disk tier only (the S3 tier's
// speed is the S3 server's, measured by `pnpm bench`). Prints throughput and
// latency percentiles and writes tools/bench/results/serve-load.json. Exits
// non-zero when an object came back wrong or went missing, never because of a timing.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from './common.mjs';

const { values } = parseArgs({ options: { clients: { type: 'string', default: '50' }, seconds: { type: 'string', default: '30' }, out: { type: 'string' } } });
const clients = Number(values.clients);
const seconds = Number(values.seconds);
const TOKEN = randomBytes(16).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'stride-serve-load-'));

// Ten bodies of 1-20 MB, reused under fresh hashes: generating 20 MB of random bytes per request would measure the client.
const bodies = Array.from({ length: 10 }, (_, i) => {
  const bytes = randomBytes(Math.round((1 + (19 * i) / 9) * 1024 * 1024));
  return { bytes, sha: createHash('sha256').update(bytes).digest('hex') };
});

const server = spawn(process.execPath, [join(repoRoot, 'packages', 'nx', 'bin', 'stride.js'), 'serve', '--port', '0', '--dir', join(dir, 'blobs')], {
  cwd: dir,
  env: { ...process.env, STRIDE_SERVE_TOKEN: TOKEN },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const url = await new Promise((resolveUrl, reject) => {
  let err = '';
  server.stderr.on('data', (chunk) => {
    err += chunk;
    const match = /listening on (http:\/\/\S+)/.exec(err);
    if (match) resolveUrl(match[1]);
  });
  server.on('exit', (code) => reject(new Error(`stride serve exited with ${code}: ${err}`)));
});

const stored = []; // { hash, sha }
const latencies = { GET: [], PUT: [] };
let bytesMoved = 0;
let corrupted = 0;
let lost = 0;
let errors = 0;
let sequence = 0;
const deadline = Date.now() + seconds * 1000;
const headers = { authorization: `Bearer ${TOKEN}` };

async function client(id) {
  while (Date.now() < deadline) {
    const doGet = stored.length > 0 && Math.random() < 0.5;
    const started = performance.now();
    try {
      if (doGet) {
        const pick = stored[Math.floor(Math.random() * stored.length)];
        const response = await fetch(`${url}/v1/cache/${pick.hash}`, { headers });
        if (response.status === 404) lost++;
        else if (response.status !== 200) errors++;
        else {
          const body = Buffer.from(await response.arrayBuffer());
          bytesMoved += body.length;
          if (createHash('sha256').update(body).digest('hex') !== pick.sha) corrupted++;
        }
        latencies.GET.push(performance.now() - started);
      } else {
        const body = bodies[(id + sequence) % bodies.length];
        const hash = `load${id}x${sequence++}`;
        const response = await fetch(`${url}/v1/cache/${hash}`, { method: 'PUT', headers, body: body.bytes });
        if (response.status === 200) {
          stored.push({ hash, sha: body.sha });
          bytesMoved += body.bytes.length;
        } else errors++;
        latencies.PUT.push(performance.now() - started);
      }
    } catch {
      errors++;
    }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
const elapsed = (performance.now() - t0) / 1000;
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(dir, { recursive: true, force: true });

const pct = (list, p) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]) : 0;
};
const result = {
  date: new Date().toISOString(),
  cores: cpus().length,
  clients,
  seconds: Math.round(elapsed),
  requests: { GET: latencies.GET.length, PUT: latencies.PUT.length },
  throughputMBps: Math.round(bytesMoved / 1024 / 1024 / elapsed),
  requestsPerSecond: Number(((latencies.GET.length + latencies.PUT.length) / elapsed).toFixed(1)),
  latencyMs: {
    GET: { p50: pct(latencies.GET, 0.5), p99: pct(latencies.GET, 0.99) },
    PUT: { p50: pct(latencies.PUT, 0.5), p99: pct(latencies.PUT, 0.99) },
  },
  corrupted,
  lost,
  errors,
};
console.log(JSON.stringify(result, null, 2));
const out = resolve(values.out ?? join(import.meta.dirname, 'results', 'serve-load.json'));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
if (corrupted + lost + errors > 0) {
  console.error(`FAILED: ${corrupted} corrupted, ${lost} lost, ${errors} errors`);
  process.exit(1);
}
