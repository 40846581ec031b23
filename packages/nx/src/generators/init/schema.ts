export interface InitGeneratorOptions {
  /** Comma-separated target names to move onto @stride/nx:run. */
  wrap?: string;
  /** The same as `wrap` (the name the issue and other tools use). */
  targets?: string;
  /** Take Stride out again: inferring plugins unwrapped, wrapped targets back on their own executor. */
  remove?: boolean;
  skipFormat?: boolean;
  /** "stride" (Stride's store; Nx's cache off for Stride targets) or "nx" (Nx's local cache on; Stride keeps no local copy). */
  localCache?: string;
}
