import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { RemoteNxBlobs } from '../remote/nx-blobs.js';
import { TRUSTED_SCOPE } from '../remote/settings.js';
import { errorMessage } from '../util/errors.js';
import { printable } from '../util/untrusted-text.js';
import { createLimit } from '../util/limit.js';
import { BodyTooLargeError, type DiskBlobs, isValidBlobHash } from './disk-blobs.js';

export type Access = 'read-write' | 'read-only' | 'none';

/** What a token may do, and the scope it reads first and writes to. */
export interface TokenGrant {
  access: 'read-write' | 'read-only';
  scope: string;
}

/** The blob tiers of one scope: its disk folder, and its place in the bucket. */
export interface ScopeTiers {
  disk: DiskBlobs;
  remote?: RemoteNxBlobs;
}

/** One line of the access log: never a token, never a body. */
export interface AccessLogEntry {
  time: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  ms: number;
  access: Access;
  /** The token's scope; absent when no token was accepted. */
  scope?: string;
}

export interface CacheServerOptions {
  /** The tiers of a scope (made once per scope and kept). */
  tiers: (scope: string) => ScopeTiers;
  /** Each token and what it grants. */
  tokens: ReadonlyArray<TokenGrant & { token: string }>;
  /** What a request without a (valid) token gets: nothing, unless the server has no tokens at all (loopback only). */
  anonymous?: TokenGrant;
  maxBodyBytes: number;
  /** A request (headers and body) must complete within this. */
  requestTimeoutMs: number;
  uploadConcurrency: number;
  log: (entry: AccessLogEntry) => void;
}

export interface CacheServer {
  server: Server;
  /** Stops accepting, lets requests in flight and pending uploads finish (at most `graceMs`), then closes. */
  close(graceMs: number): Promise<void>;
}

const PATH = /^\/v1\/cache\/([^/?#]+)$/;

/**
 * Nx's self-hosted remote cache protocol (the OpenAPI specification Nx
 * publishes, used by `NX_SELF_HOSTED_REMOTE_CACHE_SERVER`): `GET` and `PUT
 * /v1/cache/{hash}` with bearer tokens, bodies streamed as
 * `application/octet-stream`. Blobs live on local disk and, when a bucket is
 * configured, in S3 behind it; an existing hash is never overwritten (409).
 */
export function createCacheServer(options: CacheServerOptions): CacheServer {
  const uploads = new Set<Promise<void>>();
  const limit = createLimit(options.uploadConcurrency);
  const grants = options.tokens.map((grant) => ({ ...grant, bytes: Buffer.from(grant.token) }));

  const grantOf = (request: IncomingMessage): TokenGrant | undefined => {
    if (options.anonymous) return options.anonymous;
    const match = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
    if (!match) return undefined;
    const given = Buffer.from((match[1] as string).trim());
    const found = grants.find((grant) => grant.bytes.length === given.length && timingSafeEqual(grant.bytes, given));
    return found ? { access: found.access, scope: found.scope } : undefined;
  };

  /**
   * The server's disk, read as the bucket is: trusted blobs first, then the
   * token's own scope (its folder holds only what tokens of that scope wrote,
   * and what this server fetched for them); `trusted` reads only its own.
   */
  const readScopes = (scope: string): string[] => (scope === TRUSTED_SCOPE ? [TRUSTED_SCOPE] : [TRUSTED_SCOPE, scope]);

  const handle = async (request: IncomingMessage, response: ServerResponse, grant: TokenGrant | undefined): Promise<number> => {
    const access: Access = grant?.access ?? 'none';
    const url = (request.url ?? '/').split('?')[0] as string;
    if (url === '/healthz') return text(response, 200, 'ok');
    const match = PATH.exec(url);
    if (!match) return text(response, 404, 'Not found: the cache lives under /v1/cache/{hash}');
    const hash = decodePathSegment(match[1] as string);
    if (hash === undefined || !isValidBlobHash(hash)) return text(response, 400, 'Invalid hash');
    if (access === 'none') return text(response, 401, 'Missing or invalid authentication token.');

    const own = options.tiers((grant as TokenGrant).scope);
    if (request.method === 'GET' || request.method === 'HEAD') {
      let found: { disk: DiskBlobs; size: number } | undefined;
      for (const scope of readScopes((grant as TokenGrant).scope)) {
        const { disk } = options.tiers(scope);
        const size = await disk.size(hash);
        if (size !== undefined) {
          found = { disk, size };
          break;
        }
      }
      if (!found && own.remote) {
        const received = await own.disk.tempFile();
        const temp = await own.disk.tempFile();
        try {
          // The bucket is read as every run reads it (readOrder: trusted/ first, verified); a hit lands in this scope's disk.
          if (await own.remote.fetch(hash, received, temp)) {
            await own.disk.adopt(hash, received);
            const size = await own.disk.size(hash);
            if (size !== undefined) found = { disk: own.disk, size };
          }
        } finally {
          await rm(received, { force: true });
        }
      }
      if (!found) return text(response, 404, 'Record not found');
      const { disk, size } = found;
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      if (request.method === 'HEAD') {
        response.end();
        return size;
      }
      await new Promise<void>((resolve, reject) => {
        const stream = createReadStream(disk.path(hash));
        stream.on('error', reject);
        response.on('close', resolve);
        stream.pipe(response);
      });
      return size;
    }

    if (request.method === 'PUT') {
      if (access !== 'read-write') return text(response, 403, 'Access forbidden: this token may only read.');
      const declared = Number(request.headers['content-length']);
      if (request.headers['content-length'] === undefined || !Number.isSafeInteger(declared) || declared < 0) {
        return text(response, 400, 'Missing or invalid Content-Length header.');
      }
      if (declared > options.maxBodyBytes) return text(response, 413, `The body is larger than this server accepts (${options.maxBodyBytes} bytes).`);
      // A token writes only its own scope: a pull request's blobs never land where main reads.
      if ((await own.disk.size(hash)) !== undefined) return text(response, 409, 'Cannot override an existing record.');
      let received: { file: string; bytes: number };
      try {
        received = await own.disk.receive(request, Math.min(declared, options.maxBodyBytes));
      } catch (error) {
        if (error instanceof BodyTooLargeError) return text(response, 400, 'The body is longer than its Content-Length.');
        throw error;
      }
      if (received.bytes !== declared) {
        await rm(received.file, { force: true });
        return text(response, 400, `The body is shorter than its Content-Length (${received.bytes} of ${declared} bytes).`);
      }
      if ((await own.disk.adopt(hash, received.file)) === 'exists') return text(response, 409, 'Cannot override an existing record.');
      if (own.remote) {
        const remote = own.remote;
        const job = limit(async () => remote.upload(hash, own.disk.path(hash), await own.disk.tempFile())).finally(() => uploads.delete(job));
        uploads.add(job);
      }
      text(response, 200, 'Stored');
      return received.bytes;
    }
    response.setHeader('allow', 'GET, HEAD, PUT');
    return text(response, 405, 'Method not allowed');
  };

  const server = createServer((request, response) => {
    const started = Date.now();
    // Without tokens anything that reaches the port may write: only requests addressed to loopback, from no other site.
    const foreign = options.anonymous ? foreignRequest(request) : undefined;
    const grant = foreign ? undefined : grantOf(request);
    (foreign ? Promise.resolve(text(response, 403, foreign)) : handle(request, response, grant))
      .catch((error: unknown) => {
        if (!response.headersSent) text(response, 500, `Stride cache server error: ${errorMessage(error)}`);
        else response.destroy();
        return 0;
      })
      .then((bytes) => {
        options.log({ time: new Date(started).toISOString(), method: request.method ?? '', path: (request.url ?? '').split('?')[0] as string, status: response.statusCode, bytes, ms: Date.now() - started, access: grant?.access ?? 'none', ...(grant ? { scope: grant.scope } : {}) });
      });
  });
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(60_000, options.requestTimeoutMs);

  return {
    server,
    close: async (graceMs) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      // Requests first (a PUT in flight may still schedule an upload), then the uploads.
      await Promise.race([closed.then(() => Promise.allSettled([...uploads])), deadline]);
      clearTimeout(timer);
      server.closeAllConnections();
    },
  };
}

/** A path segment's `%` escapes decoded, or undefined when one is malformed (a client error, not the server's). */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function isLoopbackName(host: string): boolean {
  const bare = host.toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return isIP(bare) === 6 && /^::ffff:127\./.test(bare);
}

/**
 * Why a request to a server without tokens is refused, if it is. Such a server
 * listens on loopback only, but a web page the developer opens can still reach
 * it by DNS rebinding (a name of the attacker's that resolves to 127.0.0.1,
 * which the browser then sends as `Host`) or by a cross-site request (which
 * carries the page's `Origin`): so the `Host` must name loopback and this
 * server's port, and an `Origin`, when there is one, must be loopback too.
 */
function foreignRequest(request: IncomingMessage): string | undefined {
  const fix = 'this server has no token, so it answers only requests addressed to loopback; set STRIDE_SERVE_TOKEN to serve other names';
  const host = request.headers.host ?? '';
  const parsed = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(host);
  const name = parsed ? (parsed[1] ?? parsed[2] ?? '') : '';
  const port = parsed?.[3] !== undefined ? Number(parsed[3]) : 80;
  if (!parsed || !isLoopbackName(name) || port !== request.socket.localPort) {
    return `Forbidden: Host "${printable(host, 100)}" is not this server's loopback address (127.0.0.1:${request.socket.localPort} or localhost:${request.socket.localPort}); ${fix}.`;
  }
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      const url = new URL(origin);
      originHost = url.protocol === 'http:' || url.protocol === 'https:' ? url.hostname.replace(/^\[|\]$/g, '') : undefined;
    } catch {
      originHost = undefined;
    }
    if (originHost === undefined || !isLoopbackName(originHost)) {
      return `Forbidden: requests from web pages (Origin "${printable(origin, 100)}") are refused; ${fix}.`;
    }
  }
  return undefined;
}

function text(response: ServerResponse, status: number, body: string): number {
  response.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  response.end(body);
  return 0;
}
