import { isIP } from 'node:net';
import { StrideError } from '../util/errors.js';
import { redactUserinfo } from '../util/secrets.js';
import { parseSize } from '../util/units.js';
import { resolveRegion } from './region.js';

export type RemoteMode = 'read-write' | 'read-only' | 'write-only' | 'off';
const MODES: readonly RemoteMode[] = ['read-write', 'read-only', 'write-only', 'off'];

/** The scope of trusted writers (main, release); every other scope is untrusted. */
export const TRUSTED_SCOPE = 'trusted';
/**
 * Runs that name no scope (a developer's machine) are untrusted and read only
 * `trusted/`, writing nothing to the bucket: no job, whatever scope it claims,
 * can put an object where they read without a signature (see `locations.ts`).
 */
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
  flushTimeoutMs: 'STRIDE_REMOTE_FLUSH_TIMEOUT_MS',
  uploadConcurrency: 'STRIDE_REMOTE_UPLOAD_CONCURRENCY',
  maxArtifactSize: 'STRIDE_REMOTE_MAX_ARTIFACT_SIZE',
  allowInsecureHttp: 'STRIDE_REMOTE_ALLOW_INSECURE_HTTP',
};

/**
 * Bounds of the numeric settings. Durations stay far below setTimeout's limit
 * (2^31-1 ms; beyond it Node fires at once and warns on every call), counts are
 * whole numbers, and sizes stop at S3's largest object.
 */
export const LIMITS = {
  timeoutMs: { min: 1, max: 600_000, unit: 'milliseconds', example: '10000' },
  flushTimeoutMs: { min: 1, max: 3_600_000, unit: 'milliseconds', example: '120000' },
  uploadConcurrency: { min: 1, max: 64, unit: 'uploads at once', example: '4' },
  maxArtifactSize: { min: 1, max: 5 * 1024 ** 4, unit: 'bytes', example: '"1GB" or 1073741824' },
} as const;

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
  // Normalised here, before anything reads them: "yes" or "on" must not silently read as false.
  for (const key of ['forcePathStyle', 'allowInsecureHttp'] as const) {
    if (options[key] !== undefined) options[key] = strictBool(options[key], () => fail(key, `${key} must be true or false`, 'use true or false (in the environment also 1 or 0)'));
  }
  for (const key of ['bucket', 'prefix', 'region', 'endpoint', 'mode', 'scope'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'string') fail(key, `${key} must be a string`, `write it in quotes, e.g. ${JSON.stringify(String(options[key]))}`);
  }
  const bounded = (key: keyof typeof LIMITS, fallback: number, parse: (value: unknown) => number | undefined = wholeNumber): number => {
    if (options[key] === undefined) return fallback;
    const { min, max, unit, example } = LIMITS[key];
    const n = parse(options[key]);
    return n !== undefined && n >= min && n <= max ? n : fail(key, `${key} must be a whole number of ${unit} from ${min} to ${max}`, `e.g. ${example}`);
  };
  // Checked whenever set, bucket or not: a bad value is a mistake even where it is not used yet.
  const timeoutMs = bounded('timeoutMs', 10_000);
  const flushTimeoutMs = bounded('flushTimeoutMs', 120_000);
  const uploadConcurrency = bounded('uploadConcurrency', 4);
  const maxArtifactBytes = bounded('maxArtifactSize', 2 * 1024 ** 3, wholeBytes);

  const mode = (options.mode ?? 'read-write') as RemoteMode;
  if (!MODES.includes(mode)) fail('mode', `invalid remote mode "${String(options.mode)}"`, `use one of: ${MODES.join(', ')}`);
  const bucket = options.bucket;
  if (bucket === undefined || bucket === '' || mode === 'off') return undefined;
  if (typeof bucket !== 'string' || !isValidBucketName(bucket)) {
    fail('bucket', `"${String(bucket)}" is not a bucket name S3 accepts`, '3-63 characters: lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit');
  }

  const endpoint = options.endpoint === undefined ? undefined : parseEndpoint(String(options.endpoint), setting('endpoint'), toBool(options.allowInsecureHttp, false));

  const prefix = String(options.prefix ?? 'stride').replace(/^\/+|\/+$/g, '');
  if (/[\u0000-\u001f\u007f\\]/.test(prefix) || prefix.split('/').some((part) => part === '.' || part === '..')) {
    fail('prefix', `invalid prefix "${prefix}"`, 'use letters, digits and / . _ - (no control characters, backslashes, "." or ".." segments), e.g. "stride" or "team/nx"');
  }
  // As the SDK finds it (remote.region, AWS_REGION, AWS_DEFAULT_REGION, the profile's); checked wherever it came from.
  const { region, source: regionSource } = resolveRegion(options.region, env, setting('region'));
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(region)) {
    throw new StrideError(`invalid region "${region}"`, { setting: regionSource, value: region, fix: 'e.g. "eu-west-1" (or "auto" for Cloudflare R2)' });
  }

  const scope = String(options.scope ?? DEFAULT_SCOPE);
  const scopeProblem = checkScope(scope);
  if (scopeProblem) fail('scope', scopeProblem.message, scopeProblem.fix);
  if (scope === DEFAULT_SCOPE && mode === 'write-only') {
    fail('mode', `mode "write-only" with the scope "${DEFAULT_SCOPE}" would do nothing: a run on the default scope writes nothing to the bucket`, 'set STRIDE_REMOTE_SCOPE (trusted for protected-branch CI, pr-<number> for pull requests), or use mode read-only');
  }
  const publicKeys = options.publicKeys ?? [];
  if (!Array.isArray(publicKeys) || publicKeys.some((k) => typeof k !== 'string')) {
    fail('publicKeys', 'publicKeys must be a list of public keys', 'paste the lines `stride keygen` prints');
  }
  return {
    bucket: bucket as string,
    prefix,
    region,
    endpoint,
    forcePathStyle: toBool(options.forcePathStyle, endpoint !== undefined),
    mode,
    timeoutMs,
    flushTimeoutMs,
    uploadConcurrency,
    maxArtifactBytes,
    scope,
    publicKeys: publicKeys as string[],
    allowInsecureHttp: toBool(options.allowInsecureHttp, false),
  };
}

/**
 * Why a scope name is refused, if it is: S3 keys and IAM resources are
 * case-sensitive, so `Trusted` or `PR-7` would be an ordinary scope that merely
 * looks like a trusted or pull-request one; better said at once than found out.
 */
export function checkScope(scope: string): { message: string; fix: string } | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(scope)) {
    return { message: `invalid scope "${scope}"`, fix: 'use "trusted" for protected-branch CI, "pr-<number>" for pull requests, or a name such as "dev-alice" (letters, digits, . _ -)' };
  }
  const lower = scope.toLowerCase();
  for (const reserved of [TRUSTED_SCOPE, DEFAULT_SCOPE]) {
    if (lower === reserved && scope !== reserved) return { message: `scope "${scope}" is not "${reserved}": scope names are case-sensitive`, fix: `write it "${reserved}"` };
  }
  if (lower.startsWith('pr-') && !scope.startsWith('pr-')) {
    return { message: `scope "${scope}" is not a pull-request scope: scope names are case-sensitive, and pull requests write only scopes/pr-*`, fix: `write it "pr-${scope.slice(3)}"` };
  }
  return undefined;
}

function toBool(value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return value === true;
}

/** true / false (any case), and 1 / 0 as environment variables carry them; anything else is refused. */
export function strictBool(value: unknown, fail: () => never): boolean {
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return fail();
}

/** A whole number, as a JSON number or decimal digits ("1e4", "0x10", "4.5" and "" are not). */
export function wholeNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : undefined;
  return n !== undefined && Number.isSafeInteger(n) ? n : undefined;
}

/** A whole number of bytes, plain or with a unit ("1GB", "512MB"). */
function wholeBytes(value: unknown): number | undefined {
  try {
    const n = parseSize(value, 'maxArtifactSize');
    return Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The endpoint URL, checked: http(s) only, no credentials in it (they would be
 * printed, and Stride signs with the AWS chain's credentials, never these), and
 * plain HTTP only to a loopback address unless allowed. Errors never show the
 * userinfo of what was given.
 */
function parseEndpoint(text: string, setting: string, allowInsecure: boolean): string {
  const shown = redactUserinfo(text);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new StrideError(`"${shown}" is not an http(s) URL`, { setting, value: shown, fix: 'e.g. "https://s3.eu-west-1.amazonaws.com" or "http://127.0.0.1:9000"' });
  }
  if (url.username !== '' || url.password !== '') {
    throw new StrideError('the endpoint URL carries credentials (user:password@), which would end up in logs', {
      setting,
      value: shown,
      fix: 'remove them from the URL: Stride takes its credentials from the AWS chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a role)',
    });
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !allowInsecure) {
    throw new StrideError(`refusing plain HTTP to ${url.hostname}: artifacts and credentials would cross the network unencrypted (only 127.0.0.0/8, ::1 and localhost count as loopback)`, {
      setting,
      value: shown,
      fix: 'use https, or set allowInsecureHttp: true (STRIDE_REMOTE_ALLOW_INSECURE_HTTP=true) if this network is private',
    });
  }
  return url.toString().replace(/\/$/, '');
}

/**
 * Loopback by address, not by name: the host parsed as an IP (the URL parser
 * has already normalised forms such as 127.1 or 0x7f.0.0.1), IPv4 in
 * 127.0.0.0/8 or IPv6 ::1, or the name `localhost` exactly. A name that merely
 * starts with "127." (127.attacker.example) is a DNS name like any other.
 */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  const version = isIP(bare);
  if (version === 4) return Number(bare.split('.')[0]) === 127;
  if (version === 6) return bare === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(bare) || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/i.test(bare);
  return false;
}

/**
 * Keys, tokens and credentials are read from the environment only, never from
 * nx.json (committed, readable by every job). Each kind is told where it goes.
 * The value is never echoed.
 */
export function refuseSecretSetting(key: string, setting: string): void {
  const fix = /encrypt/i.test(key)
    ? 'remove it from nx.json; give the encryption key as STRIDE_ENCRYPTION_KEY or STRIDE_ENCRYPTION_KEY_FILE in the environment of the jobs that may read artifacts'
    : /sign|private/i.test(key)
      ? 'remove it from nx.json; give the signing key as STRIDE_SIGNING_KEY or STRIDE_SIGNING_KEY_FILE in the environment of trusted CI only'
      : /token/i.test(key) && !/session/i.test(key)
        ? 'remove it from nx.json; give `stride serve` its tokens as STRIDE_SERVE_TOKEN / STRIDE_SERVE_READ_ONLY_TOKEN in the environment'
        : /secret|password|credential|access.?key|session/i.test(key)
          ? "remove it from nx.json; AWS credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, SSO or a role)"
          : undefined;
  if (fix) throw new StrideError(`"${key}" looks like a secret, and secrets never live in nx.json`, { setting, fix });
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
