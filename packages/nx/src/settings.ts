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
  maxCacheBytes: number;
  maxCacheAgeMs: number;
  /** The S3 remote cache; undefined when no bucket is configured (local store only). */
  remote: RemoteSettings | undefined;
  /**
   * The run's scope and public keys, known with or without a bucket: a store
   * folder shared by PR and main jobs needs them as much as the bucket does.
   */
  trust: { scope: string; publicKeys: string[] };
}

const KNOWN_OPTIONS = ['cacheDirectory', 'maxCacheSize', 'maxCacheAge', 'remote'] as const;
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
  const cacheDirectory = env.STRIDE_CACHE_DIRECTORY ?? options.cacheDirectory ?? DEFAULTS.cacheDirectory;
  if (typeof cacheDirectory !== 'string' || cacheDirectory.trim() === '') {
    throw new StrideError('the cache directory must be a non-empty path', {
      setting: 'plugins[@stride/nx].options.cacheDirectory',
      value: cacheDirectory,
      fix: 'set it to a folder path, relative to the workspace root or absolute (default ".stride/cache")',
    });
  }
  const remote = parseRemoteSettings(options.remote, env, 'plugins[@stride/nx].options.remote');
  return {
    strideDir: join(root, '.stride'),
    cacheDirectory: isAbsolute(cacheDirectory) ? cacheDirectory : join(root, cacheDirectory),
    maxCacheBytes: parseSize(options.maxCacheSize ?? DEFAULTS.maxCacheSize, 'plugins[@stride/nx].options.maxCacheSize'),
    maxCacheAgeMs: parseAge(options.maxCacheAge ?? DEFAULTS.maxCacheAge, 'plugins[@stride/nx].options.maxCacheAge'),
    remote,
    trust: remote ? { scope: remote.scope, publicKeys: remote.publicKeys } : trustWithoutBucket(options.remote, env),
  };
}

/** Scope and public keys as the remote block would give them, read the same way when no bucket is set. */
function trustWithoutBucket(raw: unknown, env: NodeJS.ProcessEnv): StrideSettings['trust'] {
  const block = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const scope = env.STRIDE_REMOTE_SCOPE || (typeof block.scope === 'string' ? block.scope : DEFAULT_SCOPE);
  const keys = Array.isArray(block.publicKeys) ? block.publicKeys.filter((k): k is string => typeof k === 'string') : [];
  return { scope, publicKeys: keys };
}

function pluginOptions(nxJson: NxJsonConfiguration): Record<string, unknown> {
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
