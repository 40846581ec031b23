import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { StrideError } from '../util/errors.js';

/** First bytes of an encrypted object: the magic, then the 12-byte IV; the 16-byte GCM tag is the last bytes. */
const MAGIC = Buffer.from('stride-aes256gcm-v1\n');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The client-side encryption key, from STRIDE_ENCRYPTION_KEY (32 bytes as 64 hex
 * digits or base64) or the file STRIDE_ENCRYPTION_KEY_FILE names; never from
 * nx.json. Errors never echo it.
 */
export function loadEncryptionKey(env: NodeJS.ProcessEnv): Buffer | undefined {
  let text = env.STRIDE_ENCRYPTION_KEY;
  let source = 'STRIDE_ENCRYPTION_KEY';
  if (!text && env.STRIDE_ENCRYPTION_KEY_FILE) {
    source = `STRIDE_ENCRYPTION_KEY_FILE (${env.STRIDE_ENCRYPTION_KEY_FILE})`;
    try {
      text = readFileSync(env.STRIDE_ENCRYPTION_KEY_FILE, 'utf8');
    } catch {
      throw new StrideError('cannot read the encryption key file', { setting: source, fix: 'point STRIDE_ENCRYPTION_KEY_FILE at a file holding the key' });
    }
  }
  // A key file that was named but is empty (a secret mount that failed) must not mean "no key".
  if (!text && source !== 'STRIDE_ENCRYPTION_KEY') throw new StrideError('the encryption key file is empty', { setting: source, fix: 'put the key in that file, or unset STRIDE_ENCRYPTION_KEY_FILE' });
  if (!text) return undefined;
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new StrideError('the encryption key is not 32 bytes', { setting: source, fix: 'generate one with `openssl rand -hex 32` and give all 64 hex digits (or its base64)' });
  }
  return key;
}

/** True when the file (or the bytes) starts like an object this module encrypted. */
export async function isEncrypted(file: string | Buffer): Promise<boolean> {
  if (Buffer.isBuffer(file)) return file.length >= MAGIC.length && file.subarray(0, MAGIC.length).equals(MAGIC);
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, MAGIC.length, 0);
    return bytesRead === MAGIC.length && head.equals(MAGIC);
  } finally {
    await handle.close();
  }
}

/**
 * AES-256-GCM, streamed: `dest` = magic, IV, ciphertext, tag. `context` (the
 * object's hash and kind) is authenticated too, so a ciphertext moved under
 * another hash does not decrypt.
 */
export async function encryptFile(key: Buffer, context: string, src: string, dest: string): Promise<void> {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const out = createWriteStream(dest);
  out.write(Buffer.concat([MAGIC, iv]));
  await pipeline(createReadStream(src), cipher, out, { end: false });
  await new Promise<void>((resolve, reject) => out.end(cipher.getAuthTag(), (error?: Error | null) => (error ? reject(error) : resolve())));
}

/**
 * Decrypts what encryptFile wrote. Throws (and leaves no `dest`) when the
 * object is not encrypted, was made with another key or context, or was altered
 * or truncated: GCM's tag is checked before the plaintext is trusted.
 */
export async function decryptFile(key: Buffer, context: string, src: string, dest: string): Promise<void> {
  const size = (await stat(src)).size;
  if (size < MAGIC.length + IV_BYTES + TAG_BYTES || !(await isEncrypted(src))) throw new Error('it is not an encrypted Stride object');
  const handle = await open(src, 'r');
  const iv = Buffer.alloc(IV_BYTES);
  const tag = Buffer.alloc(TAG_BYTES);
  try {
    await handle.read(iv, 0, IV_BYTES, MAGIC.length);
    await handle.read(tag, 0, TAG_BYTES, size - TAG_BYTES);
  } finally {
    await handle.close();
  }
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(tag);
  try {
    await pipeline(createReadStream(src, { start: MAGIC.length + IV_BYTES, end: size - TAG_BYTES - 1 }), decipher, createWriteStream(dest));
  } catch {
    await rm(dest, { force: true });
    throw new Error('it does not decrypt with STRIDE_ENCRYPTION_KEY (another key, or altered bytes)');
  }
}

/** encryptFile for a small object held in memory: the same bytes as the file would hold. */
export function encryptBytes(key: Buffer, context: string, plain: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  return Buffer.concat([MAGIC, iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** decryptFile for a small object held in memory; throws the same way. */
export function decryptBytes(key: Buffer, context: string, sealed: Buffer): Buffer {
  if (sealed.length < MAGIC.length + IV_BYTES + TAG_BYTES || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('it is not an encrypted Stride object');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(MAGIC.length, MAGIC.length + IV_BYTES));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(MAGIC.length + IV_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new Error('it does not decrypt with STRIDE_ENCRYPTION_KEY (another key, or altered bytes)');
  }
}
