import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { NxJsonConfiguration } from '@nx/devkit';
import {
  awsPolicies,
  collectGarbage,
  lifecycleConfiguration,
  openBucketGc,
  printable,
  type RemoteSettings,
  computeStats,
  createCacheServer,
  checkScope,
  createS3Store,
  DEFAULT_SCOPE,
  DiskBlobs,
  loadEncryptionKey,
  loadSigningKey,
  parsePublicKey,
  RemoteNxBlobs,
  type ScopeTiers,
  TRUSTED_SCOPE,
  type TokenGrant,
  errorMessage,
  maskSecrets,
  formatBytes,
  formatOpenMetrics,
  formatSummary,
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
import { shard } from './shard.js';
import { verify } from './verify.js';
import { why } from './why.js';

const HELP = `stride: Stride's command line (run it from an Nx workspace)

Usage:
  stride why <project:target> [--against <hash> | --last-hit] [--json] [--show-values]
      Says what changed in a task's inputs between its hash in the last run that
      hashed it and the one before (--last-hit: its last restore; --against: a hash):
      files, env variables (changed or not; --show-values adds this shell's value),
      options, external dependencies, runtime values, dependency outputs.
  stride gc [--max-size <size>] [--max-age <age>]
      Evicts local store entries, least recently used first, until the store is
      under --max-size and nothing is older than --max-age. Defaults come from
      maxCacheSize / maxCacheAge in the @stride/nx plugin options (10GB, 30d).
  stride gc --remote --scope <scope> --older-than <age> [--yes]
      Lists the bucket objects of one scope (trusted for trusted/) last written longer
      ago than <age>, and deletes them only with --yes: the lifecycle rules by hand, for
      S3-compatible stores without them.
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
      Write token@scope to bind a token to a scope (token@trusted for main, token@pr-12):
      it reads trusted/ then its scope, and writes only its scope; only the trusted
      scope's blobs are signed. Without any token it listens on loopback only and
      answers only requests addressed to loopback (Host), from no web page (Origin).
      Logs one JSON line per request.
  stride aws-policy --bucket <b> --repo <owner/name> [--prefix <p>] [--branch main] [--account <id>]
                    [--environment <name>]
      Prints (JSON) the two IAM roles for GitHub Actions' OIDC provider that make the
      trust tiers hold in the bucket: a trusted writer only the protected branch can
      assume (or, with --environment, only jobs in that GitHub environment, which the
      generated CI workflow uses to keep the signing key from pull requests), and a
      pull-request role that may write only scopes/pr-* (explicitly denied every other
      key, trusted/ included). See SECURITY.md.
  stride aws-policy --lifecycle [--prefix <p>] [--scope-days 7] [--trusted-days 30] [--bucket <b>]
      Prints the bucket's S3 lifecycle configuration: scopes/ expire after 7 days,
      trusted/ after 30, unfinished multipart uploads are aborted after 1.
  stride summary [<run.json>] [--markdown]
      Prints a run's summary again (default .stride/runs/last.json); --markdown for
      a CI job summary such as GitHub's $GITHUB_STEP_SUMMARY.
  stride verify [<run.json>] [--sample 10% | --sample 5 | --task <id> ...] [--keep]
      Rebuilds a sample of the tasks a run restored (default .stride/runs/last.json),
      twice each, in a scratch copy, and compares the outputs with the artifact file by
      file: reproduced, poisoned or built from an undeclared input (rebuilds agree, the
      artifact differs), or not deterministic (rebuilds differ). Exits 1 on any mismatch.
  stride shard (--shard <i>/<n> | --total <n> --index <i>) -t <targets> [--affected [--base <ref>] [--head <ref>]]
              [--parallel <n>] [--json] [--plan <file>]
      Splits the tasks nx would run for the targets over n CI machines, balanced by
      predicted time from the timing history (local and the bucket's), and prints
      shard i's projects for nx run-many --projects=... (--shard counts from 1, as Jest,
      Vitest and Playwright do: --shard 2/4; --index from 0). Every machine
      computes the same split. A project's requested targets stay together; a task
      from another shard that this one needs is not built twice: with
      STRIDE_SHARD_PLAN=<the --plan file, default .stride/shard-plan.json> set, the
      run waits for it in the remote cache, and builds it only if it is late.
      --json prints { index, total, tasks, projects, predictedMs, ... }.
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
    if (command === 'summary') return await summary(rest);
    if (command === 'stats') return await stats(rest);
    if (command === 'serve') return await serve(rest);
    if (command === 'aws-policy') return awsPolicy(rest);
    if (command === 'verify') return await verify(rest, findWorkspaceRoot(process.cwd()));
    if (command === 'shard') return await shard(rest, findWorkspaceRoot(process.cwd()));
    if (command === 'why') return await why(rest, findWorkspaceRoot(process.cwd()));
    process.stderr.write(`stride: unknown command "${command}"\n\n${HELP}`);
    return 2;
  } catch (error) {
    process.stderr.write(`stride ${command}: ${maskSecrets(errorMessage(error))}\n`);
    return 1;
  }
}

async function gc(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { 'max-size': { type: 'string' }, 'max-age': { type: 'string' }, remote: { type: 'boolean' }, scope: { type: 'string' }, 'older-than': { type: 'string' }, yes: { type: 'boolean' } },
    strict: true,
  });
  const root = findWorkspaceRoot(process.cwd());
  const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration;
  const settings = readSettings(root, nxJson);
  if (values.remote) return await gcRemote(settings.remote, values);
  if (values.scope !== undefined || values['older-than'] !== undefined || values.yes) throw new Error('--scope, --older-than and --yes go with --remote: stride gc --remote --scope pr-123 --older-than 7d');
  const maxBytes = values['max-size'] !== undefined ? parseSize(values['max-size'], '--max-size') : settings.maxCacheBytes;
  const maxAgeMs = values['max-age'] !== undefined ? parseAge(values['max-age'], '--max-age') : settings.maxCacheAgeMs;
  const report = await collectGarbage(new LocalStore(settings.cacheDirectory, root), { maxBytes, maxAgeMs });
  process.stdout.write(
    `stride gc: removed ${report.removed} entries, kept ${report.kept} (${formatBytes(report.bytesBefore)} -> ${formatBytes(report.bytesAfter)}) in ${settings.cacheDirectory}\n`,
  );
  return 0;
}

/**
 * What the bucket's lifecycle rules would expire, for stores without them: lists
 * one scope's objects older than --older-than, and deletes them only with --yes.
 */
async function gcRemote(remote: RemoteSettings | undefined, values: { scope?: string; 'older-than'?: string; yes?: boolean }): Promise<number> {
  if (!remote) throw new Error('no remote is configured (remote.bucket in the @stride/nx plugin options of nx.json, or STRIDE_REMOTE_BUCKET)');
  if (values.scope === undefined || values['older-than'] === undefined) throw new Error('--scope and --older-than are required with --remote, e.g. stride gc --remote --scope pr-123 --older-than 7d (--scope trusted for trusted/)');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(values.scope)) throw new Error(`--scope "${values.scope}" is not a scope name: use "trusted" or a name such as pr-123 (letters, digits, . _ -)`);
  const olderThanMs = parseAge(values['older-than'], '--older-than');
  const bucket = await openBucketGc({ ...remote, scope: values.scope });
  try {
    const expired = await bucket.listExpired(olderThanMs);
    const bytes = expired.reduce((sum, object) => sum + object.bytes, 0);
    for (const object of expired) process.stdout.write(`${object.lastModified.toISOString()}  ${formatBytes(object.bytes).padStart(9)}  ${printable(object.key)}\n`);
    const what = `${expired.length} objects (${formatBytes(bytes)}) under s3://${remote.bucket}/${bucket.folder} older than ${values['older-than']}`;
    if (!values.yes || expired.length === 0) {
      process.stdout.write(`stride gc --remote: ${expired.length === 0 ? 'nothing to delete: ' : 'would delete '}${what}${expired.length > 0 ? '; run again with --yes to delete them' : ''}\n`);
      return 0;
    }
    const { deleted, errors } = await bucket.remove(expired.map((object) => object.key));
    process.stdout.write(`stride gc --remote: deleted ${deleted} of ${what}\n`);
    for (const error of errors) process.stderr.write(`stride gc --remote: not deleted: ${printable(error)}\n`);
    return errors.length > 0 ? 1 : 0;
  } finally {
    bucket.close();
  }
}

async function report(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string', short: 'o' }, trace: { type: 'string' } }, allowPositionals: true, strict: true });
  const { record, settings } = readRunRecordArgument(positionals[0]);
  const out = resolve(values.out ?? join(settings.strideDir, 'report.html'));
  await writeFileAtomic(out, renderHtmlReport(record));
  process.stdout.write(`stride report: ${out}\n`);
  if (values.trace) {
    await writeFileAtomic(resolve(values.trace), JSON.stringify(toChromeTrace(record)));
    process.stdout.write(`stride report: trace ${resolve(values.trace)}\n`);
  }
  return 0;
}

/** The run record a command names (default .stride/runs/last.json), checked to be one. */
function readRunRecordArgument(path: string | undefined): { record: RunRecord; settings: ReturnType<typeof readSettings> } {
  const root = findWorkspaceRoot(process.cwd());
  const settings = readSettings(root, JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration);
  const input = resolve(path ?? join(settings.strideDir, 'runs', 'last.json'));
  if (!existsSync(input)) throw new Error(`no run record at ${input}: run tasks through Stride first, or name a record from ${join(settings.strideDir, 'runs')}`);
  const record = JSON.parse(readFileSync(input, 'utf8')) as RunRecord;
  if (!Array.isArray(record.tasks) || !record.criticalPath) throw new Error(`${input} is not a Stride run record of this version`);
  return { record, settings };
}

async function summary(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { markdown: { type: 'boolean' } }, allowPositionals: true, strict: true });
  const { record, settings } = readRunRecordArgument(positionals[0]);
  const text = formatSummary(record);
  process.stdout.write(values.markdown ? `### ${text.split('\n')[0]}\n\n\`\`\`text\n${text}\`\`\`\n` : text);
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

function awsPolicy(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      bucket: { type: 'string' }, prefix: { type: 'string', default: 'stride' }, repo: { type: 'string' }, branch: { type: 'string', default: 'main' }, account: { type: 'string' }, environment: { type: 'string' },
      lifecycle: { type: 'boolean' }, 'scope-days': { type: 'string' }, 'trusted-days': { type: 'string' },
    },
    strict: true,
  });
  if (values.lifecycle) return lifecycle(values);
  if (!values.bucket || !values.repo) throw new Error('--bucket and --repo are required, e.g. stride aws-policy --bucket acme-cache --repo acme/monorepo');
  const policies = awsPolicies({ bucket: values.bucket, prefix: values.prefix, repo: values.repo, branch: values.branch, ...(values.account ? { account: values.account } : {}), ...(values.environment ? { environment: values.environment } : {}) });
  process.stdout.write(`${JSON.stringify(policies, null, 2)}\n`);
  process.stderr.write(
    [
      `Create two roles from this: trustedWriter (assumable only from ${values.repo} on ${values.branch}; its job sets STRIDE_REMOTE_SCOPE=trusted and gets STRIDE_SIGNING_KEY)`,
      'and pullRequest (its jobs set STRIDE_REMOTE_SCOPE=pr-<number> and never get the signing key; it may write only scopes/pr-*, every other write explicitly denied).',
      ...(values.account ? [] : ['Replace ACCOUNT_ID with the account that holds the token.actions.githubusercontent.com OIDC provider (or pass --account).']),
      '',
    ].join('\n'),
  );
  return 0;
}

/** `stride aws-policy --lifecycle`: the bucket's lifecycle rules, and how to apply them. */
function lifecycle(values: { bucket?: string; prefix?: string; 'scope-days'?: string; 'trusted-days'?: string }): number {
  const days = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
  const configuration = lifecycleConfiguration({ prefix: values.prefix ?? 'stride', scopeDays: days(values['scope-days']), trustedDays: days(values['trusted-days']) });
  process.stdout.write(`${JSON.stringify(configuration, null, 2)}\n`);
  process.stderr.write(
    [
      'Save this as lifecycle.json and apply it to the bucket (it replaces the bucket\'s lifecycle rules):',
      `  aws s3api put-bucket-lifecycle-configuration --bucket ${values.bucket ?? '<bucket>'} --lifecycle-configuration file://lifecycle.json`,
      'A store without lifecycle rules: run `stride gc --remote --scope <scope> --older-than 7d --yes` on a schedule instead.',
      '',
    ].join('\n'),
  );
  return 0;
}

/** The shortest `stride serve` token accepted. */
const MIN_SERVE_TOKEN_LENGTH = 16;

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
  const root = existsSync(join(process.cwd(), 'nx.json')) ? findWorkspaceRoot(process.cwd()) : process.cwd();
  const nxJson = existsSync(join(root, 'nx.json')) ? (JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration) : {};
  const settings = readSettings(root, nxJson);
  const defaultScope = settings.remote?.scope ?? DEFAULT_SCOPE;
  // `token` or `token@scope`: a token reads trusted/ then its scope, and writes only its scope.
  const grants = (flag: string[] | undefined, env: string | undefined, access: TokenGrant['access'], source: string): Array<TokenGrant & { token: string }> =>
    [...(flag ?? []), ...(env ?? '').split(',')]
      .map((t) => t.trim())
      .filter(Boolean)
      .map((entry) => {
        const at = entry.lastIndexOf('@');
        const scope = at > 0 ? entry.slice(at + 1) : defaultScope;
        const problem = checkScope(scope);
        if (problem) throw new Error(`${source}: a token names an invalid scope: ${problem.message}; ${problem.fix} (token@scope, e.g. token@trusted or token@pr-123)`);
        const token = at > 0 ? entry.slice(0, at) : entry;
        // A short token is guessable, and too short to be masked in logs (secrets.ts masks from 6 characters on).
        if (token.length < MIN_SERVE_TOKEN_LENGTH) {
          throw new Error(`${source}: a token of ${token.length} characters is too short to be a secret: use at least ${MIN_SERVE_TOKEN_LENGTH} (e.g. \`openssl rand -hex 16\`)`);
        }
        return { token, access, scope };
      });
  const tokens = [
    ...grants(values.token, process.env.STRIDE_SERVE_TOKEN, 'read-write', '--token / STRIDE_SERVE_TOKEN'),
    ...grants(values['read-only-token'], process.env.STRIDE_SERVE_READ_ONLY_TOKEN, 'read-only', '--read-only-token / STRIDE_SERVE_READ_ONLY_TOKEN'),
  ];
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(values.host);
  if (tokens.length === 0 && !loopback) {
    throw new Error(`refusing to serve ${values.host} without a token: set STRIDE_SERVE_TOKEN (or --token), or listen on 127.0.0.1`);
  }
  const dir = resolve(values.dir ?? join(settings.strideDir, 'serve'));
  const log = (line: unknown): boolean => process.stdout.write(`${JSON.stringify(line)}\n`);
  const remoteSettings = settings.remote;
  const objects = remoteSettings ? await createS3Store(remoteSettings) : undefined;
  const publicKeys = (remoteSettings?.publicKeys ?? []).map((text, i) => parsePublicKey(text, `plugins[@stride/nx].options.remote.publicKeys[${i}]`));
  const signingKey = loadSigningKey(process.env);
  const encryptionKey = loadEncryptionKey(process.env);
  const tiersByScope = new Map<string, ScopeTiers>();
  const tiers = (scope: string): ScopeTiers => {
    let found = tiersByScope.get(scope);
    if (!found) {
      const disk = new DiskBlobs(join(dir, scope));
      const warn = (message: string): void => void log({ time: new Date().toISOString(), scope, warning: message });
      // The key reaches only the trusted scope's writer: nothing a pull request's token uploads is ever signed.
      const scopeKey = scope === TRUSTED_SCOPE ? signingKey : undefined;
      found = remoteSettings && objects ? { disk, remote: new RemoteNxBlobs({ ...remoteSettings, scope }, objects, scopeKey, publicKeys, warn, encryptionKey) } : { disk };
      tiersByScope.set(scope, found);
    }
    return found;
  };
  const maxBodyBytes = values['max-body-size'] !== undefined ? parseSize(values['max-body-size'], '--max-body-size') : (settings.remote?.maxArtifactBytes ?? 2 * 1024 ** 3);
  const server = createCacheServer({
    tiers,
    tokens,
    ...(tokens.length === 0 ? { anonymous: { access: 'read-write' as const, scope: defaultScope } } : {}),
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
  const where = `disk ${dir}${objects ? `, then ${objects.location}` : ''}`;
  const scopes = [...new Set(tokens.map((t) => t.scope))].join(', ') || defaultScope;
  const auth = tokens.length === 0 ? 'no token (loopback only)' : `${tokens.length} tokens for scopes ${scopes}`;
  process.stderr.write(`stride serve: listening on http://${values.host}:${actualPort} (${where}; ${auth})\n`);
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
