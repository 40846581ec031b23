import { describe, expect, it } from 'vitest';
import { INFER_PLUGIN, unwrapInferringPlugins, wrapInferringPlugins } from './inferred.js';

describe('wrapInferringPlugins', () => {
  const inferredBy = new Map([
    ['@nx/jest/plugin', new Set(['test'])],
    ['@nx/eslint/plugin', new Set(['lint'])],
  ]);

  it('puts a @stride/nx/infer entry in the place of each plugin that infers a listed target, options and include kept', () => {
    const plugins = [{ plugin: '@nx/jest/plugin', options: { targetName: 'test' }, exclude: ['e2e/**'] }, '@nx/eslint/plugin', '@nx/js/typescript'];
    const { plugins: out, notes } = wrapInferringPlugins(plugins, ['build', 'test', 'lint'], inferredBy);
    expect(out).toEqual([
      { plugin: INFER_PLUGIN, options: { plugin: '@nx/jest/plugin', options: { targetName: 'test' }, targets: ['test'] }, exclude: ['e2e/**'] },
      { plugin: INFER_PLUGIN, options: { plugin: '@nx/eslint/plugin', targets: ['lint'] } },
      '@nx/js/typescript',
    ]);
    expect(notes).toHaveLength(2);
    // Running init again changes nothing; --remove gives the entries back as they were.
    expect(wrapInferringPlugins(out, ['build', 'test', 'lint'], new Map([[`${INFER_PLUGIN}:@nx/jest/plugin`, new Set(['test'])], [`${INFER_PLUGIN}:@nx/eslint/plugin`, new Set(['lint'])]])).plugins).toEqual(out);
    expect(unwrapInferringPlugins(out)).toEqual(plugins);
  });

  it('adds a newly listed target to an entry that already wraps the plugin making it', () => {
    const wrapped = [{ plugin: INFER_PLUGIN, options: { plugin: '@nx/vite/plugin', targets: ['build'] } }];
    const { plugins } = wrapInferringPlugins(wrapped, ['build', 'test'], new Map([[`${INFER_PLUGIN}:@nx/vite/plugin`, new Set(['build', 'test'])]]));
    expect(plugins).toEqual([{ plugin: INFER_PLUGIN, options: { plugin: '@nx/vite/plugin', targets: ['build', 'test'] } }]);
  });
});
