import type { Tree } from '@nx/devkit';
import { GITHUB_WORKFLOW_PATH, githubWorkflow, type PipelineSettings } from './github.js';
import { GITLAB_PIPELINE_PATH, gitlabPipeline } from './gitlab.js';
import { packageManagerOf } from './package-manager.js';
import type { CiGeneratorOptions } from './schema.js';

/**
 * `nx g @stride/nx:ci --provider=github|gitlab`: writes a CI pipeline that
 * shards the affected tasks over machines sharing Stride's S3 cache.
 */
export async function ciGenerator(tree: Tree, options: CiGeneratorOptions): Promise<void> {
  const settings = pipelineSettings(tree, options);
  if (options.provider === 'github') tree.write(GITHUB_WORKFLOW_PATH, githubWorkflow(settings));
  else if (options.provider === 'gitlab') tree.write(GITLAB_PIPELINE_PATH, gitlabPipeline(settings));
  else throw new Error(`--provider=${String(options.provider)} is not supported: use --provider=github or --provider=gitlab`);
}

function pipelineSettings(tree: Tree, options: CiGeneratorOptions): PipelineSettings {
  const shards = options.shards ?? 4;
  if (!Number.isInteger(shards) || shards < 1 || shards > 256) throw new Error(`--shards=${shards} must be a whole number from 1 to 256 (the number of CI machines)`);
  const targets = (options.targets ?? 'build,test').split(',').map((t) => t.trim()).filter(Boolean);
  const badTarget = targets.find((t) => !/^[A-Za-z0-9][A-Za-z0-9:._-]*$/.test(t));
  if (targets.length === 0 || badTarget !== undefined) throw new Error(`--targets=${options.targets} must be comma-separated target names such as build,test`);
  const mainBranch = options.mainBranch ?? 'main';
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(mainBranch)) throw new Error(`--mainBranch=${mainBranch} is not a branch name such as main`);
  const nodeVersion = String(options.nodeVersion ?? '20');
  if (!/^\d+(\.\d+){0,2}$/.test(nodeVersion)) throw new Error(`--nodeVersion=${nodeVersion} must be a version such as 20 or 20.19`);
  const pm = packageManagerOf(tree);
  const spec = tree.exists('package.json') ? (JSON.parse(tree.read('package.json', 'utf8') ?? '{}') as { packageManager?: string }).packageManager : undefined;
  return { shards, targets: targets.join(','), mainBranch, nodeVersion, pm, ...(spec?.startsWith(`${pm.name}@`) ? { packageManagerSpec: spec.split('+')[0] as string } : {}) };
}

export default ciGenerator;
