import { describe, expect, it } from 'vitest';
import { buildRunRecord, type RunRecord } from '../run/run-record.js';
import type { TaskOutcome } from '../run/runner.js';
import { renderHtmlReport } from './html.js';
import { computeStats, formatOpenMetrics, formatStats } from './stats.js';
import { formatSummary } from './summary.js';
import { toChromeTrace, type TraceEvent } from './trace.js';

const T0 = Date.parse('2026-11-24T10:00:00.000Z');
const dag = {
  ids: ['lib:build', 'util:build', 'app:build', 'docs:build', 'gone:build'],
  dependencies: { 'app:build': ['lib:build', 'util:build'], 'gone:build': ['docs:build'] } as Record<string, string[]>,
};

function outcome(id: string, startMs: number, endMs: number, extra: Partial<TaskOutcome> = {}): TaskOutcome {
  return {
    id,
    hash: `h${id.length}`,
    cache: 'miss',
    status: 'success',
    terminalOutput: '',
    startTime: T0 + startMs,
    endTime: T0 + endMs,
    phases: { hashMs: 5, restoreMs: 0, runMs: endMs - startMs - 10, storeMs: 5 },
    estimateMs: 1000,
    attempts: 1,
    flaky: false,
    savedMs: 0,
    ...extra,
  };
}

/** lib (ran, 2 s) and util (restored) feed app (ran, 3 s); docs failed, so gone was skipped. */
function sampleRecord(startedAt = T0, wall = 5200): RunRecord {
  return buildRunRecord({
    startedAt,
    endedAt: startedAt + wall,
    parallel: 2,
    dag,
    estimateMs: () => 1000,
    outcomes: [
      outcome('util:build', 0, 40, { cache: 'local', phases: { hashMs: 10, restoreMs: 30, runMs: 0, storeMs: 0 }, attempts: 0, savedMs: 1500 }),
      outcome('docs:build', 0, 700, { status: 'failure', slot: 1 }),
      outcome('gone:build', 700, 700, { status: 'skipped', hash: null, attempts: 0 }),
      outcome('lib:build', 0, 2000, { slot: 0 }),
      outcome('app:build', 2000, 5100, { slot: 0, flaky: true, attempts: 2 }),
    ],
    warnings: ['remote cache unavailable'],
  });
}

describe('the end-of-run summary', () => {
  it('says what ran, what was saved, the critical path, the longest tasks and every warning, briefly', () => {
    const text = formatSummary(sampleRecord());
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(15);
    expect(lines[0]).toBe('Stride: 5 tasks in 5.2s: 2 ran, 1 restored, 1 failed, 1 skipped; restores saved 1.5s');
    expect(text).toContain('Critical path 5.1s: lib:build 2.0s > app:build 3.1s');
    expect(text).toMatch(/Longest tasks: app:build 3\.1s, lib:build 2\.0s, docs:build 690ms/);
    expect(text).toContain('Flaky (passed on a retry): app:build (attempt 2)');
    expect(text).toContain('Stride warning: remote cache unavailable');
  });
});

/** The Trace Event format's rules that Perfetto and chrome://tracing rely on. */
function validateTrace(events: TraceEvent[]): void {
  const open = new Map<number, Array<{ end: number }>>();
  for (const e of [...events].filter((e) => e.ph === 'X').sort((a, b) => a.tid - b.tid || a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0))) {
    expect(Number.isInteger(e.ts) && e.ts >= 0, JSON.stringify(e)).toBe(true);
    expect(Number.isInteger(e.dur) && (e.dur ?? -1) >= 0, JSON.stringify(e)).toBe(true);
    const stack = open.get(e.tid) ?? [];
    while (stack.length > 0 && (stack.at(-1) as { end: number }).end <= e.ts) stack.pop();
    // A slice starting inside another must end inside it (proper nesting per thread).
    if (stack.length > 0) expect(e.ts + (e.dur ?? 0), JSON.stringify(e)).toBeLessThanOrEqual((stack.at(-1) as { end: number }).end);
    stack.push({ end: e.ts + (e.dur ?? 0) });
    open.set(e.tid, stack);
  }
  for (const e of events) {
    expect(typeof e.name).toBe('string');
    expect(['X', 'M', 'i']).toContain(e.ph);
    expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
    if (e.ph === 'M') expect(e.args).toBeDefined();
  }
}

describe('the Chrome trace', () => {
  it('is valid Trace Event JSON with one slice per task on its worker slot, phases nested', () => {
    const trace = JSON.parse(JSON.stringify(toChromeTrace(sampleRecord()))) as ReturnType<typeof toChromeTrace>;
    validateTrace(trace.traceEvents);
    const threads = new Map(trace.traceEvents.filter((e) => e.name === 'thread_name').map((e) => [e.tid, (e.args as { name: string }).name]));
    const taskSlices = trace.traceEvents.filter((e) => e.ph === 'X' && e.cat !== 'phase');
    expect(taskSlices.map((e) => e.name).sort()).toEqual([...dag.ids].sort());
    const slice = (id: string) => taskSlices.find((e) => e.name === id) as TraceEvent;
    expect(threads.get(slice('lib:build').tid)).toBe('slot 1');
    expect(threads.get(slice('docs:build').tid)).toBe('slot 2');
    expect(threads.get(slice('util:build').tid)).toMatch(/^restore/);
    expect(slice('app:build').args).toMatchObject({ criticalPath: true, cache: 'miss' });
    expect(trace.traceEvents.some((e) => e.name === 'run' && e.tid === slice('app:build').tid)).toBe(true);
  });
});

describe('what to speed up (issue 22)', () => {
  const chainAndLint = (parallel: number): RunRecord =>
    buildRunRecord({
      startedAt: T0,
      endedAt: T0 + 100_000,
      parallel,
      dag: { ids: ['core:build', 'stencil:test', 'e2e:lint'], dependencies: { 'stencil:test': ['core:build'] } },
      estimateMs: () => 1000,
      outcomes: [
        outcome('core:build', 0, 4_000, { slot: 0 }),
        outcome('stencil:test', 4_000, 98_000, { slot: 0 }),
        // Waited for a slot, then ended last: it must not be called the critical path.
        outcome('e2e:lint', 96_000, 98_100, { slot: 1 }),
      ],
      warnings: [],
    });

  it('names the long test on the chain, not the short lint that ended last', () => {
    const record = chainAndLint(2);
    expect(record.criticalPath.actual.ids).toEqual(['core:build', 'stencil:test']);
    expect(formatSummary(record)).toContain('Critical path 1m38s: core:build 4.0s > stencil:test 1m34s');
    expect(renderHtmlReport(record)).toContain('speed up <b>stencil:test</b>');
  });

  it('names the causes of the misses, escaped', () => {
    const record = { ...chainAndLint(2), missCauses: { misses: 3, causes: [{ subject: 'libs/<core>/a.ts', tasks: 2 }], firstBuilds: 1 } };
    const html = renderHtmlReport(record);
    expect(html).toContain('<h2>Why 3 tasks missed</h2>');
    expect(html).toContain('<tr class="miss-cause"><td>libs/&#60;core&#62;/a.ts</td><td>2</td></tr>');
    expect(html).not.toContain('libs/<core>');
    expect(html).toContain('<tr class="miss-cause"><td>never built here before</td><td>1</td></tr>');
    expect(formatSummary(record)).toContain('3 misses: 2 from libs/<core>/a.ts, 1 never built here before (npx stride why <task> for one)');
  });

  it('says the slots bound the run when the work over the slots is longer than the path', () => {
    const html = renderHtmlReport(chainAndLint(1));
    expect(html).toContain('bound by its 1 worker slot');
    expect(html).not.toContain('speed up <b>');
  });
});

describe('the HTML report', () => {
  it('is one self-contained page drawing every task, with the critical path marked and advice', () => {
    const html = renderHtmlReport(sampleRecord());
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    for (const id of dag.ids) expect(html).toContain(`data-task="${id}"`);
    expect(html.match(/class="task critical"/g)).toHaveLength(2);
    expect(html).toContain('speed up <b>app:build</b>');
  });
});

describe('stride stats', () => {
  it('sums runs: hit rate by target, time saved, slowest and variable tasks, the trend', () => {
    const records = [sampleRecord(T0, 5200), sampleRecord(T0 + 60_000, 4000), sampleRecord(T0 + 120_000, 3000)];
    const stats = computeStats(records, (id) => id.slice(id.indexOf(':') + 1));
    expect(stats.runs).toBe(3);
    expect(stats.savedMs).toBe(4500);
    expect(stats.byTarget).toEqual([{ target: 'build', tasks: 12, restored: 3, hitRate: 0.25 }]);
    expect(stats.slowest[0]).toMatchObject({ id: 'app:build', runs: 3, meanMs: 3090 });
    expect(stats.mostVariable[0]).toMatchObject({ id: 'app:build', flakyRuns: 3 });
    expect(stats.trend.map((r) => r.wallMs)).toEqual([5200, 4000, 3000]);
    expect(formatStats(stats)).toContain('build');
  });

  it('prints OpenMetrics text: declared families, well-formed samples, # EOF last', () => {
    const records = [sampleRecord()];
    const text = formatOpenMetrics(computeStats(records, () => 'build'), records[0]);
    const lines = text.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('# EOF');
    const declared = new Set<string>();
    for (const line of lines.slice(0, -1)) {
      const meta = /^# (TYPE|HELP|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
      if (meta) {
        if (meta[1] === 'TYPE') declared.add(meta[2] as string);
        continue;
      }
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+]+)$/.exec(line);
      expect(sample, line).not.toBeNull();
      expect(declared.has(sample?.[1] as string), line).toBe(true);
    }
    expect(text).toContain('stride_last_run_tasks{outcome="ran"} 2');
    expect(text).toContain('stride_history_hit_ratio{target="build"} 0.25');
  });
});

describe('warnings from untrusted bytes, and secrets', () => {
  it('are masked and escaped in the record, the summary and the HTML report: one line each, no secret', () => {
    const secret = 'aws-secret-for-the-report-test';
    const previous = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = secret;
    try {
      const record = buildRunRecord({
        startedAt: T0,
        endedAt: T0 + 100,
        parallel: 1,
        dag: { ids: [], dependencies: {} },
        estimateMs: () => 0,
        outcomes: [],
        warnings: [`remote said ${secret}\n::error file=a::forged\u001b[31m`],
        remote: { hits: 0, downloadBytes: 0, downloadMs: 0, uploads: 0, uploadBytes: 0, uploadMs: 0, alreadyStored: 0, refused: 1, notUploaded: 0, switchedOff: false, refusedObjects: [{ taskId: 'a:build', key: 'k\n::error::x', reason: `bad ${secret}` }], transfers: [] },
      });
      expect(record.warnings).toEqual(['remote said ***\\n::error file=a::forged\\x1b[31m']);
      expect(record.remote?.refusedObjects[0]).toEqual({ taskId: 'a:build', key: 'k\\n::error::x', reason: 'bad ***' });
      // A record written elsewhere (older Stride, another machine) is made safe again when printed.
      const summary = formatSummary({ ...record, warnings: [`x\n::error::y ${secret}`] });
      expect(summary).toContain('Stride warning: x\\n::error::y ***\n');
      expect(summary.split('\n').some((line) => line.startsWith('::error'))).toBe(false);
      expect(renderHtmlReport({ ...record, warnings: [`${secret}`] })).not.toContain(secret);
    } finally {
      if (previous === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = previous;
    }
  });
});
