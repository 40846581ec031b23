import { describe, expect, it } from 'vitest';
import { canonicalJson, generateSigningKeyPair, keyId, loadSigningKey, parsePublicKey, signRecord, verifyRecord } from './signing.js';

describe('artifact signatures', () => {
  const pair = generateSigningKeyPair();
  const other = generateSigningKeyPair();
  const privateKey = loadSigningKey({ STRIDE_SIGNING_KEY: pair.privateKeyPem })!;
  const publicKey = parsePublicKey(pair.publicKey, 'test');

  const record = { magic: 'stride-artifact' as const, hash: 'aaaa', archiveBytes: 10, outputs: ['dist'], archiveSha256: null, scope: 'trusted' };

  it('verifies with the matching public key only', () => {
    const signature = signRecord(privateKey, record);
    expect(keyId(privateKey)).toBe(pair.keyId);
    expect(verifyRecord([publicKey], { ...record, signature }, 'stride-artifact')).toBe(true);
    expect(verifyRecord([parsePublicKey(other.publicKey, 'test')], { ...record, signature }, 'stride-artifact')).toBe(false);
    expect(verifyRecord([publicKey], record, 'stride-artifact')).toBe(false);
  });

  it('covers every field: an edited, added or removed field, or another kind, fails', () => {
    const signature = signRecord(privateKey, record);
    const { outputs: _outputs, ...removed } = record;
    for (const edited of [
      { ...record, archiveBytes: 0 },
      { ...record, hash: 'bbbb' },
      { ...record, outputs: [] },
      { ...record, archiveSha256: '0'.repeat(64) },
      { ...record, scope: 'pr-1' },
      { ...record, extra: true },
      removed,
    ]) {
      expect(verifyRecord([publicKey], { ...edited, signature }, 'stride-artifact')).toBe(false);
    }
    expect(verifyRecord([publicKey], { ...record, magic: 'stride-nx-blob', signature }, 'stride-nx-blob')).toBe(false);
    expect(verifyRecord([publicKey], { ...record, signature }, 'stride-nx-blob')).toBe(false);
    // Key order and whitespace are not signed: the record parsed back from any JSON spelling verifies.
    const reordered = JSON.parse(JSON.stringify({ signature, ...record }, null, 2)) as unknown;
    expect(verifyRecord([publicKey], reordered, 'stride-artifact')).toBe(true);
  });

  it('canonical JSON: sorted keys, no whitespace, undefined left out, non-finite numbers refused', () => {
    expect(canonicalJson({ b: [1, 'x', null], a: { d: true, c: undefined } })).toBe('{"a":{"d":true},"b":[1,"x",null]}');
    expect(() => canonicalJson({ ms: Infinity })).toThrow(/cannot hold/);
    expect(verifyRecord([publicKey], 'not an object', 'stride-artifact')).toBe(false);
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
