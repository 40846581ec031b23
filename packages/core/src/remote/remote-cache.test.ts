import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy } from '../../../../tools/s3/fault-proxy.mjs';
import { startS3Server, type S3Server } from '../../../../tools/s3/server.mjs';
import { SMALL_FILE_BYTES } from '../store/archive.js';
import { LocalStore } from '../store/local-store.js';
import { RemoteCache } from './remote-cache.js';
import { ArtifactTooLargeError, createS3Store, type ObjectStore } from './s3-store.js';
import { parseRemoteSettings, type RemoteSettings } from './settings.js';

// Against a real S3-compatible server (s3rver on loopback): the requests are
// real; the wrapper below only counts which operations the cache asked for.
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

const env = { AWS_ACCESS_KEY_ID: 'stride', AWS_SECRET_ACCESS_KEY: 'stride-secret' };

function settingsFor(prefix: string): RemoteSettings {
  Object.assign(process.env, env);
  return parseRemoteSettings({ bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, prefix, scope: 'trusted' }, {}, 'remote') as RemoteSettings;
}

async function counted(settings: RemoteSettings): Promise<{ objects: ObjectStore; calls: string[] }> {
  const real = await createS3Store(settings);
  const calls: string[] = [];
  return {
    calls,
    objects: {
      location: real.location,
      exists: (key) => (calls.push('exists'), real.exists(key)),
      download: (key, spill, max) => (calls.push('download'), real.download(key, spill, max)),
      upload: (key, body, replace) => (calls.push('upload'), real.upload(key, body, replace)),
    },
  };
}

/** A machine: its own workspace and local store, one task whose output is `content`. */
function machine(content: string | Buffer): { root: string; store: LocalStore } {
  const root = mkdtempSync(join(tmpdir(), 'stride-remote-'));
  mkdirSync(join(root, 'dist'));
  writeFileSync(join(root, 'dist/out.bin'), content);
  // The remote settings above are a trusted run's: so is this store (what it stores says so, and is uploaded).
  return { root, store: new LocalStore(join(root, '.stride/cache'), root, undefined, { scope: 'trusted' }) };
}

describe('RemoteCache against a real S3 server', () => {
  it.each([
    ['a small artifact (in memory both ways)', 'built\n'],
    ['an artifact over the in-memory limit (streamed through a temp file)', randomBytes(SMALL_FILE_BYTES + 50_000)],
  ])('uploads and restores %s byte for byte, leaving no temp files', async (_label, content) => {
    const settings = settingsFor(`p-${randomBytes(4).toString('hex')}`);
    const a = machine(content);
    const up = await counted(settings);
    const writer = new RemoteCache(settings, up.objects, a.store, undefined, []);
    const hash = randomBytes(8).toString('hex');
    // A cold build: the lookup misses, the task runs, its result goes up.
    expect(await writer.fetch(hash, 'a:build')).toBeUndefined();
    writer.scheduleUpload(await a.store.save({ hash, taskId: 'a:build', durationMs: 7, outputs: ['dist'], terminalOutput: 'built a\n' }));
    await writer.flush();
    expect(writer.stats).toMatchObject({ uploads: 1, alreadyStored: 0, refused: 0, switchedOff: false });
    // The lookup already said the key was missing: no existence check before the upload.
    expect(up.calls).toEqual(['download', 'upload']);

    const b = machine('stale');
    const reader = new RemoteCache(settings, (await counted(settings)).objects, b.store, undefined, []);
    const meta = await reader.fetch(hash, 'a:build');
    expect(meta?.hash).toBe(hash);
    expect(reader.stats).toMatchObject({ hits: 1, refused: 0 });
    const hit = await b.store.restore(meta!, ['dist']);
    expect(hit.terminalOutput).toBe('built a\n');
    expect(readFileSync(join(b.root, 'dist/out.bin'))).toEqual(Buffer.from(content));
    for (const { store } of [a, b]) expect(readdirSync(join(store.dir, '.tmp')).filter((f) => f.startsWith('remote-'))).toEqual([]);
    // The first case pays for loading the AWS SDK's credential chain, which takes seconds on a loaded 2-core machine.
  }, 30_000);

  it('checks for an existing object before uploading a hash this run never looked up', async () => {
    const settings = settingsFor(`p-${randomBytes(4).toString('hex')}`);
    const a = machine('x');
    const up = await counted(settings);
    const writer = new RemoteCache(settings, up.objects, a.store, undefined, []);
    const meta = await a.store.save({ hash: randomBytes(8).toString('hex'), taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' });
    writer.scheduleUpload(meta);
    await writer.flush();
    writer.scheduleUpload(meta);
    await writer.flush();
    expect(up.calls).toEqual(['exists', 'upload', 'exists']);
    expect(writer.stats).toMatchObject({ uploads: 1, alreadyStored: 1 });
  });

  it('encrypts a small artifact in memory: the bucket holds no plaintext, and a reader with the key restores it', async () => {
    const settings = settingsFor(`p-${randomBytes(4).toString('hex')}`);
    const key = randomBytes(32);
    const secretOutput = `secret-output-${randomBytes(8).toString('hex')}`;
    const a = machine(secretOutput);
    const objects = await createS3Store(settings);
    const writer = new RemoteCache(settings, objects, a.store, undefined, [], key);
    const hash = randomBytes(8).toString('hex');
    writer.scheduleUpload(await a.store.save({ hash, taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' }));
    await writer.flush();
    const raw = await objects.download(`${settings.prefix}/trusted/${hash}.stride`, join(a.root, 'raw'), 1e7);
    expect(Buffer.isBuffer(raw?.source)).toBe(true);
    expect((raw?.source as Buffer).includes(secretOutput)).toBe(false);

    const b = machine('stale');
    const reader = new RemoteCache(settings, objects, b.store, undefined, [], key);
    await b.store.restore((await reader.fetch(hash, 'a:build'))!, ['dist']);
    expect(readFileSync(join(b.root, 'dist/out.bin'), 'utf8')).toBe(secretOutput);
    const keyless = new RemoteCache(settings, objects, machine('').store, undefined, []);
    expect(await keyless.fetch(hash, 'a:build')).toBeUndefined();
    expect(keyless.stats.refusedObjects[0]?.reason).toMatch(/encrypted/);
  });

  it('sends objects over 16 MiB in parts (through the SDK) and streams them back to disk; refuses one over the size limit', async () => {
    const settings = settingsFor(`p-${randomBytes(4).toString('hex')}`);
    const objects = await createS3Store(settings);
    const dir = mkdtempSync(join(tmpdir(), 'stride-multipart-'));
    const big = randomBytes(17 * 1024 * 1024 + 123);
    writeFileSync(join(dir, 'big'), big);
    await objects.upload('big/object', { file: join(dir, 'big'), bytes: big.length }, false);
    const got = await objects.download('big/object', join(dir, 'back'), 64 * 1024 * 1024);
    expect(got).toEqual({ bytes: big.length, source: join(dir, 'back') });
    expect(readFileSync(join(dir, 'back')).equals(big)).toBe(true);
    await expect(objects.download('big/object', join(dir, 'refused'), 1024 * 1024)).rejects.toThrow(ArtifactTooLargeError);
    expect(await objects.exists('big/object')).toBe(true);
    expect(await objects.exists('big/none')).toBe(false);
  });

  it('through a fault proxy: a refused conditional write is "already stored", other answers are errors naming the S3 code', async () => {
    const proxy = await startFaultProxy({ targetPort: s3.port });
    try {
      const settings = { ...settingsFor('p-proxy'), endpoint: proxy.endpoint };
      const storeAnswering = async (code: number, s3Code: string): Promise<ObjectStore> => {
        proxy.setMode({ kind: 'status', code, s3Code });
        return createS3Store(settings); // a fresh connection pool per mode
      };
      expect(await (await storeAnswering(412, 'PreconditionFailed')).upload('k', Buffer.from('x'), false)).toBe(false);
      const moved = await storeAnswering(301, 'PermanentRedirect');
      await expect(moved.download('k', '/nonexistent/spill', 1024)).rejects.toThrow(/GET k: 301 PermanentRedirect/);
      await expect(moved.exists('k')).rejects.toThrow(/HEAD k: 301/);
      const denied = await storeAnswering(403, 'AccessDenied');
      await expect(denied.upload('k', Buffer.from('x'), false)).rejects.toThrow(/PUT k: 403 AccessDenied \(Injected by the Stride fault proxy\)/);
      proxy.setMode({ kind: 'pass' });
      const through = await createS3Store(settings);
      expect(await through.upload('k', Buffer.from('x'), false)).toBe(true);
      expect((await through.download('k', '/nonexistent/spill', 1024))?.source).toEqual(Buffer.from('x'));
    } finally {
      await proxy.stop();
    }
  });
});
