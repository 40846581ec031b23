import {
  formatFiles,
  getProjects,
  readNxJson,
  type Tree,
  updateNxJson,
  updateProjectConfiguration,
} from '@nx/devkit';
import type { InitGeneratorOptions } from './schema.js';
import { STRIDE_EXECUTOR, wrapTarget } from './wrap-target.js';

/**
 * `nx g @stride/nx:init [--wrap=build,test]`: wires Stride into the
 * workspace. Running it again changes nothing.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorOptions): Promise<void> {
  // No entry in nx.json `plugins`: Nx would start a plugin worker for it on every run (about
  // 0.3 s) and the executor needs none. A team adds the entry only to keep settings there.
  const gitignore = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf8') ?? '') : '';
  if (!gitignore.split(/\r?\n/).some((line) => line.trim() === '.stride' || line.trim() === '.stride/' || line.trim() === '/.stride')) {
    tree.write('.gitignore', `${gitignore}${gitignore === '' || gitignore.endsWith('\n') ? '' : '\n'}.stride\n`);
  }

  const targetsToWrap = (options.wrap ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  if (targetsToWrap.length > 0) {
    for (const [name, project] of getProjects(tree)) {
      let changed = false;
      const targets = { ...(project.targets ?? {}) };
      for (const targetName of targetsToWrap) {
        const target = targets[targetName];
        if (!target || target.executor === STRIDE_EXECUTOR) continue;
        targets[targetName] = wrapTarget(target);
        changed = true;
      }
      if (changed) updateProjectConfiguration(tree, name, { ...project, targets });
    }
  }
  // Stride caches its targets itself; Nx caching them too would store every output
  // twice and restore behind Stride's back. This is set per target name, not under
  // an "@stride/nx:run" executor key: Nx 24 applies only one targetDefaults entry
  // per target, so an executor entry would hide the user's name-keyed defaults
  // (dependsOn, inputs, outputs) from every wrapped target.
  const strideTargetNames = new Set(targetsToWrap);
  for (const [, project] of getProjects(tree)) {
    for (const [targetName, target] of Object.entries(project.targets ?? {})) {
      if (target.executor === STRIDE_EXECUTOR) strideTargetNames.add(targetName);
    }
  }
  const nxJsonAfter = readNxJson(tree) ?? {};
  const defaults = { ...(nxJsonAfter.targetDefaults ?? {}) };
  for (const name of [...strideTargetNames].sort()) {
    const existing = defaults[name];
    // Nx 24 also allows a list of filtered defaults per key; a user who wrote one keeps it.
    if (!Array.isArray(existing)) defaults[name] = { ...(existing ?? {}), cache: false };
  }
  nxJsonAfter.targetDefaults = defaults;
  updateNxJson(tree, nxJsonAfter);
  if (!options.skipFormat) await formatFiles(tree);
}

export default initGenerator;
