// The local S3 server (s3rver) and the TCP fault proxy, end to end with the
// real AWS SDK v3. Later e2e tests rely on both behaving as asserted here.
import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { s3Client, startS3WithProxy } from './support/s3.js';
import type { S3ClientOptions } from './support/s3.js';

type Env = Awaited<ReturnType<typeof startS3WithProxy>>;

let env: Env;
const clients: S3Client[] = [];

beforeAll(async () => {
  env = await startS3WithProxy();
}, 30_000);

afterAll(async () => {
  await env?.stop();
});

afterEach(() => {
  // Every fault test starts from a clean pass-through proxy.
  env.proxy.setMode({ kind: 'pass' });
  for (const client of clients.splice(0)) client.destroy();
});

function direct(): S3Client {
  const client = s3Client(env.s3.endpoint);
  clients.push(client);
  return client;
}

function viaProxy(options?: S3ClientOptions): S3Client {
  const client = s3Client(env.proxy.endpoint, undefined, options);
  clients.push(client);
  return client;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function put(key: string, body: Uint8Array | string): Promise<void> {
  await direct().send(new PutObjectCommand({ Bucket: env.s3.bucket, Key: key, Body: body }));
}

async function getBytes(client: S3Client, key: string): Promise<Uint8Array> {
  const res = await client.send(new GetObjectCommand({ Bucket: env.s3.bucket, Key: key }));
  if (!res.Body) throw new Error(`no body for ${key}`);
  return res.Body.transformToByteArray();
}

/** The HTTP status an SDK error carries, or undefined for network errors. */
function statusOf(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the request to fail, but it succeeded');
}

describe('s3rver through the AWS SDK', () => {
  it('round-trips put, head, get, list v2 and delete with user metadata', async () => {
    const client = direct();
    const Bucket = env.s3.bucket;
    const body = 'hello stride';

    const putRes = await client.send(
      new PutObjectCommand({ Bucket, Key: 'rt/a.txt', Body: body, Metadata: { hash: 'abc123' } }),
    );
    const md5 = createHash('md5').update(body).digest('hex');
    expect(putRes.ETag).toBe(`"${md5}"`);

    const head = await client.send(new HeadObjectCommand({ Bucket, Key: 'rt/a.txt' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.Metadata).toEqual({ hash: 'abc123' });

    const got = await client.send(new GetObjectCommand({ Bucket, Key: 'rt/a.txt' }));
    expect(got.Metadata).toEqual({ hash: 'abc123' });
    expect(await got.Body?.transformToString()).toBe(body);

    await client.send(new PutObjectCommand({ Bucket, Key: 'rt/b.txt', Body: 'b' }));
    const listed = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'rt/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['rt/a.txt', 'rt/b.txt']);
    expect(listed.Contents?.[0]?.Size).toBe(body.length);

    const deleted = await client.send(new DeleteObjectCommand({ Bucket, Key: 'rt/a.txt' }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    const after = await client.send(new ListObjectsV2Command({ Bucket, Prefix: 'rt/' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(['rt/b.txt']);
  });

  it('paginates list v2 with continuation tokens', async () => {
    // Needs s3rver's DES tokens, i.e. the child's --openssl-legacy-provider.
    const client = direct();
    const Bucket = env.s3.bucket;
    const keys = ['pg/1', 'pg/2', 'pg/3', 'pg/4', 'pg/5'];
    for (const key of keys) await put(key, key);

    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket, Prefix: 'pg/', MaxKeys: 2, ContinuationToken: token }),
      );
      pages += 1;
      seen.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(pages).toBe(3);
    expect(seen).toEqual(keys);
  });

  it('answers HEAD on a missing key with 404', async () => {
    const err = await failure(
      direct().send(new HeadObjectCommand({ Bucket: env.s3.bucket, Key: 'no/such/key' })),
    );
    expect(statusOf(err)).toBe(404);
    expect((err as Error).name).toBe('NotFound');
  });

  it('stores a 12 MiB multipart upload byte for byte', async () => {
    // Through the pass-through proxy without keep-alive, so that its
    // connection count shows the requests: create, 3 parts, complete.
    const client = viaProxy();
    const before = env.proxy.connections;
    const data = randomBytes(12 * 1024 * 1024);
    const upload = new Upload({
      client,
      params: { Bucket: env.s3.bucket, Key: 'big/12mib.bin', Body: data },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    const done = await upload.done();
    expect(env.proxy.connections - before).toBe(5);
    // Unlike AWS ("<md5 of part md5s>-3"), s3rver's multipart ETag is the
    // MD5 of the whole object. Asserted so that a change is noticed.
    expect(done.ETag).toBe(`"${createHash('md5').update(data).digest('hex')}"`);

    const back = await getBytes(direct(), 'big/12mib.bin');
    expect(back.length).toBe(data.length);
    expect(sha256(back)).toBe(sha256(data));
  });
});

describe('fault proxy', () => {
  const payload = randomBytes(1024 * 1024);
  const payloadSha = sha256(payload);

  beforeAll(async () => {
    await put('fault/1mib.bin', payload);
  });

  it('pass: round-trips through the proxy on a new connection', async () => {
    const client = viaProxy();
    const before = env.proxy.connections;
    await client.send(
      new PutObjectCommand({ Bucket: env.s3.bucket, Key: 'fault/pass.txt', Body: 'via proxy' }),
    );
    const back = await getBytes(client, 'fault/pass.txt');
    expect(Buffer.from(back).toString()).toBe('via proxy');
    expect(sha256(await getBytes(client, 'fault/1mib.bin'))).toBe(payloadSha);
    expect(env.proxy.connections).toBeGreaterThan(before);
  });

  it('drop: the request fails with a connection reset', async () => {
    env.proxy.setMode({ kind: 'drop' });
    const before = env.proxy.connections;
    const err = await failure(getBytes(viaProxy(), 'fault/1mib.bin'));
    expect(statusOf(err)).toBeUndefined();
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(env.proxy.connections).toBe(before + 1);
  });

  it('drop: switching to drop also resets connections already open', async () => {
    // A slow connection is open (the delay holds the request)...
    env.proxy.setMode({ kind: 'delay', ms: 5000 });
    const pending = failure(getBytes(viaProxy({ requestTimeoutMs: 10_000 }), 'fault/1mib.bin'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    // ...and dropping resets it now, not when the delay would have ended.
    env.proxy.setMode({ kind: 'drop' });
    const err = await pending;
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('rejects an invalid mode', () => {
    expect(() => env.proxy.setMode({ kind: 'delay', ms: -1 })).toThrow(TypeError);
    expect(() => env.proxy.setMode({ kind: 'cut', afterBytes: 1.5 })).toThrow(TypeError);
    expect(env.proxy.mode).toEqual({ kind: 'pass' });
  });

  it('delay: longer than the request timeout fails, shorter succeeds', async () => {
    env.proxy.setMode({ kind: 'delay', ms: 1500 });
    const started = Date.now();
    const err = await failure(
      viaProxy({ requestTimeoutMs: 500 }).send(
        new HeadObjectCommand({ Bucket: env.s3.bucket, Key: 'fault/1mib.bin' }),
      ),
    );
    expect((err as Error).name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(1500); // before the delayed reply

    env.proxy.setMode({ kind: 'delay', ms: 200 });
    const head = await viaProxy({ requestTimeoutMs: 2000 }).send(
      new HeadObjectCommand({ Bucket: env.s3.bucket, Key: 'fault/1mib.bin' }),
    );
    expect(head.ContentLength).toBe(payload.length);
  });

  it('cut: a download stopped mid-stream fails while reading the body', async () => {
    // 64 KiB: past the response headers, well before the end of the body.
    env.proxy.setMode({ kind: 'cut', afterBytes: 64 * 1024 });
    const res = await viaProxy().send(
      new GetObjectCommand({ Bucket: env.s3.bucket, Key: 'fault/1mib.bin' }),
    );
    // The headers made it, so the SDK call itself succeeds...
    expect(res.$metadata.httpStatusCode).toBe(200);
    expect(res.ContentLength).toBe(payload.length);
    // ...and the truncation only shows when the body stream is consumed:
    // Node's HTTP client sees EOF before Content-Length and aborts it.
    const err = await failure(res.Body?.transformToByteArray() ?? Promise.resolve());
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect((err as Error).message).toBe('aborted');
  });

  it('corrupt: the body differs from what was stored, detectably by sha256', async () => {
    // 4 KiB leaves s3rver's response headers (well under 1 KiB) intact.
    env.proxy.setMode({ kind: 'corrupt', afterBytes: 4096 });
    const bytes = await getBytes(viaProxy(), 'fault/1mib.bin');
    // Same length: the SDK has no checksum to validate (s3rver sends none).
    expect(bytes.length).toBe(payload.length);
    expect(Buffer.from(bytes).equals(payload)).toBe(false);
    expect(sha256(bytes)).not.toBe(payloadSha);
    // And the stored object itself is untouched.
    env.proxy.setMode({ kind: 'pass' });
    expect(sha256(await getBytes(viaProxy(), 'fault/1mib.bin'))).toBe(payloadSha);
  });

  it.each([
    { code: 500, s3Code: undefined, name: 'InternalError' },
    { code: 503, s3Code: undefined, name: 'ServiceUnavailable' },
    { code: 503, s3Code: 'SlowDown', name: 'SlowDown' },
  ])('status $code $name: the SDK throws with that status', async ({ code, s3Code, name }) => {
    env.proxy.setMode(s3Code ? { kind: 'status', code, s3Code } : { kind: 'status', code });
    const client = viaProxy();

    const getErr = await failure(getBytes(client, 'fault/1mib.bin'));
    expect(statusOf(getErr)).toBe(code);
    expect((getErr as Error).name).toBe(name);

    // A PUT with a body too: the proxy answers without reading it all.
    const putErr = await failure(
      client.send(
        new PutObjectCommand({ Bucket: env.s3.bucket, Key: 'fault/status.bin', Body: payload }),
      ),
    );
    expect(statusOf(putErr)).toBe(code);
    expect((putErr as Error).name).toBe(name);
  });
});
