import type { ProjectGraph, ProjectGraphExternalNode } from '@nx/devkit';
import { StrideError } from '@stride/core';

/** Which external packages a task's own target makes part of its hash (Nx's `target_input`). */
export type ExecutorExternals = { kind: 'all' } | { kind: 'nodes'; names: string[] } | { kind: 'none' };

/**
 * External (npm) nodes of the project graph, hashed as Nx 24 hashes them:
 * each node by its lockfile hash (or version), always together with every
 * package it depends on, transitively, so a bump deep in a tool's tree re-runs
 * what uses the tool. The graph Nx hands the batch carries both.
 */
export class ExternalNodes {
  private readonly closures = new Map<string, string[]>();
  private readonly projectClosures = new Map<string, string[]>();
  private allValue: string | undefined;

  constructor(private readonly graph: ProjectGraph) {}

  private get nodes(): Record<string, ProjectGraphExternalNode> {
    return this.graph.externalNodes ?? {};
  }

  /** The hashed value of one node. */
  valueOf(name: string): string {
    const node = this.nodes[name];
    return node ? `${node.data.version}${node.data.hash ? `:${node.data.hash}` : ''}` : 'missing';
  }

  /** Every external node, as one value (Nx's `AllExternalDependencies`), computed once per run. */
  all(): string {
    this.allValue ??= Object.keys(this.nodes)
      .sort()
      .map((name) => `${name}@${this.valueOf(name)}`)
      .join(',');
    return this.allValue;
  }

  /** Node names of a package: `<pkg>` or `npm:<pkg>` exactly, else every installed version of it. */
  find(pkg: string): string[] {
    if (this.nodes[pkg]) return [pkg];
    if (this.nodes[`npm:${pkg}`]) return [`npm:${pkg}`];
    return Object.entries(this.nodes)
      .filter(([, node]) => node.data.packageName === pkg)
      .map(([name]) => name)
      .sort();
  }

  /** The nodes and everything they depend on, transitively, sorted. */
  closure(names: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const name of names) for (const dep of this.closureOf(name)) out.add(dep);
    return [...out].sort();
  }

  /**
   * The external nodes a task reaches through its `^` inputs: those `project`
   * and each project in `dependencies` (all it depends on, transitively)
   * depend on directly, with their trees. Once per project and run.
   */
  ofProjects(project: string, dependencies: () => readonly string[]): string[] {
    let found = this.projectClosures.get(project);
    if (!found) {
      const direct = new Set<string>();
      for (const name of [project, ...dependencies()]) {
        for (const edge of this.graph.dependencies[name] ?? []) if (this.nodes[edge.target]) direct.add(edge.target);
      }
      found = this.closure(direct);
      this.projectClosures.set(project, found);
    }
    return found;
  }

  /**
   * What the task's own executor adds, by Nx's rule: an `@nx/` or `@nrwl/`
   * executor hashes its package's tree (nothing when the package is not in
   * the lockfile: a local plugin); any other executor, `nx:run-commands` and a
   * shell command included, hashes every external node, unless the task
   * declares `externalDependencies`, whose trees then replace them.
   */
  forExecutor(executor: string, declared: readonly string[] | undefined, taskId: string): ExecutorExternals {
    if (executor.startsWith('@nx/') || executor.startsWith('@nrwl/')) {
      const found = this.find(executor.split(':')[0] as string);
      return found.length > 0 ? { kind: 'nodes', names: this.closure(found) } : { kind: 'none' };
    }
    if (!declared) return { kind: 'all' };
    const names: string[] = [];
    for (const pkg of declared) {
      const found = this.find(pkg);
      if (found.length === 0) {
        throw new StrideError(`the external dependency "${pkg}" is not in the lockfile`, {
          task: taskId,
          setting: 'inputs.externalDependencies',
          value: pkg,
          fix: this.graph.nodes[pkg] ? `"${pkg}" is a project of this workspace: use a project input or implicitDependencies instead` : 'install the package, or remove it from externalDependencies',
        });
      }
      names.push(...found);
    }
    return names.length > 0 ? { kind: 'nodes', names: this.closure(names) } : { kind: 'none' };
  }

  private closureOf(name: string): string[] {
    let found = this.closures.get(name);
    if (!found) {
      const seen = new Set<string>([name]);
      const stack = [name];
      while (stack.length > 0) {
        for (const edge of this.graph.dependencies[stack.pop() as string] ?? []) {
          if (!seen.has(edge.target)) {
            seen.add(edge.target);
            stack.push(edge.target);
          }
        }
      }
      found = [...seen].filter((node) => this.nodes[node]);
      this.closures.set(name, found);
    }
    return found;
  }
}
