// The real `stride serve` bin, started on a free loopback port, for the suites that drive Nx's own remote cache
// client through it.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** A running `stride serve`: its URL and port, everything it printed on stdout (the access log), and a stop. */
export interface Served {
  url: string;
  port: number;
  child: ChildProcess;
  stdout: () => string;
  /** Sends `signal` (SIGTERM lets it finish requests and uploads) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `stride serve --port 0 --dir <dir>` from the workspace at `cwd`, with `env` over this process's environment. */
export async function startServe(cwd: string, dir: string, env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(join(cwd, 'node_modules', '.bin', 'stride'), ['serve', '--port', '0', '--dir', dir], { cwd, env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(err);
      if (match) resolve(match[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`stride serve exited with ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { url, port: Number(new URL(url).port), child, stdout: () => out, stop: async (signal = 'SIGTERM') => (child.kill(signal), exited) };
}
