import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { NxJsonConfiguration } from '@nx/devkit';
import {
  collectGarbage,
  computeStats,
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
