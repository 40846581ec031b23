import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, keyId, loadSigningKey, parsePublicKey, signArtifact, verifyArtifact } from './signing.js';

describe('artifact signatures', () => {
  const pair = generateSigningKeyPair();
  const other = generateSigningKeyPair();
  const privateKey = loadSigningKey({ STRIDE_SIGNING_KEY: pair.privateKeyPem })!;
  const publicKey = parsePublicKey(pair.publicKey, 'test');

  it('verifies with the matching public key only, and binds hash and bytes', () => {
    const signature = signArtifact(privateKey, 'aaaa', 'digest-1');
    expect(keyId(privateKey)).toBe(pair.keyId);
    expect(verifyArtifact([publicKey], 'aaaa', 'digest-1', signature)).toBe(true);
    expect(verifyArtifact([parsePublicKey(other.publicKey, 'test')], 'aaaa', 'digest-1', signature)).toBe(false);
    expect(verifyArtifact([publicKey], 'bbbb', 'digest-1', signature)).toBe(false);
    expect(verifyArtifact([publicKey], 'aaaa', 'digest-2', signature)).toBe(false);
    expect(verifyArtifact([publicKey], 'aaaa', 'digest-1', undefined)).toBe(false);
  });

  it('never echoes a bad key in its error', () => {
    const secret = 'this-is-not-a-key-but-a-recognisable-secret';
    expect(() => loadSigningKey({ STRIDE_SIGNING_KEY: secret })).toThrow(/not an Ed25519 private key/);
    try {
      loadSigningKey({ STRIDE_SIGNING_KEY: secret });
    } catch (error) {
      expect(String(error)).not.toContain(secret);
    }
  });
});
