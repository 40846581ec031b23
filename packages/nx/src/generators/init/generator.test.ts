import { addProjectConfiguration, readJson, readProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { describe, expect, it } from 'vitest';
import { initGenerator } from './generator.js';

function workspace(): Tree {
  const tree = createTreeWithEmptyWorkspace();
  addProjectConfiguration(tree, 'a', { root: 'libs/a', targets: { build: { executor: 'nx:run-commands', options: { command: 'tsc' }, cache: true }, lint: { command: 'eslint .' } } });
  addProjectConfiguration(tree, 'b', { root: 'libs/b', targets: { build: { command: 'tsc' } } });
  return tree;
}
const defaults = (tree: Tree): Record<string, { cache?: boolean }> => readJson(tree, 'nx.json').targetDefaults;

describe('init and localCache', () => {
  it('by default ("nx" mode) turns Nx\'s cache on for Stride targets, and writes no plugin entry', async () => {
    const tree = workspace();
    const lintBefore = defaults(tree)['lint'];
    await initGenerator(tree, { wrap: 'build', skipFormat: true }, {});
    expect(defaults(tree)['build']?.cache).toBe(true);
    expect(readProjectConfiguration(tree, 'a').targets?.['build']?.cache).toBe(true);
    expect(defaults(tree)['lint']).toEqual(lintBefore);
    expect(readJson(tree, 'nx.json').plugins).toBeUndefined();
  });
  it('with --localCache=stride turns it off, also where a project wrote cache: true, and records the mode; run again with nx, it migrates back; twice changes nothing', async () => {
    const tree = workspace();
    await initGenerator(tree, { wrap: 'build', localCache: 'stride', skipFormat: true }, {});
    expect(defaults(tree)['build']?.cache).toBe(false);
    expect(readProjectConfiguration(tree, 'a').targets?.['build']?.cache).toBe(false);
    expect(readJson(tree, 'nx.json').plugins).toEqual([{ plugin: '@stride/nx', options: { localCache: 'stride' } }]);
    const snapshot = [tree.read('nx.json', 'utf8'), tree.read('libs/a/project.json', 'utf8')];
    // The mode is now in nx.json: running init with no option keeps it.
    await initGenerator(tree, { skipFormat: true }, {});
    expect([tree.read('nx.json', 'utf8'), tree.read('libs/a/project.json', 'utf8')]).toEqual(snapshot);
    await initGenerator(tree, { localCache: 'nx', skipFormat: true }, {});
    expect(defaults(tree)['build']?.cache).toBe(true);
    expect(readProjectConfiguration(tree, 'a').targets?.['build']?.cache).toBe(true);
    expect(readJson(tree, 'nx.json').plugins).toEqual([{ plugin: '@stride/nx', options: { localCache: 'nx' } }]);
  });
  it('moves a workspace an older init set up for Stride\'s store (cache: false, no mode written) to "nx" when run again', async () => {
    const tree = workspace();
    await initGenerator(tree, { wrap: 'build', skipFormat: true }, { STRIDE_LOCAL_CACHE: 'stride' });
    expect(defaults(tree)['build']?.cache).toBe(false);
    await initGenerator(tree, { skipFormat: true }, {});
    expect(defaults(tree)['build']?.cache).toBe(true);
    expect(readProjectConfiguration(tree, 'a').targets?.['build']?.cache).toBe(true);
  });
  it('follows STRIDE_LOCAL_CACHE without writing a plugin entry (which would cost a plugin worker per run)', async () => {
    const tree = workspace();
    await initGenerator(tree, { wrap: 'build', skipFormat: true }, { STRIDE_LOCAL_CACHE: 'stride' });
    expect(defaults(tree)['build']?.cache).toBe(false);
    expect(readJson(tree, 'nx.json').plugins).toBeUndefined();
  });
  it('refuses an unknown mode, naming the setting, the value and the fix', async () => {
    await expect(initGenerator(workspace(), { localCache: 'remote', skipFormat: true }, {})).rejects.toThrow(/localCache = "remote"[\s\S]*fix: set it to "nx"/);
  });
});
