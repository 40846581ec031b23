// A real, local S3-compatible server for tests and demos, backed by s3rver.
//
// Why s3rver and not Zenko CloudServer: cloudserver pulls git dependencies
// from GitHub, which cannot be installed here. s3rver is a plain npm package
// that speaks enough of the S3 REST API for the AWS SDK v3 (README.md lists
// the differences from AWS S3 that matter to Stride).
//
// s3rver runs in a child Node process, not in the caller's:
//  - s3rver encrypts ListObjectsV2 continuation tokens with DES, which the
//    OpenSSL 3 in Node >= 17 only offers with --openssl-legacy-provider.
//    In-process, every truncated listing (more keys than MaxKeys) is a 500.
//  - A separate process behaves like a real remote: the test's event loop
//    (and a test that blocks it) cannot stall the server, and vice versa.
//
// Plain ESM JavaScript so that `node tools/s3/serve.mjs` runs without a build.
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
const CHILD_FLAG = '--stride-s3-child';
const START_TIMEOUT_MS = 15_000;

/**
 * Starts s3rver on loopback with one fresh, empty bucket.
 *
 * @param {import('./server.d.mts').S3ServerOptions} [opts]
 * @returns {Promise<import('./server.d.mts').S3Server>}
 */
export async function startS3Server(opts = {}) {
  const {
    port = 0,
    host = '127.0.0.1',
    bucket = 'stride-test',
    accessKeyId = 'stride',
    secretAccessKey = 'stride-secret',
    silent = true,
  } = opts;

  // A caller-supplied directory is kept on stop(); a temp one is ours to
  // delete. The parent owns it so that it is removed even if the child dies.
  const ownsDirectory = opts.directory === undefined;
  const directory = opts.directory ?? (await mkdtemp(join(tmpdir(), 'stride-s3-')));
  const removeDirectory = async () => {
    if (ownsDirectory) await rm(directory, { recursive: true, force: true });
  };

  const child = fork(SELF, [CHILD_FLAG], {
    execArgv: ['--openssl-legacy-provider'],
    // stdout carries s3rver's request log; stderr stays visible for crashes.
    stdio: ['ignore', silent ? 'ignore' : 'inherit', 'inherit', 'ipc'],
  });
  // 'close', not 'exit': it also waits for the IPC and stdio pipes to close,
  // so no handle is left open once stop() resolves.
  const exited = new Promise((resolve) => child.once('close', resolve));

  let actualPort;
  try {
    actualPort = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.once('message', (msg) => {
        clearTimeout(timer);
        if (msg.type === 'ready') resolve(msg.port);
        else reject(new Error(`s3rver failed to start: ${msg.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited during start-up (code ${code}, signal ${signal})`));
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.send({
        type: 'start',
        options: { port, host, bucket, accessKeyId, secretAccessKey, directory, silent },
        ownsDirectory,
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await removeDirectory();
    throw err;
  }

  /** @type {Promise<void> | undefined} */
  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      // Ask politely (s3rver closes its sockets), but never hang a test.
      // (A send callback keeps a closed channel from raising 'error'.)
      if (child.connected) child.send({ type: 'stop' }, (err) => err && child.kill('SIGKILL'));
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited; // resolves at once if the child is already gone
      clearTimeout(killer);
      await removeDirectory();
    })();
    return stopping;
  };

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `http://${urlHost}:${actualPort}`,
    host,
    port: actualPort,
    bucket,
    accessKeyId,
    secretAccessKey,
    region: 'us-east-1',
    directory,
    stop,
  };
}

// ---------------------------------------------------------------------------
// Child side: runs s3rver itself. Only reached when forked by startS3Server().

async function runS3rver({ port, host, bucket, accessKeyId, secretAccessKey, directory, silent }) {
  // s3rver is CommonJS and its account registry is not exported from the
  // main entry, so both come through require().
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver');
  const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

  // s3rver rejects unknown access key ids (403 InvalidAccessKeyId).
  DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);

  // "Fresh, empty bucket" holds even for a reused directory: s3rver keeps a
  // bucket in <directory>/<bucket>, so dropping that resets it.
  await rm(join(directory, bucket), { recursive: true, force: true });

  const server = new S3rver({
    address: host,
    port,
    silent,
    directory,
    // Creates the bucket on disk before the port opens.
    configureBuckets: [{ name: bucket, configs: [] }],
    // Path-style only: with vhostBuckets on, any Host header that is not an
    // IP or "localhost" would be taken as a bucket name.
    vhostBuckets: false,
  });
  const address = await server.run();
  return { server, port: address.port };
}

if (process.argv[1] === SELF && process.argv[2] === CHILD_FLAG && process.send) {
  // The parent orchestrates shutdown; a terminal's Ctrl-C reaches the whole
  // process group, and dying first here would race the parent's stop().
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  let running;
  let tempDirectory;
  // If the parent dies (IPC closed), do not linger as an orphan, and delete
  // the temp dir it can no longer delete.
  process.on('disconnect', async () => {
    if (tempDirectory) await rm(tempDirectory, { recursive: true, force: true });
    process.exit(0);
  });

  const failStart = (err) => {
    const message = err instanceof Error ? err.message : String(err);
    // Exit only once the message is flushed to the parent.
    process.send({ type: 'error', message }, () => process.exit(1));
  };
  // s3rver's listen() reports EADDRINUSE and the like as an 'error' event
  // on its internal http.Server, never through run()'s promise.
  process.on('uncaughtException', (err) => {
    if (!running) return failStart(err);
    console.error('s3rver crashed:', err);
    process.exit(1);
  });

  process.on('message', async (msg) => {
    if (msg.type === 'start' && !running) {
      if (msg.ownsDirectory) tempDirectory = msg.options.directory;
      try {
        running = await runS3rver(msg.options);
        process.send({ type: 'ready', port: running.port });
      } catch (err) {
        failStart(err);
      }
    } else if (msg.type === 'stop') {
      if (running) {
        const closed = running.server.close();
        // close() alone waits for keep-alive sockets held by SDK agents.
        running.server.httpServer.closeAllConnections();
        await closed;
      }
      process.exit(0);
    }
  });
}
