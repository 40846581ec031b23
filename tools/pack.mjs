// Packs Stride into dist/packages/ as the one tarball a user installs: @stride/nx with the engine
// (@stride/core) inside it. Two tarballs that name each other by version cannot be installed from
// files: pnpm and yarn look the other one up in the registry (ERR_PNPM_FETCH_404 @stride/core).
// bundleDependencies would fix npm only (yarn 1 ignores bundled folders' dependencies), so the core's
// compiled code is copied in under core/ and reached through a subpath import ("#stride-core"),
// which every package manager and Node itself resolve the same way; its dependencies become the
// package's own.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '..');
const nxDir = join(repoRoot, 'packages', 'nx');
const coreDir = join(repoRoot, 'packages', 'core');
const dest = join(repoRoot, 'dist', 'packages');
const CORE_SPECIFIER = '#stride-core';

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const nxPkg = readJson(join(nxDir, 'package.json'));
const corePkg = readJson(join(coreDir, 'package.json'));
for (const dir of [nxDir, coreDir]) if (!existsSync(join(dir, 'dist', 'index.js'))) throw new Error(`${dir}/dist is missing: build first (pnpm run pack builds)`);

const stage = mkdtempSync(join(tmpdir(), 'stride-pack-'));
try {
  const isShipped = (path) => !/\.test\.(js|d\.ts|js\.map|d\.ts\.map)$/.test(path) && !path.endsWith('.tsbuildinfo');
  cpSync(join(nxDir, 'dist'), join(stage, 'dist'), { recursive: true, filter: isShipped });
  cpSync(join(coreDir, 'dist'), join(stage, 'core'), { recursive: true, filter: isShipped });
  for (const name of ['bin', 'infer.js', 'executors.json', 'generators.json', 'README.md']) {
    if (existsSync(join(nxDir, name))) cpSync(join(nxDir, name), join(stage, name), { recursive: true });
  }
  // The adapter imports the engine by its workspace name; in the tarball it is the package's own subpath.
  for (const file of walk(join(stage, 'dist')).filter((f) => /\.(js|d\.ts)$/.test(f))) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(/(from |import\()(['"])@stride\/core\2/g, `$1$2${CORE_SPECIFIER}$2`);
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  const { '@stride/core': _inside, ...ownDependencies } = nxPkg.dependencies;
  const dependencies = { ...corePkg.dependencies };
  for (const [name, range] of Object.entries(ownDependencies)) {
    if (dependencies[name] !== undefined && dependencies[name] !== range) throw new Error(`${name} is ${range} in @stride/nx but ${dependencies[name]} in @stride/core: align them`);
    dependencies[name] = range;
  }
  const { devDependencies: _dev, files: _files, ...published } = nxPkg;
  const manifest = {
    ...published,
    imports: { [CORE_SPECIFIER]: { types: './core/index.d.ts', default: './core/index.js' } },
    files: ['dist', 'core', 'bin', 'infer.js', 'executors.json', 'generators.json', 'README.md'],
    dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  mkdirSync(dest, { recursive: true });
  for (const f of readdirSync(dest)) if (f.startsWith('stride-') && f.endsWith('.tgz')) rmSync(join(dest, f));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', dest], { cwd: stage, stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`packed ${nxPkg.name} ${nxPkg.version} (with ${corePkg.name} inside) into ${dest}`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
