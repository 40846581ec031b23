import { describe, expect, it } from 'vitest';
import { parseJsonc } from './jsonc.js';

describe('parseJsonc', () => {
  it('drops comments and trailing commas outside strings only', () => {
    const text = `{
      // line comment
      "a": "x // not a comment, }", /* block */
      "b": [1, 2, /* c */ ],
      "c": { "d": "/* kept */", },
    }`;
    expect(parseJsonc(text)).toEqual({ a: 'x // not a comment, }', b: [1, 2], c: { d: '/* kept */' } });
  });
  it('keeps escaped quotes inside strings', () => {
    expect(parseJsonc('{"a": "say \\"hi\\", ]"}')).toEqual({ a: 'say "hi", ]' });
  });
  it('throws JSON syntax errors', () => {
    expect(() => parseJsonc('{"a": }')).toThrow();
  });
});
