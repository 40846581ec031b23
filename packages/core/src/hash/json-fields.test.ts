import { describe, expect, it } from 'vitest';
import { selectJsonFields } from './json-fields.js';

const doc = { name: 'p', version: '1.0.0', engines: { node: '20' }, compilerOptions: { target: 'es2022', module: 'esnext', paths: { '@a': ['a'] } } };

describe('selectJsonFields', () => {
  it('keeps everything without fields', () => {
    expect(selectJsonFields(doc)).toBe(doc);
  });
  it('keeps only the allowlisted fields, nested paths wrapped in their parents, siblings merged', () => {
    expect(selectJsonFields(doc, ['engines'])).toEqual({ engines: { node: '20' } });
    expect(selectJsonFields(doc, ['compilerOptions.target', 'compilerOptions.module'])).toEqual({ compilerOptions: { target: 'es2022', module: 'esnext' } });
    expect(selectJsonFields(doc, ['missing', 'compilerOptions.nope'])).toEqual({});
  });
  it('removes excluded paths after the allowlist, without touching the input', () => {
    expect(selectJsonFields(doc, ['compilerOptions'], ['compilerOptions.paths'])).toEqual({ compilerOptions: { target: 'es2022', module: 'esnext' } });
    expect(selectJsonFields(doc, undefined, ['version', 'compilerOptions'])).toEqual({ name: 'p', engines: { node: '20' } });
    expect(doc.compilerOptions.paths).toEqual({ '@a': ['a'] });
  });
  it('keeps a document that is not an object', () => {
    expect(selectJsonFields([1, 2], ['a'])).toEqual([1, 2]);
  });
});
