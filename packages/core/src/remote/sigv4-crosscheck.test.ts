import { createHash } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { type AwsCredentials, canonicalQuery, encodeKeyPath, sha256Hex, signS3Request } from './sigv4.js';

// Stride signs its own S3 requests; the SDK's signer is the reference. Many
// generated requests, signed by both, must carry the same Authorization header.

/** A small deterministic generator, so a failure names a request that can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const PIECES = ['a', 'Z', '0', ' ', '+', '=', '&', '%', '~', '.', '-', '_', '!', '*', "'", '(', ')', ',', ';', ':', '@', '$', '#', '?', '[', ']', 'é', 'ß', '日本', '🚀', '\u00a0', 'ü/', '/', '//'];

describe('signS3Request against @smithy/signature-v4', () => {
  it('gives the same Authorization as the SDK’s signer over 400 generated requests', async () => {
    const next = random(23);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
    const text = (max: number): string => Array.from({ length: 1 + Math.floor(next() * max) }, () => pick(PIECES)).join('');
    for (let i = 0; i < 400; i++) {
      const method = pick(['GET', 'HEAD', 'PUT', 'DELETE', 'POST']);
      const key = `stride/${text(12)}`;
      const path = `/${encodeKeyPath('team-cache')}/${encodeKeyPath(key)}`;
      const query: Record<string, string> = {};
      if (next() < 0.5) {
        query['list-type'] = '2';
        query.prefix = text(6);
        if (next() < 0.5) query['continuation-token'] = Buffer.from(text(8)).toString('base64');
        if (next() < 0.3) query['max-keys'] = String(Math.floor(next() * 1000));
      } else if (next() < 0.2) query.delete = '';
      const body = method === 'PUT' || method === 'POST' ? Buffer.from(text(40)) : undefined;
      const payloadHash = body ? sha256Hex(body) : next() < 0.1 ? 'UNSIGNED-PAYLOAD' : sha256Hex('');
      const headers: Record<string, string> = { host: pick(['team-cache.s3.eu-west-1.amazonaws.com', '127.0.0.1:9000', 's3.amazonaws.com']) };
      if (body) {
        headers['content-length'] = String(body.length);
        headers['x-amz-checksum-sha256'] = createHash('sha256').update(body).digest('base64');
        if (next() < 0.5) headers['if-none-match'] = '*';
      }
      if (next() < 0.2) headers['content-type'] = '  application/xml;   charset=utf-8 ';
      const credentials: AwsCredentials = {
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: `wJalrXUtnFEMI/K7MDENG+bPxRfiCY${i}`,
        ...(next() < 0.4 ? { sessionToken: `FQoGZXIvYXdzE${text(5)}//token==` } : {}),
      };
      const region = pick(['us-east-1', 'eu-west-1', 'cn-north-1', 'auto']);
      const now = new Date(Date.UTC(2026, 11, 1, 12, Math.floor(next() * 60), Math.floor(next() * 60)));

      const ours = signS3Request({ method, path, query, headers, payloadHash, region, credentials, now });
      const reference = await new SignatureV4({ credentials, region, service: 's3', sha256: Hash.bind(null, 'sha256'), uriEscapePath: false, applyChecksum: false }).sign(
        {
          method,
          protocol: 'https:',
          hostname: String(headers.host).replace(/:\d+$/, ''),
          path,
          query,
          headers: { ...headers, 'x-amz-content-sha256': payloadHash },
          ...(body ? { body } : {}),
        },
        { signingDate: now },
      );
      const what = JSON.stringify({ i, method, path, query: canonicalQuery(query), headers, token: credentials.sessionToken });
      expect(ours.authorization, what).toBe(reference.headers.authorization);
      expect(ours['x-amz-date'], what).toBe(reference.headers['x-amz-date']);
      if (credentials.sessionToken) expect(ours['x-amz-security-token'], what).toBe(credentials.sessionToken);
    }
  });
});
