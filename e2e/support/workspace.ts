import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { inject } from 'vitest';
import { generateWorkspace, type GeneratedWorkspace } from '../../tools/workspace-gen.mjs';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions that do not care which. */
  output: string;
}

export interface RunRecordTask {
  id: string;
  hash: string | null;
  cache: 'local' | 'remote' | 'miss';
  status: 'success' | 'failure' | 'skipped';
  startMs: number;
  endMs: number;
  estimateMs: number;
  attempts: number;
  flaky: boolean;
  phases: { hashMs: number; waitMs?: number; restoreMs: number; runMs: number; storeMs: number };
}

export interface RunRecord {
  startedAt: string;
  endedAt: string;
  parallel: number;
  tasks: RunRecordTask[];
  warnings: string[];
  criticalPath: { predicted: { ids: string[]; ms: number }; actual: { ids: string[]; ms: number } };
  remote?: { hits: number; uploads: number; alreadyStored: number; refused: number; switchedOff: boolean; downloadBytes: number; uploadBytes: number };
}

/** A throw-away Nx 24 workspace outside the repo, with Stride installed from the tarballs. */
export class TestWorkspace {
  /** Nx caches handed out so far (STRIDE_E2E_LOCAL_CACHE=nx: one per command). */
  private nxCaches = 0;

  constructor(
    readonly root: string,
    readonly graph: GeneratedWorkspace,
  ) {}

  nx(args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    return this.exec(join(this.root, 'node_modules', '.bin', 'nx'), args, env);
  }

  /** Starts nx without waiting, for tests that need to act while it runs. */
  nxAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
    return this.execAsync(join(this.root, 'node_modules', '.bin', 'nx'), args, env);
  }

  /** The stride bin without blocking this process (which may host the S3 server it talks to). */
  strideAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
    return this.execAsync(join(this.root, 'node_modules', '.bin', 'stride'), args, env);
  }

  execAsync(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CommandResult> {
    return new Promise((resolve) => {
      const child = spawn(command, args, { cwd: this.root, env: this.env(env) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, output: stdout + stderr }));
    });
  }

  stride(args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    return this.exec(join(this.root, 'node_modules', '.bin', 'stride'), args, env);
  }

  exec(command: string, args: string[], env: NodeJS.ProcessEnv = {}): CommandResult {
    const result = spawnSync(command, args, { cwd: this.root, env: this.env(env), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const stdout = result.stdout ?? '';
    const stderr = (result.stderr ?? '') + (result.error ? `\n${result.error.message}` : '');
    return { code: result.status ?? 1, stdout, stderr, output: stdout + stderr };
  }

  /** The last run record Stride wrote. */
  lastRun(): RunRecord {
    return JSON.parse(this.read('.stride/runs/last.json')) as RunRecord;
  }

  buildLog(): string[] {
    return existsSync(join(this.root, 'build-log.txt')) ? this.read('build-log.txt').split('\n').filter(Boolean) : [];
  }

  read(path: string): string {
    return readFileSync(join(this.root, path), 'utf8');
  }

  write(path: string, content: string): void {
    mkdirSync(dirname(join(this.root, path)), { recursive: true });
    writeFileSync(join(this.root, path), content);
  }

  updateJson<T>(path: string, update: (value: T) => T): void {
    this.write(path, `${JSON.stringify(update(JSON.parse(this.read(path)) as T), null, 2)}\n`);
  }

  /** sha256 of every file under the given folders, by path: compares outputs byte for byte. */
  digest(paths: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (path: string): void => {
      const absolute = join(this.root, path);
      if (!existsSync(absolute)) return;
      if (statSync(absolute).isDirectory()) {
        for (const name of readdirSync(absolute).sort()) walk(`${path}/${name}`);
      } else {
        out[path] = createHash('sha256').update(readFileSync(absolute)).digest('hex');
      }
    };
    paths.forEach(walk);
    return out;
  }

  git(args: string[]): CommandResult {
    return this.exec('git', ['-c', 'user.email=e2e@stride.test', '-c', 'user.name=e2e', ...args]);
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  private env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    // With Nx's cache in front, every nx command gets an empty Nx cache of its own, as on a fresh CI machine: what
    // Stride's store served before now comes through the batch from the bucket (or is built), where the suites'
    // attacks are aimed. (Nx 24 would otherwise also share one cache per user between look-alike checkouts.)
    const nxCache = E2E_LOCAL_CACHE === 'nx' ? { NX_CACHE_DIRECTORY: join(this.root, '.nx', `cache-${++this.nxCaches}`) } : {};
    return { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_SKIP_NX_CACHE: undefined, FORCE_COLOR: '0', ...nxCache, ...extra };
  }
}

/**
 * `STRIDE_E2E_LOCAL_CACHE=nx` runs suites against generated workspaces set up as init sets them up by default (Nx's
 * cache in front of Stride's targets) instead of for Stride's own store, to see which of a suite's claims hold in
 * that mode too. Unset, generated workspaces are set up for the store, as the suites' assertions expect.
 */
const E2E_LOCAL_CACHE = process.env.STRIDE_E2E_LOCAL_CACHE;

/** Creates a generated example workspace, linked to the shared install and committed to git. */
export function createWorkspace(options: { projects?: number; width?: number; stride?: boolean; nxCacheInFront?: boolean } = {}): TestWorkspace {
  const nxCacheInFront = options.nxCacheInFront ?? E2E_LOCAL_CACHE === 'nx';
  return createWorkspaceWith((root) => generateWorkspace(root, { ...options, nxCacheInFront }));
}

/** Like createWorkspace, with files written by `generate`. */
export function createWorkspaceWith(generate: (root: string) => GeneratedWorkspace | void): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), 'stride-e2e-'));
  const graph = generate(root) ?? { projects: [], dependencies: {} };
  symlinkSync(join(inject('installDir'), 'node_modules'), join(root, 'node_modules'));
  const workspace = new TestWorkspace(root, graph);
  workspace.git(['init', '-q', '-b', 'main']);
  workspace.git(['add', '-A']);
  // Nx 24 keys its per-user cache (~/.nx/<id>) on the first commit: two look-alike workspaces made in the same second
  // (suites run side by side) would share one and hit each other's results. The folder's name makes each commit unique.
  workspace.git(['commit', '-q', '-m', `initial (${basename(root)})`]);
  return workspace;
}

/** Every project that depends on `project`, directly or not, plus itself. */
export function withDependants(graph: GeneratedWorkspace, project: string): string[] {
  return closure(project, (name) => Object.keys(graph.dependencies).filter((other) => graph.dependencies[other]?.includes(name)));
}

/** Every project `project` depends on, directly or not, plus itself. */
export function withDependencies(graph: GeneratedWorkspace, project: string): string[] {
  return closure(project, (name) => graph.dependencies[name] ?? []);
}

function closure(start: string, next: (name: string) => string[]): string[] {
  const found = new Set([start]);
  for (const name of found) for (const other of next(name)) found.add(other);
  return [...found].sort();
}
