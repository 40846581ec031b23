import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureChromium } from '../../tools/browser/ensure-chromium.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A folder outside the repo where nx 24 and Stride's tarballs were npm-installed, as a user would. */
    installDir: string;
    tarballs: string[];
    /** A Chromium binary for the HTML report test (installed from Debian's packages when missing). */
    chromium: string;
  }
}

const REPO = resolve(import.meta.dirname, '..', '..');
export const NX_VERSION = '24.0.6';

/**
 * Installs nx and Stride from the packed tarballs once per tarball content
 * into a folder outside the repo; every e2e workspace links its node_modules
 * there instead of installing again.
 */
export default function setup(project: TestProject): void {
  const dist = join(REPO, 'dist', 'packages');
  const tarballs = existsSync(dist) ? readdirSync(dist).filter((f) => f.endsWith('.tgz')).map((f) => join(dist, f)).sort() : [];
  if (tarballs.length === 0) throw new Error(`Stride's tarballs are missing from ${dist}: run \`pnpm run pack\` (pnpm test does it first)`);
  const key = createHash('sha256').update(NX_VERSION);
  for (const file of tarballs) key.update(readFileSync(file));
  const installDir = join(tmpdir(), 'stride-e2e-install', key.digest('hex').slice(0, 16));
  if (!existsSync(join(installDir, '.complete'))) {
    const building = `${installDir}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    writeFileSync(join(building, 'package.json'), JSON.stringify({ name: 'stride-e2e-install', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '-D', `nx@${NX_VERSION}`, ...tarballs], {
      cwd: building,
      stdio: 'inherit',
    });
    writeFileSync(join(building, '.complete'), '');
    rmSync(installDir, { recursive: true, force: true });
    renameSync(building, installDir);
  }
  project.provide('installDir', installDir);
  project.provide('tarballs', tarballs);
  project.provide('chromium', ensureChromium());
}
