// The attack suite's bookkeeping (issue 18). Every attack test declares the row
// of SECURITY.md's threat-model table it proves (who attacks, with what
// capability, doing what, and what stops it), runs the attack for real, then
// says what it observed. `pnpm security` runs the suite and renders the rows
// into SECURITY.md (tools/security.mjs), the way `pnpm reliability` renders the
// fault matrix: a row whose test failed is printed as FAIL, never left out.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { afterAll, afterEach, it } from 'vitest';

export interface ThreatRow {
  /** The item of issue 18 (or later work) this row covers, e.g. "1", "10.setuid". */
  item: string;
  /** Who: "pull-request job", "bucket writer without the key", "developer laptop", ... */
  attacker: string;
  /** What they can do: "writes scopes/pr-7/ with its OIDC role", ... */
  capability: string;
  /** What they try, concretely. */
  attack: string;
  /** What stops it (the mechanism, in a few words). */
  stoppedBy: string;
}

interface RecordedRow extends ThreatRow {
  test: string;
  observed: string;
  pass: boolean;
}

const OUT_DIR = process.env.STRIDE_ATTACKS_OUT ?? resolve(import.meta.dirname, '..', '..', 'dist', 'attacks');

/**
 * One attack suite file's rows. `attack(row, fn)` is an `it()` whose body runs
 * the attack and returns what was observed (a short sentence: exit code, what
 * was restored, which warning). The rows are written when the file ends.
 */
export function threatModel(testFile: string): { attack: (row: ThreatRow, run: () => Promise<string> | string, timeoutMs?: number) => void } {
  const file = basename(testFile);
  const rows: RecordedRow[] = [];
  let pending: RecordedRow | undefined;
  afterEach(() => {
    if (pending) rows.push(pending);
    pending = undefined;
  });
  afterAll(() => {
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, `${file.replace(/\.test\.ts$/, '')}.json`), `${JSON.stringify({ file: `e2e/attacks/${file}`, date: new Date().toISOString(), rows }, null, 2)}\n`);
  });
  return {
    attack(row, run, timeoutMs) {
      const title = `[${row.item}] ${row.attack}`;
      it(
        title,
        async () => {
          pending = { ...row, test: `e2e/attacks/${file} > ${title}`, observed: 'the attack test failed (see the test output)', pass: false };
          const observed = await run();
          pending = { ...pending, observed, pass: true };
        },
        timeoutMs,
      );
    },
  };
}

/** For tests that want the directory (e.g. to clear it). */
export const attacksDir = (): string => dirname(join(OUT_DIR, 'x'));
