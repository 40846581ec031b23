import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StrideError } from '../util/errors.js';

export interface ArtifactSignature {
  /** Which public key verifies it: the first 16 hex digits of the sha256 of its SPKI DER. */
  keyId: string;
  /** Base64 Ed25519 signature. */
  value: string;
}

/**
 * The kinds of signed records, each a JSON object whose `magic` field names
 * it: a Stride artifact header (which is also a store entry's meta.json), an
 * Nx cache blob's header kept for `stride serve`, and the trusted timing
 * history. `magic` is signed like every other field, so a signature can never
 * be moved from one kind of record to another.
 */
export type SignedKind = 'stride-artifact' | 'stride-nx-blob' | 'stride-timings';

/** Prefix of every signed message: the signing scheme, so another scheme's signature never verifies here. */
const SIGNATURE_DOMAIN = 'stride-signed-record-v2\n';

/**
 * Canonical JSON (the RFC 8785 "JCS" form for the values Stride writes):
 * object keys sorted by UTF-16 code units, no whitespace, strings and numbers
 * as JSON.stringify writes them, keys whose value is undefined left out.
 * Anything JSON cannot carry exactly (a non-finite number, a function, a
 * bigint) is refused rather than silently changed, so what is signed is always
 * what a reader parses back.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new StrideError(`a signed record cannot hold the number ${String(value)}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new StrideError(`a signed record cannot hold a ${typeof value}`);
}

/** A record as signed: every field but `signature`, in canonical JSON, after the scheme's prefix. */
function signedMessage(record: object): Buffer {
  const { signature: _signature, ...rest } = record as Record<string, unknown>;
  return Buffer.from(`${SIGNATURE_DOMAIN}${canonicalJson(rest)}`);
}

/**
 * The trusted writer's private key, from STRIDE_SIGNING_KEY (PEM, or base64
 * PKCS#8 DER) or the file STRIDE_SIGNING_KEY_FILE names. Errors never echo it.
 */
export function loadSigningKey(env: NodeJS.ProcessEnv): KeyObject | undefined {
  let text = env.STRIDE_SIGNING_KEY;
  let source = 'STRIDE_SIGNING_KEY';
  if (!text && env.STRIDE_SIGNING_KEY_FILE) {
    source = `STRIDE_SIGNING_KEY_FILE (${env.STRIDE_SIGNING_KEY_FILE})`;
    try {
      text = readFileSync(env.STRIDE_SIGNING_KEY_FILE, 'utf8');
    } catch {
      throw new StrideError('cannot read the signing key file', { setting: source, fix: 'point STRIDE_SIGNING_KEY_FILE at the private key `stride keygen` wrote' });
    }
  }
  // A key file that was named but is empty (a secret mount that failed) must not mean "no key".
  if (!text && source !== 'STRIDE_SIGNING_KEY') throw new StrideError('the signing key file is empty', { setting: source, fix: 'put the key in that file, or unset STRIDE_SIGNING_KEY_FILE' });
  if (!text) return undefined;
  try {
    const key = text.includes('-----BEGIN')
      ? createPrivateKey(text)
      : createPrivateKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'pkcs8' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return key;
  } catch {
    throw new StrideError('the signing key is not an Ed25519 private key', {
      setting: source,
      fix: 'create one with `stride keygen` and give the private key (PEM or base64 PKCS#8 DER)',
    });
  }
}

/** A public key given as PEM or as base64 SPKI DER (the line `stride keygen` prints). */
export function parsePublicKey(text: string, setting: string): KeyObject {
  try {
    const key = text.includes('-----BEGIN')
      ? createPublicKey(text)
      : createPublicKey({ key: Buffer.from(text.trim(), 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') throw new Error('not ed25519');
    return key;
  } catch {
    throw new StrideError('not an Ed25519 public key', { setting, value: text.slice(0, 80), fix: 'paste the public key line `stride keygen` printed' });
  }
}

/** The id of a key pair, from either of its keys. */
export function keyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
}

/**
 * Signs a whole record: every field but `signature` (the record's `magic`
 * names its kind). Returns the signature to put in the record's `signature`.
 */
export function signRecord(privateKey: KeyObject, record: { readonly magic: SignedKind }): ArtifactSignature {
  return { keyId: keyId(privateKey), value: sign(null, signedMessage(record), privateKey).toString('base64') };
}

/**
 * True when the record is of `kind` and one of `publicKeys` verifies its
 * `signature` over every other field, exactly as parsed: a field added,
 * removed or edited anywhere in the record makes it false.
 */
export function verifyRecord(publicKeys: readonly KeyObject[], record: unknown, kind: SignedKind): boolean {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return false;
  const fields = record as Record<string, unknown>;
  const signature = fields.signature as Partial<ArtifactSignature> | undefined;
  if (fields.magic !== kind || typeof signature !== 'object' || signature === null) return false;
  if (typeof signature.value !== 'string' || typeof signature.keyId !== 'string') return false;
  let message: Buffer;
  try {
    message = signedMessage(fields);
  } catch {
    return false;
  }
  const value = Buffer.from(signature.value, 'base64');
  return publicKeys.some((key) => keyId(key) === signature.keyId && verify(null, message, key, value));
}

/** A fresh key pair: the private key as PEM, the public key as one base64 line for nx.json. */
export function generateSigningKeyPair(): { privateKeyPem: string; publicKey: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    keyId: keyId(publicKey),
  };
}
