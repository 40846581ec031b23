import type { CacheHit, TaskCache } from '../cache/task-cache.js';
import { compareReady, criticalPathPriorities, dependantsOf, type TaskDag } from '../schedule/critical-path.js';
import { AsyncQueue } from '../util/async-queue.js';
import { createLimit } from '../util/limit.js';
import { errorMessage } from '../util/errors.js';
import { outputBase } from '../store/output-paths.js';

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
  /** What the scheduler expected the task to take if it ran. */
  estimateMs: number;
  /** How many times it ran (1 + retries used); 0 when restored or skipped. */
  attempts: number;
  /** Failed at first, then succeeded on a retry. */
  flaky: boolean;
  /** The worker slot (0 .. parallel-1) it ran in; undefined when it did not run. */
  slot?: number;
  /** For a restored task: how long it took when it ran (what the restore saved). */
  savedMs: number;
}

export interface TaskPhases {
  hashMs: number;
  /** Time spent waiting for another machine to upload the task (shard plans only). */
  waitMs?: number;
  restoreMs: number;
  runMs: number;
  storeMs: number;
}

const noPhases = (): TaskPhases => ({ hashMs: 0, restoreMs: 0, runMs: 0, storeMs: 0 });
const noLimits: TaskLimits = { retries: 0, retryDelayMs: 0 };
/** How often a task another machine owns is looked for in the remote. */
const AWAIT_POLL_MS = 500;
/**
 * Remote lookups (and the downloads of what they find) started ahead of their tasks' turns, at once. A fresh CI
 * machine is latency-bound, not bandwidth-bound: with 20 ms added to every exchange, 8 at a time kept Stride's pull
 * of 200 small artifacts at 0.64x the speed of Nx's own client, which asks for a whole wave at once; 32 brought it
 * to 0.93x (BENCHMARKS.md). The S3 agent pools up to 50 sockets.
 */
const PREFETCH_CONCURRENCY = 32;
/** Restores started ahead of their tasks' turns, at once (each is file I/O plus an archive walk). */
const EARLY_RESTORE_CONCURRENCY = 8;

/** Seconds for messages: `30s`, `1.5s`. */
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))}s`;

export interface ExecutionResult {
  success: boolean;
  terminalOutput: string;
  /** Things the run should report once, e.g. files the task wrote outside its declared outputs. */
  warnings?: string[];
}

/** Per-task limits on running it: the executor's `retries`, `retryDelay` and `timeout`. */
export interface TaskLimits {
  retries: number;
  /** Before the first retry; doubled before each next one. */
  retryDelayMs: number;
  /** The task is killed, with its process tree, after this long; undefined: no limit. */
  timeoutMs?: number;
}

/** What the runner needs from its host (the Nx adapter) for each task. */
export interface TaskHost {
  hash(id: string): Promise<string>;
  /** Declared outputs, workspace-relative, possibly globs. */
  outputs(id: string): readonly string[];
  /** Runs the task; when `signal` aborts (a timeout) the task's processes must be killed. */
  execute(id: string, hash: string, signal?: AbortSignal): Promise<ExecutionResult>;
  /** Retries and timeout for the task; none when absent. */
  limits?(id: string): TaskLimits;
  /** False when the task's hash reads its dependencies' outputs, so it cannot be hashed before they finish. */
  canHashEarly?(id: string): boolean;
}

export interface RunRequest {
  dag: TaskDag;
  parallel: number;
  /** The one cache: its tiers (local store, remote) are its business; the runner asks near, then far. */
  cache: TaskCache;
  /** False under `--skip-nx-cache`: nothing is restored, results are still stored. */
  readCache: boolean;
  host: TaskHost;
  /** Expected run time of each task, for critical-path priorities; all equal when absent. */
  estimateMs?: (id: string) => number;
  /** Nx's `--nxBail`: after the first failure nothing new starts; the rest is skipped. */
  bail?: boolean;
  /**
   * For a task another machine builds (a CI shard plan): until when (epoch ms)
   * to wait for its upload to the remote before building it here. Undefined:
   * this machine's own task.
   */
  awaitRemoteUntil?: (id: string) => number | undefined;
}

/** The longest a task waits for another machine's upload (STRIDE_SHARD_PLAN), whatever its deadline says. */
export const MAX_AWAIT_REMOTE_MS = 60 * 60 * 1000;

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
  /** Which worker slots are taken, so each run can say which one it used. */
  private readonly slots: boolean[] = [];
  /** Tasks being hashed and looked up right now. */
  private probing = 0;
  /** Set once a task failed under `bail`: nothing new starts. */
  private bailed = false;
  private readonly estimate: (id: string) => number;
  /** Remote lookups started ahead of a task's turn: whether the remote was asked, and what it gave. */
  private readonly prefetched = new Map<string, Promise<{ asked: boolean; hit?: CacheHit }>>();
  /** Tasks whose local hit an early fetch put there: reported as remote hits. */
  private readonly fetchedEarly = new Set<string>();
  /** Per task that can be restored before its turn: its hit, when it and everything it depends on hit. */
  private readonly earlyHits = new Map<string, Promise<CacheHit | undefined>>();
  /** Restores started before their tasks' turns: the replayed output, or undefined when the restore failed. */
  private readonly earlyRestores = new Map<string, Promise<{ terminalOutput?: string; ms: number }>>();

  constructor(private readonly request: RunRequest) {
    const { dag } = request;
    this.dependants = dependantsOf(dag);
    this.estimate = request.estimateMs ?? (() => 1);
    const priority = criticalPathPriorities(dag, this.estimate);
    this.compare = compareReady(priority, this.dependants);
    const inGraph = new Set(dag.ids);
    for (const id of dag.ids) {
      this.waitingOn.set(id, (dag.dependencies[id] ?? []).filter((dep) => inGraph.has(dep)).length);
    }
  }

  run(): AsyncIterable<TaskOutcome> {
    const { ids } = this.request.dag;
    if (ids.length === 0) this.outcomes.close();
    const ordered = [...ids].sort(this.compare);
    this.prefetch(ordered);
    this.restoreEarly(ordered);
    for (const id of ordered) if (this.waitingOn.get(id) === 0) this.becomeReady(id);
    return this.outcomes;
  }

  /**
   * A fully cached graph must not restore layer by layer, each layer waiting
   * for the one below: a task whose hash does not read its dependencies'
   * outputs, and whose dependencies all hit too, is restored at once (a few at
   * a time). It still completes in dependency order. When a dependency runs
   * instead, nothing is restored early, so no restore lands in a folder a
   * running task is writing; nor when outputs overlap, where the order decides
   * which files win.
   */
  private restoreEarly(ordered: readonly string[]): void {
    const { readCache, host, dag } = this.request;
    if (!readCache) return;
    const limit = createLimit(EARLY_RESTORE_CONCURRENCY);
    for (const id of ordered) {
      if ((this.waitingOn.get(id) ?? 0) === 0) continue;
      const restore = this.earlyHit(id).then(async (hit) => {
        if (!hit || outputsOverlapAny(host.outputs(id), (dag.dependencies[id] ?? []).map((dep) => host.outputs(dep)))) return undefined;
        return await limit(async () => {
          if (this.finished.has(id) || this.bailed) return undefined;
          const started = Date.now();
          const terminalOutput = await this.tryRestore(id, hit);
          return { ...(terminalOutput !== undefined ? { terminalOutput } : {}), ms: Date.now() - started };
        });
      });
      this.earlyRestores.set(id, restore.then((done) => done ?? { ms: -1 }, () => ({ ms: -1 })));
    }
  }

  /** The task's hit when it can be known now: it hashes early, and every dependency in the run hits too. */
  private earlyHit(id: string): Promise<CacheHit | undefined> {
    let pending = this.earlyHits.get(id);
    if (!pending) {
      pending = (async () => {
        const { host, cache, dag } = this.request;
        if ((this.waitingOn.get(id) ?? 0) > 0 && host.canHashEarly?.(id) !== true) return undefined;
        const hash = await host.hash(id);
        let hit = await cache.lookup(hash, id, 'near');
        if (!hit && this.prefetched.has(id)) {
          hit = (await this.prefetched.get(id))?.hit;
          // Brought by the early fetch: a remote hit (probe() tells the case where the import came first).
          if (hit) this.fetchedEarly.add(id);
        }
        if (!hit) return undefined;
        const deps = await Promise.all((dag.dependencies[id] ?? []).filter((dep) => this.waitingOn.has(dep)).map((dep) => this.earlyHit(dep)));
        return deps.every((dep) => dep !== undefined) ? hit : undefined;
      })().catch(() => undefined);
      this.earlyHits.set(id, pending);
    }
    return pending;
  }

  /**
   * With a remote, downloads start before tasks' turns: every task whose hash
   * does not read its dependencies' outputs is hashed at once and, on a near
   * miss, looked up in the far tiers (landing in the local tier, if any; a few at a time,
   * highest priority first). Restores still happen in dependency order; a
   * fresh machine just stops waiting for one download per layer.
   */
  private prefetch(ordered: readonly string[]): void {
    const { cache, readCache, host } = this.request;
    if (!cache.hasFar || !readCache) return;
    const limit = createLimit(PREFETCH_CONCURRENCY);
    for (const id of ordered) {
      if ((this.waitingOn.get(id) ?? 0) === 0 || host.canHashEarly?.(id) !== true) continue;
      const job = limit(async (): Promise<{ asked: boolean; hit?: CacheHit }> => {
        if (this.finished.has(id) || this.bailed) return { asked: false };
        const hash = await host.hash(id);
        if (await cache.lookup(hash, id, 'near')) return { asked: false };
        const hit = await cache.lookup(hash, id, 'far');
        return { asked: true, ...(hit ? { hit } : {}) };
      }).catch(() => ({ asked: false }));
      this.prefetched.set(id, job);
    }
  }

  private becomeReady(id: string): void {
    // A task skipped because one dependency failed must not start when another succeeds.
    if (this.finished.has(id) || this.bailed) return;
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
    const { cache, readCache } = this.request;
    let hash: string;
    let hit: CacheHit | undefined;
    const early = this.earlyRestores.get(id);
    let refusedEarly = false;
    try {
      hash = await this.request.host.hash(id);
      hit = readCache ? await cache.lookup(hash, id, 'near') : undefined;
      // An early fetch imports before it settles: a hit may be its work, so wait for its word (it is done or nearly).
      if (hit && this.prefetched.has(id) && (await this.prefetched.get(id))?.hit) this.fetchedEarly.add(id);
      const earlyFound = early ? await this.earlyHit(id) : undefined;
      if (early && earlyFound?.hash === hash) {
        this.probing--;
        phases.hashMs = Date.now() - startTime;
        const restoredEarly = await early;
        if (restoredEarly.terminalOutput !== undefined) {
          const source: CacheStatus = this.fetchedEarly.has(id) ? 'remote' : 'local';
          phases.restoreMs = restoredEarly.ms;
          this.complete({ ...this.blank(id, startTime), hash, cache: source, status: 'success', terminalOutput: restoredEarly.terminalOutput, endTime: Date.now(), phases, savedMs: earlyFound.durationMs });
          this.pump();
          return;
        }
        this.probing++;
        // Tried and refused (the warning says why): the task runs. Not tried (overlapping outputs): restore it now.
        if (restoredEarly.ms >= 0) refusedEarly = true;
      }
    } catch (error) {
      this.probing--;
      phases.hashMs = Date.now() - startTime;
      this.complete({ ...this.blank(id, startTime), status: 'failure', terminalOutput: `${errorMessage(error)}\n`, endTime: Date.now(), phases });
      this.pump();
      return;
    }
    this.probing--;
    const hashedAt = Date.now();
    phases.hashMs = hashedAt - startTime;
    if (refusedEarly) hit = undefined;
    let source: CacheStatus = hit && this.fetchedEarly.has(id) ? 'remote' : 'local';
    if (!hit && !refusedEarly && readCache && cache.hasFar) {
      // Outside the lookup window: a download must not hold up the slots.
      const early = await this.prefetched.get(id);
      hit = early?.asked ? early.hit : await cache.lookup(hash, id, 'far');
      source = 'remote';
      const asked = this.request.awaitRemoteUntil?.(id);
      // Bounded whatever the plan says: a wait is for another machine's upload, never for ever.
      const deadline = asked === undefined || Number.isNaN(asked) ? undefined : Math.min(asked, Date.now() + MAX_AWAIT_REMOTE_MS);
      if (!hit && deadline !== undefined) {
        const waitStart = Date.now();
        hit = await this.awaitOtherMachine(hash, id, deadline);
        phases.waitMs = Date.now() - waitStart;
      }
    }
    const restored = hit ? await this.tryRestore(id, hit) : undefined;
    if (restored !== undefined) {
      phases.restoreMs = Date.now() - hashedAt - (phases.waitMs ?? 0);
      this.complete({ ...this.blank(id, startTime), hash, cache: source, status: 'success', terminalOutput: restored, endTime: Date.now(), phases, savedMs: hit?.durationMs ?? 0 });
    } else if (this.bailed) {
      this.skip(id, Date.now());
    } else {
      this.runQueue.push({ id, hash, phases });
      this.runQueue.sort((a, b) => this.compare(a.id, b.id));
    }
    this.pump();
  }

  /**
   * Polls the remote for a task another machine owns, every half second (a
   * miss is one small request; a longer pause would add up along a chain of
   * waits), until it appears or the deadline passes (then the task runs here:
   * a late or failed machine costs time, never the build).
   */
  private async awaitOtherMachine(hash: string, id: string, deadline: number): Promise<CacheHit | undefined> {
    const { cache } = this.request;
    while (Date.now() < deadline && cache.farReadable && !this.bailed) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(AWAIT_POLL_MS, Math.max(0, deadline - Date.now()))));
      const hit = await cache.lookup(hash, id, 'far');
      if (hit) return hit;
    }
    return undefined;
  }

  private async tryRestore(id: string, hit: CacheHit): Promise<string | undefined> {
    try {
      return await this.request.cache.restore(hit, this.request.host.outputs(id));
    } catch (error) {
      this.warnings.push(`${id}: could not restore ${hit.hash}, running it instead: ${errorMessage(error)}`);
      return undefined;
    }
  }

  private pump(): void {
    if (this.probing > 0) return;
    while (this.running < this.request.parallel && this.runQueue.length > 0) {
      const next = this.runQueue.shift() as { id: string; hash: string; phases: TaskPhases };
      this.running++;
      let slot = this.slots.indexOf(false);
      if (slot === -1) slot = this.slots.length;
      this.slots[slot] = true;
      this.execute(next.id, next.hash, next.phases)
        .then((outcome) => {
          this.running--;
          this.slots[slot] = false;
          this.complete({ ...outcome, slot });
          this.pump();
        })
        .catch((error: unknown) => this.outcomes.fail(error));
    }
  }

  /**
   * Runs a miss, retrying a failure up to `retries` times with exponential
   * backoff. What is stored (and replayed on a hit) is the successful attempt's
   * output alone; what is shown now includes the failed attempts before it.
   */
  private async execute(id: string, hash: string, phases: TaskPhases): Promise<TaskOutcome> {
    const { host, cache } = this.request;
    const limits = host.limits?.(id) ?? noLimits;
    const startTime = Date.now();
    let shown = '';
    let attempts = 0;
    let result: ExecutionResult;
    let lastAttemptMs = 0;
    for (;;) {
      attempts++;
      const attemptStart = Date.now();
      result = await this.attempt(id, hash, limits);
      lastAttemptMs = Date.now() - attemptStart;
      if (result.success || attempts > limits.retries) break;
      const delay = limits.retryDelayMs * 2 ** (attempts - 1);
      shown += `${result.terminalOutput}\nStride: ${id} failed (attempt ${attempts} of ${limits.retries + 1}); retrying in ${seconds(delay)}\n`;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    const ranAt = Date.now();
    phases.runMs = ranAt - startTime;
    const flaky = result.success && attempts > 1;
    this.warnings.push(...(result.warnings ?? []));
    if (result.success) {
      try {
        await cache.put({ hash, taskId: id, durationMs: lastAttemptMs, outputs: host.outputs(id), terminalOutput: result.terminalOutput });
      } catch (error) {
        // The cache says which tier failed ("in the local store: ...").
        this.warnings.push(`${id}: could not store the result ${errorMessage(error)}`);
      }
      phases.storeMs = Date.now() - ranAt;
    }
    const status = result.success ? 'success' : 'failure';
    const terminalOutput = shown + result.terminalOutput + (flaky ? `\nStride: ${id} succeeded on attempt ${attempts} of ${limits.retries + 1}: marked flaky\n` : '');
    return { ...this.blank(id, startTime), hash, status, terminalOutput, endTime: Date.now(), phases, attempts, flaky };
  }

  /** One attempt, killed (with its process tree, by the host) when it outlives `timeoutMs`. */
  private async attempt(id: string, hash: string, limits: TaskLimits): Promise<ExecutionResult> {
    const controller = limits.timeoutMs !== undefined ? new AbortController() : undefined;
    const timer = controller ? setTimeout(() => controller.abort(), limits.timeoutMs) : undefined;
    try {
      const result = await this.request.host.execute(id, hash, controller?.signal);
      if (!controller?.signal.aborted) return result;
      return {
        success: false,
        terminalOutput: `${result.terminalOutput}\nStride: ${id} timed out after ${seconds(limits.timeoutMs ?? 0)} (its "timeout" option) and was killed with its child processes\n`,
      };
    } catch (error) {
      return { success: false, terminalOutput: `${errorMessage(error)}\n` };
    } finally {
      clearTimeout(timer);
    }
  }

  /** An outcome with nothing done yet, to fill in. */
  private blank(id: string, at: number): TaskOutcome {
    return { id, hash: null, cache: 'miss', status: 'skipped', terminalOutput: '', startTime: at, endTime: at, phases: noPhases(), estimateMs: this.estimate(id), attempts: 0, flaky: false, savedMs: 0 };
  }

  private complete(outcome: TaskOutcome): void {
    this.finished.add(outcome.id);
    this.outcomes.push(outcome);
    if (outcome.status === 'failure' && this.request.bail && !this.bailed) this.bailOut(outcome.endTime);
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
    this.complete(this.blank(id, at));
  }

  /**
   * `--nxBail`: the queued tasks and those not ready yet are skipped at once;
   * tasks already running or being looked up finish (a lookup that misses is
   * then skipped too), so no output is left half-written.
   */
  private bailOut(at: number): void {
    this.bailed = true;
    const queued = this.runQueue.splice(0).map((entry) => entry.id);
    for (const id of queued) this.skip(id, at);
    for (const id of this.request.dag.ids) if ((this.waitingOn.get(id) ?? 0) > 0) this.skip(id, at);
  }
}

/** Whether a task's outputs and any of its dependencies' outputs can hold the same files. */
function outputsOverlapAny(outputs: readonly string[], others: ReadonlyArray<readonly string[]>): boolean {
  const bases = outputs.map(outputBase);
  const inside = (a: string, b: string): boolean => a === b || b === '' || a.startsWith(`${b}/`);
  return others.some((other) => other.map(outputBase).some((theirs) => bases.some((mine) => inside(mine, theirs) || inside(theirs, mine))));
}
