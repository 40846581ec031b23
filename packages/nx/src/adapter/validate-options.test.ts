import { describe, expect, it } from 'vitest';
import { validateRunOptions } from './validate-options.js';

describe('validateRunOptions', () => {
  it('accepts a command or a wrapped executor', () => {
    expect(validateRunOptions('a:build', { command: ['a', 'b'], env: { X: '1' } }).command).toEqual(['a', 'b']);
    expect(validateRunOptions('a:build', { executor: '@nx/js:tsc', options: {} }).executor).toBe('@nx/js:tsc');
  });
  it.each([
    [{}, /options\.command[\s\S]*fix: add "command"/],
    [{ command: 'x', executor: 'a:b' }, /cannot both be set/],
    [{ command: 42 }, /options\.command = 42/],
    [{ executor: 'no-colon' }, /package:name"[\s\S]*options\.executor = "no-colon"[\s\S]*fix:/],
    [{ command: 'x', env: { A: 1 } }, /options\.env/],
  ])('names the option and the fix for %j', (options, message) => {
    expect(() => validateRunOptions('a:build', options)).toThrow(message);
    expect(() => validateRunOptions('a:build', options)).toThrow(/\[a:build\]/);
  });
});
