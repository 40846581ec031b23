import { availableParallelism } from 'node:os';

/** Nx's default when neither the command line, `NX_PARALLEL` nor nx.json says. */
const NX_DEFAULT_PARALLEL = 3;

/**
 * How many tasks may run at once, read exactly the way Nx 24 reads it
 * (`readParallelFromArgsAndEnv`, then nx.json's `parallel`, then 3). Nx does
 * not hand `--parallel` to a batch executor, so the plugin reads it from the
 * command line before tasks run and passes it on in `STRIDE_PARALLEL`.
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
