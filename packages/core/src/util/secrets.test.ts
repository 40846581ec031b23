import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCaptured } from '../run/spawn.js';
import { isStrideSecretVariable, maskSecrets, redactUserinfo, safeWarning, SecretMasker, secretValues, taskEnvironment, userinfoOf } from './secrets.js';

const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const pemBody = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
const encryptionHex = randomBytes(32).toString('hex');
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: '/home/ci',
  STRIDE_SIGNING_KEY: pem,
  STRIDE_ENCRYPTION_KEY: encryptionHex,
  STRIDE_SERVE_TOKEN: 'main-token-1234@trusted,pr-token-5678@pr-7',
  STRIDE_SERVE_READ_ONLY_TOKEN: 'read-only-token-9',
  STRIDE_SERVE_TOKEN_NEXT: 'rotating-token-0',
  STRIDE_AWS_ID_TOKEN: 'eyJhbGciOi.jwt-body.sig',
  STRIDE_REMOTE_SCOPE: 'trusted',
  STRIDE_PARALLEL: '3',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value-xyz',
  AWS_SESSION_TOKEN: 'aws-session-token-abc',
  AWS_REGION: 'eu-west-1',
  STRIDE_REMOTE_ENDPOINT: 'https://cache-user:p%40ssw0rd-long@minio.example',
};

describe('which variables a task inherits', () => {
  it("strips Stride's own secrets (and their _FILE paths), keeps the user's AWS_* and Stride's plain settings", () => {
    const task = taskEnvironment({ ...env, STRIDE_SIGNING_KEY_FILE: '/run/key.pem', STRIDE_ENCRYPTION_KEY_FILE: '/run/enc', STRIDE_DEPLOY_PASSWORD: 'x' });
    expect(Object.keys(task).filter((k) => k.startsWith('STRIDE_')).sort()).toEqual(['STRIDE_PARALLEL', 'STRIDE_REMOTE_ENDPOINT', 'STRIDE_REMOTE_SCOPE']);
    expect(task).toMatchObject({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'aws-secret-value-xyz', AWS_SESSION_TOKEN: 'aws-session-token-abc', HOME: '/home/ci' });
    expect(task.STRIDE_REMOTE_ENDPOINT).toBe('https://***@minio.example');
  });
  it('names them by exact name or by what the name says', () => {
    for (const name of ['STRIDE_SIGNING_KEY', 'STRIDE_SIGNING_KEY_FILE', 'STRIDE_ENCRYPTION_KEY_FILE', 'STRIDE_SERVE_TOKEN', 'STRIDE_SERVE_TOKEN_2', 'STRIDE_AWS_ID_TOKEN', 'STRIDE_X_SECRET']) expect(isStrideSecretVariable(name), name).toBe(true);
    for (const name of ['STRIDE_REMOTE_BUCKET', 'STRIDE_PARALLEL', 'STRIDE_CACHE_DIRECTORY', 'AWS_SECRET_ACCESS_KEY', 'NX_TASK_HASH']) expect(isStrideSecretVariable(name), name).toBe(false);
  });
});

describe('masking every secret Stride knows', () => {
  const text = [
    `key: ${pem}`,
    `one line of it: ${pemBody.slice(0, 64)}`,
    `joined: ${pemBody}`,
    `enc: ${encryptionHex} / ${Buffer.from(encryptionHex, 'hex').toString('base64')}`,
    'tokens: main-token-1234 pr-token-5678 read-only-token-9 rotating-token-0 eyJhbGciOi.jwt-body.sig',
    'aws: aws-secret-value-xyz aws-session-token-abc',
    'userinfo: cache-user:p%40ssw0rd-long p@ssw0rd-long',
  ].join('\n');
  it('replaces each with *** and keeps the rest', () => {
    const masked = maskSecrets(text, env);
    for (const secret of [pemBody, pemBody.slice(0, 64), encryptionHex, 'main-token-1234', 'pr-token-5678', 'read-only-token-9', 'rotating-token-0', 'jwt-body', 'aws-secret-value-xyz', 'aws-session-token-abc', 'p@ssw0rd-long', 'p%40ssw0rd-long']) {
      expect(masked, secret).not.toContain(secret);
    }
    expect(masked).toContain('***');
    expect(masked).toContain('tokens: ');
    // The access key id is an identifier, not a secret.
    expect(maskSecrets('AKIAEXAMPLE', env)).toBe('AKIAEXAMPLE');
  });
  it("masks the seed of a signing key printed in another encoding", () => {
    const key = generateKeyPairSync('ed25519').privateKey;
    const seed = Buffer.from(key.export({ format: 'jwk' }).d as string, 'base64url');
    const der = key.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const masked = maskSecrets(`${seed.toString('hex')} ${seed.toString('base64')}`, { STRIDE_SIGNING_KEY: der });
    expect(masked).toBe('*** ***');
  });
  it('reads the key files STRIDE_SIGNING_KEY_FILE and STRIDE_ENCRYPTION_KEY_FILE name, and masks their contents', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stride-secrets-'));
    try {
      writeFileSync(join(dir, 'key.pem'), pem);
      writeFileSync(join(dir, 'enc'), `${encryptionHex}\n`);
      const fileEnv = { STRIDE_SIGNING_KEY_FILE: join(dir, 'key.pem'), STRIDE_ENCRYPTION_KEY_FILE: join(dir, 'enc') };
      expect(maskSecrets(`${pemBody} and ${encryptionHex}`, fileEnv)).toBe('*** and ***');
      // A missing file is no error here (loading the key reports it).
      expect(secretValues({ STRIDE_SIGNING_KEY_FILE: join(dir, 'missing') })).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('leaves text alone when there is nothing to mask, and never masks short values', () => {
    expect(maskSecrets('plain text', {})).toBe('plain text');
    expect(new SecretMasker(['abc', 'a.b*c(d)e']).mask('abc a.b*c(d)e axb')).toBe('abc *** axb');
  });
});

describe('endpoint userinfo', () => {
  it('is found as written and decoded, and redacted from any URL in a text', () => {
    expect(userinfoOf('http://u:p%40ss@h:9000/x')).toEqual(expect.arrayContaining(['u:p%40ss', 'p%40ss', 'p@ss']));
    expect(userinfoOf('https://h.example')).toEqual([]);
    // A password holding `@`: URL parsers take userinfo up to the last `@`, and so does every mask.
    expect(redactUserinfo('http://ci:hunter@s3cr3t-part@127.0.0.1:9000')).toBe('http://***@127.0.0.1:9000');
    expect(userinfoOf('http://ci:hunter@s3cr3t-part@127.0.0.1:9000')).toEqual(expect.arrayContaining(['hunter@s3cr3t-part', 's3cr3t-part']));
    expect(new URL('http://ci:hunter@s3cr3t-part@127.0.0.1:9000').host).toBe('127.0.0.1:9000');
    expect(redactUserinfo('GET http://user:PASS@host:9000/b failed; see https://plain.example/x')).toBe('GET http://***@host:9000/b failed; see https://plain.example/x');
  });
});

describe('safeWarning', () => {
  it('masks secrets and escapes control characters, so a warning stays one line', () => {
    expect(safeWarning('remote said: aws-secret-value-xyz\n::error file=x::forged\u001b[31m', env)).toBe('remote said: ***\\n::error file=x::forged\\x1b[31m');
  });
});

describe('runCaptured', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stride-spawn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('starts the task without Stride secrets, whatever env it is given, and masks what it prints', async () => {
    const lines: string[] = [];
    const script = 'console.log(JSON.stringify(Object.keys(process.env).filter((k) => k.startsWith("STRIDE_")).sort())); console.log(process.env.AWS_SECRET_ACCESS_KEY); console.log(process.argv[1])';
    const result = await runCaptured({ command: process.execPath, args: ['-e', script, pemBody], cwd: dir, env, shell: false, masker: new SecretMasker(secretValues(env)), onLine: (line) => lines.push(line) });
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe(`${JSON.stringify(['STRIDE_PARALLEL', 'STRIDE_REMOTE_ENDPOINT', 'STRIDE_REMOTE_SCOPE'])}\n***\n***\n`);
    expect(lines).toEqual([JSON.stringify(['STRIDE_PARALLEL', 'STRIDE_REMOTE_ENDPOINT', 'STRIDE_REMOTE_SCOPE']), '***', '***']);
  });
});
