import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type AccessLogEntry, type CacheServer, createCacheServer } from './cache-server.js';
import { DiskBlobs } from './disk-blobs.js';

let running: CacheServer | undefined;
afterEach(async () => {
  await running?.close(1000);
  running = undefined;
});

async function start(maxBodyBytes = 1024, anonymous = false): Promise<{ url: string; disk: DiskBlobs; log: AccessLogEntry[]; port: number }> {
  const root = join(mkdtempSync(join(tmpdir(), 'stride-serve-')), 'blobs');
  const disks = new Map<string, DiskBlobs>();
  const tiers = (scope: string) => {
    if (!disks.has(scope)) disks.set(scope, new DiskBlobs(join(root, scope)));
    return { disk: disks.get(scope) as DiskBlobs };
  };
  const disk = tiers('local').disk;
  const log: AccessLogEntry[] = [];
  running = createCacheServer({
    tiers,
    tokens: anonymous
      ? []
      : [
          { token: 'rw', access: 'read-write', scope: 'local' },
          { token: 'ro', access: 'read-only', scope: 'local' },
          { token: 'main', access: 'read-write', scope: 'trusted' },
          { token: 'pr', access: 'read-write', scope: 'pr-7' },
        ],
    ...(anonymous ? { anonymous: { access: 'read-write' as const, scope: 'local' } } : {}),
    maxBodyBytes,
    requestTimeoutMs: 10_000,
    uploadConcurrency: 2,
    log: (e) => log.push(e),
  });
  await new Promise<void>((resolve) => running!.server.listen(0, '127.0.0.1', resolve));
  const port = (running.server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, disk, log, port };
}

const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('the cache server', () => {
  it('stores a blob once, serves it byte for byte, and refuses to overwrite it', async () => {
    const { url, disk } = await start();
    const body = Buffer.from([0, 1, 2, 250, 251, 252]);
    expect((await fetch(`${url}/v1/cache/42`, { method: 'PUT', headers: auth('rw'), body })).status).toBe(200);
    const got = await fetch(`${url}/v1/cache/42`, { headers: auth('ro') });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await got.arrayBuffer())).toEqual(body);
    const again = await fetch(`${url}/v1/cache/42`, { method: 'PUT', headers: auth('rw'), body: Buffer.from('other') });
    expect(again.status).toBe(409);
    expect(readFileSync(disk.path('42'))).toEqual(body);
  });

  it('refuses a body over the limit (413) and one shorter than its Content-Length (400), storing neither', async () => {
    const { url, port, disk } = await start(16);
    expect((await fetch(`${url}/v1/cache/big`, { method: 'PUT', headers: auth('rw'), body: Buffer.alloc(17) })).status).toBe(413);
    // A client that announces 10 bytes, sends 4 and closes its side.
    const status = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('PUT /v1/cache/short HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rw\r\nContent-Length: 10\r\n\r\nabcd');
        socket.end();
      });
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    });
    expect(status === '' || /^HTTP\/1\.1 400/.test(status)).toBe(true);
    expect(await disk.size('big')).toBeUndefined();
    expect(await disk.size('short')).toBeUndefined();
  });

  it('keeps each token to its scope: a pull request reads trusted blobs but what it writes never reaches main', async () => {
    const { url } = await start();
    expect((await fetch(`${url}/v1/cache/from-main`, { method: 'PUT', headers: auth('main'), body: Buffer.from('clean') })).status).toBe(200);
    // The PR reads main's blob...
    expect(await (await fetch(`${url}/v1/cache/from-main`, { headers: auth('pr') })).text()).toBe('clean');
    // ...and writes only its own scope: main never sees it, even under a hash main will compute.
    expect((await fetch(`${url}/v1/cache/next-main-hash`, { method: 'PUT', headers: auth('pr'), body: Buffer.from('poison') })).status).toBe(200);
    expect((await fetch(`${url}/v1/cache/next-main-hash`, { headers: auth('main') })).status).toBe(404);
    expect(await (await fetch(`${url}/v1/cache/next-main-hash`, { headers: auth('pr') })).text()).toBe('poison');
    // Main then stores its own: the PR's object did not block it.
    expect((await fetch(`${url}/v1/cache/next-main-hash`, { method: 'PUT', headers: auth('main'), body: Buffer.from('clean too') })).status).toBe(200);
    expect(await (await fetch(`${url}/v1/cache/next-main-hash`, { headers: auth('main') })).text()).toBe('clean too');
  });

  it('answers a malformed % escape in the path with 400, not 500', async () => {
    const { url, port } = await start();
    expect((await fetch(`${url}/v1/cache/%E0%A4%A`, { headers: auth('ro') })).status).toBe(400);
    expect((await fetch(`${url}/v1/cache/%ZZ`, { method: 'PUT', headers: auth('rw'), body: 'x' })).status).toBe(400);
    // A well-formed escape of a valid hash still works.
    expect((await fetch(`${url}/v1/cache/%61bc`, { method: 'PUT', headers: auth('rw'), body: 'x' })).status).toBe(200);
    expect(await (await fetch(`${url}/v1/cache/abc`, { headers: auth('ro') })).text()).toBe('x');
    expect(port).toBeGreaterThan(0);
  });

  it('without tokens, answers only requests addressed to its loopback address and port, and none from a web page', async () => {
    const { url, port, log } = await start(1024, true);
    const raw = (headers: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(`PUT /v1/cache/rebound HTTP/1.1\r\n${headers}Content-Length: 6\r\nConnection: close\r\n\r\npoison`));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk.toString()));
        socket.on('close', () => resolve(answer));
      });
    // DNS rebinding: the browser sends the attacker's name as Host.
    const rebound = await raw('Host: evil.example:' + port + '\r\n');
    expect(rebound).toMatch(/^HTTP\/1\.1 403/);
    expect(rebound).toContain('is not this server\'s loopback address');
    expect(await raw('Host: 127.0.0.1.evil.example:' + port + '\r\n')).toMatch(/^HTTP\/1\.1 403/);
    expect(await raw(`Host: 127.0.0.1:${port + 1}\r\n`)).toMatch(/^HTTP\/1\.1 403/);
    // No Host at all: Node's HTTP/1.1 parser answers 400 before Stride sees it.
    expect(await raw('')).toMatch(/^HTTP\/1\.1 40[03]/);
    // A cross-site request: a loopback Host, but a foreign Origin (or the opaque "null" one).
    const crossSite = await raw(`Host: 127.0.0.1:${port}\r\nOrigin: http://evil.example\r\n`);
    expect(crossSite).toMatch(/^HTTP\/1\.1 403/);
    expect(crossSite).toContain('requests from web pages (Origin "http://evil.example") are refused');
    expect(await raw(`Host: localhost:${port}\r\nOrigin: null\r\n`)).toMatch(/^HTTP\/1\.1 403/);
    expect((await fetch(`${url}/v1/cache/rebound`)).status).toBe(404);
    // What a local client sends is served.
    expect(await raw(`Host: localhost:${port}\r\n`)).toMatch(/^HTTP\/1\.1 200/);
    expect(await raw(`Host: [::1]:${port}\r\nOrigin: http://localhost:3000\r\n`)).toMatch(/^HTTP\/1\.1 409/);
    expect(await (await fetch(`${url}/v1/cache/rebound`)).text()).toBe('poison');
    expect(log.filter((e) => e.status === 403).every((e) => e.access === 'none')).toBe(true);
  });

  it('logs every request without its token', async () => {
    const { url, log } = await start();
    await fetch(`${url}/v1/cache/1`, { headers: auth('ro') });
    await fetch(`${url}/v1/cache/1`, { headers: auth('nope') });
    await fetch(`${url}/healthz`);
    expect(log.map((e) => [e.method, e.path, e.status, e.access, e.scope])).toEqual([
      ['GET', '/v1/cache/1', 404, 'read-only', 'local'],
      ['GET', '/v1/cache/1', 401, 'none', undefined],
      ['GET', '/healthz', 200, 'none', undefined],
    ]);
    expect(JSON.stringify(log)).not.toMatch(/nope|"ro"/);
  });
});
