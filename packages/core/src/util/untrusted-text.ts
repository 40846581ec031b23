/**
 * Text that came from untrusted bytes (a tar entry's name, an unsigned header's
 * field, a bucket key) made safe to print: control characters, ANSI escape
 * sequences and line breaks are shown escaped, so such text can neither forge a
 * log line (a GitHub `::error` annotation needs a line of its own) nor move the
 * cursor, and it is cut to `max` characters.
 */
export function printable(text: unknown, max = 200): string {
  const value = typeof text === 'string' ? text : JSON.stringify(text) ?? String(text);
  // eslint-disable-next-line no-control-regex
  const escaped = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return escaped.length > max ? `${escaped.slice(0, max)}...` : escaped;
}
