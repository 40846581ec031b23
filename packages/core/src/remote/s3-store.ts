import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { RemoteSettings } from './settings.js';

/** The few object operations the remote cache needs. */
export interface ObjectStore {
  exists(key: string): Promise<boolean>;
  /** Streams the object to `file`; undefined when there is no such object. */
  download(key: string, file: string, maxBytes: number): Promise<number | undefined>;
  /** `replace` overwrites an existing object; otherwise an existing one wins. */
  upload(key: string, file: string, bytes: number, replace: boolean): Promise<void>;
  /** Where the objects live, for messages: `s3://bucket` or the endpoint and bucket. */
  readonly location: string;
}

/** An object larger than the configured limit: refused, not a remote failure. */
export class ArtifactTooLargeError extends Error {}

/** Above this, uploads go up in parts. */
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;

/**
 * An S3 (or S3-compatible) bucket through the AWS SDK v3, loaded only here, on
 * first use: a run without a remote never pays for (or hears from) the SDK.
 * Credentials come from the SDK's default provider chain; Stride never sees them.
 */
export async function createS3Store(settings: RemoteSettings): Promise<ObjectStore> {
  const [{ S3Client, GetObjectCommand, HeadObjectCommand, PutObjectCommand }, { Upload }, { NodeHttpHandler }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/lib-storage'),
    import('@smithy/node-http-handler'),
  ]);
  const client = new S3Client({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    // No flexible checksums (aws-chunked uploads with trailers): several
    // S3-compatible servers store the chunk framing as object bytes. Stride checks
    // every artifact's sha256 itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK's standard retry: up to 3 attempts with exponential backoff and jitter.
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: settings.timeoutMs,
      requestTimeout: settings.timeoutMs,
      throwOnRequestTimeout: true,
    }),
  });
  const Bucket = settings.bucket;
  const isNotFound = (error: unknown): boolean => {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
  };
  return {
    location: settings.endpoint ? `${settings.endpoint}/${Bucket}` : `s3://${Bucket}`,
    async exists(Key) {
      try {
        await client.send(new HeadObjectCommand({ Bucket, Key }));
        return true;
      } catch (error) {
        if (isNotFound(error)) return false;
        throw error;
      }
    },
    async download(Key, file, maxBytes) {
      let response;
      try {
        response = await client.send(new GetObjectCommand({ Bucket, Key }));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
      if ((response.ContentLength ?? 0) > maxBytes) {
        (response.Body as Readable | undefined)?.destroy();
        throw new ArtifactTooLargeError(`${Key} is ${response.ContentLength} bytes, over the ${maxBytes}-byte limit (remote.maxArtifactSize)`);
      }
      let bytes = 0;
      const count = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > maxBytes) done(new ArtifactTooLargeError(`${Key} is over the ${maxBytes}-byte limit (remote.maxArtifactSize)`));
          else done(null, chunk);
        },
      });
      await pipeline(response.Body as Readable, count, createWriteStream(file));
      return bytes;
    },
    async upload(Key, file, bytes, replace) {
      if (bytes <= MULTIPART_THRESHOLD) {
        // If-None-Match: S3 refuses to overwrite an object another machine stored
        // first (servers without conditional writes ignore it; the caller checked existence).
        try {
          await client.send(new PutObjectCommand({ Bucket, Key, Body: createReadStream(file), ContentLength: bytes, ...(replace ? {} : { IfNoneMatch: '*' }) }));
        } catch (error) {
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status !== 412 && status !== 409) throw error; // someone else stored it first: as good as ours
        }
        return;
      }
      await new Upload({ client, params: { Bucket, Key, Body: createReadStream(file) }, queueSize: 2, partSize: 8 * 1024 * 1024 }).done();
    },
  };
}
