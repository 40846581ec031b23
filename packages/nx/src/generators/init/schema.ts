export interface InitGeneratorOptions {
  /** Comma-separated target names to move onto @stride/nx:run. */
  wrap?: string;
  skipFormat?: boolean;
  /** "stride" (Stride's store; Nx's cache off for Stride targets) or "nx" (Nx's local cache on; Stride keeps no local copy). */
  localCache?: string;
}
