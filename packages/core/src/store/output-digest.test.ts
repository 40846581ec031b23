import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { digestOutputs, outputsDiffer, verdictOf } from './output-digest.js';

describe('verifying a restored artifact', () => {
  it('digests every output file, links by their target', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-digest-'));
    mkdirSync(join(root, 'dist/sub'), { recursive: true });
    writeFileSync(join(root, 'dist/a.js'), 'a');
    writeFileSync(join(root, 'dist/sub/b.js'), 'b');
    symlinkSync('a.js', join(root, 'dist/link.js'));
    const digests = await digestOutputs(root, ['dist']);
    expect(Object.keys(digests)).toEqual(['dist/a.js', 'dist/link.js', 'dist/sub/b.js']);
    expect(digests['dist/a.js']).not.toBe(digests['dist/link.js']);
  });

  it('tells a reproduced artifact from a poisoned one and from a non-deterministic task', () => {
    const clean = { 'dist/a.js': '1' };
    expect(verdictOf(clean, clean, clean)).toEqual({ verdict: 'reproduced', files: [] });
    expect(verdictOf({ 'dist/a.js': 'evil' }, clean, clean)).toEqual({ verdict: 'differs-reproducibly', files: ['dist/a.js'] });
    expect(verdictOf(clean, clean, { 'dist/a.js': '2', 'dist/extra': '3' })).toEqual({ verdict: 'non-deterministic', files: ['dist/a.js', 'dist/extra'] });
  });

  it('calls an entry recording other outputs than the task declares a mismatch, whatever their shape', () => {
    expect(outputsDiffer(['libs/a/dist', 'libs/a/dist/types/**'], ['libs/a/dist/types/**', 'libs/a/dist'])).toBe(false);
    expect(outputsDiffer(['../victim'], ['libs/a/dist'])).toBe(true);
    expect(outputsDiffer(['../..'], ['libs/a/dist'])).toBe(true);
    expect(outputsDiffer(['libs/a/dist', '../victim'], ['libs/a/dist'])).toBe(true);
    expect(outputsDiffer(undefined, ['libs/a/dist'])).toBe(true);
    expect(outputsDiffer('libs/a/dist', ['libs/a/dist'])).toBe(true);
    expect(outputsDiffer([1], ['libs/a/dist'])).toBe(true);
  });

  it('never reads through a link to a folder: digests list the link, not what it points to', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stride-digest-'));
    const outside = mkdtempSync(join(tmpdir(), 'stride-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    mkdirSync(join(root, 'dist'));
    symlinkSync(outside, join(root, 'dist/types'));
    expect(Object.keys(await digestOutputs(root, ['dist', 'dist/types/**']))).toEqual(['dist/types']);
  });
});
