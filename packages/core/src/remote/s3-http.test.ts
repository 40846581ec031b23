import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createS3Store } from './s3-store.js';
import { parseRemoteSettings, type RemoteSettings } from './settings.js';

// A plain HTTP server on loopback stands in for S3 where s3rver cannot show the
// behaviour (a skewed clock); every byte still crosses a real socket.
const servers: Array<() => void> = [];
afterEach(() => servers.splice(0).forEach((close) => close()));

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<RemoteSettings> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(() => server.close());
  process.env.AWS_ACCESS_KEY_ID = 'stride';
  process.env.AWS_SECRET_ACCESS_KEY = 'stride-secret';
  const { port } = server.address() as AddressInfo;
  return parseRemoteSettings({ bucket: 'team-cache', endpoint: `http://127.0.0.1:${port}`, timeoutMs: 2000 }, {}, 'remote') as RemoteSettings;
}

describe('S3Http', () => {
  it('corrects its clock from the Date of a bodiless 403 to a HEAD, and signs the retry in server time', async () => {
    const serverAhead = 60 * 60_000;
    const signedAt: number[] = [];
    const settings = await serve((request, response) => {
      const amzDate = String(request.headers['x-amz-date']).replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z');
      signedAt.push(Date.parse(amzDate));
      const skewed = Math.abs(Date.parse(amzDate) - (Date.now() + serverAhead)) > 15 * 60_000;
      response.writeHead(skewed ? 403 : 200, { Date: new Date(Date.now() + serverAhead).toUTCString() });
      response.end();
    });
    const objects = await createS3Store(settings);
    expect(await objects.exists('stride/trusted/abc.stride')).toBe(true);
    expect(signedAt).toHaveLength(2);
    expect((signedAt[1] as number) - (signedAt[0] as number)).toBeGreaterThan(serverAhead - 60_000);
  });

  it('reports a 404 to a PUT (no such bucket) as an error with S3’s code, not as "not there"', async () => {
    const settings = await serve((request, response) => {
      request.resume();
      response.writeHead(404, { 'Content-Type': 'application/xml' });
      response.end('<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>');
    });
    const objects = await createS3Store(settings);
    await expect(objects.upload('k', Buffer.from('x'), false)).rejects.toThrow(/PUT k: 404 NoSuchBucket \(The specified bucket does not exist\)/);
    expect(await objects.download('k', '/nonexistent/spill', 1024)).toBeUndefined();
  });

  it('sends every PUT body with its sha256 as x-amz-checksum-sha256 and as the signed payload hash, in memory and from a file', async () => {
    const seen: Array<{ headers: IncomingMessage['headers']; body: Buffer }> = [];
    const settings = await serve((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({ headers: request.headers, body: Buffer.concat(chunks) });
        response.writeHead(200).end();
      });
    });
    const objects = await createS3Store(settings);
    const file = join(mkdtempSync(join(tmpdir(), 'stride-put-')), 'artifact');
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 7));
    await objects.upload('small', Buffer.from('some artifact bytes'), false);
    await objects.upload('large', { file, bytes: 3 * 1024 * 1024 }, true);
    expect(seen).toHaveLength(2);
    for (const { headers, body } of seen) {
      const digest = createHash('sha256').update(body).digest();
      expect(headers['x-amz-checksum-sha256']).toBe(digest.toString('base64'));
      expect(headers['x-amz-content-sha256']).toBe(digest.toString('hex'));
      expect(String(headers.authorization)).toMatch(/SignedHeaders=[^,]*x-amz-checksum-sha256;x-amz-content-sha256/);
    }
  });

  it('takes a checksum refusal (400 BadDigest) for a refused upload, named and not retried', async () => {
    let puts = 0;
    const settings = await serve((request, response) => {
      request.resume();
      puts++;
      response.writeHead(400, { 'Content-Type': 'application/xml' });
      response.end('<Error><Code>BadDigest</Code><Message>The sha256 you specified did not match the calculated checksum.</Message></Error>');
    });
    const objects = await createS3Store(settings);
    await expect(objects.upload('k', Buffer.from('x'), false)).rejects.toThrow(/PUT k: 400 BadDigest \(The sha256 you specified did not match the calculated checksum\.\): the bucket refused the upload, its bytes did not match their sha256 on arrival/);
    expect(puts).toBe(1);
  });

  it('follows a PermanentRedirect to the bucket’s region once, re-signed there, and says which setting to fix', async () => {
    const regions: string[] = [];
    const settings = await serve((request, response) => {
      request.resume();
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? '';
      regions.push(region);
      if (region === 'eu-west-2') return void response.writeHead(200).end();
      response.writeHead(301, { 'x-amz-bucket-region': 'eu-west-2', 'Content-Type': 'application/xml' });
      response.end(request.method === 'HEAD' ? undefined : '<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>');
    });
    const objects = await createS3Store(settings);
    expect(await objects.exists('stride/trusted/a.stride')).toBe(true);
    expect(await objects.upload('stride/trusted/b.stride', Buffer.from('x'), false)).toBe(true);
    expect(regions).toEqual(['us-east-1', 'eu-west-2', 'eu-west-2']);
    expect(objects.notes).toEqual([expect.stringMatching(/bucket team-cache is in eu-west-2, not us-east-1.*set remote\.region \(or AWS_REGION\) to "eu-west-2"/)]);
  });

  it('follows a region redirect only once, and takes no host name from the header', async () => {
    let requests = 0;
    const settings = await serve((request, response) => {
      request.resume();
      requests++;
      response.writeHead(301, { 'x-amz-bucket-region': requests === 1 ? 'eu-west-2' : 'ap-south-1' });
      response.end();
    });
    const objects = await createS3Store(settings);
    await expect(objects.exists('k')).rejects.toThrow(/HEAD k: 301/);
    expect(requests).toBe(2);
    const evil = await serve((request, response) => {
      request.resume();
      response.writeHead(301, { 'x-amz-bucket-region': 'evil.example.com/x' });
      response.end();
    });
    await expect((await createS3Store(evil)).exists('k')).rejects.toThrow(/HEAD k: 301/);
  });
});
