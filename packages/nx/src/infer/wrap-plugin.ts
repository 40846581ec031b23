import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CreateNodes, CreateNodesContext, CreateNodesResult, CreateNodesResultArray, TargetConfiguration } from '@nx/devkit';
import picomatch from 'picomatch';
import { isNotWrapped, wrapTarget } from '../generators/init/wrap-target.js';

/** The options of a `@stride/nx/infer` entry in nx.json: the inferring plugin it stands for, and what it takes over. */
export interface InferOptions {
  /** The inferring plugin, as nx.json named it (`@nx/jest/plugin`, or a path from the workspace root). */
  plugin: string;
  /** That plugin's own options, passed to it unchanged. */
  options?: unknown;
  /** The inferred targets that run on @stride/nx:run (every other target is passed through as the plugin made it). */
  targets: string[];
}

/** What Nx reads of a plugin module: its createNodes pair under either name. */
interface PluginModule {
  createNodes?: CreateNodes<unknown>;
  createNodesV2?: CreateNodes<unknown>;
  default?: PluginModule;
}

const loaded = new Map<string, Promise<CreateNodes<unknown>>>();

/**
 * The inferring plugin's createNodes pair, loaded from the workspace the way Nx
 * resolves a plugin name (a package, or a path from the workspace root).
 */
function innerPlugin(root: string, name: string): Promise<CreateNodes<unknown>> {
  const key = `${root}\0${name}`;
  let pending = loaded.get(key);
  if (!pending) {
    pending = (async () => {
      const local = name.startsWith('.') || isAbsolute(name);
      const path = local ? join(root, name) : createRequire(join(root, 'package.json')).resolve(name);
      const imported = (await import(pathToFileURL(path).href)) as PluginModule;
      const module = imported.createNodes || imported.createNodesV2 ? imported : (imported.default ?? imported);
      const pair = module.createNodes ?? module.createNodesV2;
      if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'function') {
        throw new Error(`@stride/nx/infer: the plugin "${name}" (${path}) exports no createNodes: Stride can wrap only a plugin that infers targets; list it in nx.json "plugins" on its own instead`);
      }
      return pair;
    })();
    loaded.set(key, pending);
  }
  return pending;
}

/** The glob of an inferring plugin's createNodes: which files it infers from. */
export async function pluginPattern(root: string, name: string): Promise<string> {
  return (await innerPlugin(root, name))[0];
}

/** The options, checked: a wrong entry names the setting, the value and the fix. */
export function readInferOptions(options: unknown): InferOptions {
  const o = (options ?? {}) as Partial<InferOptions>;
  if (typeof o.plugin !== 'string' || o.plugin === '') {
    throw new Error(`@stride/nx/infer: options.plugin is ${JSON.stringify(o.plugin)}: name the inferring plugin it wraps, e.g. { "plugin": "@stride/nx/infer", "options": { "plugin": "@nx/jest/plugin", "targets": ["test"] } } (npx nx g @stride/nx:init --wrap=test writes it)`);
  }
  if (!Array.isArray(o.targets) || o.targets.some((t) => typeof t !== 'string')) {
    throw new Error(`@stride/nx/infer: options.targets of the entry for ${o.plugin} is ${JSON.stringify(o.targets)}: give the inferred target names Stride runs, e.g. ["test", "lint"]`);
  }
  return { plugin: o.plugin, options: o.options, targets: o.targets };
}

/**
 * Runs the inferring plugin on the files it asks for and re-emits its projects
 * with the chosen targets moved onto @stride/nx:run, the plugin's executor and
 * options inside (the same wrapping `init --wrap` gives a written target), so
 * what the plugin infers stays live: a change to jest.config.ts changes the
 * target on the next graph, nothing is frozen into project.json.
 *
 * Nx hands this plugin every workspace file (its pattern is `**\/*`: the
 * pattern must be known before the options are, and the options say which
 * plugin this is); the ones the wrapped plugin's own pattern selects are passed
 * on, matched as Nx's glob does (dot files included).
 */
export async function createWrappedNodes(files: readonly string[], rawOptions: unknown, context: CreateNodesContext): Promise<CreateNodesResultArray> {
  const options = readInferOptions(rawOptions);
  const [pattern, createNodes] = await innerPlugin(context.workspaceRoot, options.plugin);
  const matches = picomatch(pattern, { dot: true });
  const results = await createNodes(files.filter((file) => matches(file)), options.options, context);
  const taken = new Set(options.targets);
  return results.map(([file, result]) => [file, takeOver(result, taken)] as const);
}

function takeOver(result: CreateNodesResult, taken: ReadonlySet<string>): CreateNodesResult {
  if (!result.projects) return result;
  const projects: NonNullable<CreateNodesResult['projects']> = {};
  for (const [root, project] of Object.entries(result.projects)) {
    if (!project.targets) {
      projects[root] = project;
      continue;
    }
    const targets: Record<string, TargetConfiguration> = {};
    for (const [name, target] of Object.entries(project.targets)) {
      const wrapped = taken.has(name) ? wrapTarget(target) : target;
      // Continuous targets and ones with no executor are left as the plugin made them.
      targets[name] = isNotWrapped(wrapped) ? target : wrapped;
    }
    projects[root] = { ...project, targets };
  }
  return { ...result, projects };
}
