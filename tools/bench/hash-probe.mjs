// Hashes every `build` task of a generated workspace in one process and
// nothing else, to isolate hashing from scheduling, lookups and restores.
// Run with the workspace as the working directory (its node_modules holds nx
// and Stride):  node hash-probe.mjs stride cold|warm   or   node hash-probe.mjs nx
// Prints one JSON line of milliseconds. It reaches into Nx's and Stride's
// installed internals (nx/src/..., @stride/nx/dist/adapter/task-hasher.js), so
// it is tied to nx 24.0.x and to this repository's Stride.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [which, temperature = ''] = process.argv.slice(2);
if (!['stride', 'nx'].includes(which) || (which === 'stride' && !['cold', 'warm'].includes(temperature))) {
  console.error('usage: node hash-probe.mjs stride cold|warm  |  node hash-probe.mjs nx');
  process.exit(2);
}
const root = process.cwd();
const require = createRequire(join(root, 'package.json'));
const scratch = mkdtempSync(join(tmpdir(), 'stride-bench-probe-'));
const out = { which, temperature: temperature || undefined };
const since = (t) => Math.round((performance.now() - t) * 10) / 10;
try {
  if (which === 'nx') {
    // Nx hashes files in its native workspace context (Rust, all cores), which
    // the CLI starts in the background as it boots; its persisted file-hash
    // store lives in the context's cache folder. An empty folder: cold.
    const { WorkspaceContext } = require('nx/src/native');
    let t = performance.now();
    await new WorkspaceContext(root, scratch).ready();
    out.fileHashColdMs = since(t);
    t = performance.now();
    await new WorkspaceContext(root, scratch).ready();
    out.fileHashWarmMs = since(t);
  }
  const { createProjectGraphAsync } = require('nx/src/devkit-exports.js');
  const { readNxJson } = require('nx/src/config/nx-json.js');
  const { createTaskGraph } = require('nx/src/tasks-runner/create-task-graph.js');
  const projectGraph = await createProjectGraphAsync({ exitOnError: true });
  const nxJson = readNxJson(root);
  const taskGraph = createTaskGraph(projectGraph, {}, Object.keys(projectGraph.nodes), ['build'], undefined, {});
  const ids = Object.keys(taskGraph.tasks);
  out.tasks = ids.length;
  if (which === 'nx') {
    // What the CLI does: one batch of every task, file hashes from the context.
    const { createTaskHasher } = require('nx/src/hasher/create-task-hasher.js');
    const { hashTasks } = require('nx/src/hasher/hash-task.js');
    const { getTaskSpecificEnv } = require('nx/src/tasks-runner/task-env.js');
    const t = performance.now();
    const hasher = createTaskHasher(projectGraph, nxJson);
    const tasks = Object.values(taskGraph.tasks);
    const envs = Object.fromEntries(tasks.map((task) => [task.id, getTaskSpecificEnv(task, projectGraph)]));
    await hashTasks(hasher, projectGraph, taskGraph, envs, null, tasks);
    out.taskHashMs = since(t);
  } else {
    // What Stride's batch does before its first task, then every task hash at
    // once (no restores in between). Warm reads the workspace's file-hash
    // cache; nothing is written back.
    const core = await import(pathToFileURL(require.resolve('@stride/core')).href);
    const nxDir = join(require.resolve('@stride/nx/package.json'), '..');
    const { NxTaskHasher } = await import(pathToFileURL(join(nxDir, 'dist', 'adapter', 'task-hasher.js')).href);
    const { TaskEnvironments } = await import(pathToFileURL(join(nxDir, 'dist', 'adapter', 'task-env.js')).href);
    const cacheFile = temperature === 'warm' ? join(root, '.stride', 'file-hashes.json') : join(scratch, 'absent.json');
    let t = performance.now();
    const files = await core.listWorkspaceFiles(root);
    out.listFilesMs = since(t);
    t = performance.now();
    const fileHasher = new core.FileHasher(root, cacheFile);
    await fileHasher.load();
    out.loadFileHashesMs = since(t);
    const hasher = new NxTaskHasher(root, projectGraph, taskGraph, nxJson, new core.FileIndex(files), fileHasher, new TaskEnvironments(root, projectGraph));
    t = performance.now();
    await Promise.all(ids.map((id) => hasher.hash(id)));
    out.taskHashMs = since(t);
    out.totalMs = Math.round((out.listFilesMs + out.loadFileHashesMs + out.taskHashMs) * 10) / 10;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
