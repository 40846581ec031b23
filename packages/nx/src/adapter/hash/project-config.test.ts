import type { ProjectGraphProjectNode, TargetConfiguration } from '@nx/devkit';
import { describe, expect, it } from 'vitest';
import { projectConfigurationText } from './project-config.js';

const node = (targets: Record<string, TargetConfiguration>, extra: Partial<ProjectGraphProjectNode['data']> = {}): ProjectGraphProjectNode => ({
  name: 'p',
  type: 'lib',
  data: { root: 'libs/p', targets, ...extra },
});

describe('projectConfigurationText', () => {
  const build: TargetConfiguration = { executor: '@stride/nx:run', options: { command: 'tsc' }, outputs: ['{projectRoot}/dist'] };
  const base = projectConfigurationText(node({ build }));
  it.each([
    ['an output', { build: { ...build, outputs: ['{projectRoot}/dist', '{projectRoot}/types'] } }, {}],
    ['an option', { build: { ...build, options: { command: 'tsc -b' } } }, {}],
    ['a configuration', { build: { ...build, configurations: { prod: { command: 'tsc -p prod' } } } }, {}],
    ['the executor', { build: { ...build, executor: 'nx:run-commands' } }, {}],
    ['another target', { build, lint: { executor: 'nx:noop' } }, {}],
    ['a tag', { build }, { tags: ['x'] }],
    ['a named input', { build }, { namedInputs: { prod: ['{projectRoot}/src/**'] } }],
    ['an npm script', { build, go: { executor: 'nx:run-script', options: { script: 'go' }, metadata: { scriptContent: 'node go.js' } } }, {}],
  ])('changes with %s', (_label, targets, extra) => {
    expect(projectConfigurationText(node(targets as Record<string, TargetConfiguration>, extra))).not.toBe(base);
  });
  it.each([
    ['dependsOn', { build: { ...build, dependsOn: ['^build'] } }],
    ['inputs', { build: { ...build, inputs: ['default'] } }],
    ['cache', { build: { ...build, cache: false } }],
    ['metadata', { build: { ...build, metadata: { description: 'builds' } } }],
    ["Stride's run limits", { build: { ...build, options: { command: 'tsc', retries: 2, timeout: '1m' } } }],
    ['key order', { build: { outputs: ['{projectRoot}/dist'], options: { command: 'tsc' }, executor: '@stride/nx:run' } }],
  ])('does not change with %s', (_label, targets) => {
    expect(projectConfigurationText(node(targets as Record<string, TargetConfiguration>))).toBe(base);
  });
});
