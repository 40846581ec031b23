import { describe, expect, it } from 'vitest';
import { FileIndex } from './file-selector.js';

const index = new FileIndex(
  ['libs/a/project.json', 'libs/a/src/index.ts', 'libs/a/src/index.spec.ts', 'libs/ab/src/x.ts', 'tsconfig.base.json'].sort(),
);

describe('FileIndex.select', () => {
  it('selects a project tree without its sibling sharing a prefix', () => {
    expect(index.select({ include: ['libs/a/**/*'], exclude: [] })).toEqual(['libs/a/project.json', 'libs/a/src/index.spec.ts', 'libs/a/src/index.ts']);
  });
  it('applies exclusions to every inclusion', () => {
    expect(index.select({ include: ['libs/a/**/*', 'tsconfig.base.json'], exclude: ['**/*.spec.ts'] })).toEqual([
      'libs/a/project.json',
      'libs/a/src/index.ts',
      'tsconfig.base.json',
    ]);
  });
  it('treats a plain path as a file or a whole folder', () => {
    expect(index.select({ include: ['libs/a/src'], exclude: [] })).toEqual(['libs/a/src/index.spec.ts', 'libs/a/src/index.ts']);
    expect(index.select({ include: ['tsconfig.base.json'], exclude: [] })).toEqual(['tsconfig.base.json']);
  });
});
