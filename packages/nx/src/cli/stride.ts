import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { NxJsonConfiguration } from '@nx/devkit';
import { collectGarbage, errorMessage, LocalStore, parseAge, parseSize } from '@stride/core';
import { readSettings } from '../settings.js';

const HELP = `stride: Stride's command line (run it from an Nx workspace)

Usage:
  stride gc [--max-size <size>] [--max-age <age>]
      Evicts local store entries, least recently used first, until the store is
      under --max-size and nothing is older than --max-age. Defaults come from
      maxCacheSize / maxCacheAge in the @stride/nx plugin options (10GB, 30d).
  stride --help
      Shows this help.

Tasks run through Nx as usual: nx run-many -t build
`;

/** Runs the `stride` command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(HELP);
      return 0;
    }
    if (command === 'gc') return await gc(rest);
    process.stderr.write(`stride: unknown command "${command}"\n\n${HELP}`);
    return 2;
  } catch (error) {
    process.stderr.write(`stride ${command}: ${errorMessage(error)}\n`);
    return 1;
  }
}

async function gc(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'max-size': { type: 'string' }, 'max-age': { type: 'string' } }, strict: true });
  const root = findWorkspaceRoot(process.cwd());
  const nxJson = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')) as NxJsonConfiguration;
  const settings = readSettings(root, nxJson);
  const maxBytes = values['max-size'] !== undefined ? parseSize(values['max-size'], '--max-size') : settings.maxCacheBytes;
  const maxAgeMs = values['max-age'] !== undefined ? parseAge(values['max-age'], '--max-age') : settings.maxCacheAgeMs;
  const report = await collectGarbage(new LocalStore(settings.cacheDirectory, root), { maxBytes, maxAgeMs });
  process.stdout.write(
    `stride gc: removed ${report.removed} entries, kept ${report.kept} (${formatBytes(report.bytesBefore)} -> ${formatBytes(report.bytesAfter)}) in ${settings.cacheDirectory}\n`,
  );
  return 0;
}

function findWorkspaceRoot(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) throw new Error('no nx.json found here or above: run stride from inside an Nx workspace');
  }
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
