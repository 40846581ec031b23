import {
  formatFiles,
  getProjects,
  type NxJsonConfiguration,
  readNxJson,
  type TargetConfiguration,
  type Tree,
  updateNxJson,
  updateProjectConfiguration,
} from '@nx/devkit';
import type { InitGeneratorOptions } from './schema.js';
import { PLUGIN_NAME, pluginOptions, readLocalCache, type LocalCacheMode } from '../../settings.js';
import { pluginName, readInferredBy, unwrapInferringPlugins, wrapInferringPlugins } from './inferred.js';
import { isNotWrapped, STRIDE_EXECUTOR, unwrapTarget, wrapTarget } from './wrap-target.js';

/**
 * `nx g @stride/nx:init [--wrap=build,test] [--localCache=nx|stride]`: wires
 * Stride into the workspace. Running it again changes nothing, except to
 * follow a changed `localCache` mode (the option, STRIDE_LOCAL_CACHE, or
 * nx.json): that is the migration from one mode to the other.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const mode = chooseMode(tree, options, env);
  // No entry in nx.json `plugins`: Nx would start a plugin worker for it on every run (about
  // 0.3 s) and the executor needs none. A team adds the entry only to keep settings there.
  const gitignore = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf8') ?? '') : '';
  if (!gitignore.split(/\r?\n/).some((line) => line.trim() === '.stride' || line.trim() === '.stride/' || line.trim() === '/.stride')) {
    tree.write('.gitignore', `${gitignore}${gitignore === '' || gitignore.endsWith('\n') ? '' : '\n'}.stride\n`);
  }

  if (options.remove) {
    removeStride(tree);
    if (!options.skipFormat) await formatFiles(tree);
    return;
  }
  const targetsToWrap = (options.wrap || options.targets || '').split(',').map((name) => name.trim()).filter(Boolean);
  if (targetsToWrap.length > 0) {
    const nxJson = readNxJson(tree) ?? {};
    const notes: string[] = [];
    // Inferred targets: the plugin that makes them is wrapped in nx.json, so they stay live (nothing is written out).
    const { inferredBy, inProject, problem } = await readInferredBy(tree.root, nxJson);
    if (problem) notes.push(problem);
    const wrappedPlugins = wrapInferringPlugins(nxJson.plugins ?? [], targetsToWrap, inferredBy);
    notes.push(...wrappedPlugins.notes);
    if (wrappedPlugins.notes.length > 0) updateNxJson(tree, { ...nxJson, plugins: wrappedPlugins.plugins });
    for (const [name, project] of getProjects(tree)) {
      let changed = false;
      const targets = { ...(project.targets ?? {}) };
      const scripts = packageScripts(tree, project.root);
      for (const targetName of targetsToWrap) {
        const target = targets[targetName];
        if (!target || target.executor === STRIDE_EXECUTOR) continue;
        const defaults = nxJson.targetDefaults?.[targetName];
        const wrapped = wrapTarget(withDefaults(target, Array.isArray(defaults) ? undefined : defaults), {
          ...(!Array.isArray(defaults) && typeof defaults?.executor === 'string' ? { executorFromDefaults: defaults.executor } : {}),
          ...(typeof scripts[targetName] === 'string' ? { script: targetName } : {}),
        });
        if (isNotWrapped(wrapped)) {
          // A partial entry over an inferred target (options only) merges onto the wrapped inferred one: it runs on Stride.
          if (inProject.get(project.root)?.has(targetName)) continue;
          notes.push(`${name}:${targetName} was left to Nx: ${wrapped.reason}`);
          continue;
        }
        targets[targetName] = wrapped;
        changed = true;
      }
      if (changed) updateProjectConfiguration(tree, name, { ...project, targets });
    }
    for (const note of notes) console.log(`Stride init: ${note}`);
  }
  // In "stride" mode Stride caches its targets itself, and Nx caching them too would store
  // every output twice and restore behind Stride's back: cache false. In "nx" mode Nx's
  // local cache is the only local copy: cache true. This is set per target name, not under
  // an "@stride/nx:run" executor key: Nx 24 applies only one targetDefaults entry
  // per target, so an executor entry would hide the user's name-keyed defaults
  // (dependsOn, inputs, outputs) from every wrapped target. A `cache` written on a
  // project's own target (kept when it was wrapped) would override the default, so it
  // follows the mode too.
  const nxCache = mode === 'nx';
  const strideTargetNames = new Set(targetsToWrap);
  for (const [name, project] of getProjects(tree)) {
    let changed = false;
    const targets = { ...(project.targets ?? {}) };
    for (const [targetName, target] of Object.entries(targets)) {
      if (target.executor !== STRIDE_EXECUTOR) continue;
      strideTargetNames.add(targetName);
      if (target.cache !== undefined && target.cache !== nxCache) {
        targets[targetName] = { ...target, cache: nxCache };
        changed = true;
      }
    }
    if (changed) updateProjectConfiguration(tree, name, { ...project, targets });
  }
  const nxJsonAfter = readNxJson(tree) ?? {};
  const defaults = { ...(nxJsonAfter.targetDefaults ?? {}) };
  for (const name of [...strideTargetNames].sort()) {
    const existing = defaults[name];
    // Nx 24 also allows a list of filtered defaults per key; a user who wrote one keeps it.
    if (!Array.isArray(existing)) defaults[name] = { ...(existing ?? {}), cache: nxCache };
  }
  nxJsonAfter.targetDefaults = defaults;
  if (options.localCache !== undefined) writeMode(nxJsonAfter, mode);
  updateNxJson(tree, nxJsonAfter);
  if (!options.skipFormat) await formatFiles(tree);
}

/**
 * `init --remove`: the workspace as Nx runs it without Stride. Every inferring
 * plugin entry goes back to the plugin it stood for, every target on
 * @stride/nx:run that wraps an executor goes back to that executor with its
 * options, and Stride's own plugin entry leaves nx.json. Targets written by
 * hand as a Stride `command` are left (they have no executor to go back to),
 * named in a note, as is the `cache` setting of targetDefaults.
 */
function removeStride(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  const { plugins: before = [], ...rest } = nxJson;
  const plugins = unwrapInferringPlugins(before).filter((entry) => pluginName(entry) !== PLUGIN_NAME);
  updateNxJson(tree, plugins.length > 0 ? { ...rest, plugins } : rest);
  const left: string[] = [];
  for (const [name, project] of getProjects(tree)) {
    let changed = false;
    const targets = { ...(project.targets ?? {}) };
    for (const [targetName, target] of Object.entries(targets)) {
      if (target.executor !== STRIDE_EXECUTOR) continue;
      const unwrapped = unwrapTarget(target);
      if (!unwrapped) {
        left.push(`${name}:${targetName}`);
        continue;
      }
      targets[targetName] = unwrapped;
      changed = true;
    }
    if (changed) updateProjectConfiguration(tree, name, { ...project, targets });
  }
  if (left.length > 0) console.log(`Stride init --remove: left on @stride/nx:run (a Stride command, no executor to go back to): ${left.join(', ')}`);
  console.log("Stride init --remove: targetDefaults keep the `cache` setting init gave them; .stride stays in .gitignore (delete the folder .stride when you no longer need its records)");
}

/**
 * A partial target (no executor, no command: its executor comes from
 * targetDefaults) with those defaults written into it. Once the target runs on
 * @stride/nx:run, Nx no longer applies a default meant for another executor, so
 * the options, inputs, outputs and dependsOn it gave must travel with it.
 */
function withDefaults(target: TargetConfiguration, defaults: Partial<TargetConfiguration> | undefined): TargetConfiguration {
  const partial = target.executor === undefined && (target as { command?: unknown }).command === undefined && !('command' in (target.options ?? {})) && !('commands' in (target.options ?? {}));
  if (!partial || typeof defaults?.executor !== 'string') return target;
  const { executor: _executor, options, configurations, ...rest } = defaults;
  const mergedConfigurations = { ...(configurations ?? {}), ...(target.configurations ?? {}) };
  return {
    ...rest,
    ...target,
    options: { ...(options ?? {}), ...(target.options ?? {}) },
    ...(Object.keys(mergedConfigurations).length > 0 ? { configurations: mergedConfigurations } : {}),
  };
}

/** A project's package.json scripts ({} when it has none). */
function packageScripts(tree: Tree, root: string): Record<string, unknown> {
  const path = `${root === '.' ? '' : `${root}/`}package.json`;
  if (!tree.exists(path)) return {};
  try {
    const parsed = JSON.parse(tree.read(path, 'utf8') ?? '{}') as { scripts?: Record<string, unknown> };
    return parsed.scripts ?? {};
  } catch {
    return {};
  }
}

/**
 * The mode to set up for: `--localCache` when given, else what a run would
 * read (STRIDE_LOCAL_CACHE, then nx.json, then the default). A bad value is
 * refused with the setting, the value and the fix.
 */
function chooseMode(tree: Tree, options: InitGeneratorOptions, env: NodeJS.ProcessEnv): LocalCacheMode {
  if (options.localCache !== undefined) {
    return readLocalCache({ localCache: options.localCache }, {}).mode;
  }
  return readLocalCache(pluginOptions(readNxJson(tree) ?? {}), env).mode;
}

/**
 * Keeps the mode chosen with `--localCache` where every run reads it: the
 * plugin entry's options (added when missing; Nx then starts a plugin worker
 * per run, about 0.17 s, which STRIDE_LOCAL_CACHE avoids).
 */
function writeMode(nxJson: NxJsonConfiguration, mode: LocalCacheMode): void {
  const plugins = [...(nxJson.plugins ?? [])];
  const at = plugins.findIndex((entry) => pluginName(entry) === PLUGIN_NAME);
  const entry = plugins[at];
  if (entry === undefined) plugins.push({ plugin: PLUGIN_NAME, options: { localCache: mode } });
  else if (typeof entry === 'string') plugins[at] = { plugin: PLUGIN_NAME, options: { localCache: mode } };
  else plugins[at] = { ...entry, options: { ...((entry.options as Record<string, unknown> | undefined) ?? {}), localCache: mode } };
  nxJson.plugins = plugins;
}

export default initGenerator;
