import { describe, expect, it } from 'vitest';
import { parseAge, parseSize } from './units.js';

describe('parseSize / parseAge', () => {
  it('reads units', () => {
    expect(parseSize('10GB', 's')).toBe(10 * 1024 ** 3);
    expect(parseSize(2048, 's')).toBe(2048);
    expect(parseAge('30d', 'a')).toBe(30 * 86_400_000);
    expect(parseAge('90m', 'a')).toBe(90 * 60_000);
  });
  it('names the setting, the value and the fix on bad input', () => {
    expect(() => parseSize('ten gigs', 'plugins[@stride/nx].options.maxCacheSize')).toThrow(
      /maxCacheSize = "ten gigs"[\s\S]*fix: use a size such as "10GB"/,
    );
  });
});
