export interface Tinyproxy {
  /** `http://127.0.0.1:<port>`, for HTTPS_PROXY / HTTP_PROXY. */
  url: string;
  port: number;
  /** The request lines from the proxy's own log. */
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}
export function startTinyproxy(): Promise<Tinyproxy>;
