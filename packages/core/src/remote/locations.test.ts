import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalStore } from '../store/local-store.js';
import { RemoteCache } from './remote-cache.js';
import type { ObjectStore } from './s3-store.js';
import { objectKey, readOrder, runKind, signsAt, timingsKey, writeLocation } from './locations.js';
import { parseRemoteSettings, type RemoteSettings } from './settings.js';

const settings = (scope?: string, extra: Record<string, unknown> = {}): RemoteSettings =>
  parseRemoteSettings({ bucket: 'acme-cache', ...(scope === undefined ? {} : { scope }), ...extra }, {}, 'remote') as RemoteSettings;

describe('where each kind of run reads and writes', () => {
  it('a developer on the default scope reads trusted/ only and writes nothing to the bucket', () => {
    const dev = settings();
    expect(dev.scope).toBe('local');
    expect(runKind(dev.scope)).toBe('developer');
    expect(readOrder(dev)).toEqual(['trusted']);
    expect(writeLocation(dev)).toBeUndefined();
    // Naming the default explicitly is the same run.
    expect(readOrder(settings('local'))).toEqual(['trusted']);
  });

  it('a trusted run reads and writes trusted/ alone, and only it signs', () => {
    const main = settings('trusted');
    expect(readOrder(main)).toEqual(['trusted']);
    expect(writeLocation(main)).toBe('trusted');
    expect(signsAt(writeLocation(main))).toBe(true);
    expect(objectKey(main, 'trusted', 'h.stride')).toBe('stride/trusted/h.stride');
    expect(timingsKey(main, 'trusted')).toBe('stride/timings/trusted.json');
  });

  it('a pull request reads trusted/ first, then its own pr-* scope, and writes only that scope, unsigned', () => {
    const pr = settings('pr-7');
    expect(runKind('pr-7')).toBe('pull-request');
    expect(readOrder(pr)).toEqual(['trusted', 'scope']);
    expect(writeLocation(pr)).toBe('scope');
    expect(signsAt(writeLocation(pr))).toBe(false);
    expect(objectKey(pr, 'scope', 'nx/h.blob')).toBe('stride/scopes/pr-7/nx/h.blob');
    expect(timingsKey(pr, 'scope')).toBe('stride/timings/scopes/pr-7.json');
  });

  it('a named scope (not pr-*, so the pull-request role cannot write it) reads trusted/ first, then its own', () => {
    const named = settings('dev-alice');
    expect(runKind('dev-alice')).toBe('named');
    expect(readOrder(named)).toEqual(['trusted', 'scope']);
    expect(writeLocation(named)).toBe('scope');
    expect(signsAt(writeLocation(named))).toBe(false);
  });
});

describe('the scope setting', () => {
  it('refuses look-alikes of the reserved and pull-request scopes, naming the setting and the fix', () => {
    expect(() => settings('Trusted')).toThrow(/"Trusted" is not "trusted"[\s\S]*setting: remote.scope[\s\S]*fix: write it "trusted"/);
    expect(() => settings('LOCAL')).toThrow(/case-sensitive/);
    expect(() => settings('PR-7')).toThrow(/fix: write it "pr-7"/);
    expect(() => settings('../trusted')).toThrow(/invalid scope/);
    expect(() => parseRemoteSettings({ bucket: 'acme-cache' }, { STRIDE_REMOTE_SCOPE: 'Pr-9' }, 'remote')).toThrow(/STRIDE_REMOTE_SCOPE \(environment\)/);
  });

  it('refuses write-only on the default scope, which would do nothing at all', () => {
    expect(() => settings(undefined, { mode: 'write-only' })).toThrow(/writes nothing to the bucket[\s\S]*setting: remote.mode[\s\S]*fix: set STRIDE_REMOTE_SCOPE/);
    expect(settings('pr-1', { mode: 'write-only' }).mode).toBe('write-only');
  });
});

describe('sharded machines wait for each other only where they share', () => {
  const unused: ObjectStore = {
    location: 's3://acme-cache',
    exists: () => Promise.reject(new Error('not called')),
    download: () => Promise.reject(new Error('not called')),
    upload: () => Promise.reject(new Error('not called')),
  };
  const store = new LocalStore('/nonexistent/.stride/cache', '/nonexistent');
  const keys = generateKeyPairSync('ed25519');
  const shares = (s: RemoteSettings, signing = false, publicKeys = false): boolean =>
    new RemoteCache(s, unused, store, signing ? keys.privateKey : undefined, publicKeys ? [keys.publicKey] : []).sharesResults;

  it('pull requests, named scopes and trusted runs with their key share; the default scope, read-only and a keyless trusted run do not', () => {
    expect(shares(settings('pr-7'))).toBe(true);
    expect(shares(settings('nightly'))).toBe(true);
    expect(shares(settings('trusted'), true, true)).toBe(true);
    expect(shares(settings())).toBe(false);
    expect(shares(settings('pr-7', { mode: 'read-only' }))).toBe(false);
    expect(shares(settings('trusted'), false, true)).toBe(false);
  });
});
