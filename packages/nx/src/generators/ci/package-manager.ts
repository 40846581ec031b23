import type { Tree } from '@nx/devkit';

/** How the pipeline installs dependencies and runs workspace binaries. */
export interface PackageManagerCommands {
  name: 'pnpm' | 'yarn' | 'npm' | 'bun';
  install: string;
  /** Prefix for running a bin from node_modules: `pnpm exec nx ...`. */
  exec: string;
}

/** Chosen by the lockfile the workspace holds; npm when there is none. */
export function packageManagerOf(tree: Tree): PackageManagerCommands {
  if (tree.exists('pnpm-lock.yaml')) return { name: 'pnpm', install: 'pnpm install --frozen-lockfile', exec: 'pnpm exec' };
  // Bun 1.2+ writes a text bun.lock, older ones a binary bun.lockb.
  if (tree.exists('bun.lock') || tree.exists('bun.lockb')) return { name: 'bun', install: 'bun install --frozen-lockfile', exec: 'bun' };
  if (tree.exists('yarn.lock')) return { name: 'yarn', install: isYarnBerry(tree) ? 'yarn install --immutable' : 'yarn install --frozen-lockfile', exec: 'yarn' };
  return { name: 'npm', install: 'npm ci', exec: 'npx --no-install' };
}

/**
 * Yarn 2+ (Berry) takes `--immutable`; Yarn 1 has no such flag and wants `--frozen-lockfile`. Berry is the one
 * that `packageManager` names as yarn@2 or later, or that a `.yarnrc.yml` configures (Yarn 1 reads `.yarnrc`).
 * Read from the tree, not by running `yarn --version` as devkit's getPackageManagerCommand does: the generator
 * may run where the CI's Yarn is not installed.
 */
function isYarnBerry(tree: Tree): boolean {
  const spec = tree.exists('package.json') ? (JSON.parse(tree.read('package.json', 'utf8') ?? '{}') as { packageManager?: unknown }).packageManager : undefined;
  const major = typeof spec === 'string' ? /^yarn@(\d+)/.exec(spec)?.[1] : undefined;
  return major !== undefined ? Number(major) >= 2 : tree.exists('.yarnrc.yml');
}
