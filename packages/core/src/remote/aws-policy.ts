import { StrideError } from '../util/errors.js';
import { PULL_REQUEST_SCOPE_PREFIX } from './locations.js';
import { isValidBucketName } from './settings.js';

export interface AwsPolicyRequest {
  bucket: string;
  /** Key prefix of Stride's objects, as in `remote.prefix` (no leading or trailing slash). */
  prefix: string;
  /** GitHub repository, `owner/name`. */
  repo: string;
  /** The protected branch whose CI is trusted. */
  branch: string;
  /** AWS account id that holds GitHub's OIDC provider; a placeholder when not given. */
  account?: string;
  /** The GitHub environment the trusted job runs in (limited to `branch`), if any. */
  environment?: string;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<Record<string, unknown>>;
}

export interface RolePolicies {
  /** Who may assume the role (GitHub's OIDC provider, restricted by `sub`). */
  trustPolicy: PolicyDocument;
  /** What the role may do in the bucket. */
  permissionsPolicy: PolicyDocument;
}

export interface AwsPolicies {
  trustedWriter: RolePolicies;
  pullRequest: RolePolicies;
}

const OIDC_HOST = 'token.actions.githubusercontent.com';

/**
 * The two IAM roles that make the trust tiers hold in the bucket itself, for
 * GitHub Actions' OIDC provider: a trusted writer that only the protected
 * branch's workflows can assume and that may write `trusted/`, and a
 * pull-request role that reads `trusted/` and reads and writes `scopes/pr-*`
 * (with its timings) and nothing else. Explicit Denies, which no other grant can
 * open, keep it from writing `trusted/` and anything outside `scopes/pr-*`: no
 * other scope name (not `local`, not a developer's) is a place it can write, so
 * whatever scope a pull request claims, its objects land only where pull
 * requests alone read them unsigned (`locations.ts`).
 */
export function awsPolicies(request: AwsPolicyRequest): AwsPolicies {
  const fail = (setting: string, value: string, message: string, fix: string): never => {
    throw new StrideError(message, { setting, value, fix });
  };
  if (!isValidBucketName(request.bucket)) fail('--bucket', request.bucket, `"${request.bucket}" is not a bucket name S3 accepts`, 'use 3-63 lowercase letters, digits, dots and hyphens');
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(request.repo)) fail('--repo', request.repo, `"${request.repo}" is not a GitHub repository`, 'give it as owner/name, e.g. acme/monorepo');
  if (request.environment !== undefined && !/^[A-Za-z0-9._-]+$/.test(request.environment)) fail('--environment', request.environment, `"${request.environment}" is not a GitHub environment name this policy can pin`, 'name the environment the trusted job uses, e.g. stride-trusted');
  if (!/^[A-Za-z0-9._/-]+$/.test(request.branch) || request.branch.includes('..')) fail('--branch', request.branch, `"${request.branch}" is not a branch name this policy can pin`, 'name one protected branch, e.g. main (no wildcards)');
  // IAM reads `*`, `?` and `${...}` in a resource as patterns and variables: a prefix holding one would widen every grant.
  if (!/^[A-Za-z0-9._/-]*$/.test(request.prefix) || request.prefix.split('/').includes('..')) fail('--prefix', request.prefix, `"${request.prefix}" is not a key prefix this policy can pin`, 'use letters, digits, . _ - and /, as in remote.prefix (no wildcards)');
  if (request.account !== undefined && !/^\d{12}$/.test(request.account)) fail('--account', request.account, `"${request.account}" is not an AWS account id`, 'give the 12-digit id of the account holding the OIDC provider');
  const prefix = request.prefix.replace(/^\/+|\/+$/g, '');
  const path = (rest: string): string => `arn:aws:s3:::${request.bucket}/${prefix ? `${prefix}/` : ''}${rest}`;
  const federated = `arn:aws:iam::${request.account ?? 'ACCOUNT_ID'}:oidc-provider/${OIDC_HOST}`;
  const trust = (subCondition: Record<string, Record<string, string>>): PolicyDocument => ({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: federated },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${OIDC_HOST}:aud`]: 'sts.amazonaws.com' }, ...subCondition },
      },
    ],
  });
  // Listing lets a missing object answer 404 rather than 403; limited to Stride's prefix.
  const list = {
    Sid: 'ListStridePrefix',
    Effect: 'Allow',
    Action: 's3:ListBucket',
    Resource: `arn:aws:s3:::${request.bucket}`,
    Condition: { StringLike: { 's3:prefix': [prefix ? `${prefix}/*` : '*'] } },
  };
  const trustedObjects = [path('trusted/*'), path('timings/trusted.json')];
  const pullRequestObjects = [path(`scopes/${PULL_REQUEST_SCOPE_PREFIX}*`), path(`timings/scopes/${PULL_REQUEST_SCOPE_PREFIX}*`)];
  // Every way of creating, changing or removing an object (CopyObject and multipart parts are PutObject).
  const writes = ['s3:PutObject*', 's3:DeleteObject*', 's3:AbortMultipartUpload', 's3:RestoreObject', 's3:ReplicateObject'];
  return {
    trustedWriter: {
      trustPolicy: trust({ StringEquals: { [`${OIDC_HOST}:aud`]: 'sts.amazonaws.com', [`${OIDC_HOST}:sub`]: trustedSubject(request) } }),
      permissionsPolicy: {
        Version: '2012-10-17',
        Statement: [list, { Sid: 'ReadWriteTrusted', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], Resource: trustedObjects }],
      },
    },
    pullRequest: {
      trustPolicy: trust({ StringLike: { [`${OIDC_HOST}:sub`]: `repo:${request.repo}:*` } }),
      permissionsPolicy: {
        Version: '2012-10-17',
        Statement: [
          list,
          { Sid: 'ReadTrusted', Effect: 'Allow', Action: 's3:GetObject', Resource: trustedObjects },
          { Sid: 'ReadWritePullRequestScopes', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], Resource: pullRequestObjects },
          { Sid: 'NeverWriteTrusted', Effect: 'Deny', Action: writes, Resource: trustedObjects },
          { Sid: 'NeverWriteOutsidePullRequestScopes', Effect: 'Deny', Action: writes, NotResource: pullRequestObjects },
        ],
      },
    },
  };
}

/**
 * The OIDC subject only the trusted job carries: its branch, or, when the job
 * runs in a GitHub environment (which is how a signing key is kept from pull
 * requests: an environment limited to the protected branch), that environment,
 * since GitHub then puts the environment in `sub` instead of the branch.
 */
function trustedSubject(request: AwsPolicyRequest): string {
  return request.environment ? `repo:${request.repo}:environment:${request.environment}` : `repo:${request.repo}:ref:refs/heads/${request.branch}`;
}
