import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { NxJsonConfiguration } from '@nx/devkit';
import {
  collectGarbage,
  computeStats,
  createCacheServer,
  createS3Store,
  DiskBlobs,
  loadSigningKey,
  parsePublicKey,
  RemoteNxBlobs,
  errorMessage,
  formatBytes,
  formatOpenMetrics,
  formatStats,
  generateSigningKeyPair,
  LocalStore,
  parseAge,
  parseSize,
  readRunRecords,
  renderHtmlReport,
  type RunRecord,
  toChromeTrace,
  writeFileAtomic,
} from '@stride/core';
import { targetOf } from '../adapter/task-id.js';
import { readSettings } from '../settings.js';

const HELP = `stride: Stride's command line (run it from an Nx workspace)

Usage:
  stride gc [--max-size <size>] [--max-age <age>]
      Evicts local store entries, least recently used first, until the store is
      under --max-size and nothing is older than --max-age. Defaults come from
      maxCacheSize / maxCacheAge in the @stride/nx plugin options (10GB, 30d).
  stride keygen [--out <file>]
      Writes an Ed25519 signing key for trusted CI (default ./stride-signing-key.pem)
      and prints the public key line for remote.publicKeys in nx.json.
  stride report [<run.json>] [-o <report.html>] [--trace <trace.json>]
      Draws a run (default .stride/runs/last.json) as a self-contained HTML page:
      a timeline by worker slot, cache status by colour, the critical path marked,
      the task graph, and what to speed up (default output .stride/report.html).
      --trace also writes it in the Chrome trace format (Perfetto, chrome://tracing).
  stride stats [--json | --format=openmetrics]
      Over the kept run records: hit rate by target, time saved, slowest and most
      variable tasks, wall time across runs. --format=openmetrics prints the last
      run's and the history's figures for Prometheus / a Pushgateway.
  stride serve [--port <n>] [--host <addr>] [--dir <folder>] [--token <t>] [--read-only-token <t>]
      Serves Nx's own remote cache protocol (set NX_SELF_HOSTED_REMOTE_CACHE_SERVER
      to its URL), on disk in --dir (default .stride/serve) and, when nx.json or the
      environment configures a bucket, in the same S3 bucket as Stride's remote.
      Tokens: --token (read-write) and --read-only-token, or better STRIDE_SERVE_TOKEN
      and STRIDE_SERVE_READ_ONLY_TOKEN (comma-separated lists), which stay out of ps.
      Without any token it listens on loopback only. Logs one JSON line per request.
  stride --help
      Shows this help.

After every run: STRIDE_REPORT=<file.html> writes the report, STRIDE_PROFILE=<file.json>
the Chrome trace.

Tasks run through Nx as usual: nx run-many -t build
`;

/** Runs the `stride` command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (command === 'gc') return await gc(rest);
    if (command === 'keygen') return await keygen(rest);
    if (command === 'report') return await report(rest);
    if (command === 'stats') return await stats(rest);
    if (command === 'serve') return await serve(rest);
    process.stderr.write(`stride: unknown command "${command}"\n\n${HELP}`);
    return 2;
  } catch (error) {
    process.stderr.write(`stride ${command}: ${errorMessage(error)}\n`);
    return 1;
  }
}

async function gc(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'max-size': { type: 'string' }, 'max-age': { type: 'string' } }, strict: true });
  const root = findWorkspaceRoot(process.cwd());
  const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration;
  const settings = readSettings(root, nxJson);
  const maxBytes = values['max-size'] !== undefined ? parseSize(values['max-size'], '--max-size') : settings.maxCacheBytes;
  const maxAgeMs = values['max-age'] !== undefined ? parseAge(values['max-age'], '--max-age') : settings.maxCacheAgeMs;
  const report = await collectGarbage(new LocalStore(settings.cacheDirectory, root), { maxBytes, maxAgeMs });
  process.stdout.write(
    `stride gc: removed ${report.removed} entries, kept ${report.kept} (${formatBytes(report.bytesBefore)} -> ${formatBytes(report.bytesAfter)}) in ${settings.cacheDirectory}\n`,
  );
  return 0;
}

async function report(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string', short: 'o' }, trace: { type: 'string' } }, allowPositionals: true, strict: true });
  const root = findWorkspaceRoot(process.cwd());
  const settings = readSettings(root, JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration);
  const input = resolve(positionals[0] ?? join(settings.strideDir, 'runs', 'last.json'));
  if (!existsSync(input)) throw new Error(`no run record at ${input}: run tasks through Stride first, or name a record from ${join(settings.strideDir, 'runs')}`);
  const record = JSON.parse(readFileSync(input, 'utf8')) as RunRecord;
  if (!Array.isArray(record.tasks) || !record.criticalPath) throw new Error(`${input} is not a Stride run record of this version`);
  const out = resolve(values.out ?? join(settings.strideDir, 'report.html'));
  await writeFileAtomic(out, renderHtmlReport(record));
  process.stdout.write(`stride report: ${out}\n`);
  if (values.trace) {
    await writeFileAtomic(resolve(values.trace), JSON.stringify(toChromeTrace(record)));
    process.stdout.write(`stride report: trace ${resolve(values.trace)}\n`);
  }
  return 0;
}

async function stats(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, format: { type: 'string' } }, strict: true });
  const format = values.json ? 'json' : (values.format ?? 'text');
  if (!['text', 'json', 'openmetrics'].includes(format)) throw new Error(`unknown --format "${format}": use text, json or openmetrics`);
  const root = findWorkspaceRoot(process.cwd());
  const settings = readSettings(root, JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration);
  const { records, unreadable } = await readRunRecords(join(settings.strideDir, 'runs'));
  const figures = computeStats(records, targetOf, unreadable);
  if (format === 'json') process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  else if (format === 'openmetrics') process.stdout.write(formatOpenMetrics(figures, records.at(-1)));
  else process.stdout.write(formatStats(figures));
  return 0;
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '4000' },
      host: { type: 'string', default: '127.0.0.1' },
      dir: { type: 'string' },
      token: { type: 'string', multiple: true },
      'read-only-token': { type: 'string', multiple: true },
      'max-body-size': { type: 'string' },
      'request-timeout': { type: 'string', default: '5m' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port} is not a port number: use 0-65535`);
  const list = (flag: string[] | undefined, env: string | undefined): string[] => [...(flag ?? []), ...(env ?? '').split(',')].map((t) => t.trim()).filter(Boolean);
  const readWriteTokens = list(values.token, process.env.STRIDE_SERVE_TOKEN);
  const readOnlyTokens = list(values['read-only-token'], process.env.STRIDE_SERVE_READ_ONLY_TOKEN);
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(values.host);
  if (readWriteTokens.length + readOnlyTokens.length === 0 && !loopback) {
    throw new Error(`refusing to serve ${values.host} without a token: set STRIDE_SERVE_TOKEN (or --token), or listen on 127.0.0.1`);
  }
  const root = existsSync(join(process.cwd(), 'nx.json')) ? findWorkspaceRoot(process.cwd()) : process.cwd();
  const nxJson = existsSync(join(root, 'nx.json')) ? (JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration) : {};
  const settings = readSettings(root, nxJson);
  const disk = new DiskBlobs(resolve(values.dir ?? join(settings.strideDir, 'serve')));
  const log = (line: unknown): boolean => process.stdout.write(`${JSON.stringify(line)}\n`);
  let remote: RemoteNxBlobs | undefined;
  if (settings.remote) {
    const publicKeys = settings.remote.publicKeys.map((text, i) => parsePublicKey(text, `plugins[@stride/nx].options.remote.publicKeys[${i}]`));
    remote = new RemoteNxBlobs(settings.remote, await createS3Store(settings.remote), loadSigningKey(process.env), publicKeys, (message) => log({ time: new Date().toISOString(), warning: message }));
  }
  const maxBodyBytes = values['max-body-size'] !== undefined ? parseSize(values['max-body-size'], '--max-body-size') : (settings.remote?.maxArtifactBytes ?? 2 * 1024 ** 3);
  const server = createCacheServer({
    disk,
    ...(remote ? { remote } : {}),
    readWriteTokens,
    readOnlyTokens,
    anonymous: readWriteTokens.length + readOnlyTokens.length === 0,
    maxBodyBytes,
    requestTimeoutMs: parseAge(values['request-timeout'], '--request-timeout'),
    uploadConcurrency: settings.remote?.uploadConcurrency ?? 4,
    log,
  });
  await new Promise<void>((resolveListen, reject) => {
    server.server.once('error', reject);
    server.server.listen(port, values.host, () => resolveListen());
  });
  const address = server.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const tiers = `disk ${disk.dir}${remote ? `, then ${remote.location} (scope ${settings.remote?.scope})` : ''}`;
  const auth = readWriteTokens.length + readOnlyTokens.length === 0 ? 'no token (loopback only)' : `${readWriteTokens.length} read-write and ${readOnlyTokens.length} read-only tokens`;
  process.stderr.write(`stride serve: listening on http://${values.host}:${actualPort} (${tiers}; ${auth})\n`);
  await new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      process.stderr.write(`stride serve: ${signal}, finishing requests and uploads in flight...\n`);
      server.close(30_000).then(() => resolveStop());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

function findWorkspaceRoot(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) throw new Error('no nx.json found here or above: run stride from inside an Nx workspace');
  }
}

async function keygen(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } }, strict: true });
  const out = resolve(values.out ?? 'stride-signing-key.pem');
  if (existsSync(out)) throw new Error(`${out} already exists: refusing to overwrite a signing key (use --out to write elsewhere)`);
  const pair = generateSigningKeyPair();
  writeFileSync(out, pair.privateKeyPem, { mode: 0o600 });
  process.stdout.write(
    [
      `Private key written to ${out} (key id ${pair.keyId}).`,
      'Store it as a secret of your protected-branch CI only, as STRIDE_SIGNING_KEY (its contents) or STRIDE_SIGNING_KEY_FILE (a path),',
      'then delete this file. Never commit it, never give it to pull-request jobs.',
      '',
      'Add the public key to nx.json, plugins[@stride/nx].options.remote.publicKeys:',
      `  "${pair.publicKey}"`,
      '',
    ].join('\n'),
  );
  return 0;
}
