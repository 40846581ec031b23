import { isIP } from 'node:net';
import { StrideError } from '../util/errors.js';
import { resolveRegion } from './region.js';

export type RemoteMode = 'read-write' | 'read-only' | 'write-only' | 'off';
const MODES: readonly RemoteMode[] = ['read-write', 'read-only', 'write-only', 'off'];

/** The scope of trusted writers (main, release); every other scope is untrusted. */
export const TRUSTED_SCOPE = 'trusted';
/** Runs that name no scope are untrusted: a laptop or a PR must opt in to nothing. */
export const DEFAULT_SCOPE = 'local';

/** The S3 remote cache's settings, checked and with defaults applied. */
export interface RemoteSettings {
  bucket: string;
  prefix: string;
  region: string;
  endpoint: string | undefined;
  forcePathStyle: boolean;
  mode: RemoteMode;
  /** Per request: connecting and waiting for data. */
  timeoutMs: number;
  /** How long the end of a run waits for pending uploads. */
  flushTimeoutMs: number;
  uploadConcurrency: number;
  /** Artifacts larger than this are neither uploaded nor restored. */
  maxArtifactBytes: number;
  scope: string;
  /** Ed25519 public keys (PEM or base64 SPKI DER) whose signatures trusted artifacts must carry. */
  publicKeys: string[];
  allowInsecureHttp: boolean;
}

const KNOWN = [
  'bucket', 'prefix', 'region', 'endpoint', 'forcePathStyle', 'mode', 'timeoutMs', 'flushTimeoutMs',
  'uploadConcurrency', 'maxArtifactSize', 'scope', 'publicKeys', 'allowInsecureHttp',
] as const;

/** Environment variables that override the `remote` block, setting by setting. */
const ENV: Record<string, string> = {
  bucket: 'STRIDE_REMOTE_BUCKET',
  prefix: 'STRIDE_REMOTE_PREFIX',
  region: 'STRIDE_REMOTE_REGION',
  endpoint: 'STRIDE_REMOTE_ENDPOINT',
  forcePathStyle: 'STRIDE_REMOTE_FORCE_PATH_STYLE',
  mode: 'STRIDE_REMOTE_MODE',
  scope: 'STRIDE_REMOTE_SCOPE',
  timeoutMs: 'STRIDE_REMOTE_TIMEOUT_MS',
  uploadConcurrency: 'STRIDE_REMOTE_UPLOAD_CONCURRENCY',
  allowInsecureHttp: 'STRIDE_REMOTE_ALLOW_INSECURE_HTTP',
};

/**
 * Reads the `remote` settings (from nx.json, then the environment). No bucket
 * means no remote, silently. Anything invalid is an error naming the setting,
 * the value and the fix, raised before any task runs.
 */
export function parseRemoteSettings(raw: unknown, env: NodeJS.ProcessEnv, where: string): RemoteSettings | undefined {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new StrideError('the remote settings must be an object', { setting: where, value: raw, fix: 'write { "bucket": "my-cache", ... }' });
  }
  const options = { ...((raw ?? {}) as Record<string, unknown>) };
  for (const key of Object.keys(options)) {
    if (!(KNOWN as readonly string[]).includes(key)) refuseSecretSetting(key, `${where}.${key}`);
    if (!(KNOWN as readonly string[]).includes(key)) {
      throw new StrideError(`unknown remote setting "${key}"`, { setting: `${where}.${key}`, fix: `use one of: ${KNOWN.join(', ')}` });
    }
  }
  for (const [key, name] of Object.entries(ENV)) {
    if (env[name] !== undefined && env[name] !== '') options[key] = env[name];
  }
  // As the AWS SDK does: with no endpoint of Stride's own, AWS's service-specific then global endpoint variable.
  const awsEndpointVariable = options.endpoint === undefined ? ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'].find((name) => env[name]) : undefined;
  if (awsEndpointVariable) options.endpoint = env[awsEndpointVariable];
  const setting = (key: string): string =>
    key === 'endpoint' && awsEndpointVariable ? `${awsEndpointVariable} (environment)` : ENV[key] && env[ENV[key] as string] ? `${ENV[key]} (environment)` : `${where}.${key}`;
  const fail = (key: string, message: string, fix: string): never => {
    throw new StrideError(message, { setting: setting(key), value: options[key], fix });
  };

  const mode = (options.mode ?? 'read-write') as RemoteMode;
  if (!MODES.includes(mode)) fail('mode', `invalid remote mode "${String(options.mode)}"`, `use one of: ${MODES.join(', ')}`);
  const bucket = options.bucket;
  if (bucket === undefined || bucket === '' || mode === 'off') return undefined;
  if (typeof bucket !== 'string' || !isValidBucketName(bucket)) {
    fail('bucket', `"${String(bucket)}" is not a bucket name S3 accepts`, '3-63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit');
  }

  let endpoint: string | undefined;
  if (options.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(String(options.endpoint));
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      fail('endpoint', `"${String(options.endpoint)}" is not an http(s) URL`, 'e.g. "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:9000"');
    }
    const allowInsecure = toBool(options.allowInsecureHttp, false);
    if (url!.protocol === 'http:' && !isLoopback(url!.hostname) && !allowInsecure) {
      fail('endpoint', `refusing plain HTTP to ${url!.hostname}: artifacts and credentials would cross the network unencrypted`, 'use https, or set allowInsecureHttp: true (STRIDE_REMOTE_ALLOW_INSECURE_HTTP=true) if this network is private');
    }
    endpoint = url!.toString().replace(/\/$/, '');
  }

  const prefix = String(options.prefix ?? 'stride').replace(/^\/+|\/+$/g, '');
  const scope = String(options.scope ?? DEFAULT_SCOPE);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(scope)) {
    fail('scope', `invalid scope "${scope}"`, 'use "trusted" for protected-branch CI, or a name such as "pr-123" (letters, digits, . _ -)');
  }
  const publicKeys = options.publicKeys ?? [];
  if (!Array.isArray(publicKeys) || publicKeys.some((k) => typeof k !== 'string')) {
    fail('publicKeys', 'publicKeys must be a list of public keys', 'paste the lines `stride keygen` prints');
  }
  return {
    bucket: bucket as string,
    prefix,
    region: resolveRegion(options.region, env, setting('region')).region,
    endpoint,
    forcePathStyle: toBool(options.forcePathStyle, endpoint !== undefined),
    mode,
    timeoutMs: positiveNumber(options.timeoutMs, 10_000, () => fail('timeoutMs', 'timeoutMs must be a positive number of milliseconds', 'e.g. 10000')),
    flushTimeoutMs: positiveNumber(options.flushTimeoutMs, 120_000, () => fail('flushTimeoutMs', 'flushTimeoutMs must be a positive number', 'e.g. 120000')),
    uploadConcurrency: positiveNumber(options.uploadConcurrency, 4, () => fail('uploadConcurrency', 'uploadConcurrency must be a positive whole number', 'e.g. 4')),
    maxArtifactBytes: positiveNumber(options.maxArtifactSize, 2 * 1024 ** 3, () => fail('maxArtifactSize', 'maxArtifactSize must be a number of bytes', 'e.g. 1073741824')),
    scope,
    publicKeys: publicKeys as string[],
    allowInsecureHttp: toBool(options.allowInsecureHttp, false),
  };
}

function toBool(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === true || value === 'true' || value === '1';
}

function positiveNumber(value: unknown, fallback: number, fail: () => never): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fail();
}

function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || bare.startsWith('127.');
}

/** Signing keys and other secrets are read from the environment only, never from nx.json. */
export function refuseSecretSetting(key: string, setting: string): void {
  if (/sign|secret|private|encryption/i.test(key)) {
    throw new StrideError(`"${key}" looks like a secret, and secrets never live in nx.json`, {
      setting,
      fix: 'remove it from nx.json; give the signing key as STRIDE_SIGNING_KEY or STRIDE_SIGNING_KEY_FILE in the environment',
    });
  }
}

/** S3's rules for new bucket names (general purpose buckets). */
export function isValidBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !name.includes('.-') &&
    !name.includes('-.') &&
    isIP(name) === 0 &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  );
}
