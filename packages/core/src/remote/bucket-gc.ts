import { StrideError } from '../util/errors.js';
import type { RemoteSettings } from './settings.js';
import { agentFor } from './proxy.js';
import { bucketAddress } from './s3-http.js';
import { objectKey, writeLocation } from './locations.js';

/** An object `stride gc --remote` would delete. */
export interface ExpiredObject {
  key: string;
  bytes: number;
  lastModified: Date;
}

/**
 * For S3-compatible stores without lifecycle rules (MinIO, R2 setups): lists,
 * with ListObjectsV2, the objects of one location (`trusted/`, or
 * `scopes/<scope>/`) last written before `olderThanMs` ago, and deletes them
 * when asked. Through the SDK (listing and batch deletes are rare and not on a
 * build's path), on the same proxy as every other remote request.
 */
export async function openBucketGc(settings: RemoteSettings): Promise<{
  listExpired(olderThanMs: number, now?: number): Promise<ExpiredObject[]>;
  remove(keys: string[]): Promise<{ deleted: number; errors: string[] }>;
  /** The listed folder, for messages: `<prefix>/trusted/` or `<prefix>/scopes/<scope>/`. */
  folder: string;
  close(): void;
}> {
  const [{ S3Client, ListObjectsV2Command, DeleteObjectsCommand }, { NodeHttpHandler }] = await Promise.all([import('@aws-sdk/client-s3'), import('@smithy/node-http-handler')]);
  const { agent } = await agentFor(bucketAddress(settings).url, process.env, { keepAlive: true, maxSockets: 4 });
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: settings.timeoutMs, requestTimeout: settings.timeoutMs, httpAgent: agent, httpsAgent: agent }),
  });
  // The folder, with its trailing slash: `scopes/pr-1/` must not list `scopes/pr-12/`.
  const location = writeLocation(settings);
  if (location === undefined) {
    throw new StrideError(`the scope "${settings.scope}" writes nothing to the bucket, so there is nothing of it to clean`, { setting: '--scope', value: settings.scope, fix: 'name the scope to clean, e.g. --scope pr-7, or --scope trusted' });
  }
  const folder = objectKey(settings, location, '');
  return {
    folder,
    async listExpired(olderThanMs, now = Date.now()) {
      const expired: ExpiredObject[] = [];
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: folder, ContinuationToken }));
        for (const object of page.Contents ?? []) {
          // Listed keys are the bucket's word: only keys inside the folder are ever candidates.
          if (!object.Key?.startsWith(folder) || !object.LastModified) continue;
          if (now - object.LastModified.getTime() > olderThanMs) expired.push({ key: object.Key, bytes: object.Size ?? 0, lastModified: object.LastModified });
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
      return expired;
    },
    async remove(keys) {
      let deleted = 0;
      const errors: string[] = [];
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000).filter((key) => key.startsWith(folder));
        const answer = await client.send(new DeleteObjectsCommand({ Bucket: settings.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
        for (const error of answer.Errors ?? []) errors.push(`${error.Key ?? '?'}: ${error.Code ?? 'error'} ${error.Message ?? ''}`.trim());
        deleted += batch.length - (answer.Errors?.length ?? 0);
      }
      return { deleted, errors };
    },
    close: () => client.destroy(),
  };
}
