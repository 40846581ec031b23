// Types for fault-proxy.mjs (plain JavaScript so that it runs without a build).

export type FaultMode =
  /** Forward both ways untouched (the default). */
  | { kind: 'pass' }
  /** Reset each new connection at once; setting it also resets open ones. */
  | { kind: 'drop' }
  /** Hold every chunk, both directions, for `ms` before forwarding. */
  | { kind: 'delay'; ms: number }
  /** Deliver `afterBytes` bytes of server->client traffic, then close both sides. */
  | { kind: 'cut'; afterBytes: number }
  /** XOR 0xff every server->client byte after the first `afterBytes` of a connection. */
  | { kind: 'corrupt'; afterBytes: number }
  /**
   * Answer every request with this status and an S3 XML error body, without
   * contacting the server. `s3Code` defaults to InternalError (500),
   * ServiceUnavailable (503), else InternalError; e.g. 'SlowDown' for 503.
   */
  | { kind: 'status'; code: number; s3Code?: string };

export interface FaultProxyOptions {
  /** Default '127.0.0.1'. */
  targetHost?: string;
  targetPort: number;
  /** Port to listen on (127.0.0.1); 0 (the default) picks a free one. */
  port?: number;
}

export interface FaultProxy {
  readonly port: number;
  /** 'http://127.0.0.1:<port>' */
  readonly endpoint: string;
  /** Client connections accepted so far (all modes, cumulative). */
  readonly connections: number;
  /** The mode new connections get. */
  readonly mode: FaultMode;
  /** Applies to new connections; `drop` also resets open ones. Throws TypeError if invalid. */
  setMode(mode: FaultMode): void;
  /** Destroys every socket and closes the listener. Idempotent. */
  stop(): Promise<void>;
}

export declare function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy>;
