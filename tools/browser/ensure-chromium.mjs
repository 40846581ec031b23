// Finds a headless-capable Chromium for the report's browser test, installing
// Debian's `chromium` package when there is none and this process may (root,
// apt-get present). STRIDE_CHROMIUM names another binary.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The path of a Chromium binary; throws with the fix when there is none and none can be installed. */
export function ensureChromium(log = (line) => process.stderr.write(`${line}\n`)) {
  const named = process.env.STRIDE_CHROMIUM;
  if (named) {
    if (!existsSync(named)) throw new Error(`STRIDE_CHROMIUM=${named} does not exist: point it at a Chromium binary, or unset it`);
    return named;
  }
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found) return found;
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canInstall) {
    throw new Error('no Chromium for the report test: install Debian\'s package (sudo apt-get install -y chromium) or set STRIDE_CHROMIUM to a Chromium binary');
  }
  log('Installing Debian\'s chromium for the HTML report test (apt-get, once per machine)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env });
  const installed = CANDIDATES.find((path) => existsSync(path));
  if (!installed) throw new Error('apt-get installed chromium but no binary appeared in /usr/bin');
  return installed;
}
