import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

/** Where the screenshot of the timeline goes (kept after the run, for people to look at). */
const ARTIFACTS = resolve(import.meta.dirname, '..', 'dist', 'e2e-artifacts');

describe('seeing what happened: summary, trace, HTML report, stats', () => {
  let ws: TestWorkspace;
  beforeAll(() => {
    ws = createWorkspace({ projects: 8, width: 3 });
  });
  afterAll(() => ws.remove());

  it('a run ends with a short summary and writes the trace and the report when asked', () => {
    const result = ws.nx(['run-many', '-t', 'build', '--output-style=static'], { STRIDE_PROFILE: 'trace.json', STRIDE_REPORT: 'run.html', BUILD_SLEEP_MS: '150' });
    expect(result.code, result.output).toBe(0);
    const summary = result.stdout.slice(result.stdout.indexOf('Stride: 8 tasks'));
    expect(summary).toMatch(/^Stride: 8 tasks in [\d.]+m?s: 8 ran, 0 restored, 0 failed, 0 skipped; restores saved 0ms/);
    expect(summary).toMatch(/Critical path [\d.]+m?s: lib0\d:build /);
    expect(summary).toMatch(/Longest tasks: lib0\d:build/);
    const trace = JSON.parse(ws.read('trace.json')) as { traceEvents: Array<{ name: string; ph: string; cat?: string }> };
    const slices = trace.traceEvents.filter((e) => e.ph === 'X' && e.cat !== 'phase').map((e) => e.name);
    expect(slices.sort()).toEqual(ws.graph.projects.map((p) => `${p}:build`).sort());
    expect(ws.read('run.html')).toContain('data-task="lib07:build"');

    const warm = ws.nx(['run-many', '-t', 'build', '--output-style=static']);
    expect(warm.stdout).toMatch(/Stride: 8 tasks in [\d.]+m?s: 0 ran, 8 restored, 0 failed, 0 skipped; restores saved [\d.]+m?s/);
  });

  it('stride report draws every task and marks the critical path, in real headless Chromium', async () => {
    const made = ws.stride(['report', '-o', 'report.html']);
    expect(made.code, made.output).toBe(0);
    // The cold run, with its critical path through tasks that ran.
    const runs = ws.exec('ls', ['.stride/runs']).stdout.split('\n').filter((n) => n.endsWith('.json') && n !== 'last.json').sort();
    const cold = ws.stride(['report', `.stride/runs/${runs[0]}`, '-o', 'cold.html', '--trace', 'cold-trace.json']);
    expect(cold.code, cold.output).toBe(0);
    const record = JSON.parse(ws.read(`.stride/runs/${runs[0]}`)) as { criticalPath: { actual: { ids: string[] } } };

    const browser = await chromium.launch({
      executablePath: inject('chromium'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const requests: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      await page.goto(`file://${join(ws.root, 'cold.html')}`);
      expect(await page.locator('svg.gantt [data-task]').count()).toBe(8);
      for (const project of ws.graph.projects) expect(await page.locator(`svg.gantt [data-task="${project}:build"]`).count(), project).toBe(1);
      const marked = await page.locator('svg.gantt .task.critical').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-task')));
      expect(marked.sort()).toEqual([...record.criticalPath.actual.ids].sort());
      expect(await page.locator('svg.graph [data-node]').count()).toBe(8);
      // Drawn, not just present: every bar has a real size on screen.
      const boxes = await page.locator('svg.gantt [data-task] rect').evaluateAll((nodes) => nodes.map((n) => n.getBoundingClientRect().width));
      expect(boxes.every((w) => w >= 2)).toBe(true);
      expect(await page.locator('text=To shorten this run, speed up').count()).toBe(1);
      expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report-timeline.png'), fullPage: true });
      expect(existsSync(join(ARTIFACTS, 'report-timeline.png'))).toBe(true);
    } finally {
      await browser.close();
    }
  });

  it('stride stats sums the runs as text, JSON and OpenMetrics', () => {
    const text = ws.stride(['stats']);
    expect(text.code, text.output).toBe(0);
    expect(text.stdout).toMatch(/^\d+ runs recorded; restores saved/);
    expect(text.stdout).toMatch(/build\s+50%\s+\(8 of 16 restored\)/);
    const json = JSON.parse(ws.stride(['stats', '--json']).stdout) as { runs: number; byTarget: Array<{ target: string; hitRate: number }>; slowest: Array<{ id: string }> };
    expect(json.runs).toBe(2);
    expect(json.byTarget).toEqual([{ target: 'build', tasks: 16, restored: 8, hitRate: 0.5 }]);
    expect(json.slowest).toHaveLength(8);
    const metrics = ws.stride(['stats', '--format=openmetrics']).stdout;
    expect(metrics).toContain('stride_last_run_tasks{outcome="local"} 8');
    expect(metrics).toContain('stride_history_hit_ratio{target="build"} 0.5');
    expect(metrics.trimEnd().endsWith('# EOF')).toBe(true);
    const bad = ws.stride(['stats', '--format=xml']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown --format "xml": use text, json or openmetrics');
  });
});
