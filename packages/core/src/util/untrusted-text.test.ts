import { describe, expect, it } from 'vitest';
import { printable } from './untrusted-text.js';

describe('printable', () => {
  it('escapes line breaks, ANSI sequences and other control characters', () => {
    expect(printable('dist/a\n::error file=x::pwned')).toBe('dist/a\\n::error file=x::pwned');
    expect(printable('\u001b[2J\u001b[31mred\r')).toBe('\\x1b[2J\\x1b[31mred\\r');
    expect(printable('a\u2028b\u0085c')).toBe('a\\u2028b\\x85c');
  });
  it('keeps ordinary text and cuts long text', () => {
    expect(printable('libs/a/dist/index.js')).toBe('libs/a/dist/index.js');
    expect(printable('x'.repeat(300), 10)).toBe('xxxxxxxxxx...');
    expect(printable(12)).toBe('12');
  });
});
