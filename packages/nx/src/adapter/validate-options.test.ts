import { describe, expect, it } from 'vitest';
import { runLimits, validateRunOptions } from './validate-options.js';

describe('runLimits', () => {
  it('parses retries, backoff and timeout with their defaults', () => {
    expect(runLimits('a:build', {})).toEqual({ retries: 0, retryDelayMs: 1000 });
    expect(runLimits('a:build', { retries: 2, retryDelay: '250ms', timeout: '90s' })).toEqual({ retries: 2, retryDelayMs: 250, timeoutMs: 90_000 });
  });
});

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
    [{ command: 'x', retries: -1 }, /options\.retries = -1[\s\S]*fix:/],
    [{ command: 'x', timeout: 'soon' }, /options\.timeout[\s\S]*"soon"[\s\S]*fix:/],
    [{ command: 'x', retryDelay: '2 parsecs' }, /options\.retryDelay/],
    // Past setTimeout's 2^31-1 ms Node fires at once: the task would be killed as it starts.
    [{ command: 'x', timeout: '30d' }, /at most 24 days[\s\S]*options\.timeout = "30d"[\s\S]*fix:/],
    [{ command: 'x', retries: 10, retryDelay: '1h' }, /at most 10 minutes[\s\S]*options\.retryDelay = "1h"/],
  ])('names the option and the fix for %j', (options, message) => {
    expect(() => validateRunOptions('a:build', options)).toThrow(message);
    expect(() => validateRunOptions('a:build', options)).toThrow(/\[a:build\]/);
  });
});
