import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage, type ShardPlan, writeFileAtomic } from '@stride/core';

/**
 * What `stride shard` leaves for the run that follows on the same machine
 * (named by STRIDE_SHARD_PLAN, relative to the workspace root): which machine owns each task and when it
 * should be done there. A task this machine does not own is waited for in the
 * remote instead of being built twice.
 */
export interface ShardPlanFile {
  version: 1;
  index: number;
  total: number;
  createdAt: string;
  owner: Record<string, number>;
  finishMs: Record<string, number>;
  estimateMs: Record<string, number>;
}

/** However early the owner was predicted to finish, a machine waits at least this long for it. */
export const MIN_WAIT_MS = 5_000;
/**
 * However late the owner was predicted to finish, a machine waits at most
 * this long for it, then builds the task itself: the plan's figures come from
 * a timing history, and a wrong or poisoned one must cost time, never a hung job.
 */
export const MAX_WAIT_MS = 30 * 60 * 1000;

export async function writeShardPlan(file: string, plan: ShardPlan, index: number, estimateMs: (id: string) => number): Promise<void> {
  const body: ShardPlanFile = {
    version: 1,
    index,
    total: plan.total,
    createdAt: new Date().toISOString(),
    owner: plan.owner,
    finishMs: plan.finishMs,
    estimateMs: Object.fromEntries(Object.keys(plan.owner).map((id) => [id, estimateMs(id)])),
  };
  await writeFileAtomic(file, `${JSON.stringify(body)}\n`);
}

/**
 * Reads the plan STRIDE_SHARD_PLAN names and returns, per task another machine
 * owns, the deadline to wait for it: the owner's predicted finish plus the
 * task's own estimate (what building it here would cost), at least MIN_WAIT_MS
 * and at most MAX_WAIT_MS, counted from `startedAt`.
 */
export function loadShardWaits(file: string, root: string, startedAt: number): (id: string) => number | undefined {
  let plan: ShardPlanFile;
  try {
    plan = JSON.parse(readFileSync(resolve(root, file), 'utf8')) as ShardPlanFile;
  } catch (error) {
    throw new Error(`STRIDE_SHARD_PLAN=${file}: cannot read the shard plan (${errorMessage(error)}); write it with stride shard --plan ${file}, or unset STRIDE_SHARD_PLAN`);
  }
  if (plan.version !== 1 || typeof plan.owner !== 'object' || !Number.isInteger(plan.index)) {
    throw new Error(`STRIDE_SHARD_PLAN=${file} is not a shard plan of this Stride version; write it again with stride shard`);
  }
  return (id) => {
    const owner = plan.owner[id];
    if (owner === undefined || owner === plan.index) return undefined;
    const wait = finite(plan.finishMs?.[id]) + finite(plan.estimateMs?.[id]);
    return startedAt + Math.min(MAX_WAIT_MS, Math.max(MIN_WAIT_MS, wait));
  };
}

/** A figure from the plan file, or 0 when it is not a finite, non-negative number. */
function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}
