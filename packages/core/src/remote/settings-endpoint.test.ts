import { describe, expect, it } from 'vitest';
import { isLoopback, parseRemoteSettings } from './settings.js';

const parse = (env: NodeJS.ProcessEnv, raw: object = {}) => parseRemoteSettings({ bucket: 'team-cache', ...raw }, env, 'remote');

describe('plain HTTP only to loopback, judged by address', () => {
  it('accepts 127.0.0.0/8, ::1 and localhost exactly', () => {
    for (const endpoint of ['http://127.0.0.1:9000', 'http://127.255.3.4', 'http://127.1:9000', 'http://[::1]:9000', 'http://localhost:9000']) {
      expect(parse({ STRIDE_REMOTE_ENDPOINT: endpoint })?.endpoint, endpoint).toBeDefined();
    }
  });
  it('refuses names that only look like loopback, naming the setting', () => {
    for (const endpoint of ['http://127.attacker.example:9000', 'http://localhost.attacker.example', 'http://127.0.0.1.nip.io', 'http://128.0.0.1', 'http://[::2]']) {
      expect(() => parse({ STRIDE_REMOTE_ENDPOINT: endpoint }), endpoint).toThrow(/refusing plain HTTP[\s\S]*setting: STRIDE_REMOTE_ENDPOINT \(environment\)[\s\S]*fix: use https/);
    }
    expect(parse({ STRIDE_REMOTE_ENDPOINT: 'http://127.attacker.example:9000', STRIDE_REMOTE_ALLOW_INSECURE_HTTP: 'true' })?.endpoint).toBe('http://127.attacker.example:9000');
  });
  it('isLoopback parses the host', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('[::1]')).toBe(true);
    expect(isLoopback('[::ffff:7f00:1]')).toBe(true);
    expect(isLoopback('127.example')).toBe(false);
    expect(isLoopback('LOCALHOST.')).toBe(false);
  });
});

describe('credentials in the endpoint URL', () => {
  it('are refused with the setting and the fix, and never shown', () => {
    for (const [env, setting] of [
      [{ STRIDE_REMOTE_ENDPOINT: 'http://user:PASSWORD-123@127.0.0.1:9000' }, 'STRIDE_REMOTE_ENDPOINT (environment)'],
      [{ AWS_ENDPOINT_URL_S3: 'https://PASSWORD-123@s3.example' }, 'AWS_ENDPOINT_URL_S3 (environment)'],
    ] as const) {
      let message = '';
      try {
        parse(env);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain('carries credentials');
      expect(message).toContain(`setting: ${setting}`);
      expect(message).toContain('AWS chain');
      expect(message).toContain('***@');
      expect(message).not.toContain('PASSWORD-123');
    }
    expect(() => parse({}, { endpoint: 'https://u:PASSWORD-123@s3.example' })).toThrow(/setting: remote.endpoint = "https:\/\/\*\*\*@s3.example"/);
  });
  it('are not shown when the URL is not valid either', () => {
    expect(() => parse({ STRIDE_REMOTE_ENDPOINT: 'ftp://u:PASSWORD-123@h' })).toThrow(/"ftp:\/\/\*\*\*@h" is not an http\(s\) URL/);
  });
});
