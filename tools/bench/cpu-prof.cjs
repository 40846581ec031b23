// Preloaded (NODE_OPTIONS=--require) into every Node process of a profiled
// run, since Node 20 refuses --cpu-prof in NODE_OPTIONS and Nx forks its batch
// process itself: it starts V8's sampling profiler and, at exit, writes a
// .cpuprofile (open it in Chrome DevTools' Performance panel) per process into
// $STRIDE_BENCH_CPU_PROF_DIR. It changes nothing else.
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Session } = require('node:inspector');

const dir = process.env.STRIDE_BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // A same-thread session answers synchronously, so this runs to the end inside the exit hook.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `${process.pid}-${process.argv[1]?.split('/').pop() ?? 'node'}.cpuprofile`), JSON.stringify(result.profile));
      } catch {
        // Profiling must never change the outcome of a run.
      }
    });
  });
}
