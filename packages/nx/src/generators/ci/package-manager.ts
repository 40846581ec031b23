import type { Tree } from '@nx/devkit';

/** How the pipeline installs dependencies and runs workspace binaries. */
export interface PackageManagerCommands {
  name: 'pnpm' | 'yarn' | 'npm';
  install: string;
  /** Prefix for running a bin from node_modules: `pnpm exec nx ...`. */
  exec: string;
}

/** Chosen by the lockfile the workspace holds; npm when there is none. */
export function packageManagerOf(tree: Tree): PackageManagerCommands {
  if (tree.exists('pnpm-lock.yaml')) return { name: 'pnpm', install: 'pnpm install --frozen-lockfile', exec: 'pnpm exec' };
  if (tree.exists('yarn.lock')) return { name: 'yarn', install: 'yarn install --immutable', exec: 'yarn' };
  return { name: 'npm', install: 'npm ci', exec: 'npx --no-install' };
}
