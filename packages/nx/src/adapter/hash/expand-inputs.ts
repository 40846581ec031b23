import type { NxJsonConfiguration, ProjectGraph, TargetConfiguration } from '@nx/devkit';
import { StrideError } from '@stride/core';
import { matchProjects } from './project-matcher.js';

export type Input = NonNullable<TargetConfiguration['inputs']>[number];

/** Where file sets of one project (or of the workspace root) select from. */
export interface FileBucket {
  include: string[];
  exclude: string[];
}

export interface JsonInputSpec {
  /** The project whose files a `{projectRoot}` path selects from; undefined for `{workspaceRoot}`. */
  project: string | undefined;
  path: string;
  fields: string[] | undefined;
  excludeFields: string[] | undefined;
}

/** A task's inputs resolved to concrete file sets and values (Nx's hash plan, in Stride's terms). */
export interface ExpandedInputs {
  /** File sets over the workspace's (not ignored) files, by project, or '' for `{workspaceRoot}` ones. */
  files: Map<string, FileBucket>;
  /** `includeIgnored` file sets, read from disk, by the project whose inputs they are. */
  disk: Map<string, FileBucket>;
  env: Set<string>;
  runtime: Set<string>;
  workingDirectory: Set<'relative' | 'absolute'>;
  json: Map<string, JsonInputSpec>;
  /** The task's own `externalDependencies` (never a dependency's: Nx reads them for the task's target only). */
  externalDependencies: string[] | undefined;
  dependentOutputs: Array<{ glob: string; transitive: boolean }>;
  /** Projects whose configuration and tsconfig share are hashed: the task's, and those its inputs reach. */
  configProjects: Set<string>;
  /** Whether a `^` input is present: then the npm packages of the project and its dependencies count. */
  readsDependencies: boolean;
}

/**
 * A target without `inputs`, as Nx 24 reads it: all of its own project's files (whatever `default` is
 * redefined to) and the `default` named input of every dependency.
 */
export const DEFAULT_INPUTS: Input[] = ['{projectRoot}/**/*', '^default'];
const DEFAULT_NAMED_INPUT: Input[] = ['{projectRoot}/**/*'];

const KNOWN_KEYS: Record<string, readonly string[]> = {
  fileset: ['fileset', 'dependencies', 'includeIgnored', 'always'],
  input: ['input', 'projects', 'dependencies', 'always'],
  runtime: ['runtime'],
  env: ['env'],
  externalDependencies: ['externalDependencies'],
  dependentTasksOutputFiles: ['dependentTasksOutputFiles', 'transitive'],
  workingDirectory: ['workingDirectory'],
  json: ['json', 'fields', 'excludeFields', 'always'],
};

function emptyInputs(): ExpandedInputs {
  return {
    files: new Map(),
    disk: new Map(),
    env: new Set(),
    runtime: new Set(),
    workingDirectory: new Set(),
    json: new Map(),
    externalDependencies: undefined,
    dependentOutputs: [],
    configProjects: new Set(),
    readsDependencies: false,
  };
}

/**
 * Expands Nx input definitions for one project, with Nx 24's semantics: named
 * inputs (nx.json's, overridden by the project's), `^` inputs over every
 * project the project depends on (transitively), inline dependency file sets
 * (`^{projectRoot}/src/**`), `{ input, projects }` with names, globs and tags,
 * `includeIgnored` file sets read from disk, and the value inputs. A named
 * input expands once per run for all the tasks that reach it.
 */
export class InputExpander {
  private readonly namedInputs = new Map<string, ExpandedInputs>();
  private readonly dependencies = new Map<string, string[]>();

  constructor(
    private readonly projectGraph: ProjectGraph,
    private readonly nxJson: NxJsonConfiguration,
  ) {}

  expand(project: string, inputs: readonly Input[], taskId: string, seen = new Set<string>()): ExpandedInputs {
    const out = emptyInputs();
    out.configProjects.add(project);
    for (const input of inputs) this.expandOne(out, project, input, taskId, seen);
    return out;
  }

  /** Every project this one depends on, directly or not (Nx's `^` inputs are transitive). */
  projectDependencies(project: string): string[] {
    let found = this.dependencies.get(project);
    if (!found) {
      const seen = new Set<string>();
      const visit = (name: string): void => {
        for (const dep of this.projectGraph.dependencies[name] ?? []) {
          if (!this.projectGraph.nodes[dep.target] || seen.has(dep.target) || dep.target === project) continue;
          seen.add(dep.target);
          visit(dep.target);
        }
      };
      visit(project);
      found = [...seen].sort();
      this.dependencies.set(project, found);
    }
    return found;
  }

  /** A file set pattern with its tokens resolved, workspace-relative. */
  resolveFileset(project: string, pattern: string): string {
    const root = normalizeRoot(this.projectGraph.nodes[project]?.data.root ?? '');
    let path = pattern.replaceAll('{projectName}', project);
    if (path.startsWith('{workspaceRoot}')) path = path.slice('{workspaceRoot}'.length);
    else if (path.startsWith('{projectRoot}')) path = `${root}${path.slice('{projectRoot}'.length)}`;
    return path.replace(/^\/+/, '').replace(/\/{2,}/g, '/');
  }

  private expandOne(out: ExpandedInputs, project: string, input: Input, taskId: string, seen: Set<string>): void {
    if (typeof input === 'string') {
      if (input.startsWith('^')) {
        const rest = input.slice(1);
        out.readsDependencies = true;
        for (const dep of this.projectDependencies(project)) {
          if (isFileset(rest)) this.addFileset(out, dep, rest, false, taskId, input);
          else this.merge(out, this.named(dep, rest, taskId, seen), false);
        }
      } else if (this.isNamed(project, input)) {
        this.merge(out, this.named(project, input, taskId, seen), true);
      } else if (isFileset(input)) {
        this.addFileset(out, project, input, false, taskId, input);
      } else {
        throw this.undefinedNamedInput(project, input, taskId);
      }
      return;
    }
    const kind = this.kindOf(input, taskId);
    const record = input as Record<string, unknown>;
    switch (kind) {
      case 'fileset': {
        const fileset = record['fileset'] as string;
        const ignored = record['includeIgnored'] === true;
        if (record['dependencies'] === true) {
          out.readsDependencies = true;
          for (const dep of this.projectDependencies(project)) {
              this.addFileset(out, dep, fileset, ignored, taskId, input);
          }
        } else {
          this.addFileset(out, project, fileset, ignored, taskId, input);
        }
        return;
      }
      case 'input': {
        const name = record['input'] as string;
        const projects = record['projects'] as string | string[] | undefined;
        if (projects !== undefined && projects !== 'self' && projects !== 'dependencies') {
          const patterns = Array.isArray(projects) ? projects : [projects];
          const selected = matchProjects(patterns, this.projectGraph);
          if (record['always'] === true) this.ensureEveryPatternMatches(patterns, name, taskId);
          const owners = record['dependencies'] === true ? [...new Set(selected.flatMap((p) => this.projectDependencies(p)))].sort() : selected;
          for (const owner of owners) this.merge(out, this.named(owner, name, taskId, seen), false);
        } else if (record['dependencies'] === true || projects === 'dependencies') {
          out.readsDependencies = true;
          for (const dep of this.projectDependencies(project)) {
              this.merge(out, this.named(dep, name, taskId, seen), false);
          }
        } else {
          this.merge(out, this.named(project, name, taskId, seen), true);
        }
        return;
      }
      case 'env':
        out.env.add(record['env'] as string);
        return;
      case 'runtime':
        out.runtime.add(record['runtime'] as string);
        return;
      case 'externalDependencies':
        out.externalDependencies = [...(out.externalDependencies ?? []), ...(record['externalDependencies'] as string[])];
        return;
      case 'dependentTasksOutputFiles':
        out.dependentOutputs.push({ glob: record['dependentTasksOutputFiles'] as string, transitive: record['transitive'] === true });
        return;
      case 'workingDirectory': {
        const mode = String(record['workingDirectory']).toLowerCase();
        if (mode !== 'relative' && mode !== 'absolute') {
          throw new StrideError(`the input ${JSON.stringify(input)} has an unknown workingDirectory mode`, {
            task: taskId,
            setting: 'inputs[].workingDirectory',
            value: record['workingDirectory'],
            fix: 'use "relative" (the folder nx runs in, relative to the workspace) or "absolute"',
          });
        }
        out.workingDirectory.add(mode);
        return;
      }
      case 'json': {
        const json = record['json'] as string;
        if (!json.startsWith('{projectRoot}') && !json.startsWith('{workspaceRoot}')) {
          throw new StrideError(`the json input ${JSON.stringify(json)} must start with {projectRoot} or {workspaceRoot}`, {
            task: taskId,
            setting: 'inputs[].json',
            value: json,
            fix: `write "{projectRoot}/${json}" or "{workspaceRoot}/${json}"`,
          });
        }
        const spec: JsonInputSpec = {
          project: json.startsWith('{projectRoot}') ? project : undefined,
          path: this.resolveFileset(project, json),
          fields: record['fields'] as string[] | undefined,
          excludeFields: record['excludeFields'] as string[] | undefined,
        };
        out.json.set(JSON.stringify(spec), spec);
        return;
      }
    }
  }

  /** The input's kind, by its keys; anything Nx 24's schema does not describe is an error, never ignored. */
  private kindOf(input: Exclude<Input, string>, taskId: string): keyof typeof KNOWN_KEYS {
    const keys = Object.keys(input);
    const kind = Object.keys(KNOWN_KEYS).find((candidate) => keys.includes(candidate));
    const unknown = kind ? keys.filter((key) => !KNOWN_KEYS[kind]?.includes(key)) : keys;
    if (!kind || unknown.length > 0) {
      throw new StrideError(
        kind ? `the input ${JSON.stringify(input)} has keys Nx does not define for a ${kind} input: ${unknown.join(', ')}` : `unsupported input ${JSON.stringify(input)}`,
        {
          task: taskId,
          setting: 'inputs',
          fix: 'use a file set ({ fileset, dependencies, includeIgnored, always }), a named input ({ input, projects, dependencies, always }), { env }, { runtime }, { externalDependencies }, { dependentTasksOutputFiles, transitive }, { workingDirectory } or { json, fields, excludeFields }',
        },
      );
    }
    return kind as keyof typeof KNOWN_KEYS;
  }

  private addFileset(out: ExpandedInputs, owner: string, pattern: string, ignored: boolean, taskId: string, input: Input): void {
    if (!isFileset(pattern)) {
      throw new StrideError(`"${pattern}" is not a file set: file sets start with {projectRoot} or {workspaceRoot} (or ! and one of them)`, {
        task: taskId,
        setting: 'inputs',
        value: input,
        fix: `write "{projectRoot}/${pattern.replace(/^!/, '')}" (or the {workspaceRoot} form), or define "${pattern}" as a named input`,
      });
    }
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1) : pattern;
    // Disk-backed sets are one group per project, whatever their root token (Nx resolves them together).
    const key = ignored ? owner : body.startsWith('{workspaceRoot}') ? '' : owner;
    const buckets = ignored ? out.disk : out.files;
    const bucket = buckets.get(key) ?? { include: [], exclude: [] };
    (negated ? bucket.exclude : bucket.include).push(this.resolveFileset(owner, body));
    buckets.set(key, bucket);
    out.configProjects.add(owner);
  }

  private merge(out: ExpandedInputs, other: ExpandedInputs, self: boolean): void {
    for (const [source, target] of [
      [other.files, out.files],
      [other.disk, out.disk],
    ] as const) {
      for (const [key, bucket] of source) {
        const mine = target.get(key) ?? { include: [], exclude: [] };
        mine.include.push(...bucket.include);
        mine.exclude.push(...bucket.exclude);
        target.set(key, mine);
      }
    }
    other.env.forEach((name) => out.env.add(name));
    other.runtime.forEach((command) => out.runtime.add(command));
    other.workingDirectory.forEach((mode) => out.workingDirectory.add(mode));
    other.json.forEach((spec, key) => out.json.set(key, spec));
    other.configProjects.forEach((project) => out.configProjects.add(project));
    out.readsDependencies ||= other.readsDependencies;
    if (self && other.externalDependencies) out.externalDependencies = [...(out.externalDependencies ?? []), ...other.externalDependencies];
    out.dependentOutputs.push(...other.dependentOutputs);
  }

  private named(owner: string, name: string, taskId: string, seen: Set<string>): ExpandedInputs {
    const key = `${owner}:${name}`;
    if (seen.has(key)) return this.expand(owner, [], taskId, seen);
    // A named input expands the same for every task that reaches it from the top (no cycle in
    // progress): with `^production`, each library's expansion serves all its dependants.
    const memo = seen.size === 0 ? this.namedInputs.get(key) : undefined;
    if (memo) return memo;
    const expanded = this.expand(owner, this.definition(owner, name, taskId), taskId, new Set([...seen, key]));
    if (seen.size === 0) this.namedInputs.set(key, expanded);
    return expanded;
  }

  private definitions(project: string): Record<string, Input[]> {
    const node = this.projectGraph.nodes[project];
    return { default: DEFAULT_NAMED_INPUT, ...(this.nxJson.namedInputs ?? {}), ...(node?.data.namedInputs ?? {}) } as Record<string, Input[]>;
  }

  private isNamed(project: string, name: string): boolean {
    return Object.hasOwn(this.definitions(project), name);
  }

  private definition(project: string, name: string, taskId: string): Input[] {
    const definition = this.definitions(project)[name];
    if (!definition) throw this.undefinedNamedInput(project, name, taskId);
    return definition;
  }

  private undefinedNamedInput(project: string, name: string, taskId: string): StrideError {
    return new StrideError(`the named input "${name}" is not defined`, {
      task: taskId,
      setting: `inputs (used by ${project})`,
      fix: `define "${name}" under namedInputs in nx.json or in ${project}'s project.json, write it as a file set ({projectRoot}/... or {workspaceRoot}/...), or remove it from the inputs`,
    });
  }

  /** Nx's rule for `always: true`: a deliberate input that selects no project is a mistake (a typo, a renamed project). */
  private ensureEveryPatternMatches(patterns: readonly string[], name: string, taskId: string): void {
    for (const pattern of patterns.filter((p) => !p.startsWith('!'))) {
      if (matchProjects([pattern], this.projectGraph).length === 0) {
        throw new StrideError(`the input { "input": "${name}", "projects" } with "always": true selects "${pattern}", which matches no project`, {
          task: taskId,
          setting: 'inputs[].projects',
          value: pattern,
          fix: 'name an existing project, tag (tag:<tag>) or folder, or remove the pattern',
        });
      }
    }
  }
}

/** Whether a string input is a file set (Nx requires one of its two root tokens). */
function isFileset(pattern: string): boolean {
  const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
  return body.startsWith('{projectRoot}') || body.startsWith('{workspaceRoot}');
}

export function normalizeRoot(root: string): string {
  return root === '.' || root === './' ? '' : root.replace(/^\.\//, '').replace(/\/+$/, '');
}
