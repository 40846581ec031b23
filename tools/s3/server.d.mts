// Types for server.mjs (plain JavaScript so that it runs without a build).

export interface S3ServerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on; default '127.0.0.1'. */
  host?: string;
  /** Bucket created fresh and empty at start; default 'stride-test'. */
  bucket?: string;
  /** Registered with s3rver before start; default 'stride'. */
  accessKeyId?: string;
  /** Default 'stride-secret'. s3rver does not verify SigV4 signatures. */
  secretAccessKey?: string;
  /**
   * Where s3rver stores objects. Default: a fresh temp dir, removed by stop().
   * A directory given here is kept, but its `<bucket>` subdirectory is reset.
   */
  directory?: string;
  /** Suppress s3rver's request log; default true. */
  silent?: boolean;
}

export interface S3Server {
  /** e.g. 'http://127.0.0.1:9000'; use with forcePathStyle: true. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: 'us-east-1';
  readonly directory: string;
  /** Stops the server process and removes a temp directory. Idempotent. */
  stop(): Promise<void>;
}

export declare function startS3Server(opts?: S3ServerOptions): Promise<S3Server>;
