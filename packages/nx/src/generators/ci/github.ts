import type { PackageManagerCommands } from './package-manager.js';

export interface PipelineSettings {
  shards: number;
  targets: string;
  mainBranch: string;
  nodeVersion: string;
  pm: PackageManagerCommands;
  /** `pnpm@10.x` from package.json's packageManager, when there is one. */
  packageManagerSpec?: string;
}

export const GITHUB_WORKFLOW_PATH = '.github/workflows/stride-ci.yml';

/** A GitHub Actions workflow: one job, a matrix of shards, each running its share of the affected tasks. */
export function githubWorkflow(s: PipelineSettings): string {
  const run = s.pm.exec;
  // Nx itself runs on Node in every case; bun only installs. setup-node's cache knows npm, pnpm and yarn, not bun.
  const setupPnpm = s.pm.name === 'pnpm' ? '      - uses: pnpm/action-setup@v4\n' : s.pm.name === 'bun' ? '      - uses: oven-sh/setup-bun@v2\n' : '';
  const cacheLine = s.pm.name === 'bun' ? '' : `\n          cache: ${s.pm.name}`;
  return `# Written by nx g @stride/nx:ci --provider=github. Edit freely; run the generator again to start over.
#
# Every push to ${s.mainBranch} and every pull request runs the affected ${s.targets} tasks on ${s.shards}
# machines. stride shard splits them by the team's recorded timings, the same way on every machine;
# a task one machine needs from another's share arrives through the S3 cache instead of being built twice.
#
# Set up once (see SECURITY.md of @stride/nx):
#   - repository variables STRIDE_REMOTE_BUCKET, STRIDE_REMOTE_REGION, STRIDE_TRUSTED_ROLE_ARN and
#     STRIDE_PR_ROLE_ARN: the roles from \`stride aws-policy --repo <owner/name> --bucket <bucket>
#     --environment stride-trusted\`, assumed through GitHub's OIDC provider (no long-lived AWS keys);
#   - an environment "stride-trusted" whose deployment branches are ${s.mainBranch} only, holding the
#     secret STRIDE_SIGNING_KEY (from \`stride keygen\`): only ${s.mainBranch}'s runs sign and write trusted/;
#   - remote.publicKeys in nx.json: the public half of that key.
# Pull requests run with STRIDE_REMOTE_SCOPE=pr-<number>: they read trusted/ first, then their own scope,
# and their role may write only scopes/pr-* (an explicit Deny on everything else, so no scope name a PR
# claims reaches main or a developer). Forks get no AWS credentials from GitHub and run read-only (with no
# cache unless the bucket allows anonymous reads).
name: CI

on:
  push:
    branches: [${s.mainBranch}]
  pull_request:

permissions:
  contents: read
  id-token: write

concurrency:
  group: stride-ci-\${{ github.ref }}
  cancel-in-progress: \${{ github.event_name == 'pull_request' }}

env:
  NX_DAEMON: 'false'
  STRIDE_REMOTE_BUCKET: \${{ vars.STRIDE_REMOTE_BUCKET }}
  STRIDE_REMOTE_REGION: \${{ vars.STRIDE_REMOTE_REGION }}
  STRIDE_REMOTE_SCOPE: \${{ github.event_name == 'push' && 'trusted' || format('pr-{0}', github.event.pull_request.number) }}
  STRIDE_REMOTE_MODE: \${{ github.event.pull_request.head.repo.fork && 'read-only' || 'read-write' }}
  STRIDE_SHARD_PLAN: .stride/shard-plan.json
  STRIDE_REPORT: stride-report.html

jobs:
  tasks:
    name: shard \${{ matrix.shard }} of ${s.shards}
    runs-on: ubuntu-latest
    environment: \${{ github.event_name == 'push' && 'stride-trusted' || '' }}
    strategy:
      fail-fast: false
      matrix:
        shard: [${Array.from({ length: s.shards }, (_, i) => i).join(', ')}]
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
${setupPnpm}      - uses: actions/setup-node@v4
        with:
          node-version: '${s.nodeVersion}'${cacheLine}
      - run: ${s.pm.install}
      - name: Find the affected range
        uses: nrwl/nx-set-shas@v4
      - name: AWS credentials for the Stride cache (OIDC)
        if: \${{ !github.event.pull_request.head.repo.fork }}
        uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: \${{ github.event_name == 'push' && vars.STRIDE_TRUSTED_ROLE_ARN || vars.STRIDE_PR_ROLE_ARN }}
          aws-region: \${{ vars.STRIDE_REMOTE_REGION }}
      - name: This machine's share
        id: shard
        run: |
          ${run} stride shard --total ${s.shards} --index \${{ matrix.shard }} -t ${s.targets} --affected --base="$NX_BASE" --head="$NX_HEAD" --json > stride-shard.json
          echo "projects=$(node -p "require('./stride-shard.json').projects.join(',')")" >> "$GITHUB_OUTPUT"
      - name: Run ${s.targets}
        if: steps.shard.outputs.projects != ''
        run: ${run} nx run-many -t ${s.targets} --projects="\${{ steps.shard.outputs.projects }}"
        env:
          STRIDE_SIGNING_KEY: \${{ secrets.STRIDE_SIGNING_KEY }}
      - name: Run summary
        if: always() && steps.shard.outputs.projects != ''
        run: ${run} stride summary --markdown >> "$GITHUB_STEP_SUMMARY"
      - name: Timeline
        if: always() && steps.shard.outputs.projects != ''
        uses: actions/upload-artifact@v4
        with:
          name: stride-timeline-\${{ matrix.shard }}
          path: stride-report.html
          if-no-files-found: ignore
`;
}
