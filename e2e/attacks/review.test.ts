// An attacker's review of the issue-18 fixes (wt-attacker). Each attack runs for
// real (real nx 24 runs, a real S3 server, real files and processes) and asserts
// the SAFE behaviour: a test that fails here is an attack that works. Those marked
// "Found broken, fixed" worked on the first review; the comment above each says what was at fault.
//
// Found by reading, not run here (see the review report): a trusted/ object is downloaded whole
// (up to maxArtifactSize, 2 GiB by default) before its header's signature is checked; archive
// symlinks may point anywhere inside the workspace (dist/assets -> ../../../.git/hooks), not only
// inside the task's outputs; LocalStore.evict and removeAbandonedTemps go through <store>/.tmp by
// path like gc does; tar-end.ts ignores pax `size` records, which node-tar honours (no effect
// today: completeness only matters for signed archives, and the check and the unpack both use node-tar).
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { canonicalJson, parsePublicKey, signRecord, verifyRecord } from '../../packages/core/src/remote/signing.js';
import { startS3Server, type S3Server } from '../../tools/s3/server.mjs';
import { evilTar } from '../support/evil-tar.js';
import { threatModel } from '../support/threat-model.js';
import { createWorkspace, type TestWorkspace } from '../support/workspace.js';

const { attack } = threatModel(import.meta.filename);

/** lib00/lib01: the generated build, plus the CREEP lever (POISON, which no input declares). lib02 also writes a 24 MiB file. */
const COMMAND = 'node ../../tools/build.mjs && node -e "if (process.env.POISON) require(\'fs\').appendFileSync(\'dist/index.js\', \'// POISONED\\n\')"';
const BIG_COMMAND = `${COMMAND} && node -e "require('fs').writeFileSync('dist/big.bin', Buffer.alloc(24 << 20, 7))"`;
const warningsOf = (output: string): string[] => output.split('\n').filter((line) => line.startsWith('Stride warning'));

interface TimedResult {
  code: number | null;
  output: string;
  /** Whether the run had to be unblocked / killed by the test. */
  timedOut: boolean;
  ms: number;
}

/**
 * nx in its own process group, with a deadline: at `timeoutMs` the test calls
 * `onTimeout` (to unblock what the attack blocked) and, 15 s later, kills the group.
 */
function nxWithDeadline(ws: TestWorkspace, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, onTimeout?: () => void): Promise<TimedResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(join(ws.root, 'node_modules', '.bin', 'nx'), args, {
      cwd: ws.root,
      detached: true,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', FORCE_COLOR: '0', ...env },
    });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const soft = setTimeout(() => {
      timedOut = true;
      onTimeout?.();
    }, timeoutMs);
    const hard = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs + 15_000);
    child.on('close', (code) => {
      clearTimeout(soft);
      clearTimeout(hard);
      resolve({ code, output, timedOut, ms: Date.now() - started });
    });
  });
}

describe('review: attacks on the issue-18 fixes', () => {
  let s3: S3Server;
  let ws: TestWorkspace;
  let privatePem: string;
  let publicLine: string;
  const dirs: string[] = [];
  const outputs = (): string[] => ws.graph.projects.map((p) => `libs/${p}/dist`);
  const freshDir = (name: string): string => {
    const dir = mkdtempSync(join(tmpdir(), `stride-review-${name}-`));
    dirs.push(dir);
    return dir;
  };
  const wipe = (): void => {
    rmSync(join(ws.root, '.stride'), { recursive: true, force: true });
    for (const p of ws.graph.projects) rmSync(join(ws.root, 'libs', p, 'dist'), { recursive: true, force: true });
  };
  /** A fresh machine (empty .stride, no outputs) runs the build. */
  const build = async (env: NodeJS.ProcessEnv): Promise<{ output: string; stdout: string }> => {
    wipe();
    const result = await ws.nxAsync(['run-many', '-t', 'build'], env);
    expect(result.code, result.output).toBe(0);
    return result;
  };
  const hashOf = (id: string): string => ws.lastRun().tasks.find((t) => t.id === id)!.hash as string;
  const entryDir = (store: string, hash: string): string => join(store, hash.slice(0, 2), hash);
  const trusted = (store: string): NodeJS.ProcessEnv => ({ STRIDE_REMOTE_MODE: 'off', STRIDE_CACHE_DIRECTORY: store, STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: privatePem });

  beforeAll(async () => {
    s3 = await startS3Server();
    ws = createWorkspace({ projects: 3, width: 3 });
    const pair = generateKeyPairSync('ed25519');
    privatePem = pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    publicLine = pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    ws.updateJson<Record<string, unknown>>('nx.json', (nx) => ({
      ...nx,
      plugins: [{ plugin: '@stride/nx', options: { remote: { bucket: s3.bucket, endpoint: s3.endpoint, forcePathStyle: true, publicKeys: [publicLine] } } }],
    }));
    ws.graph.projects.forEach((p, i) => {
      ws.updateJson<{ targets: { build: { options: { command: string }; outputs?: string[] } } }>(`libs/${p}/project.json`, (json) => {
        json.targets.build.options.command = i === 2 ? BIG_COMMAND : COMMAND;
        // lib01 also declares a glob output, as tsc declaration builds do.
        if (i === 1) json.targets.build.outputs = ['{projectRoot}/dist', '{projectRoot}/**/*.d.ts'];
        return json;
      });
    });
    ws.git(['add', '-A']);
    ws.git(['commit', '-qm', 'stride, a bucket, public keys']);
  }, 60_000);
  afterAll(async () => {
    ws?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await s3?.stop();
  });

  // Found broken, fixed. LocalStore.lookup (packages/core/src/store/local-store.ts) reads meta.json with
  // readFileSync, which on a FIFO blocks in open(2) until a writer comes: the batch's event
  // loop is stuck, no timeout can fire, the build never ends. Same for outputs.tar (readIfSmall:
  // a FIFO's size is 0, so it is "small" and read with readFileSync) and terminal.txt.
  attack(
    {
      item: 'review.fifo',
      attacker: 'anyone who can write the local store folder (a PR job sharing a self-hosted runner\'s STRIDE_CACHE_DIRECTORY)',
      capability: 'replaces a file in a store entry main will look up',
      attack: 'replaces meta.json of main\'s signed entry for lib00 with a FIFO, to hang main\'s build for ever',
      stoppedBy: 'store files are opened O_NONBLOCK|O_NOFOLLOW and must be regular files (util/regular-file.ts); the entry is removed with one warning and the task runs',
    },
    async () => {
      const store = freshDir('fifo');
      await build(trusted(store));
      const meta = join(entryDir(store, hashOf('lib00:build')), 'meta.json');
      rmSync(meta);
      expect(spawnSync('mkfifo', [meta]).status).toBe(0);
      wipe();
      const unblock = (): void => {
        // What the attacker would never do: open the FIFO for writing so the reader gets EOF.
        const fd = openSync(meta, 'w');
        writeSync(fd, 'garbage');
        closeSync(fd);
      };
      const result = await nxWithDeadline(ws, ['run-many', '-t', 'build'], trusted(store), 12_000, unblock);
      expect(result.timedOut, `the trusted build was still blocked after 12 s (it went on only once the test wrote into the FIFO, after ${result.ms} ms)`).toBe(false);
      expect(result.code, result.output).toBe(0);
      return `exit ${result.code} in ${result.ms} ms; ${warningsOf(result.output)[0]?.slice(0, 120) ?? 'no warning'}`;
    },
    60_000,
  );

  // Found broken, fixed. LocalStore.restore checks an archive larger than SMALL_FILE_BYTES (1 MiB) by path:
  // sha256File opens it, then assertArchiveComplete, assertArchiveSafe and extractArchive each
  // open the path again. Renaming another tar over outputs.tar once the sha256 read has opened
  // the genuine one passes every check (the sha256 keeps reading the old inode) and extracts the
  // attacker's tar under main's genuine signed meta.json.
  attack(
    {
      item: 'review.toctou',
      attacker: 'anyone who can write the local store folder (a PR job on another runner of the same self-hosted machine)',
      capability: 'renames files in the shared store while main runs; polls /proc/*/fd (same user)',
      attack: 'swaps outputs.tar of main\'s signed >1 MiB entry for a poisoned tar right after main opens it for the sha256 check',
      stoppedBy: 'a trusted run copies a large archive through one descriptor into a private folder, hashing as it copies, and checks and unpacks only that copy',
    },
    async () => {
      const store = freshDir('toctou');
      await build(trusted(store));
      const clean = ws.digest(['libs/lib02/dist']);
      const tarFile = join(entryDir(store, hashOf('lib02:build')), 'outputs.tar');
      const poison = join(store, 'poison.tar');
      writeFileSync(poison, evilTar([{ name: 'libs/lib02/dist/index.js', type: 'file', body: 'export const lib02 = "POISONED";\n' }]));
      wipe();
      // The attacker: watches processes started after it for an open descriptor on outputs.tar, then swaps.
      const watcher = spawn(
        process.execPath,
        [
          '-e',
          `const fs = require('fs'); const [target, poison] = process.argv.slice(1); const me = process.pid; const end = Date.now() + 40000;
           const opened = () => { for (const p of fs.readdirSync('/proc')) { if (!/^\\d+$/.test(p) || Number(p) <= me) continue;
             let fds; try { fds = fs.readdirSync('/proc/' + p + '/fd'); } catch { continue; }
             for (const fd of fds) { try { if (fs.readlinkSync('/proc/' + p + '/fd/' + fd) === target) return true; } catch {} } } return false; };
           while (Date.now() < end) if (opened()) { fs.renameSync(poison, target); console.log('swapped'); process.exit(0); }
           console.log('never saw it opened'); process.exit(2);`,
          tarFile,
          poison,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let said = '';
      watcher.stdout.on('data', (c: Buffer) => (said += c.toString()));
      const watcherDone = new Promise<void>((resolve) => watcher.on('close', () => resolve()));
      await new Promise((r) => setTimeout(r, 300));
      const result = await ws.nxAsync(['run-many', '-t', 'build'], trusted(store));
      if (watcher.exitCode === null) watcher.kill();
      await watcherDone;
      expect(result.code, result.output).toBe(0);
      const cache = ws.lastRun().tasks.find((t) => t.id === 'lib02:build')!.cache;
      const restored = existsSync(join(ws.root, 'libs/lib02/dist/index.js')) ? ws.read('libs/lib02/dist/index.js') : '';
      expect(restored, `watcher: ${said.trim()}; lib02 was a ${cache} hit`).not.toContain('POISONED');
      expect(ws.digest(['libs/lib02/dist'])).toEqual(clean);
      return `watcher: ${said.trim()}; lib02 ${cache}, outputs byte-identical to main's own build`;
    },
    60_000,
  );

  // Found broken, fixed. assertArchiveSafe (packages/core/src/store/archive.ts, entryProblem) accepts any entry
  // under a glob output's static BASE: for `{projectRoot}/**/*.d.ts` that is the whole project, so
  // an archive may overwrite src/index.js, which no declared output matches (and clearOutputs,
  // which does match the glob, leaves it for tar to overwrite). SECURITY.md: "only under the
  // task's declared outputs". Reached here through the developer's shared store (review.dev-store).
  attack(
    {
      item: 'review.glob',
      attacker: 'anyone who can write a developer\'s store folder (or any source of an unsigned archive the reader restores)',
      capability: 'writes a consistent store entry (meta.json, outputs.tar, terminal.txt) under a task\'s hash',
      attack: 'lib01 declares outputs {projectRoot}/dist and {projectRoot}/**/*.d.ts; the archive also holds libs/lib01/src/index.js, to overwrite that source file',
      stoppedBy: 'every file and link entry must be matched by a declared output pattern itself (picomatch), not only lie under a glob\'s static base',
    },
    async () => {
      const shared = freshDir('glob');
      const env = { STRIDE_REMOTE_MODE: 'off', STRIDE_CACHE_DIRECTORY: shared };
      await build(env);
      const dir = entryDir(shared, hashOf('lib01:build'));
      const archive = evilTar([
        { name: 'libs/lib01/dist/index.js', type: 'file', body: 'export const lib01 = 1;\n' },
        { name: 'libs/lib01/src/index.js', type: 'file', body: 'export const lib01 = "POISONED SOURCE";\n' },
      ]);
      writeFileSync(join(dir, 'outputs.tar'), archive);
      const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, archiveBytes: archive.length, archiveSha256: createHash('sha256').update(archive).digest('hex') }));
      const source = ws.read('libs/lib01/src/index.js');
      try {
        const result = await build(env);
        const cache = ws.lastRun().tasks.find((t) => t.id === 'lib01:build')!.cache;
        expect(ws.read('libs/lib01/src/index.js'), `lib01 was a ${cache} hit; ${warningsOf(result.stdout).join(' | ')}`).toBe(source);
        return `lib01 ${cache}; ${warningsOf(result.stdout)[0]?.slice(16, 160) ?? 'no warning'}; src/index.js untouched`;
      } finally {
        ws.git(['checkout', '--', 'libs/lib01/src']);
      }
    },
    60_000,
  );

  // Found broken, fixed. redactUserinfo (packages/core/src/util/secrets.ts) stops at the first '@' ([^/?#\s@]*@),
  // but URL parsers (WHATWG, the SDK) take userinfo up to the LAST '@': a password holding '@'
  // passes into every task's STRIDE_REMOTE_ENDPOINT with its tail in clear, and the masker
  // only knows the whole password and the whole userinfo, so the tail is printed unmasked.
  attack(
    {
      item: 'review.userinfo',
      attacker: 'ordinary code in a task (a debug step that prints its environment)',
      capability: 'prints its environment',
      attack: 'STRIDE_REMOTE_ENDPOINT=http://ci:hunter@<secret>@host (a password holding @, no bucket set), hoping the task\'s env or stored terminal output shows <secret>',
      stoppedBy: 'userinfo is redacted up to the last @ of the authority, and each piece of it is a masked secret',
    },
    () => {
      const tail = `tail-${Date.now().toString(36)}-secret`;
      const small = createWorkspace({ projects: 1, width: 1 });
      try {
        small.updateJson<{ targets: { build: { options: { command: string } } } }>('libs/lib00/project.json', (json) => {
          json.targets.build.options.command = 'node -e "console.log(\'endpoint=\' + process.env.STRIDE_REMOTE_ENDPOINT)" && node ../../tools/build.mjs';
          return json;
        });
        small.git(['add', '-A']);
        small.git(['commit', '-qm', 'print the endpoint']);
        const result = small.nx(['run', 'lib00:build'], { STRIDE_REMOTE_ENDPOINT: `http://ci:hunter@${tail}@127.0.0.1:9000` });
        expect(result.code, result.output).toBe(0);
        const line = result.stdout.split('\n').find((l) => l.includes('endpoint=')) ?? '';
        const hash = small.lastRun().tasks[0]!.hash as string;
        const terminal = small.read(`.stride/cache/${hash.slice(0, 2)}/${hash}/terminal.txt`);
        expect(line, 'what the task printed').not.toContain(tail);
        expect(terminal, 'the stored terminal.txt').not.toContain(tail);
        return `the task saw and printed "${line.trim()}"`;
      } finally {
        small.remove();
      }
    },
    60_000,
  );

  // Found broken, fixed (same root, redactUserinfo): with a bucket configured, parseEndpoint (packages/core/src/
  // remote/settings.ts) refuses the endpoint "without showing" its credentials, but shows
  // redactUserinfo(text), which keeps the password's tail after its first '@'.
  attack(
    {
      item: 'review.userinfo',
      attacker: 'whoever reads main\'s CI log (a pull request\'s author reads the logs of checks on their own PR)',
      capability: 'reads the error a misconfigured run prints',
      attack: 'STRIDE_REMOTE_ENDPOINT=http://ci:hunter@<secret>@127.0.0.1:<port> with a bucket, hoping the refusal prints <secret>',
      stoppedBy: 'the refusal prints the endpoint with its whole userinfo redacted',
    },
    async () => {
      const tail = `tail-${Date.now().toString(36)}-secret`;
      const result = await ws.nxAsync(['run', 'lib00:build'], { STRIDE_REMOTE_ENDPOINT: `http://ci:hunter@${tail}@127.0.0.1:9000` });
      const line = result.output.split('\n').find((l) => l.includes('127.0.0.1:9000')) ?? '';
      expect(result.output, `exit ${result.code}; "${line.trim()}"`).not.toContain(tail);
      return `exit ${result.code}; the refusal shows no part of the password: "${line.trim().slice(0, 140)}"`;
    },
    60_000,
  );

  // Found broken, fixed. checkCacheDirectory (packages/nx/src/adapter/cache-directory.ts) probes by making
  // <store>/.tmp; ENOTDIR is not one of diskWriteProblem's codes, so it throws a settings error
  // and Nx reports every task failed, 0 run. One file planted in a shared store stops main's CI.
  attack(
    {
      item: 'review.tmp-file',
      attacker: 'anyone who can write the local store folder',
      capability: 'replaces <store>/.tmp (where entries are assembled) with a plain file',
      attack: 'makes <store>/.tmp a plain file before main\'s build, to fail the whole build',
      stoppedBy: '`.tmp` is Stride\'s own: anything there that is not a real folder is removed (never followed) at start',
    },
    async () => {
      const store = freshDir('tmpfile');
      writeFileSync(join(store, '.tmp'), 'not a folder\n');
      wipe();
      const result = await nxWithDeadline(ws, ['run-many', '-t', 'build'], trusted(store), 40_000);
      expect(result.timedOut).toBe(false);
      expect(result.code, result.output).toBe(0);
      // The file was Stride's scratch name, so it was replaced, not obeyed: the results were stored as usual.
      expect(lstatSync(join(store, '.tmp')).isDirectory()).toBe(true);
      wipe();
      const again = await nxWithDeadline(ws, ['run-many', '-t', 'build'], trusted(store), 40_000);
      expect(again.code, again.output).toBe(0);
      const caches = ws.lastRun().tasks.map((t) => t.cache);
      expect(caches).toEqual(['local', 'local', 'local']);
      return `exit 0, the file replaced by a folder, every result stored; the next run: 3 local hits`;
    },
    60_000,
  );

  // Refused (what is claimed): output is masked whole after capture, so a key written one
  // character per write is still masked. Not claimed, and observed: an encoding Stride does not
  // know (hex of the PEM text) passes unmasked, as it would in any CI system's masking.
  attack(
    {
      item: 'review.split',
      attacker: 'code in a trusted task (a compromised dependency\'s build step)',
      capability: 'reads the batch\'s /proc/<ppid>/environ (same user), writes to stdout',
      attack: 'prints the signing key\'s PEM body one character per write (10 ms apart), and again hex-encoded',
      stoppedBy: 'the captured output is masked whole, not chunk by chunk; encodings Stride does not know are out of scope (SECURITY.md: what this does not cover)',
    },
    () => {
      const small = createWorkspace({ projects: 1, width: 1 });
      try {
        small.write(
          'tools/leak.cjs',
          `const fs = require('fs');
let key;
let pid = process.ppid;
for (let d = 0; d < 6 && pid > 1 && !key; d++) {
  try {
    const env = fs.readFileSync('/proc/' + pid + '/environ', 'utf8').split('\\0').find((l) => l.startsWith('STRIDE_SIGNING_KEY='));
    if (env) key = env.slice('STRIDE_SIGNING_KEY='.length);
    pid = Number(/PPid:\\s+(\\d+)/.exec(fs.readFileSync('/proc/' + pid + '/status', 'utf8'))[1]);
  } catch { break; }
}
if (!key) { console.log('no key found'); process.exit(0); }
const body = key.split('\\n').filter((l) => l && !l.startsWith('-----')).join('');
console.log('hex=' + Buffer.from(body).toString('hex'));
let i = 0;
const tick = () => { if (i < body.length) { process.stdout.write(body[i++]); setTimeout(tick, 10); } else process.stdout.write('\\n'); };
tick();
`,
        );
        small.updateJson<{ targets: { build: { options: { command: string } } } }>('libs/lib00/project.json', (json) => {
          json.targets.build.options.command = 'node ../../tools/leak.cjs && node ../../tools/build.mjs';
          return json;
        });
        small.git(['add', '-A']);
        small.git(['commit', '-qm', 'leaky build']);
        const result = small.nx(['run', 'lib00:build'], { STRIDE_REMOTE_SCOPE: 'trusted', STRIDE_SIGNING_KEY: privatePem });
        expect(result.code, result.output).toBe(0);
        expect(result.output).not.toContain('no key found');
        const body = privatePem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
        const hash = small.lastRun().tasks[0]!.hash as string;
        const terminal = small.read(`.stride/cache/${hash.slice(0, 2)}/${hash}/terminal.txt`);
        for (const text of [result.output, terminal]) expect(text).not.toContain(body);
        const hexLeaks = terminal.includes(Buffer.from(body).toString('hex'));
        return `char-by-char: masked in nx's output and terminal.txt; hex of the PEM body: ${hexLeaks ? 'NOT masked (not claimed)' : 'masked'}`;
      } finally {
        small.remove();
      }
    },
    60_000,
  );

  // Refused: the reader verifies exactly the value it parsed and uses, so every byte-level trick
  // that keeps the parsed value keeps the meaning, and every one that changes it fails.
  attack(
    {
      item: 'review.canonical',
      attacker: 'bucket writer without the key',
      capability: 'rewrites the bytes of a genuine signed header, keeping the signature',
      attack: 'duplicate keys (an earlier outputs: []), __proto__ fields, escaped/NFD strings, -0 and 1e21 spellings, an extra field inside signature',
      stoppedBy: 'verifyRecord canonicalises the object JSON.parse returned (last duplicate wins, __proto__ is an own field), the same object every reader then uses',
    },
    () => {
      const key = parsePublicKey(publicLine, 'test');
      const record = { magic: 'stride-artifact' as const, hash: 'abc', outputs: ['libs/lib00/dist'], taskId: 'caf\u00e9:build', durationMs: 1e21, archiveBytes: 0 };
      const signed = { ...record, signature: signRecord(createPrivateKey(privatePem), record) };
      const line = JSON.stringify(signed);
      const verdict = (text: string): { ok: boolean; outputs: unknown; taskId: unknown } => {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        return { ok: verifyRecord([key], parsed, 'stride-artifact'), outputs: parsed.outputs, taskId: parsed.taskId };
      };
      expect(verdict(line).ok).toBe(true);
      // Kept meaning: an earlier duplicate is overridden by the genuine value; spellings of the same values.
      const earlierDuplicate = verdict(line.replace('{"magic"', '{"outputs":[],"magic"'));
      expect(earlierDuplicate).toEqual({ ok: true, outputs: ['libs/lib00/dist'], taskId: 'caf\u00e9:build' });
      expect(verdict(line.replace('1e+21', '1000000000000000000000')).ok).toBe(true);
      expect(verdict(line.replace('"abc"', '"\\u0061bc"')).ok).toBe(true);
      // Changed meaning: refused.
      expect(verdict(line.replace(/}$/, ',"outputs":[]}')).ok).toBe(false);
      expect(verdict(line.replace('{"magic"', '{"__proto__":{"outputs":[]},"magic"')).ok).toBe(false);
      expect(verdict(line.replace('caf\u00e9', 'cafe\u0301')).ok).toBe(false);
      expect(verdict(line.replace('1e+21', '1e400')).ok).toBe(false);
      expect(verdict(line.replace('"archiveBytes":0', '"archiveBytes":-0')).ok).toBe(true); // -0 === 0 for every check
      expect(canonicalJson({ b: 1, a: [undefined] })).toBe('{"a":[null],"b":1}');
      return 'duplicates, escapes and number spellings keep the parsed value (and the verdict); __proto__, NFD, 1e400 and later duplicates fail';
    },
  );
});

