import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { STRIDE_FORMAT_VERSION } from '../hash/task-hash.js';
import { StrideError } from '../util/errors.js';

export interface ArtifactSignature {
  /** Which public key verifies it: the first 16 hex digits of the sha256 of its SPKI DER. */
  keyId: string;
  /** Base64 Ed25519 signature. */
  value: string;
}

/** What is signed: a Stride artifact, or an Nx cache blob kept for `stride serve`. */
export type SignedKind = 'stride-artifact' | 'nx-blob';

/**
 * What a signature covers: the kind of object, the hash, Stride's format
 * version and the digest of the bytes, so a valid signature can be moved neither
 * onto another hash, nor onto other bytes, nor from one kind of object to the other.
 */
function signedMessage(hash: string, payloadSha256: string, kind: SignedKind): Buffer {
  return Buffer.from(`${kind}\n${STRIDE_FORMAT_VERSION}\n${hash}\n${payloadSha256}\n`);
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

export function signArtifact(privateKey: KeyObject, hash: string, payloadSha256: string, kind: SignedKind = 'stride-artifact'): ArtifactSignature {
  return {
    keyId: keyId(privateKey),
    value: sign(null, signedMessage(hash, payloadSha256, kind), privateKey).toString('base64'),
  };
}

/** True when one of `publicKeys` verifies the signature over this hash and these bytes. */
export function verifyArtifact(
  publicKeys: readonly KeyObject[],
  hash: string,
  payloadSha256: string,
  signature: ArtifactSignature | undefined,
  kind: SignedKind = 'stride-artifact',
): boolean {
  if (!signature || typeof signature.value !== 'string') return false;
  const message = signedMessage(hash, payloadSha256, kind);
  return publicKeys.some((key) => keyId(key) === signature.keyId && verify(null, message, key, Buffer.from(signature.value, 'base64')));
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
