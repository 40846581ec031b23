export interface CiGeneratorOptions {
  provider: 'github' | 'gitlab';
  shards?: number;
  targets?: string;
  mainBranch?: string;
  nodeVersion?: string;
}
