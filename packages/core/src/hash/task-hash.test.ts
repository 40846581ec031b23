import { describe, expect, it } from 'vitest';
import { computeTaskHash, stableStringify, type TaskFingerprint } from './task-hash.js';

const base: TaskFingerprint = {
  runner: '@stride/nx:run',
  options: { command: 'tsc', env: { A: '1', B: '2' } },
  files: [['libs/a/src/index.ts', '1111']],
  values: { 'env:CI': 'true' },
};

describe('computeTaskHash', () => {
  it('is a 16-hex-digit hash that ignores option key order', async () => {
    const hash = await computeTaskHash(base);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(await computeTaskHash({ ...base, options: { env: { B: '2', A: '1' }, command: 'tsc' } })).toBe(hash);
  });

  it.each([
    ['a file content', { files: [['libs/a/src/index.ts', '2222']] as Array<[string, string]> }],
    ['a file path', { files: [['libs/a/src/main.ts', '1111']] as Array<[string, string]> }],
    ['an env value', { values: { 'env:CI': 'false' } }],
    ['an option', { options: { command: 'tsc -b' } }],
    ['the runner', { runner: 'nx:run-commands' }],
  ])('changes with %s', async (_label, change) => {
    expect(await computeTaskHash({ ...base, ...change })).not.toBe(await computeTaskHash(base));
  });
});

describe('stableStringify', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(stableStringify({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"z":1}]},"b":1}');
  });
});
