import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputsOnDisk, type RemoteTier } from '@stride/core';
import { describe, expect, it } from 'vitest';
import { guardRemote, openCacheDirectory, RunStore } from './cache-directory.js';

const SETTING = 'STRIDE_CACHE_DIRECTORY (environment)';

describe('openCacheDirectory', () => {
  it('makes the folder and finds it writable', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'stride-cachedir-')), 'a', 'cache');
    expect(await openCacheDirectory(dir, SETTING)).toEqual({ writable: true });
  });
  // Node's recursive mkdir never returns here: the run hung before any task.
  it('refuses a folder under /proc at once, naming the setting and the fix', async () => {
    await expect(openCacheDirectory('/proc/stride-cache', SETTING)).rejects.toThrow(/cache directory \/proc\/stride-cache cannot be created[\s\S]*ENOENT[\s\S]*setting: STRIDE_CACHE_DIRECTORY \(environment\) = "\/proc\/stride-cache"[\s\S]*fix: point it at a folder/);
  });
  it('refuses a path under a file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-cachedir-'));
    writeFileSync(join(root, 'file'), 'x');
    await expect(openCacheDirectory(join(root, 'file', 'cache'), SETTING)).rejects.toThrow(/ENOTDIR/);
  });
});

describe('RunStore', () => {
  const request = (taskId: string) => ({ hash: `h-${taskId}`, taskId, durationMs: 1, outputs: [], terminalOutput: 'out' });

  it('turns failed saves into one warning naming the tasks, and uploads none of them', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-runstore-'));
    const dir = join(root, 'cache');
    mkdirSync(dir);
    writeFileSync(join(dir, '.tmp'), 'a file where the temp folder goes');
    const store = new RunStore(dir, root, new OutputsOnDisk(root, join(root, 'outputs.json')), SETTING);
    const metas = [await store.save(request('a:build')), await store.save(request('b:build'))];
    expect(store.warning).toMatch(/^a:build and 1 more: could not store the result in the local store: .*; the tasks ran$/);
    const uploaded: string[] = [];
    const remote: RemoteTier = { fetch: async () => { throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }); }, scheduleUpload: (meta) => uploaded.push(meta.taskId) };
    const guarded = guardRemote(remote, store);
    for (const meta of metas) guarded.scheduleUpload(meta);
    expect(uploaded).toEqual([]);
    expect(await guarded.fetch('h', 'c:build')).toBeUndefined();
    expect(store.warning).toMatch(/^a:build and 2 more/);
  });

  it('with a directory known to refuse writes, does not try and says so once', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-runstore-'));
    const store = new RunStore(join(root, 'ro'), root, new OutputsOnDisk(root, join(root, 'outputs.json')), SETTING, { problem: 'is on a read-only file system', cause: 'EROFS: read-only file system', remoteSkipped: true });
    await store.save(request('a:build'));
    expect(store.warning).toMatch(/^the cache directory .*\/ro is on a read-only file system \(EROFS: read-only file system; set by STRIDE_CACHE_DIRECTORY \(environment\)\): this run restored what it holds and ran the rest \(1 not stored\), and did not use the remote cache \(its hits land in this directory\); fix: make .*\/ro writable, or point STRIDE_CACHE_DIRECTORY at another folder$/);
  });
});
