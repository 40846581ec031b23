import { join } from 'node:path';
import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import {
  buildRunRecord,
  errorMessage,
  formatSummary,
  FileHasher,
  FileIndex,
  listWorkspaceFiles,
  OutputsOnDisk,
  renderHtmlReport,
  type RunRecord,
  type TaskOutcome,
  type TaskDag,
  TaskRunner,
  TimingHistory,
  toChromeTrace,
  writeFileAtomic,
  writeRunRecord,
} from '@stride/core';
import { readSettings, type StrideSettings } from '../settings.js';
import { executeTask, WorkerScratch } from './execute-task.js';
import { isStreaming, printTaskOutput } from './live-output.js';
import { resolveTaskOptions } from './task-options.js';
import { NxTaskHasher } from './task-hasher.js';
import { runLimits } from './validate-options.js';
import { targetOf } from './task-id.js';
import { loadRunTrust, openRemote, openStore } from './open-remote.js';
import { loadShardWaits } from './shard-plan.js';
import { adoptNxInvocation } from '../parallel.js';

/** The result Nx expects per task from a batch executor. */
export interface NxTaskResult {
  task: string;
  result: { success: boolean; terminalOutput: string; startTime: number; endTime: number };
}

/**
 * One Stride run over some tasks of Nx's task graph (all of a batch, or the
 * single task of a non-batched run): hashes, restores, runs what is missing,
 * stores it, and reports each task as it finishes. The run record and the
 * summary line are written once every task is done.
 */
export async function* strideRun(taskIds: readonly string[], context: ExecutorContext, taskGraph: TaskGraph): AsyncGenerator<NxTaskResult> {
  const startedAt = Date.now();
  const root = context.root;
  const settings = readSettings(root, context.nxJsonConfiguration);
  adoptNxInvocation(context.nxJsonConfiguration.parallel);
  const parallel = Number(process.env.STRIDE_PARALLEL) || 3;
  const setup: Record<string, number> = {};
  let mark = startedAt;
  const lap = (name: string): void => {
    const now = Date.now();
    setup[name] = now - mark;
    mark = now;
  };
  lap('settingsMs');
  const files = await listWorkspaceFiles(root);
  lap('listFilesMs');
  const fileHasher = new FileHasher(root, join(settings.strideDir, 'file-hashes.json'));
  const loadWarning = await fileHasher.load();
  lap('loadFileHashesMs');
  const hasher = new NxTaskHasher(root, context.projectGraph, taskGraph, context.nxJsonConfiguration, new FileIndex(files), fileHasher);
  const scratch = new WorkerScratch(context);

  const outputsOnDisk = new OutputsOnDisk(root, join(settings.strideDir, 'outputs.json'));
  const outputsWarning = await outputsOnDisk.load();
  // Who this run is (its scope, its keys): what the store records, signs and requires of what it restores.
  const trust = loadRunTrust(settings);
  const store = openStore(settings, root, trust, outputsOnDisk);
  // A run killed mid-write leaves a temp entry behind; the next run clears it.
  await store.removeAbandonedTemps().catch(() => 0);
  const remote = await openRemote(settings, store, trust);
  lap('remoteSetupMs');
  const timingsFile = join(settings.strideDir, 'timings.json');
  const { history, warning: timingsWarning } = await TimingHistory.load(timingsFile, targetOf);
  const teamTimings = await remote?.readTimings();
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
  const runner = new TaskRunner({
    dag,
    parallel,
    store,
    ...(remote ? { remote } : {}),
    readCache: process.env.NX_SKIP_NX_CACHE !== 'true',
    estimateMs,
    bail: process.env.STRIDE_BAIL === 'true',
    ...(process.env.STRIDE_SHARD_PLAN ? { awaitRemoteUntil: loadShardWaits(process.env.STRIDE_SHARD_PLAN, root, startedAt) } : {}),
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
        return executeTask({ root, context, taskGraph, scratch }, task, optionsOf(id), hash, signal);
      },
    },
  });
  if (loadWarning) runner.warnings.push(loadWarning);
  if (timingsWarning) runner.warnings.push(timingsWarning);
  if (outputsWarning) runner.warnings.push(outputsWarning);
  const nxCached = taskIds.filter((id) => taskGraph.tasks[id]?.cache === true);
  if (nxCached.length > 0) {
    runner.warnings.push(
      `Nx's own cache is also on for ${nxCached.slice(0, 3).join(', ')}${nxCached.length > 3 ? ` and ${nxCached.length - 3} more` : ''}: ` +
        'set "cache": false for these targets (nx g @stride/nx:init does it), or every output is stored twice',
    );
  }

  const outcomes: TaskOutcome[] = [];
  try {
    const streaming = isStreaming();
    for await (const outcome of runner.run()) {
      outcomes.push(outcome);
      // When streaming, Stride prints every line itself (executed tasks live,
      // restored ones as they are replayed) and Nx gets none, so nothing shows twice.
      const printedLive = outcome.cache === 'miss' && outcome.hash !== null;
      if (streaming && !printedLive) printTaskOutput(outcome.id, outcome.terminalOutput);
      yield {
        task: outcome.id,
        result: {
          success: outcome.status === 'success',
          terminalOutput: streaming ? '' : outcome.terminalOutput,
          startTime: outcome.startTime,
          endTime: outcome.endTime,
        },
      };
    }
  } finally {
    scratch.dispose();
    mark = Date.now();
    // Only clean single attempts teach durations: a retried run's time is not the task's.
    for (const o of outcomes) if (o.cache === 'miss' && o.status === 'success' && o.attempts === 1) history.record(o.id, o.phases.runMs, undefined, hasher.ownInputBytes(o.id));
    await history.save(timingsFile).catch((error: unknown) => runner.warnings.push(`could not save the timing history ${timingsFile}: ${String(error)}`));
    if (outcomes.some((o) => o.attempts > 0) || remote?.timingsNeedReplacing) remote?.scheduleTimingsUpload(() => history.toJSON());
    // A long flush must not look like a hang: say what is being waited for.
    if (remote && remote.pendingUploads > 0) process.stdout.write(`Stride: finishing ${remote.pendingUploads} uploads to the remote cache...\n`);
    await remote?.flush();
    lap('remoteFlushMs');
    await fileHasher.save(new Set(files)).catch((error: unknown) => runner.warnings.push(`could not save the file-hash cache: ${String(error)}`));
    await outputsOnDisk.save().catch((error: unknown) => runner.warnings.push(`could not save the record of restored outputs: ${String(error)}`));
    lap('saveFileHashesMs');
    const warnings = [...runner.warnings, ...store.warnings, ...(remote?.warnings ?? [])];
    const record = buildRunRecord({ startedAt, endedAt: Date.now(), parallel, dag, estimateMs, outcomes, warnings, setup, ...(remote ? { remote: remote.stats } : {}) });
    await writeRunRecord(join(settings.strideDir, 'runs'), record);
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
