import { describe, expect, it } from 'vitest';
import { bucketAddress } from './s3-http.js';
import { parseRemoteSettings } from './settings.js';
import { encodeKeyPath, sha256Hex, signS3Request } from './sigv4.js';

describe('signS3Request', () => {
  // The worked example of AWS's S3 SigV4 documentation ("GET Object").
  it('reproduces the signature of AWS’s published GET Object example', () => {
    const headers = signS3Request({
      method: 'GET',
      path: '/test.txt',
      headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9' },
      payloadHash: sha256Hex(''),
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      now: new Date('2013-05-24T00:00:00Z'),
    });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
  });

  it('signs the session token of temporary credentials and never puts the secret in a header', () => {
    const headers = signS3Request({
      method: 'PUT',
      path: '/bucket/key',
      headers: { host: 'h' },
      payloadHash: 'UNSIGNED-PAYLOAD',
      region: 'auto',
      credentials: { accessKeyId: 'AK', secretAccessKey: 'very-secret-value', sessionToken: 'token-1' },
      now: new Date(),
    });
    expect(headers['x-amz-security-token']).toBe('token-1');
    expect(headers.authorization).toContain('x-amz-security-token');
    expect(JSON.stringify(headers)).not.toContain('very-secret-value');
  });
});

describe('encodeKeyPath', () => {
  it('encodes each segment once, RFC 3986 style, keeping the slashes', () => {
    expect(encodeKeyPath("a b/c+d/e!'()*~.-_")).toBe('a%20b/c%2Bd/e%21%27%28%29%2A~.-_');
  });
});

describe('bucketAddress', () => {
  const base = { bucket: 'team-cache', region: 'eu-west-1', endpoint: undefined, forcePathStyle: false };
  it('addresses AWS buckets virtual-hosted in their region', () => {
    const { url, pathPrefix } = bucketAddress(base);
    expect(url.host).toBe('team-cache.s3.eu-west-1.amazonaws.com');
    expect(pathPrefix).toBe('');
  });
  it('uses path style when asked, and for dotted names (TLS wildcards)', () => {
    expect(bucketAddress({ ...base, endpoint: 'http://127.0.0.1:9000', forcePathStyle: true })).toMatchObject({ pathPrefix: '/team-cache' });
    const dotted = bucketAddress({ ...base, bucket: 'my.cache' });
    expect(dotted.url.host).toBe('s3.eu-west-1.amazonaws.com');
    expect(dotted.pathPrefix).toBe('/my.cache');
  });
  it('addresses an IP or localhost endpoint path-style even when not asked, and China regions on amazonaws.com.cn', () => {
    expect(bucketAddress({ ...base, endpoint: 'http://127.0.0.1:9000' }).pathPrefix).toBe('/team-cache');
    expect(bucketAddress({ ...base, endpoint: 'http://[::1]:9000' }).pathPrefix).toBe('/team-cache');
    expect(bucketAddress({ ...base, endpoint: 'http://localhost:9000' }).url.host).toBe('localhost:9000');
    expect(bucketAddress({ ...base, region: 'cn-north-1' }).url.host).toBe('team-cache.s3.cn-north-1.amazonaws.com.cn');
  });
  it('keeps an endpoint’s own path', () => {
    expect(bucketAddress({ ...base, endpoint: 'https://gw.example/s3/', forcePathStyle: true }).pathPrefix).toBe('/s3/team-cache');
  });
});

describe('the endpoint from AWS’s own variables', () => {
  const parse = (raw: object, env: NodeJS.ProcessEnv) => parseRemoteSettings({ bucket: 'team-cache', ...raw }, env, 'remote');
  it('takes AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, when Stride names none (as the SDK does), path-style', () => {
    expect(parse({}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' })).toMatchObject({ endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(parse({}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' })?.endpoint).toBe('http://127.0.0.1:4566');
    expect(parse({ endpoint: 'https://r2.example' }, { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' })?.endpoint).toBe('https://r2.example');
    expect(parse({}, {})?.endpoint).toBeUndefined();
  });
  it('holds it to the same checks, naming the variable', () => {
    expect(() => parse({}, { AWS_ENDPOINT_URL_S3: 'http://localstack:4566' })).toThrow(/refusing plain HTTP to localstack[\s\S]*setting: AWS_ENDPOINT_URL_S3 \(environment\)/);
  });
});
