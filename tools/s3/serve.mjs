// `pnpm s3`: a local S3 server in the foreground, for trying Stride by hand.
// Port from STRIDE_TEST_S3_PORT (default 9000); objects live in a temp dir
// that is removed on exit, so every run starts with an empty bucket.
import { startS3Server } from './server.mjs';

const rawPort = process.env.STRIDE_TEST_S3_PORT ?? '9000';
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`STRIDE_TEST_S3_PORT must be a TCP port number, got "${rawPort}"`);
  process.exit(2);
}

let server;
try {
  server = await startS3Server({
    port,
    bucket: 'stride-test',
    accessKeyId: 'stride',
    secretAccessKey: 'stride-secret',
    // Show s3rver's request log: useful when watching Stride talk to it.
    silent: false,
  });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}

console.log(`S3 (s3rver) listening on ${server.endpoint}, bucket "${server.bucket}"`);
console.log(`Objects are stored in ${server.directory} (deleted on exit).`);
console.log('');
console.log('Point Stride (or the AWS CLI / SDK) at it with:');
console.log('');
const envVars = {
  AWS_ACCESS_KEY_ID: server.accessKeyId,
  AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
  AWS_REGION: server.region,
  STRIDE_REMOTE_ENDPOINT: server.endpoint,
  STRIDE_REMOTE_BUCKET: server.bucket,
  STRIDE_REMOTE_FORCE_PATH_STYLE: 'true',
};
for (const [name, value] of Object.entries(envVars)) console.log(`  export ${name}=${value}`);
console.log('');
console.log('Press Ctrl-C to stop.');

let stopping = false;
const shutdown = async (signal) => {
  // A second Ctrl-C while stopping means "now".
  if (stopping) process.exit(130);
  stopping = true;
  console.log(`\n${signal}: stopping S3 server...`);
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
