// What every benchmark in tools/bench shares: the Stride tarballs, one npm
// install of nx and Stride outside the repo, and a clean environment for nx.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const NX_VERSION = '24.0.6';
export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** The packed Stride tarballs; exits with a hint when `pnpm run pack` has not run. */
export function strideTarballs() {
  const dir = join(repoRoot, 'dist', 'packages');
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.tgz'))
        .sort()
        .map((f) => join(dir, f))
    : [];
  if (files.length === 0) {
    console.error('no Stride tarballs in dist/packages: run `pnpm bench` (it packs them first) or `pnpm run pack`');
    process.exit(1);
  }
  return files;
}

/** npm-installs nx and the tarballs once per set of tarballs, under `benchDir`; returns the folder. */
export function installStride(benchDir, files, log = console.log) {
  const key = createHash('sha256');
  for (const file of files) key.update(readFileSync(file));
  const dir = join(benchDir, `install-${key.digest('hex').slice(0, 16)}`);
  if (!existsSync(join(dir, 'done'))) {
    mkdirSync(benchDir, { recursive: true });
    for (const old of readdirSync(benchDir).filter((f) => f.startsWith('install-'))) rmSync(join(benchDir, old), { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'stride-bench-install', private: true }));
    log(`Installing nx@${NX_VERSION} and Stride from the tarballs (npm) into ${dir}...`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '-D', `nx@${NX_VERSION}`, ...files], { cwd: dir, stdio: 'inherit' });
    writeFileSync(join(dir, 'done'), '');
  }
  return dir;
}

/**
 * The environment of every nx run: the caller's, minus anything Nx- or
 * Stride-specific that could change what runs, minus what `pnpm bench` adds:
 * npm_* variables (with npm_config_user_agent=pnpm/..., Nx 24 in a workspace
 * without a lockfile spawns `pnpm --ignore-workspace --version` twice per
 * run, about 0.5 s here) and node_modules/.bin folders on PATH. Plus the
 * settings every run uses.
 */
export function benchEnv() {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(NX_|STRIDE_|npm_|pnpm_)/i.test(k) && !['NODE_OPTIONS', 'INIT_CWD'].includes(k)),
  );
  for (const key of Object.keys(env).filter((k) => k.toUpperCase() === 'PATH')) {
    env[key] = env[key]
      .split(delimiter)
      .filter((entry) => !/node_modules[\\/]\.bin[\\/]?$/.test(entry))
      .join(delimiter);
  }
  return Object.assign(env, { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' });
}

/** Median of a list of numbers. */
export function medianOf(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
