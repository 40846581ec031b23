import { join } from 'node:path';
import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import {
  buildRunRecord,
  DEFAULT_SCOPE,
  errorMessage,
  formatSummary,
  FileHasher,
  FileIndex,
  listWorkspaceFiles,
  maskSecrets,
  secretMasker,
  renderHtmlReport,
  type RunRecord,
  type TaskOutcome,
  type TaskDag,
  TaskRunner,
  TimingHistory,
  UncachedTasks,
  BucketRecords,
  HashRecordStore,
  toChromeTrace,
  writeFileAtomic,
  writeRunRecord,
} from '@stride/core';
import { DEFAULT_MODE_SETTING, type LocalCacheMode, modeForBatch, readSettings, type StrideSettings } from '../settings.js';
import { executeTask, WorkerScratch } from './execute-task.js';
import { isStreaming, printTaskOutput } from './live-output.js';
import { resolveTaskOptions } from './task-options.js';
import { MissRecorder, publishBuilt } from './miss-causes.js';
import { followNxReset } from './nx-reset.js';
import { TaskEnvironments } from './task-env.js';
import { NxTaskHasher } from './task-hasher.js';
import { runLimits } from './validate-options.js';
import { targetOf } from './task-id.js';
import { loadRunTrust } from './open-remote.js';
import { openRunCache } from './open-cache.js';
import { loadShardWaits } from './shard-plan.js';
import { adoptNxInvocation } from '../parallel.js';

/** The result Nx expects per task from a batch executor. */
export interface NxTaskResult {
  task: string;
  result: { success: boolean; status: NxTaskStatus; terminalOutput: string; startTime: number; endTime: number };
}

/** The statuses Nx 24 takes from a batch result (`resolveBatchTaskStatus`): a restore is shown and counted as a cache hit. */
type NxTaskStatus = 'success' | 'failure' | 'local-cache' | 'remote-cache';

/**
 * How Nx should show and count a task: a restore from Stride's store as
 * Nx's `[local cache]`, from the bucket as `[remote cache]`, so Nx's own
 * summary ("Cache: 3/3 hit", "Nx read the output from the cache...") tells the
 * truth. Nx stores no result that carries a cache status, so with Nx's local
 * cache in front (localCache "nx") a remote hit is reported as a success
 * instead: Nx then keeps it, and the next run is Nx's own local hit.
 */
function nxStatus(outcome: TaskOutcome, localCache: LocalCacheMode): NxTaskStatus {
  if (outcome.status !== 'success') return 'failure';
  if (outcome.cache === 'local') return 'local-cache';
  if (outcome.cache === 'remote') return localCache === 'nx' ? 'success' : 'remote-cache';
  return 'success';
}

/**
 * One Stride run over some tasks of Nx's task graph (all of a batch, or the
 * single task of a non-batched run): hashes, restores, runs what is missing,
 * stores it, and reports each task as it finishes. The run record and the
 * summary line are written once every task is done. Nothing it yields or
 * throws carries a secret Stride knows.
 */
export async function* strideRun(taskIds: readonly string[], context: ExecutorContext, taskGraph: TaskGraph): AsyncGenerator<NxTaskResult> {
  try {
    yield* run(taskIds, context, taskGraph);
  } catch (error) {
    // Nx prints what a batch throws: a setting's error, the SDK's, any other.
    if (error instanceof Error) {
      error.message = maskSecrets(error.message);
      if (error.stack) error.stack = maskSecrets(error.stack);
      throw error;
    }
    throw new Error(maskSecrets(String(error)));
  }
}

async function* run(taskIds: readonly string[], context: ExecutorContext, taskGraph: TaskGraph): AsyncGenerator<NxTaskResult> {
  const startedAt = Date.now();
  const root = context.root;
  const settings = modeForBatch(
    readSettings(root, context.nxJsonConfiguration),
    taskIds.map((id) => taskGraph.tasks[id]?.cache === true),
  );
  adoptNxInvocation(context.nxJsonConfiguration.parallel);
  const parallel = Number(process.env.STRIDE_PARALLEL) || 3;
  const setup: Record<string, number> = {};
  let mark = startedAt;
  const lap = (name: string): void => {
    const now = Date.now();
    setup[name] = now - mark;
    mark = now;
  };
  // Before anything is read from .stride: after `nx reset`, Stride's store and caches start over too.
  const resetNotice = settings.localCache === 'stride' ? await followNxReset(root, settings.strideDir, settings.cacheDirectory) : undefined;
  if (resetNotice) process.stdout.write(`Stride: ${resetNotice}\n`);
  lap('settingsMs');
  const files = await listWorkspaceFiles(root);
  lap('listFilesMs');
  const fileHasher = new FileHasher(root, join(settings.strideDir, 'file-hashes.json'));
  const loadWarning = await fileHasher.load();
  lap('loadFileHashesMs');
  const environments = new TaskEnvironments(root, context.projectGraph);
  const hasher = new NxTaskHasher(root, context.projectGraph, taskGraph, context.nxJsonConfiguration, new FileIndex(files), fileHasher, environments);
  const scratch = new WorkerScratch(context);

  // Who this run is (its scope, its keys): what the store records, signs and requires of what it restores.
  const trust = loadRunTrust(settings);
  // The one cache the runner talks to, with the tiers `localCache` asks for.
  const { cache, remote, warnings: cacheWarnings, save: saveCacheState, trim: trimCache } = await openRunCache(settings, root, trust);
  lap('remoteSetupMs');
  const timingsFile = join(settings.strideDir, 'timings.json');
  const { history, warning: timingsWarning } = await TimingHistory.load(timingsFile, targetOf);
  const teamTimings = await remote?.readTimings().catch(() => undefined);
  if (teamTimings) history.mergeFrom(teamTimings);
  lap('timingsMs');

  const inRun = new Set(taskIds);
  const dag: TaskDag = {
    ids: taskIds,
    dependencies: Object.fromEntries(taskIds.map((id) => [id, (taskGraph.dependencies[id] ?? []).map((edge) => edge.id).filter((dep) => inRun.has(dep))])),
  };
  // Input sizes are read only for new tasks of a target whose history shows that size predicts time.
  const estimateMs = (id: string): number => history.estimate(id, () => hasher.ownInputBytes(id));
  const optionsOf = (id: string): Record<string, unknown> => {
    const task = taskGraph.tasks[id];
    if (!task) return {};
    return resolveTaskOptions(task, context.projectsConfigurations.projects[task.target.project]?.targets?.[task.target.target]);
  };
  // Read (and checked) whenever STRIDE_SHARD_PLAN is set; waited on only when the machines share through the bucket.
  const shardWaits = process.env.STRIDE_SHARD_PLAN ? loadShardWaits(process.env.STRIDE_SHARD_PLAN, root, startedAt) : undefined;
  // `"cache": false` in a task's options (either mode), or on its target with Nx's cache in front: never restored nor stored.
  const isCached = (id: string): boolean => optionsOf(id).cache !== false && (settings.localCache !== 'nx' || taskGraph.tasks[id]?.cache !== false);
  const runner = new TaskRunner({
    dag,
    parallel,
    cache: new UncachedTasks(cache, isCached),
    readCache: process.env.NX_SKIP_NX_CACHE !== 'true',
    estimateMs,
    bail: process.env.STRIDE_BAIL === 'true',
    ...(shardWaits && remote?.sharesResults ? { awaitRemoteUntil: shardWaits } : {}),
    host: {
      // Bad values fail the task when it runs (executeTask validates with a full message).
      limits: (id) => {
        try {
          return runLimits(id, optionsOf(id));
        } catch {
          return { retries: 0, retryDelayMs: 0 };
        }
      },
      hash: (id) => hasher.hash(id),
      canHashEarly: (id) => !hasher.hashWaitsForDependencies(id),
      outputs: (id) => taskGraph.tasks[id]?.outputs ?? [],
      execute: (id, hash, signal) => {
        const task = taskGraph.tasks[id];
        if (!task) throw new Error(`task ${id} is not in Nx's task graph`);
        return executeTask({ root, context, taskGraph, scratch, environments }, task, optionsOf(id), hash, signal);
      },
    },
  });
  if (shardWaits && remote && settings.remote?.scope === DEFAULT_SCOPE) {
    runner.warnings.push(
      `STRIDE_SHARD_PLAN is set, but on the default scope (${DEFAULT_SCOPE}) a run uploads nothing, so this machine builds the tasks other shards own instead of waiting for them: set STRIDE_REMOTE_SCOPE (trusted on the main branch, pr-<number> for pull requests)`,
    );
  }
  if (loadWarning) runner.warnings.push(loadWarning);
  if (environments.warning) runner.warnings.push(environments.warning);
  if (timingsWarning) runner.warnings.push(timingsWarning);
  runner.warnings.push(...cacheWarnings);
  const mismatched = settings.localCache === 'nx' ? taskIds.filter((id) => taskGraph.tasks[id]?.cache !== true) : taskIds.filter((id) => taskGraph.tasks[id]?.cache === true);
  if (mismatched.length > 0) {
    const which = `${mismatched.slice(0, 3).join(', ')}${mismatched.length > 3 ? ` and ${mismatched.length - 3} more` : ''}`;
    runner.warnings.push(
      settings.localCache === 'nx'
        ? `Nx's own cache is off for ${which}, and with localCache "nx" (${settings.localCacheSetting}) Stride keeps no local copy: they are neither restored nor stored anywhere, as Nx does for "cache": false; if init set that up for the "stride" mode, run nx g @stride/nx:init to set "cache": true`
        : settings.localCacheSetting.startsWith(DEFAULT_MODE_SETTING)
          ? `Nx's own cache is on for ${which} but off for other tasks of this batch, so Stride used its own store (localCache is not set) and their outputs are stored twice: run nx g @stride/nx:init to set every Stride target up for Nx's cache in front, or set localCache "stride" and run it to turn Nx's cache off for them`
          : `Nx's own cache is also on for ${which}: set "cache": false for these targets (nx g @stride/nx:init does it), or every output is stored twice`,
    );
  }

  const outcomes: TaskOutcome[] = [];
  // `stride why`'s records of what this run builds go to the bucket as each task finishes (and explain misses there).
  const bucketRecords = remote ? new BucketRecords(remote) : undefined;
  const publishing: Array<Promise<void>> = [];
  const whyDir = join(settings.strideDir, 'why');
  // With a bucket, misses are also explained against its records.
  const missRecorder = new MissRecorder(new HashRecordStore(whyDir), hasher, bucketRecords);
  const learned: Array<[id: string, runMs: number, inputBytes: number | undefined]> = [];
  // Built once per run: replayed output is masked per task, on the fully cached path too.
  const masker = secretMasker();
  try {
    const streaming = isStreaming();
    for await (const outcome of runner.run()) {
      outcomes.push(outcome);
      missRecorder.add(outcome);
      // Only clean single attempts teach durations: a retried run's time is not the task's. The input bytes (a stat
      // per file) are read as each task ends, not in the end of the run that Nx waits for; the history learns them
      // after the run, so this run's estimates stay what it started with.
      if (outcome.cache === 'miss' && outcome.status === 'success' && outcome.attempts === 1) learned.push([outcome.id, outcome.phases.runMs, hasher.ownInputBytes(outcome.id)]);
      if (bucketRecords && remote?.sharesResults && outcome.cache === 'miss' && outcome.status === 'success') {
        publishing.push(publishBuilt(bucketRecords, hasher, outcome).catch((error: unknown) => void runner.warnings.push(`could not send the hash record of ${outcome.id} to the bucket (stride why): ${errorMessage(error)}`)));
      }
      // Executed output was masked as it was captured; a restored one may come
      // from another machine (or an older Stride), so it is masked again here,
      // with this machine's secrets, before Nx prints or stores it.
      const terminalOutput = masker.mask(outcome.terminalOutput);
      // When streaming, Stride prints every line itself (executed tasks live,
      // restored ones as they are replayed) and Nx gets none, so nothing shows twice.
      const printedLive = outcome.cache === 'miss' && outcome.hash !== null;
      if (streaming && !printedLive) printTaskOutput(outcome.id, terminalOutput);
      yield {
        task: outcome.id,
        result: {
          success: outcome.status === 'success',
          status: nxStatus(outcome, settings.localCache),
          terminalOutput: streaming ? '' : terminalOutput,
          startTime: outcome.startTime,
          endTime: outcome.endTime,
        },
      };
    }
  } finally {
    scratch.dispose();
    mark = Date.now();
    for (const [id, ms, bytes] of learned) history.record(id, ms, undefined, bytes);
    // The end of the run is waited for by Nx: what can go on side by side does (the timings, the file hashes, the records).
    const savingTimings = history.save(timingsFile).catch((error: unknown) => void runner.warnings.push(`could not save the timing history ${timingsFile}: ${String(error)}`));
    if (outcomes.some((o) => o.attempts > 0) || remote?.timingsNeedReplacing) remote?.scheduleTimingsUpload(() => history.toJSON());
    // The records of what was built were sent as tasks finished; they are flushed with the artifacts.
    await Promise.all(publishing);
    // A long flush must not look like a hang: say what is being waited for.
    if (remote && remote.pendingUploads > 0) process.stdout.write(`Stride: finishing ${remote.pendingUploads} uploads to the remote cache...\n`);
    await cache.flush();
    lap('remoteFlushMs');
    const savingHashes = fileHasher.save(new Set(files)).catch((error: unknown) => void runner.warnings.push(`could not save the file-hash cache: ${String(error)}`));
    const stateWarning = await saveCacheState();
    if (stateWarning) runner.warnings.push(stateWarning);
    if (outcomes.some((o) => o.cache === 'miss' && o.status === 'success')) {
      const trimWarning = await trimCache();
      if (trimWarning) runner.warnings.push(trimWarning);
    }
    const finishing = missRecorder.finish(outcomes).catch((error: unknown) => {
      runner.warnings.push(`could not keep the hash records in ${whyDir} (stride why): ${errorMessage(error)}`);
      return undefined;
    });
    await Promise.all([savingHashes, savingTimings]);
    lap('saveFileHashesMs');
    const missCauses = await finishing;
    lap('hashRecordsMs');
    const warnings = [...runner.warnings, ...cache.warnings];
    const record = buildRunRecord({ startedAt, endedAt: Date.now(), parallel, dag, estimateMs, outcomes, warnings, setup, ...(remote ? { remote: remote.stats } : {}), ...(missCauses ? { missCauses } : {}) });
    // A full disk must not turn a finished build into a failed one at its last step.
    await writeRunRecord(join(settings.strideDir, 'runs'), record).catch((error: unknown) => record.warnings.push(`could not write the run record in ${join(settings.strideDir, 'runs')}: ${errorMessage(error)}`));
    await writeRequestedReports(record).catch((error: unknown) => record.warnings.push(String(error)));
    process.stdout.write(formatSummary(record));
  }
}

/** STRIDE_PROFILE (Chrome trace) and STRIDE_REPORT (HTML timeline), when asked for. */
async function writeRequestedReports(record: RunRecord): Promise<void> {
  const trace = process.env.STRIDE_PROFILE;
  const html = process.env.STRIDE_REPORT;
  if (trace) await writeFileAtomic(trace, JSON.stringify(toChromeTrace(record))).catch((error: unknown) => {
    throw new Error(`could not write the trace to ${trace} (STRIDE_PROFILE): ${errorMessage(error)}`);
  });
  if (html) await writeFileAtomic(html, renderHtmlReport(record)).catch((error: unknown) => {
    throw new Error(`could not write the report to ${html} (STRIDE_REPORT): ${errorMessage(error)}`);
  });
}
