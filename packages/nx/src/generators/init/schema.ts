export interface InitGeneratorOptions {
  /** Comma-separated target names to move onto @stride/nx:run. */
  wrap?: string;
  skipFormat?: boolean;
}
