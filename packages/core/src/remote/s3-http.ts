import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { describeProxy } from './proxy.js';
import type { RemoteSettings } from './settings.js';
import { type AwsCredentials, encodeKeyPath, sha256Hex, signS3Request } from './sigv4.js';

/** An object's bytes: in memory (small objects), or a file streamed from disk (sent unhashed: Stride checks its own sha256). */
export type ObjectBytes = Buffer | { file: string; bytes: number };

export const sizeOf = (body: ObjectBytes): number => (Buffer.isBuffer(body) ? body.length : body.bytes);

/** An S3 error answer or a failed connection, with the operation and key it concerns. */
export class S3RequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'S3RequestError';
  }
}

/** The connection pool of the direct S3 path. */
export const S3_AGENT_OPTIONS: http.AgentOptions = { keepAlive: true, maxSockets: 50 };

/** Attempts per request, as the SDK's standard retry mode: the first try and two retries. */
const MAX_ATTEMPTS = 3;
const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2_000;
/** Refresh temporary credentials this long before they expire. */
const CREDENTIAL_MARGIN_MS = 5 * 60_000;
/** S3 refuses requests signed more than 15 minutes off its clock; beyond this, a 403 is taken for that. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Where a bucket's objects are addressed: virtual-hosted (`bucket.host`) or path-style (`host/bucket`). */
export function bucketAddress(settings: Pick<RemoteSettings, 'bucket' | 'region' | 'endpoint' | 'forcePathStyle'>): { url: URL; pathPrefix: string } {
  const base = new URL(settings.endpoint ?? `https://s3.${settings.region}.${settings.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
  const basePath = base.pathname.replace(/\/+$/, '');
  const hostIsAddress = isIP(unbracket(base.hostname)) !== 0 || base.hostname === 'localhost';
  // Dotted names break TLS wildcard certificates, so the SDK addresses them path-style too, as it does an IP endpoint.
  const virtualHost = !settings.forcePathStyle && !hostIsAddress && /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(settings.bucket);
  if (virtualHost) {
    const url = new URL(base.toString());
    url.hostname = `${settings.bucket}.${base.hostname}`;
    return { url, pathPrefix: basePath };
  }
  return { url: base, pathPrefix: `${basePath}/${encodeKeyPath(settings.bucket)}` };
}

/**
 * The three single-object S3 operations the cache needs (HEAD, GET, PUT),
 * signed with SigV4 over a keep-alive connection pool. The AWS SDK's client
 * spends about 2 ms of CPU per request in its middleware (measured: 1.1 s for
 * the 600 requests of a cold 200-task build, against 0.2 s here), and a cold
 * build is CPU-bound, so the hot path bypasses it. Credentials still come from
 * the SDK's default provider chain, and multipart uploads still use the SDK.
 * Timeouts, retries with backoff and jitter, and clock-skew correction follow
 * the SDK's standard behaviour.
 */
export class S3Http {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private url: URL;
  /** The host to connect to: an IPv6 literal without its brackets. */
  private hostname: string;
  private pathPrefix: string;
  /** The region requests are signed for: the configured one, or the one S3 redirected us to. */
  private signingRegion: string;
  private regionFollowed = false;
  /** What the run should be told once (a region S3 corrected), for the remote's one warning. */
  readonly notes: string[] = [];
  private credentials: AwsCredentials | undefined;
  private credentialsLoading: Promise<AwsCredentials> | undefined;
  private clockOffsetMs = 0;

  /** The proxy requests go through (from HTTPS_PROXY / HTTP_PROXY), named in network errors. */
  private readonly proxy: URL | undefined;

  /** `connection` is the pool from `agentFor` (a proxy's, when the environment names one); a direct pool when absent. */
  constructor(
    private readonly settings: RemoteSettings,
    private readonly credentialProvider: () => Promise<AwsCredentials>,
    connection?: { agent: http.Agent; proxy: URL | undefined },
  ) {
    ({ url: this.url, pathPrefix: this.pathPrefix } = bucketAddress(settings));
    this.hostname = unbracket(this.url.hostname);
    this.signingRegion = settings.region;
    this.transport = this.url.protocol === 'https:' ? https : http;
    this.agent = connection?.agent ?? new this.transport.Agent(S3_AGENT_OPTIONS);
    this.proxy = connection?.proxy;
  }

  /** The bucket's region as far as this run knows: S3's word, once it has corrected ours. */
  get region(): string {
    return this.signingRegion;
  }

  /**
   * Sends one request, retrying transient failures (network errors, timeouts,
   * 5xx, 429, SlowDown, a skewed clock). Returns a success (2xx), a 404 to a
   * read, or a 409/412 to a conditional write (`If-None-Match: *`: it lost);
   * any other answer, a redirect to another region included, is thrown as an
   * S3RequestError. The caller consumes or destroys the response body.
   */
  async send(method: 'GET' | 'HEAD' | 'PUT', key: string, body?: ObjectBytes, conditional = false): Promise<IncomingMessage> {
    // Hashed once for every attempt: a body goes up with its sha256 both signed (x-amz-content-sha256) and as
    // x-amz-checksum-sha256, so S3 verifies the bytes on arrival (and Object Lock buckets, which require a
    // checksum, accept the PUT).
    const digest = body === undefined ? undefined : await sha256Of(body);
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.once(method, key, body, digest, conditional);
        const status = response.statusCode ?? 0;
        if ((status >= 200 && status < 300) || (method !== 'PUT' && status === 404) || (conditional && (status === 409 || status === 412))) return response;
        const movedTo = this.regionMove(response);
        if (movedTo) {
          response.resume();
          this.followRegion(movedTo);
          attempt = 0; // the retries are still this request's own
          continue;
        }
        throw await this.errorFrom(method, key, response);
      } catch (error) {
        const retryable = !(error instanceof S3RequestError) || error.retryable;
        if (!retryable || attempt >= MAX_ATTEMPTS) throw error;
      }
      await sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
    }
  }

  /**
   * The region S3 names for the bucket when it refuses ours (301 PermanentRedirect, or 400 with the
   * region header, e.g. AuthorizationHeaderMalformed), if it differs and none was followed yet. The
   * header is untrusted: only a plain region name is taken, since it becomes part of a host name.
   */
  private regionMove(response: IncomingMessage): string | undefined {
    const status = response.statusCode ?? 0;
    const named = response.headers['x-amz-bucket-region'];
    if (this.regionFollowed || (status !== 301 && status !== 400) || typeof named !== 'string') return undefined;
    return named !== this.signingRegion && /^[a-z]{2}(?:-[a-z0-9]+){1,4}$/.test(named) ? named : undefined;
  }

  /** Signs for the bucket's real region from now on (and, on AWS's own endpoints, sends there). */
  private followRegion(region: string): void {
    const configured = this.signingRegion;
    this.regionFollowed = true;
    this.signingRegion = region;
    if (this.settings.endpoint === undefined) {
      ({ url: this.url, pathPrefix: this.pathPrefix } = bucketAddress({ ...this.settings, region }));
      this.hostname = unbracket(this.url.hostname);
    }
    this.notes.push(
      `bucket ${this.settings.bucket} is in ${region}, not ${configured}: S3 redirected the requests there; set remote.region (or AWS_REGION) to "${region}" to skip the redirect`,
    );
  }

  private async once(method: string, key: string, body: ObjectBytes | undefined, digest: Buffer | undefined, conditional: boolean): Promise<IncomingMessage> {
    const credentials = await this.currentCredentials();
    const path = `${this.pathPrefix}/${encodeKeyPath(key)}`;
    const payloadHash = digest ? digest.toString('hex') : EMPTY_SHA256;
    const headers = signS3Request({
      method,
      path,
      headers: {
        host: this.url.host,
        ...(body !== undefined ? { 'content-length': String(sizeOf(body)) } : {}),
        ...(digest ? { 'x-amz-checksum-sha256': digest.toString('base64') } : {}),
        ...(conditional ? { 'if-none-match': '*' } : {}),
      },
      payloadHash,
      region: this.signingRegion,
      credentials,
      now: new Date(Date.now() + this.clockOffsetMs),
    });
    const what = `${method} ${key}`;
    const timeoutMs = this.settings.timeoutMs;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const request = this.transport.request(
        // `timeout` here covers connecting too (setTimeout alone starts once connected).
        { protocol: this.url.protocol, hostname: this.hostname, port: this.url.port || undefined, path, method, headers, agent: this.agent, timeout: timeoutMs },
        resolve,
      );
      // An idle socket for timeoutMs, while connecting, waiting or streaming, ends the request.
      request.setTimeout(timeoutMs, () => request.destroy(new S3RequestError(`${what}: no answer within ${timeoutMs} ms (remote.timeoutMs)`, undefined, 'TimeoutError', true)));
      const via = this.proxy ? ` (through the proxy ${describeProxy(this.proxy)}, from ${this.url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY'}; NO_PROXY bypasses it)` : '';
      request.on('error', (error: Error) => reject(error instanceof S3RequestError ? error : new S3RequestError(`${what}: ${error.message}${via}`, undefined, (error as NodeJS.ErrnoException).code, true)));
      if (body === undefined) request.end();
      else if (Buffer.isBuffer(body)) request.end(body);
      else {
        const source = createReadStream(body.file);
        source.on('error', (error) => request.destroy(new S3RequestError(`${what}: reading ${body.file}: ${error.message}`, undefined, 'ReadError', false)));
        // A failed attempt must not leave the file open: each retry opens its own.
        request.on('close', () => source.destroy());
        source.pipe(request);
      }
    });
  }

  private async errorFrom(method: string, key: string, response: IncomingMessage): Promise<S3RequestError> {
    const status = response.statusCode ?? 0;
    const text = method === 'HEAD' ? '' : (await readBody(response, 64 * 1024)).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? (status === 503 ? 'SlowDown' : undefined);
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
    // A HEAD answer has no body to name the problem: a 403 with the server's clock far from ours is the skew.
    const skewed = code === 'RequestTimeTooSkewed' || code === 'RequestExpired' || (status === 403 && Math.abs(this.serverClockOffset(response) ?? 0) > MAX_CLOCK_SKEW_MS);
    if (skewed) this.clockOffsetMs = this.serverClockOffset(response) ?? this.clockOffsetMs;
    const retryable = status >= 500 || status === 429 || code === 'SlowDown' || skewed || code === 'RequestTimeout';
    // The bucket compared the bytes with the checksum we sent and they differed: something on the way changed them.
    const corrupted = method === 'PUT' && code !== undefined && CHECKSUM_REFUSALS.has(code);
    const why = corrupted ? ': the bucket refused the upload, its bytes did not match their sha256 on arrival (changed on the way), so nothing was stored' : '';
    return new S3RequestError(`${method} ${key}: ${status}${code ? ` ${code}` : ''}${message ? ` (${message})` : ''}${why}`, status, code, retryable);
  }

  /** How far the server's clock (its Date header) is from ours, if it says. */
  private serverClockOffset(response: IncomingMessage): number | undefined {
    const serverTime = Date.parse(String(response.headers.date ?? ''));
    return Number.isFinite(serverTime) ? serverTime - Date.now() : undefined;
  }

  private async currentCredentials(): Promise<AwsCredentials> {
    const fresh = this.credentials && (!this.credentials.expiration || this.credentials.expiration.getTime() - Date.now() > CREDENTIAL_MARGIN_MS);
    if (fresh && this.credentials) return this.credentials;
    this.credentialsLoading ??= this.credentialProvider()
      .catch((error: unknown) => {
        // Not retried: the chain has already tried every source it knows.
        throw new S3RequestError(`no AWS credentials: ${error instanceof Error ? error.message : String(error)}`, undefined, 'CredentialsError', false);
      })
      .finally(() => (this.credentialsLoading = undefined));
    this.credentials = await this.credentialsLoading;
    return this.credentials;
  }
}

/** S3's answers to a PUT whose bytes do not match the checksum or payload hash sent with them. */
const CHECKSUM_REFUSALS = new Set(['BadDigest', 'InvalidDigest', 'XAmzContentSHA256Mismatch']);

const EMPTY_SHA256 = sha256Hex('');

/** The sha256 of a body: in memory, or streamed from its file. */
async function sha256Of(body: ObjectBytes): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return createHash('sha256').update(body).digest();
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(body.file)) hash.update(chunk as Buffer);
  return hash.digest();
}

/** Reads a response body whole, up to `limit` bytes (an error answer is a small XML document). */
export async function readBody(response: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      response.destroy();
      break;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `[::1]` as URL gives it, `::1` as sockets want it. */
const unbracket = (hostname: string): string => hostname.replace(/^\[(.*)\]$/, '$1');

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
