import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTinyproxy, type Tinyproxy } from '../../../../tools/proxy/tinyproxy.mjs';
import { createS3Store } from './s3-store.js';
import { parseRemoteSettings, type RemoteSettings } from './settings.js';

// GitHub's OIDC roles reach AWS through STS (AssumeRoleWithWebIdentity): behind a proxy, that request must go
// through it too, or CI never gets credentials. A loopback STS and S3 stand in; the proxy is a real tinyproxy.
let proxy: Tinyproxy;
let sts: Server;
let s3: Server;
const seenKeys: string[] = [];
const saved = { ...process.env };

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

beforeAll(async () => {
  proxy = await startTinyproxy();
  sts = createServer((request, response) => {
    request.resume();
    response.writeHead(200, { 'Content-Type': 'text/xml' });
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    response.end(
      `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials>` +
        `<AccessKeyId>ASIAFROMSTS</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey><SessionToken>sts-token</SessionToken><Expiration>${expires}</Expiration>` +
        `</Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/ci/x</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
    );
  });
  s3 = createServer((request, response) => {
    request.resume();
    seenKeys.push(/Credential=([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? '');
    response.writeHead(200).end();
  });
  const [stsUrl] = await Promise.all([listen(sts), listen(s3)]);
  const token = join(mkdtempSync(join(tmpdir(), 'stride-oidc-')), 'token');
  writeFileSync(token, 'eyJ.header.payload');
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'NO_PROXY', 'no_proxy', 'http_proxy']) delete process.env[name];
  Object.assign(process.env, {
    HOME: join(token, '..'),
    AWS_REGION: 'eu-west-1',
    AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/ci',
    AWS_WEB_IDENTITY_TOKEN_FILE: token,
    AWS_ENDPOINT_URL_STS: stsUrl,
    HTTP_PROXY: proxy.url,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  // The first run on a fresh machine installs Debian's tinyproxy (apt-get), which takes longer than a hook's 10 s.
}, 180_000);
afterAll(async () => {
  process.env = saved;
  sts?.close();
  s3?.close();
  await proxy?.stop();
});

it('fetches web-identity credentials from STS through HTTP_PROXY, then signs the bucket requests with them', async () => {
  const endpoint = `http://127.0.0.1:${(s3.address() as AddressInfo).port}`;
  const settings = parseRemoteSettings({ bucket: 'team-cache', endpoint, timeoutMs: 5000 }, process.env, 'remote') as RemoteSettings;
  const objects = await createS3Store(settings);
  expect(await objects.exists('stride/trusted/a.stride')).toBe(true);
  expect(seenKeys).toEqual(['ASIAFROMSTS']);
  const lines = await proxy.requests();
  expect(lines.some((line) => line.startsWith(`POST ${process.env.AWS_ENDPOINT_URL_STS}/`))).toBe(true);
  expect(lines.some((line) => line.startsWith(`HEAD ${endpoint}/team-cache/stride/trusted/a.stride`))).toBe(true);
}, 30_000);
