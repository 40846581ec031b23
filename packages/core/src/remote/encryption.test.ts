import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decryptBytes, decryptFile, encryptBytes, encryptFile, isEncrypted, loadEncryptionKey } from './encryption.js';

describe('client-side encryption (AES-256-GCM)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stride-enc-'));
  const key = randomBytes(32);
  const plain = randomBytes(200_000);
  writeFileSync(join(dir, 'plain'), plain);

  it('round-trips, and the bucket sees no plaintext', async () => {
    await encryptFile(key, 'stride-artifact:abc', join(dir, 'plain'), join(dir, 'enc'));
    expect(await isEncrypted(join(dir, 'enc'))).toBe(true);
    expect(readFileSync(join(dir, 'enc')).includes(plain.subarray(0, 64))).toBe(false);
    await decryptFile(key, 'stride-artifact:abc', join(dir, 'enc'), join(dir, 'out'));
    expect(readFileSync(join(dir, 'out'))).toEqual(plain);
  });

  it('encrypts small objects in memory in the same format as files, and refuses the same tampering', async () => {
    const small = plain.subarray(0, 5000);
    const sealed = encryptBytes(key, 'stride-artifact:abc', small);
    expect(await isEncrypted(sealed)).toBe(true);
    writeFileSync(join(dir, 'sealed'), sealed);
    await decryptFile(key, 'stride-artifact:abc', join(dir, 'sealed'), join(dir, 'sealed-out'));
    expect(readFileSync(join(dir, 'sealed-out'))).toEqual(small);
    await encryptFile(key, 'stride-artifact:abc', join(dir, 'plain'), join(dir, 'enc3'));
    expect(decryptBytes(key, 'stride-artifact:abc', readFileSync(join(dir, 'enc3')))).toEqual(plain);
    const flipped = Buffer.from(sealed);
    flipped[100] = (flipped[100] as number) ^ 1;
    expect(() => decryptBytes(key, 'stride-artifact:abc', flipped)).toThrow(/does not decrypt/);
    expect(() => decryptBytes(key, 'stride-artifact:other', sealed)).toThrow(/does not decrypt/);
    expect(() => decryptBytes(key, 'stride-artifact:abc', small)).toThrow(/not an encrypted/);
  });

  it('refuses another key, another hash, a flipped byte and a truncated object, leaving nothing behind', async () => {
    await encryptFile(key, 'stride-artifact:abc', join(dir, 'plain'), join(dir, 'enc2'));
    const bytes = readFileSync(join(dir, 'enc2'));
    const flipped = Buffer.from(bytes);
    flipped[1000] = (flipped[1000] as number) ^ 1;
    writeFileSync(join(dir, 'flipped'), flipped);
    writeFileSync(join(dir, 'short'), bytes.subarray(0, bytes.length - 100));
    const cases: Array<[Buffer, string, string]> = [
      [randomBytes(32), 'stride-artifact:abc', 'enc2'],
      [key, 'stride-artifact:other', 'enc2'],
      [key, 'stride-artifact:abc', 'flipped'],
      [key, 'stride-artifact:abc', 'short'],
    ];
    for (const [k, context, file] of cases) {
      await expect(decryptFile(k, context, join(dir, file), join(dir, 'bad-out'))).rejects.toThrow(/does not decrypt/);
      expect(existsSync(join(dir, 'bad-out'))).toBe(false);
    }
  });

  it('reads the key from the environment only, and names the setting without echoing a bad key', () => {
    expect(loadEncryptionKey({})).toBeUndefined();
    expect(loadEncryptionKey({ STRIDE_ENCRYPTION_KEY: 'ab'.repeat(32) })?.length).toBe(32);
    expect(() => loadEncryptionKey({ STRIDE_ENCRYPTION_KEY: 'too-short-secret' })).toThrow(/STRIDE_ENCRYPTION_KEY[\s\S]*openssl rand -hex 32/);
    try {
      loadEncryptionKey({ STRIDE_ENCRYPTION_KEY: 'too-short-secret' });
    } catch (error) {
      expect(String(error)).not.toContain('too-short-secret');
    }
  });
});
