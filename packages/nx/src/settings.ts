import { isAbsolute, join } from 'node:path';
import type { NxJsonConfiguration } from '@nx/devkit';
import { DEFAULT_SCOPE, parseAge, parseRemoteSettings, parseSize, refuseSecretSetting, type RemoteSettings, StrideError } from '@stride/core';

export const PLUGIN_NAME = '@stride/nx';

/** Stride's settings: the options of its entry in nx.json `plugins`, then the environment. */
export interface StrideSettings {
  /** Absolute path of Stride's own folder (run records, file-hash cache). */
  strideDir: string;
  /** Absolute path of the local store. */
  cacheDirectory: string;
  /** Where it was set, for messages: the variable or the nx.json option. */
  cacheDirectorySetting: string;
  /** The local store's size limit, applied after every run that stored something, and where it was set. */
  maxCacheBytes: number;
  maxCacheSizeSetting: string;
  maxCacheAgeMs: number;
  /** The S3 remote cache; undefined when no bucket is configured (local store only). */
  remote: RemoteSettings | undefined;
  /**
   * The run's scope and public keys, known with or without a bucket: a store
   * folder shared by PR and main jobs needs them as much as the bucket does.
   */
  trust: { scope: string; publicKeys: string[] };
  /**
   * Which local cache sits in front of the batch: `stride` (Stride's own store;
   * Nx's cache off for Stride targets) or `nx` (Nx's local cache; Stride keeps no
   * local copy, only the remote tier).
   */
  localCache: LocalCacheMode;
  /** Where it was set, for messages: the variable, the nx.json option, or the default. */
  localCacheSetting: string;
}

export type LocalCacheMode = 'stride' | 'nx';
export const LOCAL_CACHE_MODES: readonly LocalCacheMode[] = ['stride', 'nx'];
/**
 * What `init` sets up when no mode is chosen: Nx's local cache in front, since a fully cached run then costs what
 * plain Nx's does (BENCHMARKS.md). A batch with no mode set follows its targets instead (`modeForBatch`).
 */
export const DEFAULT_LOCAL_CACHE: LocalCacheMode = 'nx';
export const DEFAULT_MODE_SETTING = 'the default';

const CACHE_DIRECTORY_VARIABLE = 'STRIDE_CACHE_DIRECTORY (environment)';
const KNOWN_OPTIONS = ['cacheDirectory', 'maxCacheSize', 'maxCacheAge', 'localCache', 'remote'] as const;
const DEFAULTS = { cacheDirectory: '.stride/cache', maxCacheSize: '10GB', maxCacheAge: '30d' };

/**
 * Reads and checks Stride's settings. Anything wrong is reported with the
 * setting, its value and the fix, before a single task runs.
 */
export function readSettings(root: string, nxJson: NxJsonConfiguration, env: NodeJS.ProcessEnv = process.env): StrideSettings {
  const options = pluginOptions(nxJson);
  for (const key of Object.keys(options)) {
    refuseSecretSetting(key, `plugins[@stride/nx].options.${key}`);
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key)) {
      throw new StrideError(`unknown Stride option "${key}" in nx.json`, {
        setting: `plugins[@stride/nx].options.${key}`,
        fix: `remove it, or use one of: ${KNOWN_OPTIONS.join(', ')}`,
      });
    }
  }
  // The message names where the value came from: the variable, when it is set at all (even empty).
  const fromEnv = env.STRIDE_CACHE_DIRECTORY !== undefined;
  const cacheDirectory = fromEnv ? env.STRIDE_CACHE_DIRECTORY : (options.cacheDirectory ?? DEFAULTS.cacheDirectory);
  const cacheSetting = fromEnv ? CACHE_DIRECTORY_VARIABLE : 'plugins[@stride/nx].options.cacheDirectory';
  if (typeof cacheDirectory !== 'string' || cacheDirectory.trim() === '' || /[\u0000-\u001f]/.test(cacheDirectory)) {
    throw new StrideError('the cache directory must be a non-empty path', {
      setting: cacheSetting,
      value: cacheDirectory,
      fix: fromEnv
        ? 'set STRIDE_CACHE_DIRECTORY to a folder path (relative to the workspace root, or absolute), or unset it for the default ".stride/cache"'
        : 'set it to a folder path, relative to the workspace root or absolute (default ".stride/cache")',
    });
  }
  const remote = parseRemoteSettings(options.remote, env, 'plugins[@stride/nx].options.remote');
  const localCache = readLocalCache(options, env);
  return {
    strideDir: join(root, '.stride'),
    cacheDirectory: isAbsolute(cacheDirectory) ? cacheDirectory : join(root, cacheDirectory),
    cacheDirectorySetting: cacheSetting,
    ...readMaxCacheSize(options, nxJson, env),
    maxCacheAgeMs: parseAge(options.maxCacheAge ?? DEFAULTS.maxCacheAge, 'plugins[@stride/nx].options.maxCacheAge'),
    remote,
    trust: remote ? { scope: remote.scope, publicKeys: remote.publicKeys } : trustWithoutBucket(options.remote, env),
    localCache: localCache.mode,
    localCacheSetting: localCache.setting,
  };
}

/**
 * The local store's size limit: Stride's own option when set (it is about
 * Stride's store alone), else Nx's (`NX_MAX_CACHE_SIZE`, then nx.json
 * `maxCacheSize`, as Nx reads them), else 10GB.
 */
function readMaxCacheSize(options: Record<string, unknown>, nxJson: NxJsonConfiguration, env: NodeJS.ProcessEnv): { maxCacheBytes: number; maxCacheSizeSetting: string } {
  const nxValue = (nxJson as { maxCacheSize?: unknown }).maxCacheSize;
  const [value, setting] =
    options.maxCacheSize !== undefined
      ? [options.maxCacheSize, 'plugins[@stride/nx].options.maxCacheSize']
      : env.NX_MAX_CACHE_SIZE !== undefined && env.NX_MAX_CACHE_SIZE !== ''
        ? [env.NX_MAX_CACHE_SIZE, 'NX_MAX_CACHE_SIZE (environment)']
        : nxValue !== undefined
          ? [nxValue, 'maxCacheSize in nx.json']
          : [DEFAULTS.maxCacheSize, 'the default'];
  return { maxCacheBytes: parseSize(value, setting), maxCacheSizeSetting: setting };
}

/**
 * `localCache`: STRIDE_LOCAL_CACHE wins over nx.json (a CI job can try the
 * other mode without editing the file); an empty variable counts as unset, as
 * every STRIDE_* variable does. Anything but the two modes is refused, naming
 * where it came from.
 */
export function readLocalCache(options: Record<string, unknown>, env: NodeJS.ProcessEnv): { mode: LocalCacheMode; setting: string } {
  const fromEnv = env.STRIDE_LOCAL_CACHE !== undefined && env.STRIDE_LOCAL_CACHE !== '';
  const setting = fromEnv ? 'STRIDE_LOCAL_CACHE (environment)' : 'plugins[@stride/nx].options.localCache';
  const value: unknown = fromEnv ? env.STRIDE_LOCAL_CACHE : options.localCache;
  if (value === undefined) return { mode: DEFAULT_LOCAL_CACHE, setting: DEFAULT_MODE_SETTING };
  if (typeof value === 'string' && (LOCAL_CACHE_MODES as readonly string[]).includes(value)) return { mode: value as LocalCacheMode, setting };
  throw new StrideError('the local cache must be "stride" or "nx"', {
    setting,
    value,
    fix: `set it to "nx" (Nx's local cache in front, Stride keeps no local copy) or "stride" (Stride's own store in .stride/cache, Nx's cache off for Stride targets)${fromEnv ? ', or unset STRIDE_LOCAL_CACHE' : ''}; then run \`nx g @stride/nx:init\` so each target's Nx cache matches the mode`,
  });
}

/**
 * The mode of one batch. Set (nx.json or STRIDE_LOCAL_CACHE), it is used as set. Unset, the batch follows how its
 * targets are set up: Nx's cache on for every task means `init` chose "nx" (Nx restores the hits, Stride only sees
 * its misses); off for any means a workspace an older `init` set up for Stride's own store, which keeps serving it,
 * so upgrading Stride loses no cached result and rebuilds nothing (`init` run again moves it to "nx").
 */
export function modeForBatch(settings: StrideSettings, nxCacheOn: readonly boolean[]): StrideSettings {
  if (settings.localCacheSetting !== DEFAULT_MODE_SETTING) return settings;
  const allOn = nxCacheOn.length > 0 && nxCacheOn.every(Boolean);
  return allOn
    ? { ...settings, localCache: 'nx', localCacheSetting: `${DEFAULT_MODE_SETTING}, since Nx's cache is on for every task of this batch` }
    : { ...settings, localCache: 'stride', localCacheSetting: `${DEFAULT_MODE_SETTING}, since Nx's cache is off for tasks of this batch` };
}

/** Scope and public keys as the remote block would give them, read the same way when no bucket is set. */
function trustWithoutBucket(raw: unknown, env: NodeJS.ProcessEnv): StrideSettings['trust'] {
  const block = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const scope = env.STRIDE_REMOTE_SCOPE || (typeof block.scope === 'string' ? block.scope : DEFAULT_SCOPE);
  const keys = Array.isArray(block.publicKeys) ? block.publicKeys.filter((k): k is string => typeof k === 'string') : [];
  return { scope, publicKeys: keys };
}

/** The options of Stride's entry in nx.json `plugins` ({} when there is none). */
export function pluginOptions(nxJson: NxJsonConfiguration): Record<string, unknown> {
  for (const entry of nxJson.plugins ?? []) {
    if (typeof entry === 'string') {
      if (entry === PLUGIN_NAME) return {};
      continue;
    }
    if (entry.plugin !== PLUGIN_NAME) continue;
    const options: unknown = entry.options ?? {};
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new StrideError('the Stride plugin options in nx.json must be an object', {
        setting: 'plugins[@stride/nx].options',
        value: options,
        fix: 'write them as { "cacheDirectory": ".stride/cache", ... }',
      });
    }
    return options as Record<string, unknown>;
  }
  return {};
}
