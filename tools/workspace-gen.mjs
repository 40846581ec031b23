// Generates an example Nx workspace wired to Stride: `projects` libraries in
// layers, each depending on up to two libraries of the layer below, with a
// small build that reads its sources and its dependencies' outputs.
// Used by the demo, the e2e tests and the benchmarks.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A tiny build: dist/index.js = own sources + a digest of each dependency's output. */
const BUILD_SCRIPT = `import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
const project = process.env.NX_TASK_TARGET_PROJECT;
const sleepMs = Number(process.env.BUILD_SLEEP_MS || 0);
if (sleepMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sleepMs);
const sources = readdirSync('src').sort().map((f) => readFileSync(join('src', f), 'utf8')).join('\\n');
if (sources.includes('FAIL_BUILD')) { console.error('build of ' + project + ' failed: its source asks for it'); process.exit(3); }
// The pid of the Nx worker this build runs under (batch or single task), so tests can count workers.
function nxWorkerPid() {
  for (let pid = process.ppid; pid > 1; ) {
    try {
      const cmdline = readFileSync('/proc/' + pid + '/cmdline', 'utf8');
      if (/run-batch|run-executor/.test(cmdline)) return pid;
      pid = Number(readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1].split(' ')[1]);
    } catch { return 0; }
  }
  return 0;
}
const deps = (process.env.BUILD_DEPS || '').split(',').filter(Boolean).map((d) => {
  const out = join('..', d, 'dist', 'index.js');
  return d + ':' + (existsSync(out) ? createHash('sha256').update(readFileSync(out)).digest('hex').slice(0, 12) : 'missing');
});
mkdirSync('dist', { recursive: true });
writeFileSync('dist/index.js', '// built ' + project + '\\n// deps ' + deps.join(' ') + '\\n' + sources + '\\n');
writeFileSync('dist/meta.json', JSON.stringify({ project, deps }) + '\\n');
appendFileSync(join(process.env.BUILD_LOG_DIR || '../..', 'build-log.txt'), project + ' ' + nxWorkerPid() + '\\n');
console.log('built ' + project + ' (' + sources.length + ' bytes of source)');
`;

/**
 * `filesPerProject` (optional) pads each project's `src` with small generated
 * modules (`src/mod-NNN.js`) up to that many source files in all; without it a
 * project has exactly its three files, as before.
 * `nxCacheInFront` (optional, Stride workspaces only) leaves Nx's cache on for the Stride targets, as `init` sets
 * them up by default (`localCache: "nx"`: Nx restores its hits, the batch gets its misses); without it Nx's cache
 * is off for them and Stride's own store serves them.
 * @param {string} dir
 * @param {{ projects?: number, width?: number, stride?: boolean, filesPerProject?: number, nxCacheInFront?: boolean }} [options]
 * @returns {{ projects: string[], dependencies: Record<string, string[]> }}
 */
export function generateWorkspace(dir, options = {}) {
  const count = options.projects ?? 30;
  const width = options.width ?? 6;
  const stride = options.stride ?? true;
  const names = Array.from({ length: count }, (_, i) => `lib${String(i).padStart(2, '0')}`);
  const dependencies = {};
  names.forEach((name, i) => {
    const layer = Math.floor(i / width);
    const below = names.slice((layer - 1) * width, layer * width);
    dependencies[name] = layer === 0 ? [] : [below[i % width], below[(i + 1) % width]].filter((d, k, a) => d && a.indexOf(d) === k);
  });

  mkdirSync(join(dir, 'tools'), { recursive: true });
  writeFileSync(join(dir, 'tools', 'build.mjs'), BUILD_SCRIPT);
  writeFileSync(join(dir, '.gitignore'), 'node_modules\ndist\n.nx\n.stride\nbuild-log.txt\n');
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'stride-example', private: true, type: 'module', version: '0.0.0' }, null, 2) + '\n',
  );
  const nxJson = {
    $schema: './node_modules/nx/schemas/nx-schema.json',
    neverConnectToCloud: true,
    useDaemonProcess: false,
    namedInputs: { default: ['{projectRoot}/**/*'], production: ['default', '!{projectRoot}/**/*.spec.js'] },
    targetDefaults: { build: { dependsOn: ['^build'], inputs: ['production', '^production'], outputs: ['{projectRoot}/dist'] } },
  };
  // Plain Nx caches its own; Stride targets leave it on only with Nx's cache in front (else Stride's store serves them).
  nxJson.targetDefaults.build.cache = !stride || options.nxCacheInFront === true;
  writeFileSync(join(dir, 'nx.json'), JSON.stringify(nxJson, null, 2) + '\n');

  for (const name of names) {
    const root = join(dir, 'libs', name);
    mkdirSync(join(root, 'src'), { recursive: true });
    const command = 'node ../../tools/build.mjs';
    const buildEnv = { BUILD_DEPS: dependencies[name].join(',') };
    const build = stride
      ? { executor: '@stride/nx:run', options: { command, env: buildEnv } }
      : { executor: 'nx:run-commands', options: { command, cwd: `libs/${name}`, env: buildEnv } };
    writeFileSync(
      join(root, 'project.json'),
      JSON.stringify({ name, root: `libs/${name}`, projectType: 'library', implicitDependencies: dependencies[name], targets: { build } }, null, 2) + '\n',
    );
    writeFileSync(join(root, 'src', 'index.js'), `export const ${name} = '${name}';\n`);
    writeFileSync(join(root, 'src', 'util.js'), `export function ${name}Util(x) { return x + ${names.indexOf(name)}; }\n`);
    writeFileSync(join(root, 'src', 'index.spec.js'), `// spec for ${name}\n`);
    for (let k = 3; k < (options.filesPerProject ?? 3); k++) {
      const module = `mod-${String(k).padStart(3, '0')}`;
      writeFileSync(join(root, 'src', `${module}.js`), `// ${name}/${module}\nexport const value${k} = ${k} * ${names.indexOf(name) + 1};\n`);
    }
  }
  return { projects: names, dependencies };
}

/**
 * A workspace whose `build` tasks only sleep: one project per task of `graph`
 * (`{ dag: { ids, dependencies }, durationMs }`, as from @stride/core's
 * skewedDag and friends), so that schedulers can be compared on a known shape.
 * `stride: false` gives the same graph through `nx:run-commands` with Nx's cache
 * off, for Nx's own scheduler.
 * @param {string} dir
 * @param {{ dag: { ids: string[], dependencies: Record<string, string[]> }, durationMs: Record<string, number> }} graph
 * @param {{ stride?: boolean }} [options]
 * @returns {{ projects: string[], dependencies: Record<string, string[]> }}
 */
export function generateTimedWorkspace(dir, graph, options = {}) {
  const stride = options.stride ?? true;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.gitignore'), 'node_modules\n.nx\n.stride\n');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'stride-timed', private: true, version: '0.0.0' }, null, 2) + '\n');
  const nxJson = {
    neverConnectToCloud: true,
    useDaemonProcess: false,
    targetDefaults: { build: { dependsOn: ['^build'], cache: false } },
  };
  writeFileSync(join(dir, 'nx.json'), JSON.stringify(nxJson, null, 2) + '\n');
  const dependencies = {};
  for (const id of graph.dag.ids) {
    const name = id.replace(/[^a-zA-Z0-9-]/g, '-');
    dependencies[name] = (graph.dag.dependencies[id] ?? []).map((dep) => dep.replace(/[^a-zA-Z0-9-]/g, '-'));
    const root = join(dir, 'libs', name);
    mkdirSync(root, { recursive: true });
    const command = `sleep ${(graph.durationMs[id] ?? 0) / 1000}`;
    const build = stride ? { executor: '@stride/nx:run', options: { command } } : { executor: 'nx:run-commands', options: { command } };
    writeFileSync(
      join(root, 'project.json'),
      JSON.stringify({ name, root: `libs/${name}`, implicitDependencies: dependencies[name], targets: { build } }, null, 2) + '\n',
    );
    writeFileSync(join(root, 'index.js'), `// ${name}\n`);
  }
  return { projects: Object.keys(dependencies), dependencies };
}
