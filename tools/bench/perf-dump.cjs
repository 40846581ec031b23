// Preloaded (NODE_OPTIONS=--require) into every Node process of a profiled Nx
// run: the Nx CLI, its plugin workers, the forked batch process. At exit it
// writes the process's performance marks and measures (the ones
// NX_PERF_LOGGING prints, which Nx's own logger loses when the CLI exits before
// its observer fires) with absolute epoch times, one JSON file per process,
// into $STRIDE_BENCH_PERF_DIR. It changes nothing else.
'use strict';
const { renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');

const dir = process.env.STRIDE_BENCH_PERF_DIR;
if (dir) {
  process.on('exit', () => {
    try {
      const origin = performance.timeOrigin;
      const entries = [...performance.getEntriesByType('mark'), ...performance.getEntriesByType('measure')].map((e) => ({
        name: e.name,
        type: e.entryType,
        start: origin + e.startTime,
        duration: e.duration,
      }));
      const record = { pid: process.pid, ppid: process.ppid, argv: process.argv.slice(1, 3), timeOrigin: origin, exitAt: Date.now(), entries };
      const file = join(dir, `${process.pid}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify(record));
      renameSync(`${file}.tmp`, file);
    } catch {
      // Profiling must never change the outcome of a run.
    }
  });
}
