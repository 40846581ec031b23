import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { packageManagerOf } from './package-manager.js';

describe('packageManagerOf', () => {
  const tree = (files: Record<string, string>) => {
    const t = createTreeWithEmptyWorkspace();
    for (const [path, content] of Object.entries(files)) t.write(path, content);
    return t;
  };
  it('gives Yarn 1 --frozen-lockfile and Yarn 2+ (Berry) --immutable', () => {
    expect(packageManagerOf(tree({ 'yarn.lock': '' })).install).toBe('yarn install --frozen-lockfile');
    expect(packageManagerOf(tree({ 'yarn.lock': '', 'package.json': '{"packageManager":"yarn@1.22.22"}' })).install).toBe('yarn install --frozen-lockfile');
    expect(packageManagerOf(tree({ 'yarn.lock': '', 'package.json': '{"packageManager":"yarn@4.5.0"}' })).install).toBe('yarn install --immutable');
    expect(packageManagerOf(tree({ 'yarn.lock': '', '.yarnrc.yml': 'nodeLinker: node-modules\n' })).install).toBe('yarn install --immutable');
  });
  it('keeps pnpm and npm as they were', () => {
    expect(packageManagerOf(tree({ 'pnpm-lock.yaml': '' })).install).toBe('pnpm install --frozen-lockfile');
    expect(packageManagerOf(tree({})).install).toBe('npm ci');
  });
});
