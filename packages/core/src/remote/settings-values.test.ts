import { describe, expect, it } from 'vitest';
import { parseRemoteSettings, refuseSecretSetting } from './settings.js';

const WHERE = 'plugins[@stride/nx].options.remote';
const parse = (remote: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => parseRemoteSettings({ bucket: 'team-cache', ...remote }, env, WHERE);

describe('remote setting values', () => {
  it('keeps the defaults and accepts values in range, from nx.json or the environment', () => {
    const defaults = parse({});
    expect(defaults).toMatchObject({ timeoutMs: 10_000, flushTimeoutMs: 120_000, uploadConcurrency: 4, maxArtifactBytes: 2 * 1024 ** 3, forcePathStyle: false });
    expect(parse({ timeoutMs: 600_000, uploadConcurrency: 64, maxArtifactSize: '1GB', forcePathStyle: 'TRUE' })).toMatchObject({ timeoutMs: 600_000, uploadConcurrency: 64, maxArtifactBytes: 1024 ** 3, forcePathStyle: true });
    const env = { STRIDE_REMOTE_TIMEOUT_MS: '2500', STRIDE_REMOTE_FLUSH_TIMEOUT_MS: '9000', STRIDE_REMOTE_UPLOAD_CONCURRENCY: '8', STRIDE_REMOTE_MAX_ARTIFACT_SIZE: '512MB', STRIDE_REMOTE_FORCE_PATH_STYLE: '0' };
    expect(parse({ forcePathStyle: true }, env)).toMatchObject({ timeoutMs: 2500, flushTimeoutMs: 9000, uploadConcurrency: 8, maxArtifactBytes: 512 * 1024 ** 2, forcePathStyle: false });
  });

  it.each([
    // Over setTimeout's 2^31-1 ms, Node fires at once and prints TimeoutOverflowWarning on every request.
    [{}, { STRIDE_REMOTE_TIMEOUT_MS: '3000000000' }, /timeoutMs must be a whole number of milliseconds from 1 to 600000[\s\S]*setting: STRIDE_REMOTE_TIMEOUT_MS \(environment\) = "3000000000"[\s\S]*fix: e\.g\. 10000/],
    [{ timeoutMs: 0 }, {}, /remote\.timeoutMs = 0/],
    [{ timeoutMs: '1e4' }, {}, /remote\.timeoutMs = "1e4"/],
    [{ flushTimeoutMs: 7_200_000 }, {}, /flushTimeoutMs must be a whole number of milliseconds from 1 to 3600000/],
    [{}, { STRIDE_REMOTE_FLUSH_TIMEOUT_MS: '-5' }, /STRIDE_REMOTE_FLUSH_TIMEOUT_MS \(environment\) = "-5"/],
    [{ uploadConcurrency: 0.5 }, {}, /uploadConcurrency must be a whole number of uploads at once from 1 to 64[\s\S]*remote\.uploadConcurrency = 0\.5/],
    [{}, { STRIDE_REMOTE_UPLOAD_CONCURRENCY: '4.5' }, /STRIDE_REMOTE_UPLOAD_CONCURRENCY \(environment\) = "4\.5"/],
    [{ uploadConcurrency: 1000 }, {}, /from 1 to 64/],
    [{ maxArtifactSize: 'lots' }, {}, /maxArtifactSize must be a whole number of bytes[\s\S]*= "lots"/],
    [{ maxArtifactSize: '10TB' }, {}, /maxArtifactSize must be a whole number of bytes from 1 to 5497558138880/],
    [{}, { STRIDE_REMOTE_FORCE_PATH_STYLE: 'yes' }, /forcePathStyle must be true or false[\s\S]*STRIDE_REMOTE_FORCE_PATH_STYLE \(environment\) = "yes"[\s\S]*fix:/],
    [{ forcePathStyle: 'on' }, {}, /remote\.forcePathStyle = "on"/],
    [{}, { STRIDE_REMOTE_ALLOW_INSECURE_HTTP: 'y' }, /allowInsecureHttp must be true or false[\s\S]*STRIDE_REMOTE_ALLOW_INSECURE_HTTP/],
    [{ prefix: 7 }, {}, /prefix must be a string[\s\S]*remote\.prefix = 7/],
    [{ prefix: 'a/../b' }, {}, /invalid prefix/],
    [{}, { AWS_REGION: 'eu west 1' }, /invalid region[\s\S]*setting: AWS_REGION \(environment\)/],
    [{ mode: 'readonly' }, {}, /invalid remote mode[\s\S]*remote\.mode = "readonly"[\s\S]*read-write, read-only/],
  ])('refuses %j %j naming the setting, the value and the fix', (remote, env, message) => {
    expect(() => parse(remote, env)).toThrow(message);
  });

  it('checks a bad value even with no bucket configured', () => {
    expect(() => parseRemoteSettings(undefined, { STRIDE_REMOTE_TIMEOUT_MS: '3000000000' }, WHERE)).toThrow(/STRIDE_REMOTE_TIMEOUT_MS/);
    expect(parseRemoteSettings(undefined, {}, WHERE)).toBeUndefined();
  });

  it('tells each kind of secret where it goes, without echoing it', () => {
    const message = (key: string): string => {
      try {
        refuseSecretSetting(key, `${WHERE}.${key}`);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    expect(message('encryptionKey')).toMatch(/STRIDE_ENCRYPTION_KEY or STRIDE_ENCRYPTION_KEY_FILE/);
    expect(message('encryptionKey')).not.toMatch(/SIGNING/);
    expect(message('signingKey')).toMatch(/STRIDE_SIGNING_KEY or STRIDE_SIGNING_KEY_FILE/);
    expect(message('secretAccessKey')).toMatch(/AWS SDK's default chain/);
    expect(message('sessionToken')).toMatch(/AWS SDK's default chain/);
    expect(message('serveToken')).toMatch(/STRIDE_SERVE_TOKEN/);
    expect(message('bucket')).toBe('');
    expect(() => parse({ encryptionKey: 'c2VjcmV0' })).toThrow(/"encryptionKey" looks like a secret[\s\S]*STRIDE_ENCRYPTION_KEY/);
    expect(() => parse({ encryptionKey: 'c2VjcmV0' })).not.toThrow(/c2VjcmV0/);
  });
});

describe('key files', () => {
  it('refuses a key file that is named but empty, instead of running without the key', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadEncryptionKey } = await import('./encryption.js');
    const { loadSigningKey } = await import('./signing.js');
    const empty = join(mkdtempSync(join(tmpdir(), 'stride-keys-')), 'empty');
    writeFileSync(empty, '');
    expect(() => loadEncryptionKey({ STRIDE_ENCRYPTION_KEY_FILE: empty })).toThrow(/encryption key file is empty[\s\S]*STRIDE_ENCRYPTION_KEY_FILE/);
    expect(() => loadSigningKey({ STRIDE_SIGNING_KEY_FILE: empty })).toThrow(/signing key file is empty[\s\S]*STRIDE_SIGNING_KEY_FILE/);
    expect(loadEncryptionKey({ STRIDE_ENCRYPTION_KEY: '' })).toBeUndefined();
  });
});
