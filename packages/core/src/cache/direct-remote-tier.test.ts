import { createPrivateKey, type KeyObject, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, type S3Server } from '../../../../tools/s3/server.mjs';
import { SMALL_FILE_BYTES } from '../store/archive.js';
import { LocalStore } from '../store/local-store.js';
import { RemoteCache } from '../remote/remote-cache.js';
import { createS3Store } from '../remote/s3-store.js';
import { parseRemoteSettings, type RemoteSettings } from '../remote/settings.js';
import { generateSigningKeyPair, parsePublicKey } from '../remote/signing.js';
import { DirectRemoteTier } from './direct-remote-tier.js';
import { TieredCache } from './tiered-cache.js';

// localCache "nx": no local store, against a real S3-compatible server (s3rver on loopback).
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
});

function settingsFor(prefix: string, scope = 'trusted'): RemoteSettings {
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'stride', AWS_SECRET_ACCESS_KEY: 'stride-secret' });
  return parseRemoteSettings({ bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, prefix, scope }, {}, 'remote') as RemoteSettings;
}

/** A machine with no local store: its cache is the remote alone, its transit folder the only thing Stride writes. */
async function machine(settings: RemoteSettings, content?: string | Buffer, keys: { signingKey?: KeyObject; publicKeys?: KeyObject[] } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'stride-direct-'));
  if (content !== undefined) {
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/out.bin'), content);
  }
  const transit = join(root, '.stride/transit');
  const staging = new LocalStore(transit, root, undefined, { scope: settings.scope, ...(keys.signingKey ? { signingKey: keys.signingKey } : {}), publicKeys: keys.publicKeys ?? [] });
  const remote = new RemoteCache(settings, await createS3Store(settings), staging, keys.signingKey, keys.publicKeys ?? []);
  const cache = new TieredCache([new DirectRemoteTier(remote, root, staging)]);
  /** What Stride left on disk: entries, and temp files. */
  const left = (): string[] => (existsSync(transit) ? readdirSync(transit, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : []);
  return { root, remote, cache, left };
}

describe('DirectRemoteTier (no local store)', () => {
  it.each([
    ['a small artifact, restored from memory', 'built\n'],
    ['a large one, whose archive is copied out of the download and checked again', randomBytes(SMALL_FILE_BYTES + 50_000)],
  ])('packs from the outputs on disk, uploads, and restores %s byte for byte, leaving nothing behind', { timeout: 30_000 }, async (_label, content) => {
    const settings = settingsFor(`d-${randomBytes(4).toString('hex')}`);
    const a = await machine(settings, content);
    await a.cache.put({ hash: 'aaaa000011112222', taskId: 'a:build', durationMs: 42, outputs: ['dist'], terminalOutput: 'built a\n' });
    await a.cache.flush();
    expect(a.remote.stats).toMatchObject({ uploads: 1 });
    expect(a.left()).toEqual([]);

    const b = await machine(settings);
    expect(await b.cache.lookup('aaaa000011112222', 'a:build', 'near')).toBeUndefined();
    const hit = await b.cache.lookup('aaaa000011112222', 'a:build');
    expect([hit?.source, hit?.durationMs]).toEqual(['remote', 42]);
    expect(await b.cache.restore(hit!, ['dist'])).toBe('built a\n');
    expect(readFileSync(join(b.root, 'dist/out.bin'))).toEqual(Buffer.from(content));
    await b.cache.flush();
    expect(b.left()).toEqual([]);
    expect(b.remote.stats).toMatchObject({ hits: 1, refused: 0 });
  });

  it('refuses an archive holding paths outside the declared outputs, touching nothing', async () => {
    const settings = settingsFor(`d-${randomBytes(4).toString('hex')}`);
    const a = await machine(settings, 'built\n');
    await a.cache.put({ hash: 'bbbb000011112222', taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' });
    await a.cache.flush();
    const b = await machine(settings);
    mkdirSync(join(b.root, 'other'));
    writeFileSync(join(b.root, 'other/keep.txt'), 'mine');
    const hit = await b.cache.lookup('bbbb000011112222', 'a:build');
    await expect(b.cache.restore(hit!, ['other'])).rejects.toThrow(/dist/);
    expect(existsSync(join(b.root, 'dist'))).toBe(false);
    expect(readFileSync(join(b.root, 'other/keep.txt'), 'utf8')).toBe('mine');
  });

  it('packs nothing when the run uploads nothing (the default scope), and a hit never restored is released at the flush', async () => {
    const prefix = `d-${randomBytes(4).toString('hex')}`;
    const developer = await machine(settingsFor(prefix, 'local'), 'built\n');
    await developer.cache.put({ hash: 'cccc000011112222', taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' });
    await developer.cache.flush();
    expect(developer.left()).toEqual([]);
    expect(developer.remote.stats.uploads).toBe(0);

    const big = randomBytes(SMALL_FILE_BYTES + 10_000);
    const a = await machine(settingsFor(prefix), big);
    await a.cache.put({ hash: 'dddd000011112222', taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' });
    await a.cache.flush();
    const b = await machine(settingsFor(prefix));
    expect(await b.cache.lookup('dddd000011112222', 'a:build')).toBeDefined();
    // The large download is held in a temp file until the hit is restored or the run ends.
    expect(b.left().length).toBeGreaterThan(0);
    await b.cache.flush();
    expect(b.left()).toEqual([]);
  });

  it('keeps the trust rules: with public keys, a trusted reader refuses an unsigned trusted/ artifact and restores a signed one', async () => {
    const pair = generateSigningKeyPair();
    const publicKeys = [parsePublicKey(pair.publicKey, 'test')];
    const signingKey = createPrivateKey(pair.privateKeyPem);
    const settings = settingsFor(`d-${randomBytes(4).toString('hex')}`);
    // A trusted writer without the key, where readers require signatures, uploads nothing at all...
    const keyless = await machine(settings, 'built\n', { publicKeys });
    await keyless.cache.put({ hash: 'eeee000011112222', taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' });
    await keyless.cache.flush();
    expect(keyless.remote.stats.uploads).toBe(0);
    // ...and one that ignored the keys (an untrusted job writing trusted/) is refused by the reader.
    const forger = await machine(settings, 'poisoned\n');
    await forger.cache.put({ hash: 'eeee000011112222', taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: '' });
    await forger.cache.flush();
    const reader = await machine(settings, undefined, { publicKeys });
    expect(await reader.cache.lookup('eeee000011112222', 'a:build')).toBeUndefined();
    expect(reader.remote.stats.refused).toBe(1);
    expect(reader.cache.warnings.join('\n')).toMatch(/no valid signature/);

    const signer = await machine(settings, 'signed\n', { signingKey, publicKeys });
    await signer.cache.put({ hash: 'ffff000011112222', taskId: 'a:build', durationMs: 1, outputs: ['dist'], terminalOutput: 'ok\n' });
    await signer.cache.flush();
    const hit = await reader.cache.lookup('ffff000011112222', 'a:build');
    expect(await reader.cache.restore(hit!, ['dist'])).toBe('ok\n');
    expect(readFileSync(join(reader.root, 'dist/out.bin'), 'utf8')).toBe('signed\n');
  });
});
