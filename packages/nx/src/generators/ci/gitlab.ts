import type { PipelineSettings } from './github.js';

export const GITLAB_PIPELINE_PATH = '.gitlab-ci.yml';

/** A GitLab CI pipeline: one job run `parallel: N` times, each instance running its share of the affected tasks. */
export function gitlabPipeline(s: PipelineSettings): string {
  const run = s.pm.exec;
  const installPm = s.pm.name === 'npm' ? '' : `    - npm install -g ${s.packageManagerSpec ?? s.pm.name}\n`;
  return `# Written by nx g @stride/nx:ci --provider=gitlab. Edit freely; run the generator again to start over.
#
# Every push to ${s.mainBranch} and every merge request runs the affected ${s.targets} tasks on ${s.shards}
# machines. stride shard splits them by the team's recorded timings, the same way on every machine;
# a task one machine needs from another's share arrives through the S3 cache instead of being built twice.
#
# Set up once (see SECURITY.md of @stride/nx):
#   - CI/CD variables STRIDE_REMOTE_BUCKET, STRIDE_REMOTE_REGION, STRIDE_TRUSTED_ROLE_ARN and STRIDE_MR_ROLE_ARN:
#     two AWS roles trusting GitLab's OIDC provider (no long-lived AWS keys), the trusted one only for
#     ref_protected:true on ${s.mainBranch}, the other allowed to write only <prefix>/scopes/pr-* and
#     <prefix>/timings/scopes/pr-* (the permissions \`stride aws-policy\` prints for its pull-request role:
#     an explicit Deny on every other key, so a merge request cannot write where main or a developer reads);
#   - STRIDE_SIGNING_KEY (from \`stride keygen\`) as a protected, masked variable: only protected branches see it;
#   - remote.publicKeys in nx.json: the public half of that key.
# Merge requests write only their own scope (pr-<iid>, a pull-request scope) and read trusted/ first, then it;
# merge requests from forks read only.

workflow:
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == "${s.mainBranch}"

variables:
  GIT_DEPTH: "0"
  NX_DAEMON: "false"
  STRIDE_SHARD_PLAN: .stride/shard-plan.json
  STRIDE_REPORT: stride-report.html

stride:
  image: node:${s.nodeVersion}
  parallel: ${s.shards}
  id_tokens:
    STRIDE_AWS_ID_TOKEN:
      aud: sts.amazonaws.com
  before_script:
${installPm}    - ${s.pm.install}
    - |
      if [ "$CI_COMMIT_BRANCH" = "${s.mainBranch}" ] && [ "$CI_COMMIT_REF_PROTECTED" = "true" ]; then
        export STRIDE_REMOTE_SCOPE=trusted AWS_ROLE_ARN="$STRIDE_TRUSTED_ROLE_ARN"
      else
        export STRIDE_REMOTE_SCOPE="pr-\${CI_MERGE_REQUEST_IID:-pipeline-$CI_PIPELINE_IID}" AWS_ROLE_ARN="$STRIDE_MR_ROLE_ARN"
        unset STRIDE_SIGNING_KEY
      fi
      if [ -n "$CI_MERGE_REQUEST_SOURCE_PROJECT_ID" ] && [ "$CI_MERGE_REQUEST_SOURCE_PROJECT_ID" != "$CI_PROJECT_ID" ]; then
        export STRIDE_REMOTE_MODE=read-only
      fi
      export AWS_WEB_IDENTITY_TOKEN_FILE="$(mktemp)" AWS_REGION="$STRIDE_REMOTE_REGION"
      printf '%s' "$STRIDE_AWS_ID_TOKEN" > "$AWS_WEB_IDENTITY_TOKEN_FILE"
  script:
    - BASE="\${CI_MERGE_REQUEST_DIFF_BASE_SHA:-$CI_COMMIT_BEFORE_SHA}"
    - if echo "$BASE" | grep -qE '^0+$'; then BASE="HEAD~1"; fi
    - ${run} stride shard --total "$CI_NODE_TOTAL" --index "$((CI_NODE_INDEX - 1))" -t ${s.targets} --affected --base="$BASE" --head="$CI_COMMIT_SHA" --json > stride-shard.json
    - PROJECTS="$(node -p "require('./stride-shard.json').projects.join(',')")"
    - if [ -n "$PROJECTS" ]; then ${run} nx run-many -t ${s.targets} --projects="$PROJECTS"; else echo "Nothing affected in this shard"; fi
  after_script:
    - ${run} stride summary || true
  artifacts:
    when: always
    expose_as: Stride timeline
    paths:
      - stride-report.html
`;
}
