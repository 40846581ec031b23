import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A small workspace that exercises every input kind Nx documents, generated in
 * two flavours that differ only in who caches: Stride (`@stride/nx:run`, Nx's
 * cache off) or Nx itself (`nx:run-commands`, Nx's cache on). The hash-fidelity
 * test applies the same edit to both and compares which tasks re-run.
 */
export const DIFF_PROJECTS = ['a', 'b', 'c', 'd', 'x'] as const;
/** Project dependencies: b uses a, c uses b, x uses c; d stands alone. */
export const DIFF_DEPENDENCIES: Record<string, string[]> = { a: [], b: ['a'], c: ['b'], d: [], x: ['c'] };

const BUILD = `import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const [project, target] = [process.env.NX_TASK_TARGET_PROJECT, process.env.NX_TASK_TARGET_TARGET];
appendFileSync(join('..', '..', 'build-log.txt'), project + ':' + target + '\\n');
const sources = readdirSync('src').sort().map((f) => f + '=' + readFileSync(join('src', f), 'utf8')).join('\\n');
if (target === 'build') {
  mkdirSync('dist', { recursive: true });
  writeFileSync('dist/index.js', '// ' + project + '\\n' + sources + '\\n' + (process.argv[2] || ''));
} else {
  mkdirSync('bundle', { recursive: true });
  writeFileSync('bundle/all.js', sources + (existsSync('dist/index.js') ? readFileSync('dist/index.js', 'utf8') : ''));
}
`;

function lockfile(leftPad: string, isOdd: string): string {
  return `${JSON.stringify(
    {
      name: 'diff-ws',
      version: '0.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'diff-ws', version: '0.0.0', dependencies: { 'left-pad': leftPad, 'is-odd': isOdd } },
        'node_modules/left-pad': { version: leftPad, resolved: `https://registry.npmjs.org/left-pad/-/left-pad-${leftPad}.tgz`, integrity: `sha512-leftpad${leftPad}` },
        'node_modules/is-odd': { version: isOdd, resolved: `https://registry.npmjs.org/is-odd/-/is-odd-${isOdd}.tgz`, integrity: `sha512-isodd${isOdd}` },
      },
    },
    null,
    2,
  )}\n`;
}

export function lockfileWith(versions: { leftPad: string; isOdd: string }): string {
  return lockfile(versions.leftPad, versions.isOdd);
}

export function generateDiffWorkspace(root: string, flavour: 'stride' | 'nx'): void {
  const write = (path: string, content: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  write('.gitignore', 'node_modules\ndist\nbundle\n.nx\n.stride\nbuild-log.txt\n*.log\n.runtime\n');
  write('.nxignore', 'libs/d/scratch\n');
  write('package.json', `${JSON.stringify({ name: 'diff-ws', version: '0.0.0', private: true, dependencies: { 'left-pad': '1.3.0', 'is-odd': '3.0.1' } }, null, 2)}\n`);
  write('package-lock.json', lockfile('1.3.0', '3.0.1'));
  write('tsconfig.base.json', '{ "compilerOptions": { "target": "es2022" } }\n');
  write('tools/build.mjs', BUILD);
  write('tools/runtime.mjs', "import { readFileSync } from 'node:fs';\nprocess.stdout.write(readFileSync('.runtime/value', 'utf8'));\n");
  write('.runtime/value', 'v1');

  const stride = flavour === 'stride';
  write(
    'nx.json',
    `${JSON.stringify(
      {
        neverConnectToCloud: true,
        useDaemonProcess: false,
        ...(stride ? { plugins: ['@stride/nx'] } : {}),
        namedInputs: {
          sharedGlobals: ['{workspaceRoot}/tsconfig.base.json'],
          default: ['{projectRoot}/**/*', 'sharedGlobals'],
          production: ['default', '!{projectRoot}/**/*.spec.js'],
        },
        targetDefaults: {
          build: {
            dependsOn: ['^build'],
            inputs: ['production', '^production', { env: 'BUILD_FLAVOR' }, { runtime: 'node tools/runtime.mjs' }],
            outputs: ['{projectRoot}/dist'],
            cache: !stride,
          },
          bundle: {
            dependsOn: ['build', '^build'],
            inputs: ['production', { dependentTasksOutputFiles: '**/*.js', transitive: true }],
            outputs: ['{projectRoot}/bundle'],
            cache: !stride,
          },
        },
      },
      null,
      2,
    )}\n`,
  );

  for (const name of DIFF_PROJECTS) {
    const target = (): Record<string, unknown> =>
      stride
        ? { executor: '@stride/nx:run', options: { command: 'node ../../tools/build.mjs' } }
        : { executor: 'nx:run-commands', options: { command: 'node ../../tools/build.mjs', cwd: `libs/${name}` } };
    write(
      `libs/${name}/project.json`,
      `${JSON.stringify({ name, root: `libs/${name}`, implicitDependencies: DIFF_DEPENDENCIES[name], targets: { build: target(), bundle: target() } }, null, 2)}\n`,
    );
    write(`libs/${name}/src/index.js`, name === 'a' ? "import leftPad from 'left-pad';\nexport const a = leftPad('a', 3);\n" : `export const ${name} = '${name}';\n`);
    write(`libs/${name}/src/util.js`, `export const ${name}Util = 1;\n`);
    write(`libs/${name}/src/index.spec.js`, `// spec of ${name}\n`);
  }
}
