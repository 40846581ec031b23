// Starts a real tinyproxy on a loopback port with a config and log file of its
// own (never the system's), so a test can read from the proxy's own log which
// requests went through it.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTinyproxy } from './ensure-tinyproxy.mjs';

const START_TIMEOUT_MS = 10_000;

/** @returns {Promise<import('./tinyproxy.d.mts').Tinyproxy>} */
export async function startTinyproxy() {
  const binary = ensureTinyproxy();
  const dir = await mkdtemp(join(tmpdir(), 'stride-tinyproxy-'));
  const logFile = join(dir, 'tinyproxy.log');
  const port = await freePort();
  // No ConnectPort line: CONNECT is allowed to every port (the S3 stand-ins listen on ephemeral ones).
  await writeFile(
    join(dir, 'tinyproxy.conf'),
    [`Port ${port}`, 'Listen 127.0.0.1', 'Timeout 30', `LogFile "${logFile}"`, 'LogLevel Connect', 'MaxClients 64', 'Allow 127.0.0.1', 'DisableViaHeader Yes', ''].join('\n'),
  );
  // -d: stay in the foreground, so the process is ours to stop.
  const child = spawn(binary, ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`tinyproxy did not start on 127.0.0.1:${port}: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    /** The request lines tinyproxy logged (`GET http://... HTTP/1.1`, `CONNECT host:port HTTP/1.1`). */
    async requests() {
      const text = await readFile(logFile, 'utf8').catch(() => '');
      return [...text.matchAll(/Request \(file descriptor \d+\): (.*)$/gm)].map((match) => match[1]);
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
