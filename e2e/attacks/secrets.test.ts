// Issue 18, items 4 and 10 (endpoint, warnings): Stride's secrets never reach a
// task, and no secret value Stride knows appears in anything it writes or prints.
// Real nx, real s3rver, a task that dumps its environment (and its ancestors'),
// an in-process wrapped executor that does the same, a remote that echoes a
// credential back in its error.
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { decryptBytes } from '../../packages/core/src/remote/encryption.js';
import { generateSigningKeyPair } from '../../packages/core/src/remote/signing.js';
import { startS3Server, type S3Server } from '../../tools/s3/server.mjs';
import { s3Client } from '../support/s3.js';
import { threatModel } from '../support/threat-model.js';
import { createWorkspace, type CommandResult, type TestWorkspace } from '../support/workspace.js';

const { attack } = threatModel(import.meta.filename);

const ACCESS_KEY = 'stride-attack';
const AWS_SECRET = `aws-secret-${randomBytes(12).toString('hex')}`;
const SESSION_TOKEN = `aws-session-${randomBytes(24).toString('base64url')}`;
const ENCRYPTION_HEX = randomBytes(32).toString('hex');
const SERVE_TOKEN = `serve-main-${randomBytes(12).toString('hex')}`;
const SERVE_PR_TOKEN = `serve-pr-${randomBytes(12).toString('hex')}`;
const READ_ONLY_TOKEN = `serve-ro-${randomBytes(12).toString('hex')}`;
const ENDPOINT_PASSWORD = `endpoint-pass-${randomBytes(8).toString('hex')}`;
const mainKey = generateSigningKeyPair();
/** A key a PR job was handed by mistake (a self-hosted runner's machine-wide variable): not main's. */
const prKey = generateSigningKeyPair();

/**
 * The leaky build: prints its own environment (env:), the key files at the
 * paths the attacker knows from the CI layout (file:), and the environment of
 * every ancestor process it can read in /proc (parent:), the one place the key
 * still lives (the batch signs with it); writes its own environment into an
 * output file; appends a marker when POISON is set (the CREEP lever, no input).
 * The file is hex: what a task writes into its outputs is the user's business
 * (its AWS_* variables are there, SECURITY.md says why), so the greps of
 * archives below check what Stride wrote; the test decodes the file to check
 * that no Stride secret was there to write.
 */
const LEAK = `import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
const own = Object.entries(process.env).map(([k, v]) => k + '=' + v);
for (const line of own) console.log('env: ' + line);
for (const file of (process.env.LEAK_FILES ?? '').split(',').filter(Boolean)) if (existsSync(file)) console.log('file: ' + readFileSync(file, 'utf8'));
let pid = process.ppid;
for (let depth = 0; depth < 4 && pid > 1; depth++) {
  try {
    for (const line of readFileSync('/proc/' + pid + '/environ', 'utf8').split('\\0')) console.log('parent: ' + line);
    pid = Number(/PPid:\\s+(\\d+)/.exec(readFileSync('/proc/' + pid + '/status', 'utf8'))[1]);
  } catch { break; }
}
mkdirSync('dist', { recursive: true });
writeFileSync('dist/env.hex', Buffer.from(own.join('\\n')).toString('hex'));
writeFileSync('dist/index.js', 'export const built = ' + JSON.stringify(readFileSync('src/index.js', 'utf8')) + ';\\n');
if (process.env.POISON) appendFileSync('dist/index.js', '// POISONED\\n');
`;

/** A local Nx executor, run by Stride's wrapped-executor worker in-process: it reads process.env directly. */
const DUMP_EXECUTOR = `const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
module.exports = async function dump(options, context) {
  const own = Object.entries(process.env).map(([k, v]) => k + '=' + v);
  for (const line of own) console.log('dump: ' + line);
  const dist = join(context.root, context.projectsConfigurations.projects[context.projectName].root, 'dist');
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'env.hex'), Buffer.from(own.join('\\n')).toString('hex'));
  writeFileSync(join(dist, 'index.js'), 'export {};\\n');
  return { success: true };
};
`;

/** Every form of a secret a reader would grep for: the value, and each line and the joined body of a PEM. */
function forms(values: string[]): string[] {
  const out = new Set<string>();
  for (const value of values) {
    out.add(value.trim());
    for (const line of value.split('\n')) if (line.trim() && !line.startsWith('-----')) out.add(line.trim());
    const body = value.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    if (body) out.add(body);
  }
  return [...out].filter((v) => v.length >= 6);
}

function expectNoneIn(haystack: string, secrets: string[], where: string): void {
  for (const secret of forms(secrets)) expect(haystack.includes(secret), `${where} contains ${secret.slice(0, 12)}...`).toBe(false);
}

/** Every file under a folder, as text (binary bytes kept as latin1, so a secret in them still matches). */
function readTree(dir: string): string {
  if (!existsSync(dir)) return '';
  const parts: string[] = [];
  const walk = (path: string): void => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else parts.push(`== ${full}\n${readFileSync(full).toString('latin1')}`);
    }
  };
  walk(dir);
  return parts.join('\n');
}

/**
 * Every candidate private key an attacker could cut out of text: PEM blocks,
 * base64 PKCS#8, 32-byte seeds in hex or base64. Returns the key ids they give.
 */
function extractKeyIds(text: string): Set<string> {
  const ids = new Set<string>();
  const idOf = (key: ReturnType<typeof createPrivateKey>): string =>
    createHash('sha256').update(createPublicKey(key).export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
  const tryKey = (make: () => ReturnType<typeof createPrivateKey>): void => {
    try {
      ids.add(idOf(make()));
    } catch {
      // not a key
    }
  };
  for (const pem of text.match(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/g) ?? []) tryKey(() => createPrivateKey(pem));
  for (const b64 of text.match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []) tryKey(() => createPrivateKey({ key: Buffer.from(b64, 'base64'), format: 'der', type: 'pkcs8' }));
  const seeds = [...(text.match(/\b[0-9a-fA-F]{64}\b/g) ?? []).map((h) => Buffer.from(h, 'hex')), ...(text.match(/[A-Za-z0-9+/_-]{43}=?/g) ?? []).map((b) => Buffer.from(b, 'base64'))];
  const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
  for (const seed of seeds) if (seed.length === 32) tryKey(() => createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' }));
  return ids;
}

describe('secrets never reach a task, and never appear in what Stride writes or prints', () => {
  let s3: S3Server;
  let client: S3Client;
  let ws: TestWorkspace;
  let secretsDir: string;
  let encryptionKeyFile: string;
  let prKeyFile: string;
  const aws = (): NodeJS.ProcessEnv => ({ AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_SESSION_TOKEN: SESSION_TOKEN, AWS_REGION: 'us-east-1' });
  /** Main's trusted job: every secret Stride reads, in the environment. */
  const mainEnv = (): NodeJS.ProcessEnv => ({
    ...aws(),
    STRIDE_REMOTE_SCOPE: 'trusted',
    STRIDE_SIGNING_KEY: mainKey.privateKeyPem,
    STRIDE_ENCRYPTION_KEY: ENCRYPTION_HEX,
    STRIDE_SERVE_TOKEN: `${SERVE_TOKEN}@trusted,${SERVE_PR_TOKEN}@pr-1`,
    STRIDE_SERVE_READ_ONLY_TOKEN: READ_ONLY_TOKEN,
  });
  const MAIN_SECRETS = [mainKey.privateKeyPem, ENCRYPTION_HEX, SERVE_TOKEN, SERVE_PR_TOKEN, READ_ONLY_TOKEN, AWS_SECRET, SESSION_TOKEN];

  const objectKeys = async (prefix: string): Promise<string[]> =>
    ((await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key ?? '').sort();
  const getObject = async (key: string): Promise<Buffer> =>
    Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
  /** What the PR role reads of the bucket (it holds the encryption key: every job does), decrypted. */
  const bucketPlaintext = async (prefix: string): Promise<string> => {
    const parts: string[] = [];
    for (const key of await objectKeys(prefix)) {
      const bytes = await getObject(key);
      const hash = /([0-9a-f]+)\.stride$/.exec(key)?.[1];
      // stride why's records go up encrypted too, each under its own name.
      const record = /^stride\/(?:trusted|scopes\/[^/]+)\/(why\/.+)$/.exec(key)?.[1];
      const context = hash ? `stride-artifact:${hash}` : record ? `stride-why:${record}` : undefined;
      parts.push(`== ${key}\n${(context ? decryptBytes(Buffer.from(ENCRYPTION_HEX, 'hex'), context, bytes) : bytes).toString('latin1')}`);
    }
    return parts.join('\n');
  };
  const fresh = (): void => {
    rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
  };
  const nx = async (env: NodeJS.ProcessEnv): Promise<CommandResult> => ws.nxAsync(['run-many', '-t', 'build', '--output-style=static'], env);

  beforeAll(async () => {
    s3 = await startS3Server({ accessKeyId: ACCESS_KEY, secretAccessKey: AWS_SECRET });
    client = s3Client(s3.endpoint, { accessKeyId: ACCESS_KEY, secretAccessKey: AWS_SECRET });
    secretsDir = mkdtempSync(join(tmpdir(), 'stride-secrets-'));
    encryptionKeyFile = join(secretsDir, 'encryption.key');
    prKeyFile = join(secretsDir, 'signing.pem');
    writeFileSync(encryptionKeyFile, `${ENCRYPTION_HEX}\n`);
    writeFileSync(prKeyFile, prKey.privateKeyPem);
    ws = createWorkspace({ projects: 2, width: 2 });
    ws.write('tools/leak.mjs', LEAK);
    ws.write('tools/dump-env/package.json', JSON.stringify({ name: 'dump-env', version: '0.0.0', executors: './executors.json' }));
    ws.write('tools/dump-env/executors.json', JSON.stringify({ executors: { dump: { implementation: './dump.cjs', schema: './schema.json', description: 'prints process.env' } } }));
    ws.write('tools/dump-env/schema.json', JSON.stringify({ type: 'object', properties: {} }));
    ws.write('tools/dump-env/dump.cjs', DUMP_EXECUTOR);
    const [leaky, wrapped] = ws.graph.projects as [string, string];
    ws.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>(`libs/${leaky}/project.json`, (json) => {
      json.targets.build.options = { command: 'node ../../tools/leak.mjs' };
      return json;
    });
    ws.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>(`libs/${wrapped}/project.json`, (json) => {
      json.targets.build.options = { executor: './tools/dump-env:dump', options: {} };
      return json;
    });
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
      ...nx,
      plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, publicKeys: [mainKey.publicKey] } } }],
    }));
    ws.git(['add', '-A']);
    ws.git(['commit', '-q', '-m', 'leaky tasks']);
  });
  afterAll(async () => {
    client?.destroy();
    ws?.remove();
    rmSync(secretsDir, { recursive: true, force: true });
    await s3?.stop();
  });

  let mainRun: CommandResult;
  attack(
    {
      item: '4',
      attacker: 'pull-request job',
      capability: "reads trusted/ (artifacts with main's terminal output) and holds the encryption key",
      attack: "main's task prints its environment and its ancestors' (/proc), and writes its environment into an output file",
      stoppedBy: "Stride's secret variables are stripped from every task and in-process executor; every known secret value is masked as *** where output is captured, replayed and recorded",
    },
    async () => {
      fresh();
      const report = join(ws.root, 'report.html');
      mainRun = await nx({ ...mainEnv(), STRIDE_REPORT: report });
      expect(mainRun.code, mainRun.output).toBe(0);
      const [leaky, wrapped] = ws.graph.projects as [string, string];
      // The attack really ran: the task printed the user's AWS variables (masked), the in-process executor ran.
      expect(mainRun.stdout).toContain(`env: AWS_SECRET_ACCESS_KEY=***`);
      expect(mainRun.stdout).toContain(`env: AWS_SESSION_TOKEN=***`);
      expect(mainRun.stdout).toContain(`env: AWS_ACCESS_KEY_ID=${ACCESS_KEY}`);
      expect(mainRun.stdout).toContain(`dump: AWS_SECRET_ACCESS_KEY=***`);
      // Stride's own variables were never there, neither in the shell task nor in the in-process executor.
      expect(mainRun.stdout).not.toMatch(/^(env|dump): STRIDE_(SIGNING|ENCRYPTION|SERVE)/m);
      expect(mainRun.stdout).toContain('env: STRIDE_REMOTE_SCOPE=trusted');
      // The batch process itself keeps the key (it signs): a task reading /proc finds it there, masked in every output.
      expect(mainRun.stdout).toMatch(/^parent: STRIDE_SIGNING_KEY=\*\*\*/m);
      const taskFiles = [leaky, wrapped].map((p) => Buffer.from(ws.read(`libs/${p}/dist/env.hex`), 'hex').toString('utf8')).join('\n');
      expect(taskFiles).toContain(`AWS_SECRET_ACCESS_KEY=${AWS_SECRET}`);
      expect(taskFiles).not.toMatch(/STRIDE_(SIGNING|ENCRYPTION|SERVE)/);
      expectNoneIn(taskFiles, [mainKey.privateKeyPem, ENCRYPTION_HEX, SERVE_TOKEN, SERVE_PR_TOKEN, READ_ONLY_TOKEN], "the task's own output files");
      expect((await objectKeys('stride/trusted/')).filter((k) => k.endsWith('.stride'))).toHaveLength(2);
      const everything = {
        "nx's output": mainRun.output,
        'the local store (terminal.txt, outputs.tar)': readTree(join(ws.root, '.stride', 'cache')),
        'the run records': readTree(join(ws.root, '.stride', 'runs')),
        'the HTML report': ws.read('report.html'),
        'the uploaded artifacts, decrypted': await bucketPlaintext('stride/'),
        "s3rver's files on disk": readTree(s3.directory),
      };
      for (const [where, text] of Object.entries(everything)) expectNoneIn(text, MAIN_SECRETS, where);
      return "tasks saw no STRIDE_ secret; AWS values and the key read from /proc show as ***; none of 7 secrets in nx's output, terminal.txt, outputs.tar, run record, HTML report, artifacts or s3rver's files";
    },
  );

  let prRun: CommandResult;
  attack(
    {
      item: '4',
      attacker: 'pull-request job',
      capability: 'runs any code in its tasks, writes scopes/pr-1/',
      attack: 'a PR job handed secrets by mistake (key files, tokens, AWS secret) prints them from a task into its artifact',
      stoppedBy: 'the _FILE variables are stripped and the files\' contents masked; the upload carries masked terminal output only',
    },
    async () => {
      fresh();
      const [leaky] = ws.graph.projects as [string, string];
      ws.write(`libs/${leaky}/src/index.js`, "export const pr = 'a pull request change';\n");
      prRun = await nx({
        ...aws(),
        STRIDE_REMOTE_SCOPE: 'pr-1',
        STRIDE_SIGNING_KEY_FILE: prKeyFile,
        STRIDE_ENCRYPTION_KEY_FILE: encryptionKeyFile,
        STRIDE_SERVE_TOKEN: SERVE_PR_TOKEN,
        LEAK_FILES: `${prKeyFile},${encryptionKeyFile}`,
      });
      expect(prRun.code, prRun.output).toBe(0);
      expect(prRun.stdout).toMatch(/^file: \*\*\*/m);
      expect(prRun.stdout).not.toMatch(/^env: STRIDE_(SIGNING|ENCRYPTION)_KEY_FILE/m);
      expect((await objectKeys('stride/scopes/pr-1/')).filter((k) => k.endsWith('.stride'))).toHaveLength(1);
      const secrets = [prKey.privateKeyPem, ENCRYPTION_HEX, SERVE_PR_TOKEN, AWS_SECRET, SESSION_TOKEN];
      expectNoneIn(prRun.output, secrets, "nx's output");
      expectNoneIn(readTree(join(ws.root, '.stride')), secrets, 'the local store and run record');
      expectNoneIn(await bucketPlaintext('stride/scopes/'), secrets, "the PR's artifact, decrypted");
      return 'key files read by the task print as ***; no PR secret in its output, store, record or uploaded artifact';
    },
  );

  attack(
    {
      item: '4',
      attacker: 'pull-request job',
      capability: 'reads trusted/ and holds the encryption key; can write trusted/ (a misconfigured bucket)',
      attack: "extracts main's signing key from everything it can read, signs a poisoned artifact under main's hash, and waits for a fresh main machine",
      stoppedBy: "the key never reached a task, so no artifact or output holds it; what the attacker signs with its own key fails main's publicKeys",
    },
    async () => {
      const [leaky, wrapped] = ws.graph.projects as [string, string];
      // Everything the PR job has: its own run (which restored main's artifact for the unchanged project), its
      // files, and main's trusted artifacts decrypted.
      expect(prRun.stdout).toMatch(new RegExp(`${wrapped}:build.*remote|remote.*${wrapped}`, 's'));
      const restoredEnv = ws.graph.projects.filter((p) => existsSync(join(ws.root, 'libs', p, 'dist', 'env.hex'))).map((p) => Buffer.from(ws.read(`libs/${p}/dist/env.hex`), 'hex').toString('utf8'));
      const loot = [prRun.output, readTree(join(ws.root, '.stride')), readTree(join(ws.root, 'libs')), ...restoredEnv, await bucketPlaintext('stride/trusted/')].join('\n');
      const found = extractKeyIds(loot);
      expect(found.has(mainKey.keyId), 'main signing key recovered').toBe(false);

      // The chain with the best key it has (its own): overwrite main's trusted objects with signed poison.
      ws.git(['checkout', '--', `libs/${leaky}/src/index.js`]);
      for (const key of await objectKeys('stride/trusted/')) if (key.endsWith('.stride')) await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
      fresh();
      const forged = await nx({ ...aws(), STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: prKey.privateKeyPem, STRIDE_ENCRYPTION_KEY: ENCRYPTION_HEX, POISON: '1' });
      expect(forged.code, forged.output).toBe(0);
      expect(ws.read(`libs/${leaky}/dist/index.js`)).toContain('POISONED');
      expect((await objectKeys('stride/trusted/')).filter((k) => k.endsWith('.stride'))).toHaveLength(2);

      // A fresh main machine: refuses the forged objects, builds itself, restores no poison.
      fresh();
      const main = await nx(mainEnv());
      expect(main.code, main.output).toBe(0);
      expect(ws.read(`libs/${leaky}/dist/index.js`)).not.toContain('POISONED');
      expect(ws.lastRun().tasks.every((t) => t.cache === 'miss')).toBe(true);
      const warnings = main.stdout.split('\n').filter((l) => l.startsWith('Stride warning'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/refused 2 remote objects/);
      return `0 of ${found.size} candidate keys cut from the PR's loot is main's; the artifact it signed with its own key was refused on main with one warning, the task rebuilt clean`;
    },
  );

  attack(
    {
      item: '10',
      attacker: 'whoever sets the job environment (a PR editing the workflow)',
      capability: 'sets STRIDE_REMOTE_ENDPOINT',
      attack: 'STRIDE_REMOTE_ENDPOINT=http://127.attacker.example:9000 passes as loopback, sending artifacts and signed requests over plain HTTP',
      stoppedBy: 'loopback is judged by the parsed address (127.0.0.0/8, ::1, localhost exactly)',
    },
    async () => {
      const result = await nx({ ...aws(), STRIDE_REMOTE_ENDPOINT: 'http://127.attacker.example:9000' });
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/refusing plain HTTP to 127\.attacker\.example/);
      expect(result.output).toContain('setting: STRIDE_REMOTE_ENDPOINT (environment)');
      expect(result.output).toContain('fix: use https');
      return 'the run stops before any task: "refusing plain HTTP to 127.attacker.example", naming STRIDE_REMOTE_ENDPOINT and the fix';
    },
  );

  attack(
    {
      item: '10',
      attacker: 'anyone reading CI logs',
      capability: 'reads the job log and the run record',
      attack: 'an endpoint with userinfo (http://user:PASSWORD@host) is printed in warnings and errors',
      stoppedBy: 'credentials in the endpoint are refused with a message that shows ***@; userinfo is masked in task output when no bucket reads it',
    },
    async () => {
      const endpoint = `http://${ACCESS_KEY}:${ENDPOINT_PASSWORD}@127.0.0.1:${new URL(s3.endpoint).port}`;
      fresh();
      const refused = await nx({ ...aws(), STRIDE_REMOTE_ENDPOINT: endpoint });
      expect(refused.code).not.toBe(0);
      expect(refused.output).toContain('carries credentials');
      expect(refused.output).toContain('setting: STRIDE_REMOTE_ENDPOINT (environment)');
      expect(refused.output).toContain('AWS chain');
      // With the remote off nothing checks the endpoint, and a task inherits the variable: its output masks the password.
      fresh();
      const off = await nx({ ...aws(), STRIDE_REMOTE_ENDPOINT: endpoint, STRIDE_REMOTE_MODE: 'off' });
      expect(off.code, off.output).toBe(0);
      expect(off.stdout).toContain('env: STRIDE_REMOTE_ENDPOINT=http://***@127.0.0.1');
      for (const [where, text] of Object.entries({ 'the refusal': refused.output, "the run's output": off.output, 'the store and records': readTree(join(ws.root, '.stride')) })) {
        expect(text.includes(ENDPOINT_PASSWORD), where).toBe(false);
      }
      return 'refused naming STRIDE_REMOTE_ENDPOINT and the AWS chain, shown as http://***@...; the password is in no output, store entry or record';
    },
  );

  attack(
    {
      item: '10',
      attacker: 'a hostile or misconfigured remote',
      capability: 'answers S3 requests with any error body',
      attack: 'a 403 whose message echoes the session token it received, with a newline, a forged ::error annotation and ANSI codes',
      stoppedBy: 'remote errors are masked and escaped with printable(); the summary and the record print every warning as one escaped line',
    },
    async () => {
      let echoed = 0;
      const fake: Server = createServer((request, response) => {
        const token = request.headers['x-amz-security-token'];
        if (typeof token === 'string' && token.length > 0) echoed++;
        request.resume();
        response.writeHead(403, { 'content-type': 'application/xml' });
        response.end(`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>token ${String(token)} is not allowed\n::error file=src/index.js::forged by the remote\u001b[2J\u001b[31m</Message></Error>`);
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      try {
        fresh();
        const result = await nx({ ...mainEnv(), STRIDE_REMOTE_ENDPOINT: `http://127.0.0.1:${(fake.address() as AddressInfo).port}` });
        expect(result.code, result.output).toBe(0);
        expect(echoed, 'the remote saw the session token, so its answers carried it').toBeGreaterThan(0);
        expect(ws.lastRun().tasks.every((t) => t.status === 'success' && t.cache === 'miss')).toBe(true);
        const warnings = result.stdout.split('\n').filter((l) => l.startsWith('Stride warning'));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toMatch(/403.*token \*\*\* is not allowed\\n::error file=src\/index\.js::forged by the remote\\x1b\[2J/);
        expect(result.output).not.toMatch(/^\s*::error/m);
        expect(result.output).not.toContain('\u001b[2J');
        const record = ws.read('.stride/runs/last.json');
        expect(record).not.toContain('\\u001b');
        for (const [where, text] of Object.entries({ "nx's output": result.output, 'the run record': record })) expectNoneIn(text, [SESSION_TOKEN, AWS_SECRET], where);
        return "the tasks ran; one warning line with the token as *** and the forged annotation and ANSI codes escaped (\\n, \\x1b); the record holds the same";
      } finally {
        await new Promise<void>((resolve) => fake.close(() => resolve()));
      }
    },
  );
});
