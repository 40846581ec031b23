import { createS3Store, loadEncryptionKey, loadSigningKey, LocalStore, parsePublicKey, RemoteCache } from '@stride/core';
import type { StrideSettings } from '../settings.js';

/** The remote tier, when a bucket is configured; the AWS SDK is loaded only then. */
export async function openRemote(settings: StrideSettings, store: LocalStore): Promise<RemoteCache | undefined> {
  if (!settings.remote) return undefined;
  const publicKeys = settings.remote.publicKeys.map((text, i) => parsePublicKey(text, `plugins[@stride/nx].options.remote.publicKeys[${i}]`));
  const objects = await createS3Store(settings.remote);
  return new RemoteCache(settings.remote, objects, store, loadSigningKey(process.env), publicKeys, loadEncryptionKey(process.env));
}
