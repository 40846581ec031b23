import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspaceWith, type TestWorkspace } from './support/workspace.js';

/**
 * Issue 19, items 12 (`{ env }` inputs) and 14 (.env files at run time): a task
 * sees, and is hashed with, exactly the environment Nx would give it: the
 * workspace's and the project's `.env`, `.env.<target>`,
 * `.env.<target>.<configuration>` and `.local` files, with the shell winning.
 * One workspace in two copies, one run by Stride and one by Nx's own
 * `nx:run-commands` with Nx's cache; each edit is applied to both.
 */
const SHOWN = ['ROOT_ONLY', 'SHARED', 'PROJECT_ONLY', 'TARGET_ONLY', 'CONFIG_ONLY', 'LOCAL_ONLY', 'NODE_OPTIONS', 'NX_TASK_TARGET_TARGET', 'NX_TASK_TARGET_CONFIGURATION'];

const SHOW = `import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
const target = process.env.NX_TASK_TARGET_TARGET + (process.env.NX_TASK_TARGET_CONFIGURATION ? ':' + process.env.NX_TASK_TARGET_CONFIGURATION : '');
appendFileSync('build-log.txt', target + '\\n');
const seen = Object.fromEntries(${JSON.stringify(SHOWN)}.map((name) => [name, process.env[name] ?? null]));
mkdirSync('libs/p/dist', { recursive: true });
writeFileSync('libs/p/dist/' + target.replace(':', '.') + '.json', JSON.stringify(seen, null, 2));
`;

function generate(root: string, flavour: 'stride' | 'nx'): void {
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const stride = flavour === 'stride';
  write('.gitignore', 'node_modules\n.nx\n.stride\nbuild-log.txt\nlibs/p/dist\n');
  write('package.json', '{ "name": "env-ws", "version": "0.0.0", "private": true }\n');
  write('tools/show.mjs', SHOW);
  write('.env', 'ROOT_ONLY=root\nSHARED=root\n');
  write('libs/p/.env', 'SHARED=project\nPROJECT_ONLY=project\n');
  write('libs/p/.env.test', 'TARGET_ONLY=test\nNODE_OPTIONS=--experimental-vm-modules\n');
  write('libs/p/.env.build', 'TARGET_ONLY=build\n');
  write('libs/p/.env.build.ci', 'CONFIG_ONLY=build-ci\n');
  write('libs/p/.env.local', 'LOCAL_ONLY=local\n');
  write('libs/p/src/index.js', 'export const p = 1;\n');
  const command = { command: 'node tools/show.mjs', cwd: '.' };
  const target = (envInputs: string[]): Record<string, unknown> => ({
    executor: stride ? '@stride/nx:run' : 'nx:run-commands',
    options: command,
    configurations: { ci: {} },
    inputs: ['{projectRoot}/src/**/*', ...envInputs.map((env) => ({ env }))],
    outputs: ['{projectRoot}/dist'],
    cache: !stride,
  });
  write(
    'nx.json',
    `${JSON.stringify({ neverConnectToCloud: true, useDaemonProcess: false, ...(stride ? { plugins: ['@stride/nx'] } : {}) }, null, 2)}\n`,
  );
  write(
    'libs/p/project.json',
    `${JSON.stringify({ name: 'p', root: 'libs/p', targets: { build: target(['ROOT_ONLY', 'CONFIG_ONLY']), test: target(['TARGET_ONLY', 'SHARED']) } }, null, 2)}\n`,
  );
}

describe('task environment: .env files and { env } inputs as Nx gives them', () => {
  let stride: TestWorkspace;
  let nx: TestWorkspace;

  /** Runs the same command in both copies; returns what each re-ran. */
  const both = (args: string[], env: NodeJS.ProcessEnv = {}): { byNx: string[]; byStride: string[] } => {
    const ran = (ws: TestWorkspace): string[] => {
      const before = ws.buildLog().length;
      const result = ws.nx(args, env);
      expect(result.code, result.output).toBe(0);
      return ws.buildLog().slice(before).sort();
    };
    return { byNx: ran(nx), byStride: ran(stride) };
  };
  const seen = (ws: TestWorkspace, file: string): Record<string, string | null> => JSON.parse(ws.read(`libs/p/dist/${file}.json`)) as Record<string, string | null>;

  beforeAll(() => {
    stride = createWorkspaceWith((root) => generate(root, 'stride'));
    nx = createWorkspaceWith((root) => generate(root, 'nx'));
  });
  afterAll(() => {
    stride.remove();
    nx.remove();
  });

  it('each task runs with its own .env files, exactly the values Nx gives it', () => {
    const { byNx, byStride } = both(['run-many', '-t', 'build,test']);
    expect(byNx).toEqual(['build', 'test']);
    expect(byStride).toEqual(byNx);
    for (const file of ['build', 'test']) expect(seen(stride, file), file).toEqual(seen(nx, file));
    // What the issue saw fail: a jest target needs NODE_OPTIONS from .env.test.
    expect(seen(stride, 'test')).toMatchObject({ NODE_OPTIONS: '--experimental-vm-modules', TARGET_ONLY: 'test', SHARED: 'project', ROOT_ONLY: 'root', LOCAL_ONLY: 'local' });
    expect(seen(stride, 'build')).toMatchObject({ TARGET_ONLY: 'build', CONFIG_ONLY: null, NODE_OPTIONS: null });
  });

  it('a configuration loads .env.<target>.<configuration>', () => {
    const { byNx, byStride } = both(['run', 'p:build:ci']);
    expect(byNx).toEqual(['build:ci']);
    expect(byStride).toEqual(byNx);
    expect(seen(stride, 'build.ci')).toEqual(seen(nx, 'build.ci'));
    expect(seen(stride, 'build.ci')).toMatchObject({ CONFIG_ONLY: 'build-ci', NX_TASK_TARGET_CONFIGURATION: 'ci' });
  });

  it('nothing changed: neither re-runs', () => {
    const { byNx, byStride } = both(['run-many', '-t', 'build,test']);
    expect(byNx).toEqual([]);
    expect(byStride).toEqual([]);
  });

  it("a value in the target's .env file is hashed: only that target re-runs", () => {
    for (const ws of [stride, nx]) ws.write('libs/p/.env.test', 'TARGET_ONLY=test-2\nNODE_OPTIONS=--experimental-vm-modules\n');
    const { byNx, byStride } = both(['run-many', '-t', 'build,test']);
    expect(byNx).toEqual(['test']);
    expect(byStride).toEqual(byNx);
    expect(seen(stride, 'test').TARGET_ONLY).toBe('test-2');
  });

  it("a value in the workspace's .env is hashed for the tasks that read it", () => {
    for (const ws of [stride, nx]) ws.write('.env', 'ROOT_ONLY=root-2\nSHARED=root\n');
    const { byNx, byStride } = both(['run-many', '-t', 'build,test']);
    expect(byNx).toEqual(['build']);
    expect(byStride).toEqual(byNx);
    expect(seen(stride, 'build')).toEqual(seen(nx, 'build'));
  });

  it('a variable set in the shell wins over every .env file, as in Nx', () => {
    const { byNx, byStride } = both(['run-many', '-t', 'build,test'], { SHARED: 'shell', TARGET_ONLY: 'shell' });
    expect(byNx).toEqual(['test']);
    expect(byStride).toEqual(byNx);
    expect(seen(stride, 'test')).toEqual(seen(nx, 'test'));
    expect(seen(stride, 'test')).toMatchObject({ SHARED: 'shell', TARGET_ONLY: 'shell' });
  });
});
