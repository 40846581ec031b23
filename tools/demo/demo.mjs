// The main job: an example Nx workspace of 30 projects wired to Stride as `init`
// sets it up by default (Nx's local cache in front, Stride running the misses
// critical-path-first), built cold and then warm (outputs deleted first), with
// what ran and what was restored. Stride is installed from the packed tarballs,
// as a user would install it.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateWorkspace } from '../workspace-gen.mjs';

const repoRoot = resolve(import.meta.dirname, '..', '..');
const tarballs = readdirSync(join(repoRoot, 'dist', 'packages'))
  .filter((f) => f.endsWith('.tgz'))
  .map((f) => join(repoRoot, 'dist', 'packages', f));
if (tarballs.length === 0) throw new Error('no Stride tarballs in dist/packages: run `pnpm demo` (it packs them first)');
const dir = join(repoRoot, 'tmp', 'demo-workspace');
/** Lines of build-log.txt (one per task the build script ran) counted so far. */
let builtBefore = 0;

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const { projects } = generateWorkspace(dir, { projects: 30, nxCacheInFront: true });
install(dir, tarballs);
execFileSync('git', ['init', '-q'], { cwd: dir });

console.log(`\nDemo workspace: ${dir} (${projects.length} projects, Stride from ${tarballs.map((t) => t.split('/').pop()).join(', ')})`);
const cold = build('cold: empty caches');
for (const project of projects) rmSync(join(dir, 'libs', project, 'dist'), { recursive: true, force: true });
const warm = build('warm: outputs deleted, everything restored from the local cache');
const missing = projects.filter((p) => !existsSync(join(dir, 'libs', p, 'dist', 'index.js')));
console.log(`\nCold ${cold.seconds.toFixed(1)} s (${cold.ran} ran), warm ${warm.seconds.toFixed(1)} s (${warm.restored} restored, ${warm.ran} ran).`);
if (warm.restored !== projects.length || missing.length > 0 || cold.failed + warm.failed > 0) {
  console.error(`Demo FAILED: expected all ${projects.length} tasks restored on the warm run; missing outputs: ${missing.join(', ') || 'none'}`);
  process.exit(1);
}
console.log('Demo OK: every task of the warm run came back from the cache, outputs in place.');

function build(label) {
  console.log(`\n=== nx run-many -t build (${label})`);
  const started = Date.now();
  const result = spawnSync(join(dir, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'build', '--output-style=static'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    // Its own Nx cache: Nx 24 shares one per user between checkouts, and the demo starts cold every time.
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_CACHE_DIRECTORY: join(dir, '.nx', 'cache') },
  });
  const seconds = (Date.now() - started) / 1000;
  const summary = result.stdout.split('\n').filter((line) => line.startsWith('Stride') || /Nx read the output from the cache|Successfully ran/.test(line));
  console.log(summary.map((line) => line.trim()).join('\n'));
  if (result.status !== 0) {
    console.log(result.stdout);
    throw new Error(`nx run-many failed with exit code ${result.status}`);
  }
  // What ran is what the build script logged; what was restored is what Nx tagged as read from a cache (its own
  // local cache in front, or Stride's remote through the batch): counted from what happened, not from a summary.
  const log = join(dir, 'build-log.txt');
  const built = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0;
  const ran = built - builtBefore;
  builtBefore = built;
  const restored = result.stdout.split('\n').filter((line) => /^> nx run \S+:build.*\[(local|remote) cache\]/.test(line.trim())).length;
  const failed = result.stdout.split('\n').filter((line) => /Failed tasks?:/.test(line)).length;
  return { seconds, ran, restored, failed };
}

/** npm-installs nx and the tarballs, reusing node_modules when nothing changed. */
function install(workspace, files) {
  const key = createHash('sha256');
  for (const file of files) key.update(readFileSync(file));
  const stamp = join(repoRoot, 'tmp', 'demo-install', key.digest('hex').slice(0, 16));
  const cached = join(repoRoot, 'tmp', 'demo-install');
  if (!existsSync(stamp)) {
    rmSync(cached, { recursive: true, force: true });
    mkdirSync(cached, { recursive: true });
    writeFileSync(join(cached, 'package.json'), JSON.stringify({ name: 'demo-install', private: true }));
    console.log('Installing nx 24 and Stride from the tarballs (npm)...');
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '-D', 'nx@24.0.6', ...files], { cwd: cached, stdio: 'inherit' });
    writeFileSync(stamp, '');
  }
  execFileSync('ln', ['-s', join(cached, 'node_modules'), join(workspace, 'node_modules')]);
}
