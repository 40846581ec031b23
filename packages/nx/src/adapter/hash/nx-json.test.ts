import { describe, expect, it } from 'vitest';
import { nxJsonHashText } from './nx-json.js';

const text = (value: unknown): string => nxJsonHashText(Buffer.from(JSON.stringify(value, null, 2)));

describe('nxJsonHashText', () => {
  const base = { namedInputs: { default: ['{projectRoot}/**/*'] }, plugins: ['@nx/js/typescript'] };
  it("leaves Stride's own plugin entry and the layout out", () => {
    expect(text({ ...base, plugins: ['@nx/js/typescript', { plugin: '@stride/nx', options: { remote: { bucket: 'b' } } }] })).toBe(text(base));
    expect(text({ ...base, plugins: ['@stride/nx', '@nx/js/typescript'] })).toBe(text(base));
    expect(nxJsonHashText(Buffer.from(JSON.stringify(base)))).toBe(text(base));
  });
  it('keeps everything else', () => {
    expect(text({ ...base, plugins: [] })).not.toBe(text(base));
    expect(text({ namedInputs: base.namedInputs, plugins: ['@stride/nx'] })).toBe(text({ namedInputs: base.namedInputs }));
    expect(text({ ...base, targetDefaults: { build: { cache: true } } })).not.toBe(text(base));
  });
});
