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
  await writeArtifact(store, meta, file, undefined);
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

  it('refuses an artifact stored under another hash', async () => {
    const { file } = await artifactOf();
    await expect(readArtifact(file, 'cd34')).rejects.toThrow(/wrong key/);
  });
});
