import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Nx's default when neither the command line, `NX_PARALLEL` nor nx.json says. */
const NX_DEFAULT_PARALLEL = 3;

/**
 * Puts what Nx's command line asked for (`--parallel`, `--nxBail`, the output
 * style) into STRIDE_PARALLEL, STRIDE_BAIL and STRIDE_STREAM_OUTPUT, for the
 * run and the tasks it starts. Nx hands none of them to a batch executor.
 * When `@stride/nx` is listed in nx.json `plugins`, its preTasksExecution hook
 * has already done this from Nx's own argv. Otherwise the command line is read
 * from the Nx process that forked this one, so the plugin entry (a plugin
 * worker, about 0.3 s per run under Nx's plugin isolation) is needed only for
 * settings in nx.json.
 */
export function adoptNxInvocation(nxJsonParallel: number | undefined, env: NodeJS.ProcessEnv = process.env): void {
  const nxPid = nxProcessId(env);
  // Values inherited from an outer Nx run (a task that runs nx itself) are not this run's.
  if (env.STRIDE_PARALLEL && env.STRIDE_INVOCATION_PID === String(nxPid)) return;
  setInvocation(nxCommandLine(nxPid) ?? [], env, nxJsonParallel, nxPid);
}

/** The one place the STRIDE_* invocation variables are written (the plugin hook uses it too). */
export function setInvocation(argv: readonly string[], env: NodeJS.ProcessEnv, nxJsonParallel: number | undefined, nxPid: number): void {
  env.STRIDE_PARALLEL = String(resolveParallel(argv, env, nxJsonParallel));
  env.STRIDE_STREAM_OUTPUT = String(wantsStreamedOutput(argv));
  env.STRIDE_BAIL = String(wantsBail(argv));
  env.STRIDE_INVOCATION_PID = String(nxPid);
}

/** The Nx process that started this one: the last pid Nx puts in NX_INVOCATION_ANCESTOR_PIDS, else the parent. */
function nxProcessId(env: NodeJS.ProcessEnv): number {
  return Number((env.NX_INVOCATION_ANCESTOR_PIDS ?? '').split(',').at(-1)) || process.ppid;
}

/**
 * A process's arguments: from /proc on Linux, from `ps` elsewhere (which loses
 * quoting, harmless for flags); undefined where neither works (Windows), and
 * then Nx's defaults apply.
 */
export function nxCommandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split(/\s+/);
    } catch {
      return undefined;
    }
  }
}

/**
 * How many tasks may run at once, read exactly the way Nx 24 reads it
 * (`readParallelFromArgsAndEnv`, then nx.json's `parallel`, then 3).
 */
export function resolveParallel(argv: readonly string[], env: NodeJS.ProcessEnv, nxJsonParallel: number | undefined): number {
  const flag = readFlag(argv, 'parallel');
  const maxParallel = readFlag(argv, 'maxParallel') ?? readFlag(argv, 'max-parallel');
  if (flag === 'false') return 1;
  if (flag === 'true' || flag === '' || (flag === undefined && env.NX_PARALLEL)) {
    return concurrency(maxParallel || env.NX_PARALLEL || String(NX_DEFAULT_PARALLEL));
  }
  if (flag !== undefined) return concurrency(flag);
  return nxJsonParallel && nxJsonParallel > 0 ? Math.floor(nxJsonParallel) : NX_DEFAULT_PARALLEL;
}

function concurrency(value: string): number {
  let parallel = Number.parseInt(value, 10);
  if (value.endsWith('%')) parallel = (availableParallelism() * parallel) / 100;
  return Number.isFinite(parallel) ? Math.max(1, Math.floor(parallel)) : NX_DEFAULT_PARALLEL;
}

/** `--name=value`, `--name value`, or a bare `--name` ('' ) ; undefined when absent. */
function readFlag(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === `--${name}`) {
      const next = argv[i + 1];
      return next !== undefined && !next.startsWith('-') ? next : '';
    }
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
    if (arg === `--no-${name}`) return 'false';
  }
  return undefined;
}

/** True when the command asks for Nx's `stream` output style (live, prefixed lines). */
export function wantsStreamedOutput(argv: readonly string[]): boolean {
  const style = readFlag(argv, 'output-style') ?? readFlag(argv, 'outputStyle');
  return style === 'stream';
}

/** True under Nx's `--nxBail` (`--nx-bail`): stop at the first failing task. */
export function wantsBail(argv: readonly string[]): boolean {
  const flag = readFlag(argv, 'nxBail') ?? readFlag(argv, 'nx-bail');
  return flag !== undefined && flag !== 'false';
}
