// Renders RELIABILITY.md from the rows the fault matrix (e2e/fault-matrix.test.ts)
// wrote to dist/fault-matrix.json. `pnpm reliability` runs the matrix, then this.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const { date, rows } = JSON.parse(readFileSync(join(repo, 'dist', 'fault-matrix.json'), 'utf8'));
const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const groups = { remote: 'The remote (real S3 server, faults from the TCP proxy)', restore: 'Restoring (crafted store entries)', local: 'The local store and the workspace', security: 'Secrets and settings' };
const failed = rows.filter((r) => !r.pass);
const lines = [
  '# Reliability: the fault matrix',
  '',
  'A build cache is trusted only if it never restores something wrong and never turns an infrastructure hiccup',
  'into a red build. Every row below is a case of `e2e/fault-matrix.test.ts`, run against a real Nx 24 workspace,',
  'the real S3 server from `tools/s3` and, for faults on the wire, the TCP fault proxy; each asserts the exit code,',
  'the outputs\' bytes, the run record, what the store holds afterwards and the single warning printed. The',
  '"observed" column is what the run reported, not a restatement of the expectation.',
  '',
  `Regenerate with \`pnpm reliability\` (packs Stride, runs the matrix, rewrites this file). Last run: ${date},`,
  `${rows.length} cases, ${rows.length - failed.length} passed${failed.length ? `, **${failed.length} failed**` : ''}.`,
  '',
];
for (const [group, title] of Object.entries(groups)) {
  const mine = rows.filter((r) => r.group === group);
  if (mine.length === 0) continue;
  lines.push(`## ${title}`, '', '| case | expected | observed | result |', '|---|---|---|---|');
  for (const r of mine) lines.push(`| ${cell(r.case)} | ${cell(r.expected)} | ${cell(r.observed)} | ${r.pass ? 'pass' : '**FAIL**'} |`);
  lines.push('');
}
lines.push(
  '## Covered elsewhere',
  '',
  '- The CREEP attack end to end, signature substitution and key rotation: `e2e/trust.test.ts`; every attack of',
  '  SECURITY.md\'s threat-model table: `e2e/attacks/` (`pnpm security`).',
  '- Two machines uploading the same hashes at once, multipart uploads, read-only / write-only / off modes,',
  '  client-side encryption with a missing or wrong key: `e2e/remote.test.ts`.',
  '- `stride serve` with a tampered blob in the bucket and the bucket down behind it: `e2e/serve.test.ts`.',
  '- Archive safety at the unit level (modes, symlinks inside, altered archives evicted): `packages/core/src/store`.',
  '',
);
writeFileSync(join(repo, 'RELIABILITY.md'), lines.join('\n'));
console.log(`RELIABILITY.md: ${rows.length} cases, ${failed.length} failed`);
process.exitCode = failed.length > 0 ? 1 : 0;
