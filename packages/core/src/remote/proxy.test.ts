import { describe, expect, it } from 'vitest';
import { agentFor, describeProxy, proxyFor } from './proxy.js';

const S3 = new URL('https://team-cache.s3.eu-west-1.amazonaws.com');
const via = (target: URL | string, env: NodeJS.ProcessEnv): string | undefined => proxyFor(new URL(target), env)?.toString();

describe('proxyFor', () => {
  it('takes HTTPS_PROXY for https and HTTP_PROXY for http, lower-case first, and a bare host:port as http', () => {
    expect(via(S3, { HTTPS_PROXY: 'http://proxy.corp:3128' })).toBe('http://proxy.corp:3128/');
    expect(via(S3, { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' })).toBe('http://lower:1/');
    expect(via(S3, { HTTP_PROXY: 'http://proxy.corp:3128' })).toBeUndefined();
    expect(via('http://127.0.0.1:9000', { http_proxy: 'proxy.corp:3128' })).toBe('http://proxy.corp:3128/');
    expect(via(S3, {})).toBeUndefined();
  });

  it('bypasses NO_PROXY hosts: exact host, domain suffix in every spelling, port, IPv6, and *', () => {
    const env = (noProxy: string): NodeJS.ProcessEnv => ({ HTTPS_PROXY: 'http://p:1', HTTP_PROXY: 'http://p:1', NO_PROXY: noProxy });
    // A bare domain covers its subdomains, as curl and the AWS CLI take it (proxy-from-env would not).
    for (const entry of ['amazonaws.com', '.amazonaws.com', '*.amazonaws.com', 's3.eu-west-1.amazonaws.com', 'team-cache.s3.eu-west-1.amazonaws.com']) {
      expect(via(S3, env(`localhost, ${entry}`)), entry).toBeUndefined();
    }
    expect(via(S3, env('ws.com'))).toBe('http://p:1/'); // a suffix matches whole labels only
    expect(via(S3, env('amazonaws.com:443'))).toBeUndefined();
    expect(via(S3, env('amazonaws.com:8443'))).toBe('http://p:1/');
    expect(via('http://127.0.0.1:9000', env('127.0.0.1:9000'))).toBeUndefined();
    expect(via('http://127.0.0.1:9000', env('127.0.0.1:9001'))).toBe('http://p:1/');
    expect(via('http://[::1]:9000', env('::1'))).toBeUndefined();
    expect(via('http://[::1]:9000', env('[::1]:9000'))).toBeUndefined();
    expect(via(S3, env('*'))).toBeUndefined();
    expect(via(S3, { HTTPS_PROXY: 'http://p:1', no_proxy: 'AMAZONAWS.COM' })).toBeUndefined();
  });

  it('refuses a proxy it cannot use with the variable and the fix, never printing the proxy password', () => {
    expect(() => proxyFor(S3, { HTTPS_PROXY: 'socks5://user:hunter2@p:1080' })).toThrow(/HTTPS_PROXY names a socks5 proxy[\s\S]*setting: HTTPS_PROXY \(environment\)/);
    try {
      proxyFor(S3, { HTTPS_PROXY: 'socks5://user:hunter2@p:1080' });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2');
    }
    expect(describeProxy(new URL('http://user:hunter2@p:3128'))).toBe('http://p:3128');
  });

  it('pools connections through a tunnelling agent for https and an absolute-form agent for http', async () => {
    const https = await agentFor(S3, { HTTPS_PROXY: 'http://p:1' }, { keepAlive: true });
    expect(https.agent.constructor.name).toBe('HttpsProxyAgent');
    const http = await agentFor(new URL('http://127.0.0.1:9000'), { HTTP_PROXY: 'http://p:1' }, { keepAlive: true });
    expect(http.agent.constructor.name).toBe('HttpProxyAgent');
    const direct = await agentFor(S3, { NO_PROXY: '*', HTTPS_PROXY: 'http://p:1' }, { keepAlive: true });
    expect(direct.proxy).toBeUndefined();
    expect(direct.agent.constructor.name).toBe('Agent');
  });
});
