import { describe, expect, it } from 'vitest';
import { computeTaskHash, digestFileSet, stableStringify, type TaskFingerprint } from './task-hash.js';

const base: TaskFingerprint = {
  runner: '@stride/nx:run',
  options: { command: 'tsc', env: { A: '1', B: '2' } },
  fileSets: [['a:default', '1111']],
  values: { 'env:CI': 'true' },
};

describe('computeTaskHash', () => {
  it('is a 16-hex-digit hash that ignores option key order', async () => {
    const hash = await computeTaskHash(base);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(await computeTaskHash({ ...base, options: { env: { B: '2', A: '1' }, command: 'tsc' } })).toBe(hash);
  });

  it.each([
    ['a file set digest', { fileSets: [['a:default', '2222']] as Array<[string, string]> }],
    ['a file set label', { fileSets: [['b:default', '1111']] as Array<[string, string]> }],
    ['an env value', { values: { 'env:CI': 'false' } }],
    ['an option', { options: { command: 'tsc -b' } }],
    ['the runner', { runner: 'nx:run-commands' }],
  ])('changes with %s', async (_label, change) => {
    expect(await computeTaskHash({ ...base, ...change })).not.toBe(await computeTaskHash(base));
  });
});

describe('digestFileSet', () => {
  it('changes with a path or a content hash, and is stable', async () => {
    const base = await digestFileSet([['a.ts', '1'], ['b.ts', '2']]);
    expect(await digestFileSet([['a.ts', '1'], ['b.ts', '2']])).toBe(base);
    expect(await digestFileSet([['a.ts', '1'], ['c.ts', '2']])).not.toBe(base);
    expect(await digestFileSet([['a.ts', '1'], ['b.ts', '3']])).not.toBe(base);
    expect(await digestFileSet([['a.ts', '1']])).not.toBe(base);
  });
});

describe('stableStringify', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(stableStringify({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"z":1}]},"b":1}');
  });
});
