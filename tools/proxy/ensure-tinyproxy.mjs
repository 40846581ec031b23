// Finds Debian's tinyproxy, the real HTTP proxy the network tests send S3
// traffic through, installing the package when it is missing and this process
// may (root, apt-get present). STRIDE_TINYPROXY names another binary.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/tinyproxy', '/usr/sbin/tinyproxy', '/usr/local/bin/tinyproxy'];

/** The path of a tinyproxy binary; throws with the fix when there is none and none can be installed. */
export function ensureTinyproxy(log = (line) => process.stderr.write(`${line}\n`)) {
  const named = process.env.STRIDE_TINYPROXY;
  if (named) {
    if (!existsSync(named)) throw new Error(`STRIDE_TINYPROXY=${named} does not exist: point it at a tinyproxy binary, or unset it`);
    return named;
  }
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found) return found;
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canInstall) {
    throw new Error("no tinyproxy for the proxy tests: install Debian's package (sudo apt-get install -y tinyproxy) or set STRIDE_TINYPROXY to a tinyproxy binary");
  }
  log("Installing Debian's tinyproxy for the proxy tests (apt-get, once per machine)...");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  // The package's own service is not wanted: the tests start their own, on a loopback port.
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'tinyproxy'], { stdio: 'inherit', env });
  const installed = CANDIDATES.find((path) => existsSync(path));
  if (!installed) throw new Error('apt-get installed tinyproxy but no binary appeared');
  return installed;
}
