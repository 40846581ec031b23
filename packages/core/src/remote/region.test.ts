import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { profileSetting, resolveRegion } from './region.js';
import { parseRemoteSettings } from './settings.js';

const dir = mkdtempSync(join(tmpdir(), 'stride-aws-config-'));
const config = join(dir, 'config');
writeFileSync(
  config,
  [
    '# a comment',
    '[default]',
    'region = eu-central-1',
    '[profile ci]',
    'output = json',
    's3 =',
    '  region = not-this-one',
    'region=ap-southeast-2 ; the team bucket',
    '[profile  other ]',
    'region = sa-east-1',
    '[ci]',
    'region = us-west-1',
    '',
  ].join('\n'),
);
const credentials = join(dir, 'credentials');
writeFileSync(credentials, '[legacy]\naws_access_key_id = AK\nregion = ca-central-1\n');
// No machine's own ~/.aws may leak into the answers.
const base: NodeJS.ProcessEnv = { HOME: dir, AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials };

describe('resolveRegion', () => {
  it('takes remote.region, then AWS_REGION, then AWS_DEFAULT_REGION, then the profile, as the SDK and CLI do', () => {
    const env = { ...base, AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2', AWS_PROFILE: 'ci' };
    expect(resolveRegion('us-east-2', env)).toEqual({ region: 'us-east-2', source: 'remote.region' });
    expect(resolveRegion(undefined, env)).toEqual({ region: 'eu-west-1', source: 'AWS_REGION (environment)' });
    expect(resolveRegion(undefined, { ...env, AWS_REGION: '' }).region).toBe('eu-west-2');
    expect(resolveRegion(undefined, { ...base, AWS_PROFILE: 'ci' })).toEqual({ region: 'ap-southeast-2', source: `region of profile "ci" in ${config}` });
  });

  it('reads [default] without AWS_PROFILE, [profile x] for a named one (not [x], nor a nested block), then the credentials file', () => {
    expect(resolveRegion(undefined, base).region).toBe('eu-central-1');
    expect(resolveRegion(undefined, { ...base, AWS_PROFILE: 'other' }).region).toBe('sa-east-1');
    expect(resolveRegion(undefined, { ...base, AWS_PROFILE: 'legacy' }).region).toBe('ca-central-1');
    expect(resolveRegion(undefined, { ...base, AWS_PROFILE: 'missing' })).toMatchObject({ region: 'us-east-1', source: expect.stringMatching(/default/) });
    expect(resolveRegion(undefined, { HOME: join(dir, 'nowhere') }).region).toBe('us-east-1');
    expect(profileSetting('[profile default]\nregion = me-south-1\n', 'default', 'region', true)).toBe('me-south-1');
  });

  it('is what parseRemoteSettings uses', () => {
    expect(parseRemoteSettings({ bucket: 'team-cache' }, { ...base, AWS_PROFILE: 'ci' }, 'remote')?.region).toBe('ap-southeast-2');
    expect(parseRemoteSettings({ bucket: 'team-cache', region: 'us-west-2' }, { ...base, AWS_REGION: 'eu-west-1' }, 'remote')?.region).toBe('us-west-2');
    expect(parseRemoteSettings({ bucket: 'team-cache' }, { ...base, STRIDE_REMOTE_REGION: 'af-south-1', AWS_REGION: 'eu-west-1' }, 'remote')?.region).toBe('af-south-1');
  });
});
