import { execSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { NxJsonConfiguration, ProjectGraph, TargetConfiguration, Task, TaskGraph } from '@nx/devkit';
import picomatch from 'picomatch';
import {
  computeTaskHash,
  digestFileSet,
  existingOutputPaths,
  type FileHasher,
  type FileIndex,
  filesUnder,
  StrideError,
} from '@stride/core';
import type { TaskEnvironments } from './task-env.js';
import { resolveTaskOptions, withoutRunLimits } from './task-options.js';

type Input = NonNullable<TargetConfiguration['inputs']>[number];
type InputDefinition = Exclude<Input, string>;

/** Where file sets of one project (or of the workspace root) select from. */
interface FileBucket {
  include: string[];
  exclude: string[];
}

interface ExpandedInputs {
  /** Keyed by project name, or '' for `{workspaceRoot}` file sets. */
  files: Map<string, FileBucket>;
  env: Set<string>;
  runtime: Set<string>;
  externalDependencies: Set<string> | undefined;
  dependentOutputs: Array<{ glob: string; transitive: boolean }>;
}

const DEFAULT_INPUTS: Input[] = ['default', '^default'];
const DEFAULT_NAMED_INPUT: Input[] = ['{projectRoot}/**/*'];

/**
 * Computes Stride's hash of any task in the run's task graph, following Nx's
 * input semantics: named inputs, `^` dependency inputs, file sets, env and
 * runtime inputs, external dependencies and dependency outputs. As in Nx, a
 * task's hash covers its dependencies through `^` inputs (their files) and
 * `dependentTasksOutputFiles` (their outputs), not through their hashes, so a
 * dependency that re-runs to the same result does not invalidate its
 * dependants. Tasks are hashed when their dependencies are done, so their
 * outputs are on disk.
 */
export class NxTaskHasher {
  private readonly memo = new Map<string, Promise<string>>();
  private readonly fileSets = new Map<string, Promise<string>>();
  private readonly namedInputs = new Map<string, ExpandedInputs>();
  private readonly inputBytes = new Map<string, number | undefined>();
  private readonly projectRoots: Array<[string, string]>;

  constructor(
    private readonly root: string,
    private readonly projectGraph: ProjectGraph,
    private readonly taskGraph: TaskGraph,
    private readonly nxJson: NxJsonConfiguration,
    private readonly files: FileIndex,
    private readonly fileHasher: FileHasher,
    /** Each task's own environment, as Nx hashes `{ env }` and runtime inputs with it. */
    private readonly environments: TaskEnvironments,
  ) {
    this.projectRoots = Object.values(projectGraph.nodes).map((node) => [node.name, normalizeRoot(node.data.root)]);
  }

  hash(taskId: string): Promise<string> {
    let pending = this.memo.get(taskId);
    if (!pending) {
      pending = this.compute(taskId);
      this.memo.set(taskId, pending);
    }
    return pending;
  }

  /**
   * Whether the task's hash reads its dependencies' outputs
   * (`dependentTasksOutputFiles`): only then must hashing wait for them. Any
   * other task can be hashed, and its artifact fetched, before its turn.
   */
  hashWaitsForDependencies(taskId: string): boolean {
    try {
      const task = this.task(taskId);
      const target = this.projectGraph.nodes[task.target.project]?.data.targets?.[task.target.target];
      return this.expand(task.target.project, (target?.inputs as Input[] | undefined) ?? DEFAULT_INPUTS, taskId).dependentOutputs.length > 0;
    } catch {
      // A configuration error is reported when the task is hashed in its turn.
      return true;
    }
  }

  /**
   * Bytes of the task's own project's input files (not its dependencies'):
   * what a task with no timing history of its own is estimated from. Undefined
   * when the inputs cannot be expanded (the error is reported when it is hashed).
   */
  ownInputBytes(taskId: string): number | undefined {
    if (this.inputBytes.has(taskId)) return this.inputBytes.get(taskId);
    let bytes: number | undefined;
    try {
      const task = this.task(taskId);
      const target = this.projectGraph.nodes[task.target.project]?.data.targets?.[task.target.target];
      const bucket = this.expand(task.target.project, (target?.inputs as Input[] | undefined) ?? DEFAULT_INPUTS, taskId).files.get(task.target.project);
      bytes = 0;
      for (const path of bucket ? this.files.select(this.scoped(task.target.project, bucket)) : []) {
        bytes += lstatSync(join(this.root, path), { throwIfNoEntry: false })?.size ?? 0;
      }
    } catch {
      bytes = undefined;
    }
    this.inputBytes.set(taskId, bytes);
    return bytes;
  }

  /**
   * The digest of one project's file set, computed once per run: with `^`
   * inputs, a library's files are part of every dependant's hash, and a
   * dependant must not re-read and re-hash them.
   */
  private fileSetDigest(label: string, project: string, bucket: FileBucket): Promise<string> {
    let pending = this.fileSets.get(label);
    if (!pending) {
      pending = (async () => {
        const paths = this.files.select(this.scoped(project, bucket));
        const hashes = await Promise.all(paths.map((path) => this.fileHasher.hash(path)));
        return digestFileSet(paths.map((path, i) => [path, hashes[i] as string] as const));
      })();
      this.fileSets.set(label, pending);
    }
    return pending;
  }

  private task(taskId: string): Task {
    const task = this.taskGraph.tasks[taskId];
    if (!task) throw new StrideError(`task ${taskId} is not in Nx's task graph`, { task: taskId });
    return task;
  }

  private async compute(taskId: string): Promise<string> {
    const task = this.task(taskId);
    const node = this.projectGraph.nodes[task.target.project];
    if (!node) throw new StrideError(`project ${task.target.project} is not in the project graph`, { task: taskId });
    const target = node.data.targets?.[task.target.target];
    const inputs = this.expand(task.target.project, (target?.inputs as Input[] | undefined) ?? DEFAULT_INPUTS, taskId);

    const fileSets: Array<[string, string]> = [];
    for (const [project, bucket] of inputs.files) {
      const label = `${project}:${JSON.stringify(bucket)}`;
      fileSets.push([label, await this.fileSetDigest(label, project, bucket)]);
    }
    const values: Record<string, string> = { task: taskId };
    const env = this.environments.forTask(task);
    for (const name of inputs.env) values[`env:${name}`] = env[name] ?? '';
    for (const command of inputs.runtime) values[`runtime:${command}`] = this.runtime(command, taskId, env);
    const options = resolveTaskOptions(task, target);
    if (inputs.externalDependencies) {
      for (const pkg of inputs.externalDependencies) values[`npm:${pkg}`] = this.externalVersion(pkg, taskId, true);
    } else if (typeof options.executor === 'string') {
      // Like Nx for any executor: the executor's own package, and the project's npm dependencies.
      for (const pkg of [options.executor.split(':')[0] as string, ...this.npmDependenciesOf(task.target.project)]) {
        values[`npm:${pkg}`] = this.externalVersion(pkg, taskId, false);
      }
    } else {
      // Like Nx for nx:run-commands: a shell command may use any package, so every locked version counts.
      values['npm:*'] = this.allExternals();
    }
    for (const { glob, transitive } of inputs.dependentOutputs) {
      for (const [path, hash] of await this.dependencyOutputFiles(taskId, glob, transitive)) values[`output:${path}`] = hash;
    }

    return computeTaskHash({
      runner: target?.executor ?? 'nx:run-commands',
      options: withoutRunLimits(options),
      fileSets,
      values,
    });
  }

  /** Turns Nx input definitions into concrete file sets and values, for one project. */
  private expand(project: string, inputs: readonly Input[], taskId: string, seen = new Set<string>()): ExpandedInputs {
    const out: ExpandedInputs = { files: new Map(), env: new Set(), runtime: new Set(), externalDependencies: undefined, dependentOutputs: [] };
    const addFileset = (owner: string, pattern: string): void => {
      const negated = pattern.startsWith('!');
      const body = negated ? pattern.slice(1) : pattern;
      const isWorkspace = body.startsWith('{workspaceRoot}');
      const key = isWorkspace ? '' : owner;
      const path = this.resolveFileset(owner, body);
      const bucket = out.files.get(key) ?? { include: [], exclude: [] };
      (negated ? bucket.exclude : bucket.include).push(path);
      out.files.set(key, bucket);
    };
    const merge = (other: ExpandedInputs): void => {
      for (const [key, bucket] of other.files) {
        const mine = out.files.get(key) ?? { include: [], exclude: [] };
        mine.include.push(...bucket.include);
        mine.exclude.push(...bucket.exclude);
        out.files.set(key, mine);
      }
      other.env.forEach((name) => out.env.add(name));
      other.runtime.forEach((command) => out.runtime.add(command));
      if (other.externalDependencies) {
        out.externalDependencies ??= new Set();
        other.externalDependencies.forEach((pkg) => out.externalDependencies?.add(pkg));
      }
      out.dependentOutputs.push(...other.dependentOutputs);
    };
    const named = (owner: string, name: string): ExpandedInputs => {
      const key = `${owner}:${name}`;
      if (seen.has(key)) return this.expand(owner, [], taskId, seen);
      // A named input expands the same for every task that reaches it from the top (no cycle in
      // progress): with `^production`, each library's expansion serves all its dependants.
      const memo = seen.size === 0 ? this.namedInputs.get(key) : undefined;
      if (memo) return memo;
      const definition = this.namedInput(owner, name, taskId);
      const expanded = this.expand(owner, definition, taskId, new Set([...seen, key]));
      if (seen.size === 0) this.namedInputs.set(key, expanded);
      return expanded;
    };

    for (const input of inputs) {
      if (typeof input === 'string') {
        if (input.startsWith('^')) {
          for (const dep of this.projectDependencies(project)) merge(named(dep, input.slice(1)));
        } else if (input.startsWith('{') || input.startsWith('!')) {
          addFileset(project, input);
        } else {
          merge(named(project, input));
        }
        continue;
      }
      if ('fileset' in input) {
        const owners = 'dependencies' in input && input.dependencies ? this.projectDependencies(project) : [project];
        for (const owner of owners) addFileset(owner, input.fileset);
      } else if ('input' in input) {
        const owners =
          'projects' in input && input.projects
            ? this.matchProjects(input.projects, taskId)
            : 'dependencies' in input && input.dependencies
              ? this.projectDependencies(project)
              : [project];
        for (const owner of owners) merge(named(owner, input.input));
      } else if ('env' in input) {
        out.env.add(input.env);
      } else if ('runtime' in input) {
        out.runtime.add(input.runtime);
      } else if ('externalDependencies' in input) {
        out.externalDependencies ??= new Set();
        input.externalDependencies.forEach((pkg) => out.externalDependencies?.add(pkg));
      } else if ('dependentTasksOutputFiles' in input) {
        out.dependentOutputs.push({ glob: input.dependentTasksOutputFiles, transitive: input.transitive ?? false });
      } else {
        throw new StrideError(`unsupported input ${JSON.stringify(input)}`, {
          task: taskId,
          setting: 'inputs',
          fix: 'use a file set, a named input, { env }, { runtime }, { externalDependencies } or { dependentTasksOutputFiles }',
        });
      }
    }
    return out;
  }

  private namedInput(project: string, name: string, taskId: string): Input[] {
    const node = this.projectGraph.nodes[project];
    const definitions = { ...(this.nxJson.namedInputs ?? {}), ...(node?.data.namedInputs ?? {}) } as Record<string, Input[]>;
    const definition = definitions[name] ?? (name === 'default' ? DEFAULT_NAMED_INPUT : undefined);
    if (!definition) {
      throw new StrideError(`the named input "${name}" is not defined`, {
        task: taskId,
        setting: `inputs (used by ${project})`,
        fix: `define "${name}" under namedInputs in nx.json or in ${project}'s project.json, or remove it from the inputs`,
      });
    }
    return definition;
  }

  private resolveFileset(project: string, pattern: string): string {
    const root = normalizeRoot(this.projectGraph.nodes[project]?.data.root ?? '');
    let path = pattern;
    if (path.startsWith('{workspaceRoot}')) path = path.slice('{workspaceRoot}'.length);
    else if (path.startsWith('{projectRoot}')) path = `${root}${path.slice('{projectRoot}'.length)}`;
    else path = root ? `${root}/${path}` : path;
    return path.replace(/^\/+/, '').replace(/\/{2,}/g, '/');
  }

  /** A project's file sets select only its own files, not those of projects nested inside it. */
  private scoped(project: string, bucket: FileBucket): FileBucket {
    if (project === '') return bucket;
    const root = normalizeRoot(this.projectGraph.nodes[project]?.data.root ?? '');
    const nested = this.projectRoots
      .filter(([name, other]) => name !== project && other !== root && (root === '' || other.startsWith(`${root}/`)))
      .map(([, other]) => `${other}/**`);
    return { include: bucket.include, exclude: [...bucket.exclude, ...nested] };
  }

  /** Every project this one depends on, directly or not (Nx's `^` inputs are transitive). */
  private projectDependencies(project: string): string[] {
    const found = new Set<string>();
    const visit = (name: string): void => {
      for (const dep of this.projectGraph.dependencies[name] ?? []) {
        if (!this.projectGraph.nodes[dep.target] || found.has(dep.target) || dep.target === project) continue;
        found.add(dep.target);
        visit(dep.target);
      }
    };
    visit(project);
    return [...found].sort();
  }

  private allExternalsHash: string | undefined;

  /** Every external node and its version, as one value (computed once per run). */
  private allExternals(): string {
    this.allExternalsHash ??= Object.values(this.projectGraph.externalNodes ?? {})
      .map((node) => `${node.name}@${node.data.version}${node.data.hash ? `:${node.data.hash}` : ''}`)
      .sort()
      .join(',');
    return this.allExternalsHash;
  }

  private npmDependenciesOf(project: string): string[] {
    const external = this.projectGraph.externalNodes ?? {};
    return (this.projectGraph.dependencies[project] ?? [])
      .map((dep) => external[dep.target])
      .filter((node): node is NonNullable<typeof node> => node !== undefined)
      .map((node) => node.data.packageName)
      .sort();
  }

  private externalVersion(pkg: string, taskId: string, declared: boolean): string {
    const external = this.projectGraph.externalNodes ?? {};
    const node = external[`npm:${pkg}`] ?? Object.values(external).find((n) => n.data.packageName === pkg);
    if (node) return `${node.data.version}${node.data.hash ? `:${node.data.hash}` : ''}`;
    if (!declared) return 'unknown';
    throw new StrideError(`the external dependency "${pkg}" is not in the lockfile`, {
      task: taskId,
      setting: 'inputs.externalDependencies',
      value: pkg,
      fix: 'install the package, or remove it from externalDependencies',
    });
  }

  private matchProjects(patterns: string | string[], taskId: string): string[] {
    const list = Array.isArray(patterns) ? patterns : [patterns];
    const names = Object.keys(this.projectGraph.nodes);
    const found = names.filter((name) => list.some((pattern) => picomatch.isMatch(name, pattern)));
    if (found.length === 0) {
      throw new StrideError(`no project matches ${JSON.stringify(list)}`, { task: taskId, setting: 'inputs[].projects', fix: 'name existing projects' });
    }
    return found.sort();
  }

  private runtime(command: string, taskId: string, env: NodeJS.ProcessEnv): string {
    try {
      return execSync(command, { cwd: this.root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new StrideError(`the runtime input "${command}" failed${stderr ? `: ${stderr}` : ''}`, {
        task: taskId,
        setting: 'inputs[].runtime',
        value: command,
        fix: 'make the command succeed from the workspace root, or remove the input',
      });
    }
  }

  private async dependencyOutputFiles(taskId: string, glob: string, transitive: boolean): Promise<Array<[string, string]>> {
    const depIds = new Set<string>();
    const visit = (id: string): void => {
      for (const edge of this.taskGraph.dependencies[id] ?? []) {
        if (depIds.has(edge.id)) continue;
        depIds.add(edge.id);
        if (transitive) visit(edge.id);
      }
    };
    visit(taskId);
    const matches = picomatch(glob, { dot: true });
    const out: Array<[string, string]> = [];
    for (const id of [...depIds].sort()) {
      const dep = this.task(id);
      const paths = await existingOutputPaths(this.root, dep.outputs);
      for (const file of await filesUnder(this.root, paths)) {
        if (matches(file)) out.push([file, await this.fileHasher.hash(file)]);
      }
    }
    return out;
  }
}

function normalizeRoot(root: string): string {
  return root === '.' || root === './' ? '' : root.replace(/^\.\//, '').replace(/\/+$/, '');
}
