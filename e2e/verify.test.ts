import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, type TestWorkspace } from './support/workspace.js';

describe('stride verify: rebuilding restored tasks to catch poisoning and non-determinism', () => {
  let ws: TestWorkspace;
  const setCommand = (project: string, command: string): void =>
    ws.updateJson<{ targets: { build: { options: { command: string } } } }>(`libs/${project}/project.json`, (p) => {
      p.targets.build.options.command = command;
      return p;
    });
  const deleteOutputs = (): void => {
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
  };

  beforeAll(() => {
    ws = createWorkspace({ projects: 3, width: 3 });
    // lib01's build reads EVIL, which no input declares: a poisoned CI job can set it and the hash does not change.
    setCommand('lib01', 'node ../../tools/build.mjs && node -e "if (process.env.EVIL) require(\'fs\').appendFileSync(\'dist/index.js\', \'// backdoor\\\\n\')"');
    // lib02's build stamps the time: never the same twice.
    setCommand('lib02', 'node ../../tools/build.mjs && node -e "require(\'fs\').writeFileSync(\'dist/stamp.txt\', String(process.hrtime.bigint()))"');
    ws.git(['commit', '-qam', 'commands']);
  });
  afterAll(() => ws.remove());

  it('reports each restored task as reproduced, poisoned (or undeclared input), or not deterministic', () => {
    const poisoned = ws.nx(['run-many', '-t', 'build'], { EVIL: '1' });
    expect(poisoned.code, poisoned.output).toBe(0);
    expect(ws.read('libs/lib01/dist/index.js')).toContain('// backdoor');
    deleteOutputs();
    const restored = ws.nx(['run-many', '-t', 'build']);
    expect(restored.code, restored.output).toBe(0);
    expect(ws.lastRun().tasks.every((t) => t.cache === 'local')).toBe(true);

    const result = ws.stride(['verify', '--sample', '100%']);
    expect(result.code, result.output).toBe(1);
    expect(result.stdout).toMatch(/lib00:build [0-9a-f]+: reproduced byte for byte/);
    expect(result.stdout).toMatch(/lib01:build [0-9a-f]+: DIFFERS from the restored artifact, and two rebuilds agree[^\n]*\(libs\/lib01\/dist\/index\.js\)/);
    expect(result.stdout).toMatch(/lib02:build [0-9a-f]+: NOT DETERMINISTIC[^\n]*\(libs\/lib02\/dist\/stamp\.txt\)/);
    expect(result.stdout).toContain('stride verify: 2 task(s) did not reproduce');
    // The workspace itself was not touched: still the restored (poisoned) bytes, nothing rebuilt here.
    expect(ws.read('libs/lib01/dist/index.js')).toContain('// backdoor');
  });

  it('exits 0 when every checked task reproduces, and names a task it cannot check', () => {
    const clean = ws.stride(['verify', '--task', 'lib00:build']);
    expect(clean.code, clean.output).toBe(0);
    expect(clean.stdout).toContain('every checked task reproduced');
    const bad = ws.stride(['verify', '--task', 'nope:build']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('not restored in');
  });
});
