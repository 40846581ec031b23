import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

/**
 * Issue 22: `stride why` and the miss causes in the summary, through real nx
 * runs: each kind of change, then the exact lines printed.
 */
describe('stride why: what changed for a miss', () => {
  let ws: TestWorkspace;
  let env: NodeJS.ProcessEnv = { API_URL: 'https://dev.example' };
  const build = (): string => {
    const result = ws.nx(['run-many', '-t', 'build'], env);
    expect(result.code, result.output).toBe(0);
    return result.stdout;
  };
  const whyLines = (task: string, extra: string[] = [], shell: NodeJS.ProcessEnv = env): string[] => {
    const result = ws.stride(['why', task, ...extra], shell);
    expect(result.code, result.output).toBe(0);
    return result.stdout.trimEnd().split('\n');
  };
  const missLine = (stdout: string): string | undefined => stdout.split('\n').find((line) => / miss(es)?(:| \()/.test(line) && !line.startsWith('Stride:'));

  beforeAll(() => {
    ws = createWorkspace({ projects: 4, width: 2 });
    ws.updateJson<{ targetDefaults: { build: { inputs: unknown[] } } }>('nx.json', (nx) => {
      nx.targetDefaults.build.inputs.push({ env: 'API_URL' });
      return nx;
    });
  });
  afterAll(() => ws.remove());

  it('a cold run: every miss is a first build, and there is nothing to compare with yet', () => {
    expect(missLine(build())).toBe('4 misses: 4 never built here before (npx stride why <task> for one)');
    const lines = whyLines('lib00:build');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^lib00:build: no earlier build to compare with \(only [0-9a-f]{16} is on record\)$/);
  });

  it('a fully cached run keeps no records and prints no miss line', () => {
    const index = join(ws.root, '.stride', 'why', 'index.json');
    const before = statSync(index).mtimeMs;
    expect(missLine(build())).toBeUndefined();
    expect(statSync(index).mtimeMs).toBe(before);
  });

  it('a source file: the summary counts it for the library and its dependants; why names the file', () => {
    ws.write('libs/lib00/src/util.js', 'export function lib00Util(x) { return x * 2; }\n');
    expect(missLine(build())).toBe('3 misses: 3 from libs/lib00/src/util.js (npx stride why <task> for one)');
    const lines = whyLines('lib02:build');
    expect(lines[0]).toMatch(/^lib02:build: [0-9a-f]{16} \(built .+\) against [0-9a-f]{16} \(built .+\)$/);
    expect(lines.slice(1)).toEqual(['  libs/lib00/src/util.js changed']);
    // The CI job summary and the HTML report name the same cause.
    const markdown = ws.stride(['summary', '--markdown'], env);
    expect(markdown.code, markdown.output).toBe(0);
    expect(markdown.stdout).toContain('3 misses: 3 from libs/lib00/src/util.js (npx stride why <task> for one)');
    const report = ws.stride(['report'], env);
    expect(report.code, report.output).toBe(0);
    expect(ws.read('.stride/report.html')).toContain('<h2>Why 3 tasks missed</h2>\n<table><tr><th>changed input</th><th>misses</th></tr><tr class="miss-cause"><td>libs/lib00/src/util.js</td><td>3</td></tr></table>');
  });

  it('new files in one folder are one line; a removed file is named', () => {
    for (const name of ['a', 'b', 'c']) ws.write(`libs/lib01/src/new-${name}.js`, `export const ${name} = 1;\n`);
    build();
    expect(whyLines('lib01:build').slice(1)).toEqual(['  3 files added under libs/lib01/src']);
    ws.exec('rm', [join(ws.root, 'libs/lib01/src/new-a.js')]);
    build();
    expect(whyLines('lib01:build').slice(1)).toEqual(['  libs/lib01/src/new-a.js removed']);
  });

  it('an env value: changed, never its value; --show-values shows this shell\'s', () => {
    env = { API_URL: 'https://prod.example' };
    expect(missLine(build())).toBe('4 misses: 4 from env API_URL (npx stride why <task> for one)');
    expect(whyLines('lib01:build').slice(1)).toEqual(['  env API_URL changed']);
    expect(whyLines('lib01:build', ['--show-values']).slice(1)).toEqual(['  env API_URL changed (in this shell: "https://prod.example")']);
    // The records never hold the value.
    const records = ws.exec('grep', ['-r', 'prod.example', join(ws.root, '.stride', 'why')]);
    expect(records.stdout).toBe('');
  });

  it('an option: named with its value; --json for scripts', () => {
    ws.updateJson<{ targets: { build: { options: Record<string, unknown> } } }>('libs/lib03/project.json', (p) => {
      p.targets.build.options.args = '--fast';
      return p;
    });
    build();
    expect(whyLines('lib03:build')).toContain('  option --args="--fast" added');
    const json = JSON.parse(ws.stride(['why', 'lib03:build', '--json'], env).stdout) as { task: string; changes: Array<{ kind: string; text: string }> };
    expect(json.task).toBe('lib03:build');
    expect(json.changes).toContainEqual({ kind: 'option', subject: 'option --args', text: 'option --args="--fast" added' });
  });

  it('--last-hit compares with the last restore', () => {
    // lib01 was restored in the run after the option edit (only lib03 changed): that hash is its last hit.
    ws.write('libs/lib01/src/util.js', 'export function lib01Util(x) { return x - 1; }\n');
    build();
    const lines = whyLines('lib01:build', ['--last-hit']);
    expect(lines[0]).toMatch(/against [0-9a-f]{16} \(restored .+\)$/);
    expect(lines.slice(1)).toEqual(['  libs/lib01/src/util.js changed']);
  });

  it('bad input: an unknown task exits 1 with a sentence; a task never built exits 0', () => {
    const noProject = ws.stride(['why', 'nope:build']);
    expect(noProject.code).toBe(1);
    expect(noProject.stderr).toContain('unknown task nope:build: there is no project "nope"');
    const noTarget = ws.stride(['why', 'lib00:deploy']);
    expect(noTarget.code).toBe(1);
    expect(noTarget.stderr).toContain('project lib00 has no target "deploy" (its targets: build)');
    ws.write('libs/lib99/project.json', JSON.stringify({ name: 'lib99', root: 'libs/lib99', targets: { build: { executor: '@stride/nx:run', options: { command: 'true' } } } }));
    const never = ws.stride(['why', 'lib99:build']);
    expect(never.code, never.output).toBe(0);
    expect(never.stdout).toBe('lib99:build: no earlier build to compare with (no run with a miss has hashed it here yet)\n');
  });

  it('a record of an older format: a sentence naming it, exit 0, nothing compared', () => {
    const index = JSON.parse(ws.read('.stride/why/index.json')) as Record<string, Array<{ hash: string }>>;
    const earlier = index['lib00:build']?.[1]?.hash as string;
    const path = `.stride/why/tasks/${earlier}.json`;
    const kept = ws.read(path);
    ws.write(path, JSON.stringify({ ...(JSON.parse(kept) as object), format: 0 }));
    try {
      const result = ws.stride(['why', 'lib00:build', '--against', earlier], env);
      expect(result.code, result.output).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^lib00:build: the record of ${earlier} is in another format \\(0, this Stride reads \\d+\\): build it again to compare\n$`));
    } finally {
      ws.write(path, kept);
    }
  });

  it('a runtime value, an external dependency version and a dependency\'s output: each named', () => {
    const lockfile = (version: string): string =>
      JSON.stringify({
        name: 'why-ws',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'why-ws', dependencies: { 'left-pad': version } },
          'node_modules/left-pad': { version, resolved: `https://registry.npmjs.org/left-pad/-/left-pad-${version}.tgz`, integrity: `sha512-leftpad${version}` },
        },
      });
    ws.updateJson<{ dependencies?: Record<string, string> }>('package.json', (p) => ({ ...p, dependencies: { ...p.dependencies, 'left-pad': '1.3.0' } }));
    ws.write('package-lock.json', lockfile('1.3.0'));
    ws.write('runtime-version.txt', 'v1\n');
    ws.updateJson<{ targets: { build: { inputs?: unknown[] } } }>('libs/lib03/project.json', (p) => {
      p.targets.build.inputs = ['production', '^production', { env: 'API_URL' }, { runtime: 'cat runtime-version.txt' }, { externalDependencies: ['left-pad'] }, { dependentTasksOutputFiles: '**/index.js' }];
      return p;
    });
    build();
    ws.write('runtime-version.txt', 'v2\n');
    ws.write('package-lock.json', lockfile('1.3.1'));
    ws.write('libs/lib00/src/util.js', 'export function lib00Util(x) { return x * 3; }\n');
    build();
    expect(whyLines('lib03:build').slice(1)).toEqual([
      '  libs/lib00/src/util.js changed',
      '  external dependency left-pad 1.3.0 -> 1.3.1',
      '  runtime cat runtime-version.txt: v1 -> v2',
      '  dependency output libs/lib00/dist/index.js changed',
    ]);
  });

  it('asked before the run: the task is hashed as the checkout is now, against the last build', () => {
    ws.write('libs/lib02/src/util.js', 'export function lib02Util(x) { return x + 40; }\n');
    const lines = whyLines('lib02:build', [], { ...env, API_URL: 'https://staging.example' });
    expect(lines[0]).toMatch(/^lib02:build: [0-9a-f]{16} \(not built yet\) against [0-9a-f]{16} \(built .+\)$/);
    expect(lines.slice(1).sort()).toEqual(['  env API_URL changed', '  libs/lib02/src/util.js changed']);
    // Nothing ran and nothing was recorded: the next run still misses for the same reason.
    expect(missLine(build())).toContain('1 from libs/lib02/src/util.js');
  });
});
