import { createHash, createHmac } from 'node:crypto';

/** AWS credentials as the SDK's provider chain returns them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** The payload hash S3 accepts for bodies not hashed before sending (their integrity is Stride's own sha256). */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** RFC 3986 encoding of one path segment, as S3's canonical URI wants it (encoded once, `/` kept between segments). */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** RFC 3986 encoding of a query name or value, as SigV4's canonical query string wants it. */
export const encodeQueryPart = (text: string): string => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The query string to send and to sign: names sorted, names and values encoded once. */
export function canonicalQuery(query: Record<string, string> | undefined): string {
  return Object.entries(query ?? {})
    .map(([name, value]) => [encodeQueryPart(name), encodeQueryPart(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

export interface SignInput {
  method: string;
  /** Already encoded, as it goes on the request line, without a query string. */
  path: string;
  /** Query parameters, unencoded; the request line must carry `canonicalQuery(query)`. */
  query?: Record<string, string>;
  /** Lower-case names; `host` included. Every one of them is signed. */
  headers: Record<string, string>;
  payloadHash: string;
  region: string;
  credentials: AwsCredentials;
  /** Signing time. */
  now: Date;
}

/**
 * AWS Signature Version 4 for an S3 request: returns
 * the headers to send (the input's plus `x-amz-date`, `x-amz-content-sha256`,
 * the session token and `authorization`). The secret never leaves this function
 * except as the derived signature.
 */
export function signS3Request(input: SignInput): Record<string, string> {
  const amzDate = input.now.toISOString().replace(/[:-]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    ...input.headers,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': input.payloadHash,
    ...(input.credentials.sessionToken ? { 'x-amz-security-token': input.credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const canonicalRequest = [
    input.method,
    input.path,
    canonicalQuery(input.query),
    // Only spaces and tabs are folded (line breaks become spaces), as the SDK's signer does: S3 takes a
    // non-breaking space in a value as part of it.
    ...names.map((name) => `${name}:${String(headers[name]).replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')}`),
    '',
    names.join(';'),
    input.payloadHash,
  ].join('\n');
  const scope = `${day}/${input.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${input.credentials.secretAccessKey}`, day), input.region), 's3'), 'aws4_request');
  const signature = hmac(signingKey, stringToSign).toString('hex');
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}
