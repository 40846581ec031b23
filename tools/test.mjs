#!/usr/bin/env node
// `pnpm test`: every project's tests through Nx, then, when something failed, a
// digest of the failed tests (file, name, first lines of the error) as the last
// thing printed. CI keeps only the tail of a long log; without the digest a
// failure in an early project is cut off and cannot be diagnosed.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const resultsDir = join(root, 'dist', 'test-results');
rmSync(resultsDir, { recursive: true, force: true });

// Output passes straight through; compiler errors are kept for the digest (a failed typecheck writes no test report).
const compilerErrors = [];
const nx = spawn('npx', ['nx', 'run-many', '-t', 'test', '--parallel=1', '--outputStyle=stream', ...process.argv.slice(2)], {
  cwd: root,
  stdio: ['inherit', 'pipe', 'pipe'],
});
for (const [stream, out] of [[nx.stdout, process.stdout], [nx.stderr, process.stderr]]) {
  let partial = '';
  stream.on('data', (chunk) => {
    out.write(chunk);
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (/error TS\d+:/.test(line)) compilerErrors.push(line.trim());
  });
}
const status = await new Promise((resolve) => nx.on('close', (code) => resolve(code ?? 1)));
if (status !== 0) printDigest();
process.exit(status);

function printDigest() {
  const files = existsSync(resultsDir) ? readdirSync(resultsDir).filter((name) => name.endsWith('.json')).sort() : [];
  const lines = [];
  for (const name of files) {
    let report;
    try {
      report = JSON.parse(readFileSync(join(resultsDir, name), 'utf8'));
    } catch {
      lines.push(`${name}: unreadable test report`);
      continue;
    }
    for (const file of report.testResults ?? []) {
      if (file.status !== 'failed') continue;
      const failed = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
      if (failed.length === 0) lines.push(`${name.replace(/\.json$/, '')} ${relative(root, file.name)}: ${firstLines(file.message)}`);
      for (const test of failed) {
        lines.push(`${name.replace(/\.json$/, '')} ${relative(root, file.name)} > ${test.fullName}`);
        for (const message of test.failureMessages ?? []) lines.push(`    ${firstLines(message)}`);
      }
    }
  }
  if (compilerErrors.length > 0) lines.push('compiler errors:', ...compilerErrors.slice(0, 20).map((line) => `    ${line}`));
  console.log('\n==== failed tests ====');
  console.log(lines.length > 0 ? lines.join('\n') : '(no test report names a failure: see the failed Nx task above)');
}

function firstLines(text = '', count = 6) {
  // eslint-disable-next-line no-control-regex
  const lines = String(text).replace(/\u001b\[[0-9;]*m/g, '').split('\n');
  return lines.filter((line) => !line.includes('node_modules')).slice(0, count).join('\n    ');
}
