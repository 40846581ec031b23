/**
 * Parses JSON with comments and trailing commas, as TypeScript and Nx read a
 * tsconfig. Comments and trailing commas are dropped outside strings, then the
 * text goes to JSON.parse, so every other syntax error is JSON's own.
 */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    if (char === '"') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (char === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
      i = skipComment(text, i);
    } else if (char === ',' && closesNext(text, i + 1)) {
      i++;
    } else {
      out += char;
      i++;
    }
  }
  return JSON.parse(out);
}

/** Whether the next thing after `from`, past blanks and comments, closes an object or array. */
function closesNext(text: string, from: number): boolean {
  let i = from;
  while (i < text.length) {
    const char = text[i] as string;
    if (/\s/.test(char)) i++;
    else if (char === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) i = skipComment(text, i);
    else return char === '}' || char === ']';
  }
  return false;
}

function skipComment(text: string, start: number): number {
  if (text[start + 1] === '/') {
    const end = text.indexOf('\n', start);
    return end === -1 ? text.length : end;
  }
  const end = text.indexOf('*/', start + 2);
  return end === -1 ? text.length : end + 2;
}

/** Index just past the string literal starting at `start` (a quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i++;
  }
  return i;
}
