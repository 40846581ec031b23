import { describe, expect, it } from 'vitest';
import { wrapTarget } from './wrap-target.js';

describe('wrapTarget', () => {
  it('moves an nx:run-commands target onto Stride, keeping dependsOn, inputs and outputs', () => {
    const wrapped = wrapTarget({
      executor: 'nx:run-commands',
      options: { command: 'tsc -p tsconfig.json', cwd: 'libs/a', env: { A: '1' } },
      dependsOn: ['^build'],
      inputs: ['production'],
      outputs: ['{projectRoot}/dist'],
      configurations: { prod: { command: 'tsc -p tsconfig.prod.json' } },
    });
    expect(wrapped).toEqual({
      executor: '@stride/nx:run',
      options: { command: 'tsc -p tsconfig.json', cwd: 'libs/a', env: { A: '1' } },
      dependsOn: ['^build'],
      inputs: ['production'],
      outputs: ['{projectRoot}/dist'],
      configurations: { prod: { command: 'tsc -p tsconfig.prod.json' } },
    });
  });

  it('turns run-commands `commands` and the `command` shorthand into Stride commands', () => {
    expect(wrapTarget({ options: { commands: ['a', { command: 'b' }] } } as never).options).toEqual({ command: ['a', 'b'] });
    expect(wrapTarget({ command: 'echo hi' } as never)).toEqual({ executor: '@stride/nx:run', options: { command: 'echo hi' } });
  });

  it('wraps any other executor with its options, configurations carrying the base options', () => {
    expect(wrapTarget({ executor: '@nx/js:tsc', options: { main: 'a.ts', outputPath: 'dist' }, configurations: { prod: { outputPath: 'dist/prod' } } })).toEqual({
      executor: '@stride/nx:run',
      options: { executor: '@nx/js:tsc', options: { main: 'a.ts', outputPath: 'dist' } },
      configurations: { prod: { options: { main: 'a.ts', outputPath: 'dist/prod' } } },
    });
  });

  it('leaves a Stride target alone', () => {
    const target = { executor: '@stride/nx:run', options: { command: 'x' } };
    expect(wrapTarget(target)).toBe(target);
  });
});
