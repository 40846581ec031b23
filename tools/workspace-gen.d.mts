export interface GeneratedWorkspace {
  projects: string[];
  dependencies: Record<string, string[]>;
}
export function generateWorkspace(dir: string, options?: { projects?: number; width?: number; stride?: boolean; filesPerProject?: number; nxCacheInFront?: boolean }): GeneratedWorkspace;
export function generateTimedWorkspace(
  dir: string,
  graph: { dag: { ids: readonly string[]; dependencies: Readonly<Record<string, readonly string[]>> }; durationMs: Record<string, number> },
  options?: { stride?: boolean },
): GeneratedWorkspace;
