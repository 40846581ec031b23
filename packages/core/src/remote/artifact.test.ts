import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SMALL_FILE_BYTES } from '../store/archive.js';
import { LocalStore } from '../store/local-store.js';
import { importArtifact, readArtifact, writeArtifact } from './artifact.js';

async function artifactOf(content = 'export const a = 1;\n'): Promise<{ file: string; root: string }> {
  const root = mkdtempSync(join(tmpdir(), 'stride-artifact-'));
  mkdirSync(join(root, 'dist'));
  writeFileSync(join(root, 'dist/a.js'), content);
  const store = new LocalStore(join(root, '.stride/cache'), root);
  const meta = await store.save({ hash: 'ab12', taskId: 'a:build', durationMs: 3, outputs: ['dist'], terminalOutput: 'built a\n' });
  const file = join(root, 'artifact');
  const { body } = await writeArtifact(store, meta, file);
  // A small artifact stays in memory; the tests below damage it on disk.
  expect(Buffer.isBuffer(body)).toBe(content.length < SMALL_FILE_BYTES);
  if (Buffer.isBuffer(body)) writeFileSync(file, body);
  return { file, root };
}

describe('remote artifacts', () => {
  // Small ones are read whole; one over SMALL_FILE_BYTES takes the streaming path.
  it.each([
    ['a small artifact', 'export const a = 1;\n'],
    ['an artifact over the in-memory limit', 'x'.repeat(SMALL_FILE_BYTES + 4096)],
  ])('round-trips %s into another store and restores the same bytes and output', async (_label, content) => {
    const { file } = await artifactOf(content);
    const checked = await readArtifact(file, 'ab12');
    expect(checked.content !== undefined).toBe(content.length < SMALL_FILE_BYTES);
    const other = mkdtempSync(join(tmpdir(), 'stride-artifact-'));
    const store = new LocalStore(join(other, 'cache'), other);
    const meta = await importArtifact(store, file, checked);
    const hit = await store.restore(meta, ['dist']);
    expect(hit.terminalOutput).toBe('built a\n');
    expect(readFileSync(join(other, 'dist/a.js'), 'utf8')).toBe(content);
  });

  it.each([
    ['truncated', (bytes: Buffer) => bytes.subarray(0, bytes.length - 10), /truncated/],
    ['with a flipped byte', (bytes: Buffer) => Buffer.from(bytes.map((b, i) => (i === bytes.length - 3 ? b ^ 0xff : b))), /checksum mismatch/],
    ['without a header', () => Buffer.from('garbage'), /malformed/],
  ])('refuses an artifact %s', async (_label, damage, message) => {
    const { file } = await artifactOf();
    writeFileSync(file, damage(readFileSync(file)));
    await expect(readArtifact(file, 'ab12')).rejects.toThrow(message);
  });

  it('checks and imports a small artifact straight from memory, as downloaded', async () => {
    const { file } = await artifactOf();
    const bytes = readFileSync(file);
    const checked = await readArtifact(bytes, 'ab12');
    const other = mkdtempSync(join(tmpdir(), 'stride-artifact-'));
    const store = new LocalStore(join(other, 'cache'), other);
    await store.restore(await importArtifact(store, bytes, checked), ['dist']);
    expect(readFileSync(join(other, 'dist/a.js'), 'utf8')).toBe('export const a = 1;\n');
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 0xff;
    await expect(readArtifact(flipped, 'ab12')).rejects.toThrow(/checksum mismatch/);
    await expect(readArtifact(bytes.subarray(0, bytes.length - 5), 'ab12')).rejects.toThrow(/truncated/);
  });

  it('refuses an artifact stored under another hash', async () => {
    const { file } = await artifactOf();
    await expect(readArtifact(file, 'cd34')).rejects.toThrow(/wrong key/);
  });
});
