export interface GeneratedWorkspace {
  projects: string[];
  dependencies: Record<string, string[]>;
}
export function generateWorkspace(dir: string, options?: { projects?: number; width?: number; stride?: boolean; filesPerProject?: number }): GeneratedWorkspace;
