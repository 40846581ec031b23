import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where the bucket's region came from, for messages that name the setting to change. */
export interface ResolvedRegion {
  region: string;
  source: string;
}

/** S3's answer when no region is named anywhere, as before: the SDK would refuse, Stride keeps the old default. */
const FALLBACK_REGION = 'us-east-1';

/**
 * The bucket's region, as the AWS SDK and CLI find it: the `remote.region`
 * setting (or STRIDE_REMOTE_REGION), then AWS_REGION, then AWS_DEFAULT_REGION
 * (the CLI's name), then the `region` of the shared config profile (AWS_PROFILE,
 * else `default`) in AWS_CONFIG_FILE or ~/.aws/config, then the credentials
 * file's profile, then us-east-1. A region S3 says is wrong is corrected at run
 * time (S3Http follows one PermanentRedirect).
 */
export function resolveRegion(configured: unknown, env: NodeJS.ProcessEnv, configuredAt = 'remote.region'): ResolvedRegion {
  if (configured !== undefined && configured !== '') return { region: String(configured), source: configuredAt };
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION']) {
    const value = env[name];
    if (value) return { region: value, source: `${name} (environment)` };
  }
  const profile = env.AWS_PROFILE || 'default';
  const home = env.HOME || env.USERPROFILE || homedir();
  const files = [
    { path: env.AWS_CONFIG_FILE || join(home, '.aws', 'config'), config: true },
    { path: env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'), config: false },
  ];
  for (const file of files) {
    const region = profileSetting(readText(file.path), profile, 'region', file.config);
    if (region) return { region, source: `region of profile "${profile}" in ${file.path}` };
  }
  return { region: FALLBACK_REGION, source: 'the default (no remote.region, AWS_REGION or profile region)' };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * One setting of one profile of an AWS shared config file. In the config file
 * a profile is `[profile name]` (`[default]` or `[profile default]` for the
 * default); in the credentials file it is `[name]`. Indented lines belong to a
 * nested block (`s3 =` and its settings) and are not the profile's own.
 */
export function profileSetting(text: string, profile: string, key: string, configFile: boolean): string | undefined {
  let inProfile = false;
  let found: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const section = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (section) {
      const name = (section[1] as string).replace(/\s+/g, ' ');
      inProfile = configFile ? name === `profile ${profile}` || (profile === 'default' && name === 'default') : name === profile;
      continue;
    }
    if (!inProfile || /^\s/.test(line)) continue;
    const setting = /^([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*(?:[#;].*)?$/.exec(line);
    // The SDK takes the last value of a repeated key.
    if (setting && setting[1] === key && setting[2]) found = setting[2];
  }
  return found;
}
