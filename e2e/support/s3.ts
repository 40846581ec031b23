// Test helpers: a real local S3 server (s3rver) behind a TCP fault proxy, and
// an S3 client tuned to fail fast so that fault tests stay quick.
import { S3Client } from '@aws-sdk/client-s3';
import { startFaultProxy } from '../../tools/s3/fault-proxy.mjs';
import type { FaultProxy } from '../../tools/s3/fault-proxy.mjs';
import { startS3Server } from '../../tools/s3/server.mjs';
import type { S3Server } from '../../tools/s3/server.mjs';

export type { FaultMode, FaultProxy } from '../../tools/s3/fault-proxy.mjs';
export type { S3Server } from '../../tools/s3/server.mjs';

// The SDK warns once per process that it will need Node >= 22 from 2027;
// on Node 20 that is expected noise. This is the SDK's own opt-out switch
// (read when a client is constructed).
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3ClientOptions {
  /** Time until response headers arrive, then a TimeoutError; default 5000. */
  requestTimeoutMs?: number;
  /** Time to establish the TCP connection; default 2000. */
  connectionTimeoutMs?: number;
  /**
   * Reuse sockets between requests; default false, so that every request
   * opens a new proxy connection and picks up the proxy's current mode.
   */
  keepAlive?: boolean;
}

/** The credentials startS3Server() registers by default. */
export const TEST_CREDENTIALS: S3Credentials = {
  accessKeyId: 'stride',
  secretAccessKey: 'stride-secret',
};

/** Starts s3rver and a pass-through fault proxy in front of it. */
export async function startS3WithProxy(): Promise<{
  s3: S3Server;
  proxy: FaultProxy;
  stop(): Promise<void>;
}> {
  const s3 = await startS3Server();
  let proxy: FaultProxy;
  try {
    proxy = await startFaultProxy({ targetHost: s3.host, targetPort: s3.port });
  } catch (err) {
    await s3.stop();
    throw err;
  }
  return {
    s3,
    proxy,
    async stop() {
      // Proxy first, so no request reaches a server that is going away.
      await proxy.stop();
      await s3.stop();
    },
  };
}

/**
 * An S3Client for the local server or the proxy: path-style (s3rver has no
 * virtual-hosted buckets on 127.0.0.1), us-east-1, test credentials, short
 * timeouts and a single attempt, so an injected fault surfaces as an error
 * instead of being retried away. Call `client.destroy()` when done.
 */
export function s3Client(
  endpoint: string,
  creds: S3Credentials = TEST_CREDENTIALS,
  options: S3ClientOptions = {},
): S3Client {
  const { requestTimeoutMs = 5_000, connectionTimeoutMs = 2_000, keepAlive = false } = options;
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: creds,
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: requestTimeoutMs,
      connectionTimeout: connectionTimeoutMs,
      // Without this, an exceeded requestTimeout only logs a warning.
      throwOnRequestTimeout: true,
      // Agent options, not an Agent: the SDK treats an Agent instance as
      // "external" and then skips its Expect: 100-continue handshake.
      httpAgent: { keepAlive },
    },
  });
}
