import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { NxJsonConfiguration, PluginConfiguration } from '@nx/devkit';
import picomatch from 'picomatch';
import { type InferOptions, pluginPattern } from '../../infer/wrap-plugin.js';

export const INFER_PLUGIN = '@stride/nx/infer';

/** Target names by plugin (its nx.json name) or by project root: read from Nx's own source maps. */
export type InferredBy = ReadonlyMap<string, ReadonlySet<string>>;

/** The part of Nx's project-graph module init reads: the graph with the source of every target property. */
interface NxProjectGraphModule {
  createProjectGraphAndSourceMapsAsync(opts?: { exitOnError?: boolean }): Promise<{ sourceMaps: Record<string, Record<string, readonly [string | null, string]>> }>;
}

/**
 * Which plugin infers which target: Nx records, for every property of every
 * project, the file and plugin it came from (`targets.test` -> [jest.config.ts,
 * "@nx/jest/plugin"]). Nx's own core plugins (project.json, package.json) are
 * not inferring plugins: what they give is written in the repo, and `--wrap`
 * rewrites it there. A target made by an entry Stride already wraps is counted
 * under `@stride/nx/infer:<the plugin it stands for>`: the entry whose plugin's
 * glob selects the file the target came from.
 */
export async function readInferredBy(root: string, nxJson: NxJsonConfiguration): Promise<{ inferredBy: InferredBy; inProject: InferredBy; problem?: string }> {
  let sourceMaps: Record<string, Record<string, readonly [string | null, string]>>;
  try {
    const nx = createRequire(join(root, 'package.json'))('nx/src/project-graph/project-graph.js') as Partial<NxProjectGraphModule>;
    if (typeof nx.createProjectGraphAndSourceMapsAsync !== 'function') return { inferredBy: new Map(), inProject: new Map(), problem: 'this Nx version has no createProjectGraphAndSourceMapsAsync: inferred targets were not looked for' };
    ({ sourceMaps } = await nx.createProjectGraphAndSourceMapsAsync({ exitOnError: false }));
  } catch (error) {
    return { inferredBy: new Map(), inProject: new Map(), problem: `Nx could not compute the project graph to find inferred targets (${(error as Error).message.split('\n')[0]})` };
  }
  const inferredBy = new Map<string, Set<string>>();
  const inProject = new Map<string, Set<string>>();
  const wrappers: Array<{ name: string; matches: (file: string) => boolean }> = [];
  for (const entry of nxJson.plugins ?? []) {
    if (typeof entry === 'string' || entry.plugin !== INFER_PLUGIN) continue;
    const inner = (entry.options as Partial<InferOptions> | undefined)?.plugin;
    if (typeof inner !== 'string') continue;
    const pattern = await pluginPattern(root, inner).catch(() => undefined);
    if (pattern !== undefined) wrappers.push({ name: `${INFER_PLUGIN}:${inner}`, matches: picomatch(pattern, { dot: true }) });
  }
  for (const [root, map] of Object.entries(sourceMaps)) {
    for (const [key, [file, source]] of Object.entries(map)) {
      const match = /^targets\.([^.]+)$/.exec(key);
      if (!match || source.startsWith('nx/core/')) continue;
      const target = match[1] as string;
      const plugin = source === INFER_PLUGIN ? (wrappers.find((w) => file !== null && w.matches(file))?.name ?? source) : source;
      const names = inferredBy.get(plugin) ?? new Set<string>();
      names.add(target);
      inferredBy.set(plugin, names);
      const here = inProject.get(root) ?? new Set<string>();
      here.add(target);
      inProject.set(root, here);
    }
  }
  return { inferredBy, inProject };
}

export function pluginName(entry: PluginConfiguration): string {
  return typeof entry === 'string' ? entry : entry.plugin;
}

/**
 * nx.json's plugins with every inferring plugin that makes one of `targets`
 * replaced by a `@stride/nx/infer` entry standing for it (its options, include
 * and exclude carried over), in the same place, so the order Nx merges plugins
 * in is kept. An entry already wrapped gets the new target names added.
 * Returns what changed, for init's notes.
 */
export function wrapInferringPlugins(plugins: readonly PluginConfiguration[], targets: readonly string[], inferredBy: InferredBy): { plugins: PluginConfiguration[]; notes: string[] } {
  const notes: string[] = [];
  const out = plugins.map((entry): PluginConfiguration => {
    const name = pluginName(entry);
    if (name === '@stride/nx') return entry;
    if (name === INFER_PLUGIN && typeof entry !== 'string') {
      const options = entry.options as InferOptions;
      const made = inferredBy.get(`${INFER_PLUGIN}:${options.plugin}`) ?? new Set<string>();
      const added = targets.filter((t) => made.has(t) && !options.targets.includes(t));
      if (added.length === 0) return entry;
      notes.push(`${options.plugin} now also runs ${added.join(', ')} on Stride`);
      return { ...entry, options: { ...options, targets: [...options.targets, ...added] } };
    }
    const made = inferredBy.get(name);
    const taken = targets.filter((t) => made?.has(t));
    if (taken.length === 0) return entry;
    notes.push(`${name}'s inferred ${taken.join(', ')} run on Stride (nx.json plugins: "${INFER_PLUGIN}" stands for it, its options unchanged)`);
    const { plugin: _plugin, options, ...placement } = typeof entry === 'string' ? { plugin: entry } : entry;
    const inner: InferOptions = { plugin: name, ...(options !== undefined ? { options } : {}), targets: taken };
    return { ...placement, plugin: INFER_PLUGIN, options: inner };
  });
  return { plugins: out, notes };
}

/** The plugins as they were before `init` wrapped them: each `@stride/nx/infer` entry back to the plugin it stands for. */
export function unwrapInferringPlugins(plugins: readonly PluginConfiguration[]): PluginConfiguration[] {
  return plugins.map((entry) => {
    if (typeof entry === 'string' || entry.plugin !== INFER_PLUGIN) return entry;
    const { plugin: _plugin, options, ...placement } = entry;
    const inner = options as Partial<InferOptions>;
    if (typeof inner.plugin !== 'string') return entry;
    if (inner.options === undefined && Object.keys(placement).length === 0) return inner.plugin;
    return { ...placement, plugin: inner.plugin, ...(inner.options !== undefined ? { options: inner.options } : {}) };
  });
}
