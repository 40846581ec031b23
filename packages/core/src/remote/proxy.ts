import type http from 'node:http';
import { StrideError } from '../util/errors.js';

/**
 * The proxy a request to `target` goes through, from HTTPS_PROXY / HTTP_PROXY /
 * NO_PROXY (lower-case forms first, as curl and the AWS CLI read them), or
 * undefined to connect directly.
 *
 * Not `proxy-from-env`: it matches a bare NO_PROXY entry (`amazonaws.com`) only
 * against that exact host, so `bucket.s3.amazonaws.com` would still go through
 * the proxy, where curl, Python's urllib (the AWS CLI) and Go all bypass it;
 * and it reads only `process.env`. The rule here is theirs: an entry is a host
 * or a domain suffix (`example.com`, `.example.com`, `*.example.com` alike),
 * optionally with `:port`, and `*` alone bypasses every host.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const read = (name: string): string | undefined => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
  const raw = target.protocol === 'https:' ? read('https_proxy') : read('http_proxy');
  if (!raw || bypassed(target, read('no_proxy') ?? '')) return undefined;
  const variable = target.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  let proxy: URL;
  try {
    // `proxy.corp:3128` without a scheme means http, as curl takes it.
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new StrideError(`${variable} is not a proxy URL`, { setting: `${variable} (environment)`, value: withoutCredentials(raw), fix: 'e.g. http://proxy.corp:3128' });
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new StrideError(`${variable} names a ${proxy.protocol.replace(/:$/, '')} proxy; only http and https proxies are supported`, {
      setting: `${variable} (environment)`,
      value: describeProxy(proxy),
      fix: 'point it at an HTTP proxy (http://host:port), or put the S3 host in NO_PROXY',
    });
  }
  return proxy;
}

function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true;
      const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      const hostPort = bracketed ? [bracketed[1], bracketed[2]] : entry.includes('::') ? [entry, undefined] : entry.split(':');
      const [name = '', entryPort] = hostPort;
      if (entryPort && entryPort !== port) return false;
      const suffix = name.toLowerCase().replace(/^\*?\.?/, '');
      return suffix !== '' && (host === suffix || host.endsWith(`.${suffix}`));
    });
}

/** A proxy URL as it may be printed: user and password are secrets. */
export function describeProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

const withoutCredentials = (raw: string): string => raw.replace(/\/\/[^@/]*@/, '//');

/**
 * The connection pool for requests to `target`: a plain keep-alive agent, or,
 * when the environment names a proxy for it, an agent that tunnels https
 * through it with CONNECT and sends http to it in absolute form. The proxy
 * libraries load only then. TLS to the target (through the tunnel) uses Node's
 * default trust store, so NODE_EXTRA_CA_CERTS keeps working.
 */
export async function agentFor(target: URL, env: NodeJS.ProcessEnv, options: http.AgentOptions): Promise<{ agent: http.Agent; proxy: URL | undefined }> {
  const proxy = proxyFor(target, env);
  if (!proxy) {
    const transport = target.protocol === 'https:' ? await import('node:https') : await import('node:http');
    return { agent: new transport.Agent(options), proxy };
  }
  if (target.protocol === 'https:') {
    const { HttpsProxyAgent } = await import('https-proxy-agent');
    return { agent: new HttpsProxyAgent(proxy, options), proxy };
  }
  const { HttpProxyAgent } = await import('http-proxy-agent');
  return { agent: new HttpProxyAgent(proxy, options), proxy };
}
