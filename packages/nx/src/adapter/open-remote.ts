import type { KeyObject } from 'node:crypto';
import { createS3Store, loadEncryptionKey, loadSigningKey, LocalStore, parsePublicKey, RemoteCache, type StoreTrust } from '@stride/core';
import type { StrideSettings } from '../settings.js';

/** The keys a run holds and the scope it runs as: what its store and its remote sign with and require. */
export interface RunTrust {
  scope: string;
  signingKey: KeyObject | undefined;
  publicKeys: KeyObject[];
}

/** Reads the run's trust once (the signing key from the environment, the public keys from nx.json). */
export function loadRunTrust(settings: StrideSettings, env: NodeJS.ProcessEnv = process.env): RunTrust {
  return {
    scope: settings.trust.scope,
    signingKey: loadSigningKey(env),
    publicKeys: settings.trust.publicKeys.map((text, i) => parsePublicKey(text, `plugins[@stride/nx].options.remote.publicKeys[${i}]`)),
  };
}

/** What the local store needs of it: entries record the scope, a trusted run signs and checks them. */
export function storeTrust(trust: RunTrust): StoreTrust {
  return { scope: trust.scope, publicKeys: trust.publicKeys, ...(trust.signingKey ? { signingKey: trust.signingKey } : {}) };
}

/** The remote tier, when a bucket is configured; the AWS SDK is loaded only then. */
export async function openRemote(settings: StrideSettings, store: LocalStore, trust: RunTrust = loadRunTrust(settings)): Promise<RemoteCache | undefined> {
  if (!settings.remote) return undefined;
  const objects = await createS3Store(settings.remote);
  return new RemoteCache(settings.remote, objects, store, trust.signingKey, trust.publicKeys, loadEncryptionKey(process.env));
}
