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
