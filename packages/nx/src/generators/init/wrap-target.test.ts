import type { TargetConfiguration } from '@nx/devkit';
import { describe, expect, it } from 'vitest';
import { isNotWrapped, type NotWrapped, unwrapTarget, wrapTarget } from './wrap-target.js';

const wrapped = (value: TargetConfiguration | NotWrapped): TargetConfiguration => {
  if (isNotWrapped(value)) throw new Error(value.reason);
  return value;
};

describe('wrapTarget', () => {
  it("runs an nx:run-commands target through Nx's own executor inside Stride, keeping dependsOn, inputs and outputs", () => {
    expect(
      wrapTarget({
        executor: 'nx:run-commands',
        options: { command: 'node tools/copy.js {args.x}', parallel: false },
        dependsOn: ['^build'],
        inputs: ['production'],
        outputs: ['{projectRoot}/dist'],
        configurations: { prod: { command: 'tsc -p tsconfig.prod.json' } },
      }),
    ).toEqual({
      executor: '@stride/nx:run',
      options: { executor: 'nx:run-commands', options: { command: 'node tools/copy.js {args.x}', parallel: false } },
      dependsOn: ['^build'],
      inputs: ['production'],
      outputs: ['{projectRoot}/dist'],
      configurations: { prod: { options: { command: 'tsc -p tsconfig.prod.json', parallel: false } } },
    });
  });

  it('the `command` shorthand and `commands` stay run-commands options', () => {
    expect(wrapTarget({ command: 'echo hi' } as never)).toEqual({ executor: '@stride/nx:run', options: { executor: 'nx:run-commands', options: { command: 'echo hi' } } });
    expect(wrapped(wrapTarget({ options: { commands: ['a', 'b'], parallel: true } })).options).toEqual({ executor: 'nx:run-commands', options: { commands: ['a', 'b'], parallel: true } });
  });

  it('wraps any other executor with its options; {options.x} in outputs follows them', () => {
    expect(wrapTarget({ executor: '@nx/js:tsc', options: { main: 'a.ts', outputPath: 'dist' }, outputs: ['{options.outputPath}'], configurations: { prod: { outputPath: 'dist/prod' } } })).toEqual({
      executor: '@stride/nx:run',
      options: { executor: '@nx/js:tsc', options: { main: 'a.ts', outputPath: 'dist' } },
      outputs: ['{options.options.outputPath}'],
      configurations: { prod: { options: { main: 'a.ts', outputPath: 'dist/prod' } } },
    });
  });

  it('a partial target takes its executor from targetDefaults; a package.json script runs as nx:run-script', () => {
    expect(wrapped(wrapTarget({ options: { passWithNoTests: true } }, { executorFromDefaults: '@nx/jest:jest' })).options).toEqual({ executor: '@nx/jest:jest', options: { passWithNoTests: true } });
    expect(wrapped(wrapTarget({}, { script: 'build' })).options).toEqual({ executor: 'nx:run-script', options: { script: 'build' } });
  });

  it('leaves alone what it cannot run exactly: no executor anywhere, continuous targets, Stride targets', () => {
    expect(isNotWrapped(wrapTarget({ options: { passWithNoTests: true } }))).toBe(true);
    expect(isNotWrapped(wrapTarget({ executor: '@nx/vite:dev-server', continuous: true } as TargetConfiguration))).toBe(true);
    const target = { executor: '@stride/nx:run', options: { command: 'x' } };
    expect(wrapTarget(target)).toBe(target);
  });
});

describe('unwrapTarget', () => {
  it('gives back the executor, its options, configurations as what they add, and {options.x} outputs', () => {
    const original: TargetConfiguration = {
      executor: '@nx/js:tsc',
      options: { outputPath: 'dist/libs/a', main: 'libs/a/src/index.ts' },
      configurations: { production: { sourceMap: false } },
      outputs: ['{options.outputPath}'],
      dependsOn: ['^build'],
    };
    expect(unwrapTarget(wrapped(wrapTarget(original)))).toEqual(original);
  });

  it('is undefined for a Stride command, which has no executor to go back to', () => {
    expect(unwrapTarget({ executor: '@stride/nx:run', options: { command: 'tsc' } })).toBeUndefined();
  });
});
