// Packs one publishable package into dist/packages/ as the tarball a user would install.
// pnpm rewrites `workspace:*` into the real version, which `npm pack` would not.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const pkgDir = process.argv[2];
if (!pkgDir) throw new Error('usage: node tools/pack.mjs <package dir>');
const repoRoot = resolve(import.meta.dirname, '..');
const dest = join(repoRoot, 'dist', 'packages');
mkdirSync(dest, { recursive: true });
const name = JSON.parse(execFileSync('node', ['-p', `JSON.stringify(require('./${pkgDir}/package.json').name)`], { cwd: repoRoot, encoding: 'utf8' }));
const prefix = name.replace('@', '').replace('/', '-') + '-';
for (const f of readdirSync(dest)) if (f.startsWith(prefix) && f.endsWith('.tgz')) rmSync(join(dest, f));
execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: join(repoRoot, pkgDir), stdio: ['ignore', 'ignore', 'inherit'] });
console.log(`packed ${name} into ${dest}`);
