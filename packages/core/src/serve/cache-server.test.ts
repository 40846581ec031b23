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

async function start(maxBodyBytes = 1024): Promise<{ url: string; disk: DiskBlobs; log: AccessLogEntry[]; port: number }> {
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
    tokens: [
      { token: 'rw', access: 'read-write', scope: 'local' },
      { token: 'ro', access: 'read-only', scope: 'local' },
      { token: 'main', access: 'read-write', scope: 'trusted' },
      { token: 'pr', access: 'read-write', scope: 'pr-7' },
    ],
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
