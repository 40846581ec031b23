import { describe, expect, it } from 'vitest';
import { readSettings } from './settings.js';

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
