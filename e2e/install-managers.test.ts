import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { generateWorkspace } from '../tools/workspace-gen.mjs';
import { NX_VERSION } from './support/global-setup.js';

/**
 * Issue 21: Stride installs in one command with each package manager, from the
 * packed tarball alone (npm is what the global setup itself uses). The nx
 * tarball once named @stride/core by version and pnpm went to the registry for
 * it (ERR_PNPM_FETCH_404); now the engine is inside the one tarball.
 */
const MANAGERS: Array<{ name: string; install: string[] }> = [
  { name: 'pnpm', install: ['pnpm', 'install', '--no-frozen-lockfile', '--config.confirmModulesPurge=false'] },
  { name: 'yarn', install: ['npm', 'exec', '--yes', '--package=yarn@1.22.22', '--', 'yarn', 'install', '--non-interactive', '--no-progress'] },
];

describe('one-command install from the tarball', () => {
  it('there is exactly one tarball, @stride/nx, with the engine inside', () => {
    expect(inject('tarballs').map((t) => t.split('/').pop())).toEqual(['stride-nx-0.1.0.tgz']);
  });

  it.each(MANAGERS)('$name installs it and a build runs through Stride', ({ install }) => {
    const [tarball] = inject('tarballs');
    const dir = mkdtempSync(join(tmpdir(), 'stride-install-'));
    try {
      generateWorkspace(dir, { projects: 3 });
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ ...pkg, devDependencies: { nx: NX_VERSION, '@stride/nx': `file:${tarball}` } }, null, 2)}\n`);
      const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0' };
      const run = (command: string[]) => spawnSync(command[0] as string, command.slice(1), { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const installed = run(install);
      expect(installed.status, `${installed.stdout}\n${installed.stderr}`).toBe(0);
      expect(existsSync(join(dir, 'node_modules', '@stride', 'nx', 'core', 'index.js'))).toBe(true);
      run(['git', 'init', '-q']);
      const build = run([join(dir, 'node_modules', '.bin', 'nx'), 'run-many', '-t', 'build']);
      expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
      const record = JSON.parse(readFileSync(join(dir, '.stride', 'runs', 'last.json'), 'utf8')) as { tasks: Array<{ cache: string }> };
      expect(record.tasks.map((t) => t.cache)).toEqual(['miss', 'miss', 'miss']);
      const help = run([join(dir, 'node_modules', '.bin', 'stride'), '--help']);
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toContain('stride gc');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
