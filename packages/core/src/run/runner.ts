import type { RemoteTier } from '../remote/remote-cache.js';
import type { EntryMeta, LocalStore } from '../store/local-store.js';
import { compareReady, criticalPathPriorities, dependantsOf, type TaskDag } from '../schedule/critical-path.js';
import { AsyncQueue } from '../util/async-queue.js';
import { errorMessage } from '../util/errors.js';

export type CacheStatus = 'local' | 'remote' | 'miss';
export type TaskStatus = 'success' | 'failure' | 'skipped';

export interface TaskOutcome {
  id: string;
  hash: string | null;
  cache: CacheStatus;
  status: TaskStatus;
  terminalOutput: string;
  /** Epoch milliseconds. */
  startTime: number;
  endTime: number;
  /** Where the task's time went, in milliseconds. */
  phases: TaskPhases;
}

export interface TaskPhases {
  hashMs: number;
  restoreMs: number;
  runMs: number;
  storeMs: number;
}

const noPhases = (): TaskPhases => ({ hashMs: 0, restoreMs: 0, runMs: 0, storeMs: 0 });

export interface ExecutionResult {
  success: boolean;
  terminalOutput: string;
}

/** What the runner needs from its host (the Nx adapter) for each task. */
export interface TaskHost {
  hash(id: string): Promise<string>;
  /** Declared outputs, workspace-relative, possibly globs. */
  outputs(id: string): readonly string[];
  execute(id: string, hash: string): Promise<ExecutionResult>;
}

export interface RunRequest {
  dag: TaskDag;
  parallel: number;
  store: LocalStore;
  /** Asked after a local miss; gets every newly stored entry to upload. */
  remote?: RemoteTier;
  /** False under `--skip-nx-cache`: nothing is restored, results are still stored. */
  readCache: boolean;
  host: TaskHost;
  estimateMs?: (id: string) => number;
}

/**
 * Runs a task graph: each task, once its dependencies are done, is hashed and
 * looked up; a hit is restored at once (it needs no worker slot), a miss waits
 * for one of `parallel` slots, highest critical-path priority first. Outcomes
 * are reported as tasks finish. A failure skips everything that depends on it
 * and nothing else.
 */
export class TaskRunner {
  readonly warnings: string[] = [];
  private readonly outcomes = new AsyncQueue<TaskOutcome>();
  private readonly waitingOn = new Map<string, number>();
  private readonly dependants: Map<string, string[]>;
  private readonly compare: (a: string, b: string) => number;
  private readonly runQueue: Array<{ id: string; hash: string; phases: TaskPhases }> = [];
  private readonly finished = new Set<string>();
  private running = 0;
  /** Tasks being hashed and looked up right now. */
  private probing = 0;

  constructor(private readonly request: RunRequest) {
    const { dag } = request;
    this.dependants = dependantsOf(dag);
    const priority = criticalPathPriorities(dag, request.estimateMs ?? (() => 1));
    this.compare = compareReady(priority, this.dependants);
    const inGraph = new Set(dag.ids);
    for (const id of dag.ids) {
      this.waitingOn.set(id, (dag.dependencies[id] ?? []).filter((dep) => inGraph.has(dep)).length);
    }
  }

  run(): AsyncIterable<TaskOutcome> {
    const { ids } = this.request.dag;
    if (ids.length === 0) this.outcomes.close();
    for (const id of [...ids].sort(this.compare)) if (this.waitingOn.get(id) === 0) this.becomeReady(id);
    return this.outcomes;
  }

  private becomeReady(id: string): void {
    // A task skipped because one dependency failed must not start when another succeeds.
    if (this.finished.has(id)) return;
    this.probing++;
    this.probe(id).catch((error: unknown) => this.outcomes.fail(error));
  }

  /**
   * Hash and cache lookup: a hit is restored and completes here, a miss joins
   * the run queue. Slots are handed out only once no lookup is in flight, so
   * tasks that became ready together compete by priority, not by which hash
   * happened to finish first.
   */
  private async probe(id: string): Promise<void> {
    const startTime = Date.now();
    const phases = noPhases();
    let hash: string;
    let hit: EntryMeta | undefined;
    try {
      hash = await this.request.host.hash(id);
      hit = this.request.readCache ? await this.request.store.lookup(hash) : undefined;
    } catch (error) {
      this.probing--;
      phases.hashMs = Date.now() - startTime;
      this.complete({ id, hash: null, cache: 'miss', status: 'failure', terminalOutput: `${errorMessage(error)}\n`, startTime, endTime: Date.now(), phases });
      this.pump();
      return;
    }
    this.probing--;
    const hashedAt = Date.now();
    phases.hashMs = hashedAt - startTime;
    let cache: CacheStatus = 'local';
    if (!hit && this.request.readCache && this.request.remote) {
      // Outside the lookup window: a download must not hold up the slots.
      hit = await this.request.remote.fetch(hash, id);
      cache = 'remote';
    }
    const restored = hit ? await this.tryRestore(id, hit) : undefined;
    if (restored !== undefined) {
      phases.restoreMs = Date.now() - hashedAt;
      this.complete({ id, hash, cache, status: 'success', terminalOutput: restored, startTime, endTime: Date.now(), phases });
    } else {
      this.runQueue.push({ id, hash, phases });
      this.runQueue.sort((a, b) => this.compare(a.id, b.id));
    }
    this.pump();
  }

  private async tryRestore(id: string, meta: EntryMeta): Promise<string | undefined> {
    try {
      return (await this.request.store.restore(meta, this.request.host.outputs(id))).terminalOutput;
    } catch (error) {
      this.warnings.push(`${id}: could not restore ${meta.hash}, running it instead: ${errorMessage(error)}`);
      return undefined;
    }
  }

  private pump(): void {
    if (this.probing > 0) return;
    while (this.running < this.request.parallel && this.runQueue.length > 0) {
      const next = this.runQueue.shift() as { id: string; hash: string; phases: TaskPhases };
      this.running++;
      this.execute(next.id, next.hash, next.phases)
        .then((outcome) => {
          this.running--;
          this.complete(outcome);
          this.pump();
        })
        .catch((error: unknown) => this.outcomes.fail(error));
    }
  }

  private async execute(id: string, hash: string, phases: TaskPhases): Promise<TaskOutcome> {
    const { host, store } = this.request;
    const startTime = Date.now();
    let result: ExecutionResult;
    try {
      result = await host.execute(id, hash);
    } catch (error) {
      result = { success: false, terminalOutput: `${errorMessage(error)}\n` };
    }
    const ranAt = Date.now();
    phases.runMs = ranAt - startTime;
    if (result.success) {
      try {
        const meta = await store.save({ hash, taskId: id, durationMs: phases.runMs, outputs: host.outputs(id), terminalOutput: result.terminalOutput });
        this.request.remote?.scheduleUpload(meta);
      } catch (error) {
        this.warnings.push(`${id}: could not store the result in the local store: ${errorMessage(error)}`);
      }
      phases.storeMs = Date.now() - ranAt;
    }
    const status = result.success ? 'success' : 'failure';
    return { id, hash, cache: 'miss', status, terminalOutput: result.terminalOutput, startTime, endTime: Date.now(), phases };
  }

  private complete(outcome: TaskOutcome): void {
    this.finished.add(outcome.id);
    this.outcomes.push(outcome);
    for (const next of this.dependants.get(outcome.id) ?? []) {
      if (outcome.status !== 'success') this.skip(next, outcome.endTime);
      else {
        const left = (this.waitingOn.get(next) ?? 1) - 1;
        this.waitingOn.set(next, left);
        if (left === 0) this.becomeReady(next);
      }
    }
    if (this.finished.size === this.request.dag.ids.length) this.outcomes.close();
  }

  private skip(id: string, at: number): void {
    if (this.finished.has(id)) return;
    this.complete({ id, hash: null, cache: 'miss', status: 'skipped', terminalOutput: '', startTime: at, endTime: at, phases: noPhases() });
  }
}
