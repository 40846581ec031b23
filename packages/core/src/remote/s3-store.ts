import { createReadStream, createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { RemoteSettings } from './settings.js';
import { SMALL_FILE_BYTES } from '../store/archive.js';
import { agentFor, proxyFor } from './proxy.js';
import { bucketAddress, type ObjectBytes, readBody, S3_AGENT_OPTIONS, S3Http } from './s3-http.js';
import type { AwsCredentials } from './sigv4.js';

/** The few object operations the remote cache needs. */
export interface ObjectStore {
  exists(key: string): Promise<boolean>;
  /**
   * Fetches the object: a small one (up to SMALL_FILE_BYTES) into memory, a
   * larger one streamed to `spill`. Undefined when there is no such object.
   */
  download(key: string, spill: string, maxBytes: number): Promise<Downloaded | undefined>;
  /**
   * `replace` overwrites an existing object; otherwise an existing one wins.
   * False when the bucket kept an object another writer stored first.
   */
  upload(key: string, body: ObjectBytes, replace: boolean): Promise<boolean>;
  /** Where the objects live, for messages: `s3://bucket` or the endpoint and bucket. */
  readonly location: string;
  /** What the run should be told once about the store (e.g. a region S3 corrected), for the remote's warning. */
  readonly notes?: readonly string[];
}

/** A downloaded object: its size, and its bytes, or the path of the file they were streamed to. */
export interface Downloaded {
  bytes: number;
  source: Buffer | string;
}

/** An object larger than the configured limit: refused, not a remote failure. */
export class ArtifactTooLargeError extends Error {}

/** Above this, uploads go up in parts. */
const MULTIPART_THRESHOLD = 16 * 1024 * 1024;

/**
 * An S3 (or S3-compatible) bucket. Single objects go through `S3Http` (signed
 * requests on pooled connections); uploads above 16 MiB go up in parts through
 * the AWS SDK's `lib-storage`, loaded only then. Credentials come from the SDK's
 * default provider chain (env, profile, SSO, web identity, instance role), loaded
 * on the first request: a run without a remote never pays for (or hears from) it.
 */
export async function createS3Store(settings: RemoteSettings): Promise<ObjectStore> {
  let provider: (() => Promise<AwsCredentials>) | undefined;
  const credentials = async (): Promise<AwsCredentials> => {
    if (!provider) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      provider = defaultProvider(await credentialClientConfig(settings));
    }
    return provider();
  };
  const target = bucketAddress(settings).url;
  const connection = await agentFor(target, process.env, S3_AGENT_OPTIONS);
  const s3 = new S3Http(settings, credentials, connection);
  const Bucket = settings.bucket;
  return {
    location: settings.endpoint ? `${settings.endpoint}/${Bucket}` : `s3://${Bucket}`,
    notes: s3.notes,
    // S3Http.send answers only with a success, a 404 to a read, or a 409/412 to a conditional write.
    async exists(key) {
      const response = await s3.send('HEAD', key);
      response.resume();
      return response.statusCode !== 404;
    },
    async download(key, spill, maxBytes) {
      const response = await s3.send('GET', key);
      if (response.statusCode === 404) {
        response.resume();
        return undefined;
      }
      const declared = Number(response.headers['content-length'] ?? NaN);
      if (declared > maxBytes) {
        response.destroy();
        throw new ArtifactTooLargeError(`${key} is ${declared} bytes, over the ${maxBytes}-byte limit (remote.maxArtifactSize)`);
      }
      const got: Downloaded = declared <= SMALL_FILE_BYTES ? { source: await readBody(response, declared), bytes: 0 } : { source: spill, bytes: await streamToFile(response, spill, key, maxBytes) };
      if (Buffer.isBuffer(got.source)) got.bytes = got.source.length;
      // A connection cut short of the declared length is a failed download, never a short object.
      if (Number.isFinite(declared) && got.bytes !== declared) throw new Error(`GET ${key}: the download ended after ${got.bytes} of ${declared} bytes`);
      return got;
    },
    async upload(key, body, replace) {
      if (!Buffer.isBuffer(body) && body.bytes > MULTIPART_THRESHOLD) {
        await multipartUpload({ ...settings, region: s3.region }, key, body.file, credentials, target);
        return true;
      }
      // If-None-Match: S3 refuses to overwrite an object another machine stored
      // first (servers without conditional writes ignore it and overwrite, which
      // is as safe: each PUT replaces the object whole).
      const response = await s3.send('PUT', key, body, !replace);
      response.resume();
      // 412 (409 while another conditional write is in flight): theirs is as good as ours.
      return response.statusCode !== 412 && response.statusCode !== 409;
    },
  };
}

/**
 * The SDK's own clients in the credential chain (STS for web identity, as GitHub's OIDC roles use, and SSO)
 * read no *_PROXY variable: behind a proxy they get the same kind of agent as the bucket's requests. The
 * instance and container metadata endpoints are link-local and never take this client config.
 */
async function credentialClientConfig(settings: RemoteSettings): Promise<{ clientConfig?: { requestHandler: NodeHttpHandler } }> {
  const sts = new URL(process.env.AWS_ENDPOINT_URL_STS || process.env.AWS_ENDPOINT_URL || `https://sts.${settings.region}.amazonaws.com`);
  if (!proxyFor(sts, process.env)) return {};
  const [{ agent }, handlers] = await Promise.all([agentFor(sts, process.env, { keepAlive: true, maxSockets: 4 }), import('@smithy/node-http-handler')]);
  return { clientConfig: { requestHandler: new handlers.NodeHttpHandler({ connectionTimeout: settings.timeoutMs, requestTimeout: settings.timeoutMs, httpAgent: agent, httpsAgent: agent }) } };
}

async function streamToFile(response: IncomingMessage, file: string, key: string, maxBytes: number): Promise<number> {
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) done(new ArtifactTooLargeError(`${key} is over the ${maxBytes}-byte limit (remote.maxArtifactSize)`));
      else done(null, chunk);
    },
  });
  await pipeline(response, count, createWriteStream(file));
  return bytes;
}

/** A large artifact in 8 MiB parts through the AWS SDK, loaded only for such an upload. */
async function multipartUpload(settings: RemoteSettings, key: string, file: string, credentials: () => Promise<AwsCredentials>, target: URL): Promise<void> {
  // Through the same proxy as the direct path (the SDK reads no *_PROXY variable itself), in a pool of
  // its own, since destroying the client destroys its agents.
  const { agent } = await agentFor(target, process.env, { keepAlive: true, maxSockets: 4 });
  const [{ S3Client }, { Upload }, { NodeHttpHandler }] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/lib-storage'),
    import('@smithy/node-http-handler'),
  ]);
  const client = new S3Client({
    region: settings.region,
    credentials,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    forcePathStyle: settings.forcePathStyle,
    // No flexible checksums (aws-chunked uploads with trailers): several
    // S3-compatible servers store the chunk framing as object bytes. Stride checks
    // every artifact's sha256 itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    // No `Expect: 100-continue` on the parts: measured through tinyproxy 1.11, every 8 MiB part sent with it
    // came back 400 (the proxy mishandles the interim answer), and with an agent of our own the SDK sends the
    // body without waiting for the 100 anyway, so the header only adds a way to fail.
    expectContinueHeader: false,
    requestHandler: new NodeHttpHandler({ connectionTimeout: settings.timeoutMs, requestTimeout: settings.timeoutMs, throwOnRequestTimeout: true, httpAgent: agent, httpsAgent: agent }),
  });
  try {
    // Each part carries its x-amz-checksum-sha256 (a header: lib-storage hands the SDK whole Buffers, so no
    // aws-chunked trailer), which S3 verifies on arrival and Object Lock buckets require.
    await new Upload({ client, params: { Bucket: settings.bucket, Key: key, Body: createReadStream(file), ChecksumAlgorithm: 'SHA256' }, queueSize: 2, partSize: 8 * 1024 * 1024 }).done();
  } finally {
    client.destroy();
  }
}
