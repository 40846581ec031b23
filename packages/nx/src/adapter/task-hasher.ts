import { execSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { NxJsonConfiguration, ProjectGraph, Task, TaskGraph } from '@nx/devkit';
import picomatch from 'picomatch';
import {
  computeTaskHash,
  digestFileSet,
  existingOutputPaths,
  type FileHasher,
  type FileIndex,
  filesUnder,
  hashText,
  listDiskFiles,
  selectJsonFields,
  stableStringify,
  StrideError,
  type FileList,
  type TaskFingerprint,
} from '@stride/core';
import type { TaskEnvSource } from './task-env.js';
import { DEFAULT_INPUTS, type ExpandedInputs, type FileBucket, type Input, InputExpander, type JsonInputSpec, normalizeRoot } from './hash/expand-inputs.js';
import { ExternalNodes } from './hash/externals.js';
import { nxJsonHashText } from './hash/nx-json.js';
import { projectConfigurationText } from './hash/project-config.js';
import { RootTsconfig } from './hash/tsconfig.js';
import { resolveTaskOptions, withoutRunLimits } from './task-options.js';

/** Files Nx 24 hashes into every task, a change to them re-running everything (nx.json too: see nx-json.ts). */
const ALWAYS_HASHED: FileBucket = { include: ['.gitignore', '.nxignore'], exclude: [] };

/**
 * Computes Stride's hash of any task in the run's task graph, following Nx's
 * input semantics and hash plan: named inputs, `^` dependency inputs, file
 * sets (from the workspace's files, or from disk with `includeIgnored`), env,
 * runtime, working directory and JSON inputs, external dependencies with their
 * transitive trees, dependency outputs, and what Nx adds to every task (the
 * configuration of each project the inputs reach, the root tsconfig, nx.json
 * and the ignore files). As in Nx, a task's hash covers its dependencies
 * through `^` inputs (their files) and `dependentTasksOutputFiles` (their
 * outputs), not through their hashes, so a dependency that re-runs to the same
 * result does not invalidate its dependants. Tasks are hashed when their
 * dependencies are done, so their outputs are on disk.
 */
export class NxTaskHasher {
  private readonly memo = new Map<string, Promise<string>>();
  /** What went into each task's hash, and each file set's files by digest: the input of `stride why`'s records. */
  private readonly fingerprints = new Map<string, TaskFingerprint>();
  private readonly fileLists = new Map<string, FileList>();
  private readonly fileSets = new Map<string, Promise<string>>();
  private readonly configurations = new Map<string, Promise<string>>();
  private readonly inputBytes = new Map<string, number | undefined>();
  private readonly projectRoots: Array<[string, string]>;
  private readonly expander: InputExpander;
  private readonly externals: ExternalNodes;
  private readonly tsconfig: RootTsconfig;

  constructor(
    private readonly root: string,
    private readonly projectGraph: ProjectGraph,
    private readonly taskGraph: TaskGraph,
    nxJson: NxJsonConfiguration,
    private readonly files: FileIndex,
    private readonly fileHasher: FileHasher,
    /** Each task's own environment, as Nx hashes `{ env }` and runtime inputs with it. */
    private readonly environments: TaskEnvSource,
    /** Where `nx` was started: the batch process inherits it (`workingDirectory` inputs hash it). */
    private readonly cwd: string = process.cwd(),
  ) {
    this.projectRoots = Object.values(projectGraph.nodes).map((node) => [node.name, normalizeRoot(node.data.root)]);
    this.expander = new InputExpander(projectGraph, nxJson);
    this.externals = new ExternalNodes(projectGraph);
    const runner = nxJson.tasksRunnerOptions?.['default']?.options as { selectivelyHashTsConfig?: boolean } | undefined;
    this.tsconfig = new RootTsconfig(root, fileHasher, runner?.selectivelyHashTsConfig === true);
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
   * Whether the task's hash may read its dependencies' outputs
   * (`dependentTasksOutputFiles`, or files read from disk with
   * `includeIgnored`, where outputs may land): only then must hashing wait for
   * them. Any other task can be hashed, and its artifact fetched, before its turn.
   */
  hashWaitsForDependencies(taskId: string): boolean {
    try {
      const inputs = this.inputsOf(taskId);
      return inputs.dependentOutputs.length > 0 || inputs.disk.size > 0;
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
      const project = this.task(taskId).target.project;
      const bucket = this.inputsOf(taskId).files.get(project);
      bytes = 0;
      for (const path of bucket ? this.select(project, bucket) : []) {
        bytes += lstatSync(join(this.root, path), { throwIfNoEntry: false })?.size ?? 0;
      }
    } catch {
      bytes = undefined;
    }
    this.inputBytes.set(taskId, bytes);
    return bytes;
  }

  private inputsOf(taskId: string): ExpandedInputs {
    const task = this.task(taskId);
    const target = this.projectGraph.nodes[task.target.project]?.data.targets?.[task.target.target];
    return this.expander.expand(task.target.project, (target?.inputs as Input[] | undefined) ?? DEFAULT_INPUTS, taskId);
  }

  private task(taskId: string): Task {
    const task = this.taskGraph.tasks[taskId];
    if (!task) throw new StrideError(`task ${taskId} is not in Nx's task graph`, { task: taskId });
    return task;
  }

  private async compute(taskId: string): Promise<string> {
    const task = this.task(taskId);
    const project = task.target.project;
    const node = this.projectGraph.nodes[project];
    if (!node) throw new StrideError(`project ${project} is not in the project graph`, { task: taskId });
    const target = node.data.targets?.[task.target.target];
    const inputs = this.inputsOf(taskId);

    const fileSets: Array<[string, string]> = [['always', await this.fileSetDigest('always', '', ALWAYS_HASHED)]];
    for (const [owner, bucket] of inputs.files) {
      const label = `${owner}:${JSON.stringify(bucket)}`;
      fileSets.push([label, await this.fileSetDigest(label, owner, bucket)]);
    }
    for (const [owner, bucket] of inputs.disk) {
      const label = `disk:${owner}:${JSON.stringify(bucket)}`;
      fileSets.push([label, await this.diskDigest(label, bucket)]);
    }

    const values: Record<string, string> = { task: taskId };
    const env = this.environments.forTask(task);
    for (const name of inputs.env) values[`env:${name}`] = env[name] ?? '';
    for (const command of inputs.runtime) values[`runtime:${command}`] = this.runtime(command, taskId, env);
    for (const mode of inputs.workingDirectory) values[`cwd:${mode}`] = this.workingDirectory(mode);
    for (const [key, spec] of inputs.json) values[`json:${key}`] = await this.jsonDigest(spec);
    values['config'] = await this.configurationDigests(inputs.configProjects);
    values['nx.json'] = await this.nxJson();
    values['tsconfig'] = await this.tsconfig.common();
    if (this.tsconfig.selective) {
      for (const owner of inputs.configProjects) values[`tsconfig-paths:${owner}`] = await this.tsconfig.pathsOf(owner, (file) => this.ownerOf(file));
    }

    const options = resolveTaskOptions(task, target);
    // The executor Nx would see: the wrapped one, or nx:run-commands for a shell command.
    const executor = typeof options.executor === 'string' ? options.executor : 'nx:run-commands';
    const own = this.externals.forExecutor(executor, inputs.externalDependencies, taskId);
    if (own.kind === 'all') values['npm:*'] = this.externals.all();
    if (own.kind === 'nodes') for (const name of own.names) values[`npm:${name}`] = this.externals.valueOf(name);
    if (inputs.readsDependencies) {
      for (const name of this.externals.ofProjects(project, () => this.expander.projectDependencies(project))) values[`npm:${name}`] = this.externals.valueOf(name);
    }

    for (const { glob, transitive } of inputs.dependentOutputs) {
      for (const [path, hash] of await this.dependencyOutputFiles(taskId, glob, transitive)) values[`output:${path}`] = hash;
    }

    const fingerprint: TaskFingerprint = { runner: target?.executor ?? 'nx:run-commands', options: withoutRunLimits(options), fileSets, values };
    this.fingerprints.set(taskId, fingerprint);
    return computeTaskHash(fingerprint);
  }

  /** What went into a task's hash (once it is hashed), with the files of its file sets by digest. */
  explain(taskId: string): { fingerprint: TaskFingerprint; files: ReadonlyMap<string, FileList> } | undefined {
    const fingerprint = this.fingerprints.get(taskId);
    return fingerprint ? { fingerprint, files: this.fileLists } : undefined;
  }

  /**
   * The digest of one file set, computed once per run: with `^` inputs, a
   * library's files are part of every dependant's hash, and a dependant must
   * not re-read and re-hash them.
   */
  private fileSetDigest(label: string, project: string, bucket: FileBucket): Promise<string> {
    let pending = this.fileSets.get(label);
    if (!pending) {
      pending = (async () => {
        const paths = this.select(project, bucket);
        const hashes = await Promise.all(paths.map((path) => this.fileHasher.hash(path)));
        const list = paths.map((path, i) => [path, hashes[i] as string] as const);
        const digest = await digestFileSet(list);
        this.fileLists.set(digest, list);
        return digest;
      })();
      this.fileSets.set(label, pending);
    }
    return pending;
  }

  /**
   * An `includeIgnored` file set, listed from disk once per run. A plain path
   * that does not exist counts too, as Nx hashes it: creating it re-runs the task.
   */
  private diskDigest(label: string, bucket: FileBucket): Promise<string> {
    let pending = this.fileSets.get(label);
    if (!pending) {
      pending = (async () => {
        const found = new Set<string>();
        const missing: string[] = [];
        for (const pattern of bucket.include) {
          const listed = await listDiskFiles(this.root, { include: [pattern], exclude: bucket.exclude, skip: this.nestedRoots(this.ownerRootOf(pattern)) });
          listed.files.forEach((file) => found.add(file));
          missing.push(...listed.missing);
        }
        const paths = [...found].sort();
        const hashes = await Promise.all(paths.map((path) => this.fileHasher.hash(path)));
        const entries: Array<readonly [string, string]> = paths.map((path, i) => [path, hashes[i] as string] as const);
        for (const path of missing.sort()) entries.push([path, 'missing']);
        return digestFileSet(entries);
      })();
      this.fileSets.set(label, pending);
    }
    return pending;
  }

  /** nx.json without Stride's own settings, once per run (and not re-read on a warm run). */
  private nxJson(): Promise<string> {
    if (!this.files.select({ include: ['nx.json'], exclude: [] }).length) return Promise.resolve('');
    return this.fileHasher.derive('nx.json', 'nx.json', (bytes) => nxJsonHashText(bytes)).then((text) => hashText(text));
  }

  /** A `{ json, fields, excludeFields }` input: the selected fields of each matching file, keys sorted. */
  private async jsonDigest(spec: JsonInputSpec): Promise<string> {
    const paths = spec.project === undefined ? this.files.select({ include: [spec.path], exclude: [] }) : this.select(spec.project, { include: [spec.path], exclude: [] });
    const key = `json:${stableStringify([spec.fields ?? null, spec.excludeFields ?? null])}`;
    const entries: Array<readonly [string, string]> = [];
    for (const path of paths) {
      const selected = await this.fileHasher.derive(path, key, (bytes) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(bytes.toString('utf8'));
        } catch {
          // Nx hashes a file it cannot parse as JSON by its bytes.
          return '';
        }
        return `json:${stableStringify(selectJsonFields(parsed, spec.fields, spec.excludeFields))}`;
      });
      entries.push([path, selected === '' ? `raw:${await this.fileHasher.hash(path)}` : await hashText(selected)]);
    }
    return digestFileSet(entries);
  }

  /**
   * The configurations of the projects a task's inputs reach, as one value:
   * each project's digest is computed once per run (only for projects some
   * task reaches), and a task reaching 200 libraries adds one line to its
   * hash, not 200.
   */
  private async configurationDigests(projects: ReadonlySet<string>): Promise<string> {
    const sorted = [...projects].sort();
    const digests = await Promise.all(sorted.map((project) => this.configurationDigest(project)));
    return sorted.map((project, i) => `${project}=${digests[i]}`).join(',');
  }

  private configurationDigest(project: string): Promise<string> {
    let pending = this.configurations.get(project);
    if (!pending) {
      const node = this.projectGraph.nodes[project];
      pending = node ? hashText(projectConfigurationText(node)) : Promise.resolve('missing');
      this.configurations.set(project, pending);
    }
    return pending;
  }

  /** The files a bucket selects; an inclusion-free bucket (only negations) means all of the project's files but those. */
  private select(project: string, bucket: FileBucket): string[] {
    const root = project === '' ? '' : normalizeRoot(this.projectGraph.nodes[project]?.data.root ?? '');
    const include = bucket.include.length > 0 ? bucket.include : [root ? `${root}/**` : '**'];
    const nested = project === '' ? [] : this.nestedRoots(root, project).map((other) => `${other}/**`);
    return this.files.select({ include, exclude: [...bucket.exclude, ...nested] });
  }

  /** Roots of the projects inside `root` (not `root` itself): a project's file sets leave their files out. */
  private nestedRoots(root: string, project?: string): string[] {
    return this.projectRoots
      .filter(([name, other]) => name !== project && other !== root && (root === '' ? other !== '' : other.startsWith(`${root}/`)))
      .map(([, other]) => other);
  }

  /** The root of the deepest project holding the pattern's static base ('' when none does). */
  private ownerRootOf(pattern: string): string {
    const base = picomatch.scan(pattern).base;
    let best = '';
    for (const [, other] of this.projectRoots) {
      if (other && (base === other || base.startsWith(`${other}/`)) && other.length > best.length) best = other;
    }
    return best;
  }

  /** The project a workspace file belongs to (the deepest project root above it). */
  private ownerOf(file: string): string | undefined {
    const path = file.replace(/^\.\//, '');
    let best: [string, string] | undefined;
    for (const entry of this.projectRoots) {
      const [, other] = entry;
      if ((other === '' || path === other || path.startsWith(`${other}/`)) && (!best || other.length > best[1].length)) best = entry;
    }
    return best?.[0];
  }

  private workingDirectory(mode: 'relative' | 'absolute'): string {
    if (mode === 'absolute') return this.cwd;
    const inside = relative(this.root, this.cwd);
    if (inside.startsWith('..') || isAbsolute(inside)) return this.cwd;
    return inside.split(sep).join('/');
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
        const depId = typeof edge === 'string' ? edge : edge.id;
        if (depIds.has(depId)) continue;
        depIds.add(depId);
        if (transitive) visit(depId);
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
