// Copies the JSON schemas under <package>/src into <package>/dist: tsc emits only code.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const pkg = process.argv[2];
if (!pkg) throw new Error('usage: node tools/copy-assets.mjs <package dir>');
const walk = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
for (const file of walk(join(pkg, 'src')).filter((f) => f.endsWith('.json'))) {
  cpSync(file, join(pkg, 'dist', relative(join(pkg, 'src'), file)));
}
