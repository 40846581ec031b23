import { describe, expect, it } from 'vitest';
import { modeForBatch, readSettings } from './settings.js';

describe('readSettings', () => {
  it('defaults to .stride/cache with no plugin options', () => {
    const settings = readSettings('/ws', { plugins: ['@stride/nx'] }, {});
    expect(settings.cacheDirectory).toBe('/ws/.stride/cache');
    expect(settings.maxCacheBytes).toBe(10 * 1024 ** 3);
  });
  it('reads plugin options and lets the environment override the cache directory', () => {
    const nxJson = { plugins: [{ plugin: '@stride/nx', options: { cacheDirectory: '/shared/cache', maxCacheAge: '7d' } }] };
    expect(readSettings('/ws', nxJson, {}).cacheDirectory).toBe('/shared/cache');
    expect(readSettings('/ws', nxJson, { STRIDE_CACHE_DIRECTORY: 'elsewhere' }).cacheDirectory).toBe('/ws/elsewhere');
  });
  it('rejects an unknown option naming it and the known ones', () => {
    const nxJson = { plugins: [{ plugin: '@stride/nx', options: { cacheDir: 'x' } }] };
    expect(() => readSettings('/ws', nxJson, {})).toThrow(/unknown Stride option "cacheDir"[\s\S]*cacheDirectory, maxCacheSize, maxCacheAge/);
  });
  it('rejects a bad size with the setting and the fix', () => {
    const nxJson = { plugins: [{ plugin: '@stride/nx', options: { maxCacheSize: 'huge' } }] };
    expect(() => readSettings('/ws', nxJson, {})).toThrow(/maxCacheSize = "huge"/);
  });
});

describe('readSettings: where a bad value came from', () => {
  it('blames an empty STRIDE_CACHE_DIRECTORY on the variable, not on nx.json', () => {
    expect(() => readSettings('/ws', { plugins: ['@stride/nx'] }, { STRIDE_CACHE_DIRECTORY: '' })).toThrow(/setting: STRIDE_CACHE_DIRECTORY \(environment\) = ""[\s\S]*fix: set STRIDE_CACHE_DIRECTORY/);
    const nxJson = { plugins: [{ plugin: '@stride/nx', options: { cacheDirectory: '  ' } }] };
    expect(() => readSettings('/ws', nxJson, {})).toThrow(/setting: plugins\[@stride\/nx\]\.options\.cacheDirectory = "  "/);
    expect(() => readSettings('/ws', { plugins: [{ plugin: '@stride/nx', options: { cacheDirectory: 5 } }] }, {})).toThrow(/cacheDirectory = 5/);
  });
  it('gives an encryption key in nx.json its own message', () => {
    const nxJson = { plugins: [{ plugin: '@stride/nx', options: { encryptionKey: 'x' } }] };
    expect(() => readSettings('/ws', nxJson, {})).toThrow(/STRIDE_ENCRYPTION_KEY or STRIDE_ENCRYPTION_KEY_FILE/);
  });
});

describe('readSettings: localCache', () => {
  const withOption = (localCache: unknown) => ({ plugins: [{ plugin: '@stride/nx', options: { localCache } }] });
  it('defaults to Nx\'s cache in front, and an unset mode follows the batch\'s targets', () => {
    const settings = readSettings('/ws', { plugins: ['@stride/nx'] }, {});
    expect(settings.localCache).toBe('nx');
    expect(settings.localCacheSetting).toBe('the default');
    expect(modeForBatch(settings, [true, true]).localCache).toBe('nx');
    // A workspace an older init set up (Nx's cache off for Stride targets) keeps its store.
    expect(modeForBatch(settings, [false, false])).toMatchObject({ localCache: 'stride', localCacheSetting: expect.stringMatching(/^the default, since Nx's cache is off/) });
    expect(modeForBatch(settings, [true, false]).localCache).toBe('stride');
    expect(modeForBatch(settings, []).localCache).toBe('stride');
  });
  it('a mode that is set is kept whatever the targets say', () => {
    expect(modeForBatch(readSettings('/ws', withOption('nx'), {}), [false]).localCache).toBe('nx');
    expect(modeForBatch(readSettings('/ws', withOption('stride'), {}), [true]).localCache).toBe('stride');
    expect(modeForBatch(readSettings('/ws', {}, { STRIDE_LOCAL_CACHE: 'nx' }), [false]).localCache).toBe('nx');
  });
  it('reads nx.json, and the environment wins over it (an empty variable counts as unset)', () => {
    expect(readSettings('/ws', withOption('nx'), {}).localCache).toBe('nx');
    expect(readSettings('/ws', withOption('nx'), { STRIDE_LOCAL_CACHE: 'stride' }).localCache).toBe('stride');
    expect(readSettings('/ws', withOption('stride'), { STRIDE_LOCAL_CACHE: 'nx' }).localCacheSetting).toBe('STRIDE_LOCAL_CACHE (environment)');
    expect(readSettings('/ws', withOption('nx'), { STRIDE_LOCAL_CACHE: '' }).localCache).toBe('nx');
  });
  it('refuses anything else, naming the setting, the value and the fix', () => {
    expect(() => readSettings('/ws', withOption('NX'), {})).toThrow(/setting: plugins\[@stride\/nx\]\.options\.localCache = "NX"[\s\S]*fix: set it to "nx"[\s\S]*"stride"/);
    expect(() => readSettings('/ws', withOption(true), {})).toThrow(/localCache = true/);
    expect(() => readSettings('/ws', { plugins: ['@stride/nx'] }, { STRIDE_LOCAL_CACHE: 'remote' })).toThrow(/setting: STRIDE_LOCAL_CACHE \(environment\) = "remote"[\s\S]*unset STRIDE_LOCAL_CACHE/);
  });
});
