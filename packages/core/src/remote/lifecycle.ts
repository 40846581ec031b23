import { StrideError } from '../util/errors.js';

export interface LifecycleRequest {
  /** Key prefix of Stride's objects, as in `remote.prefix` (no leading or trailing slash). */
  prefix: string;
  /** Days after which pull-request (and every other untrusted) scope's objects expire. */
  scopeDays?: number;
  /** Days after which trusted artifacts expire; a build re-uploads what it still uses once it is gone. */
  trustedDays?: number;
  /** Days after which an unfinished multipart upload is aborted (its parts are billed until then). */
  abortMultipartDays?: number;
}

/** An S3 lifecycle configuration, as `aws s3api put-bucket-lifecycle-configuration` takes it. */
export interface LifecycleConfiguration {
  Rules: Array<Record<string, unknown>>;
}

/**
 * What keeps the bucket from growing without bound: scopes (`<prefix>/scopes/`)
 * expire after 7 days, trusted artifacts after 30, unfinished multipart
 * uploads are aborted after 1. The timing history (`<prefix>/timings/`) is
 * small and rewritten every run, so it has no rule. `stride gc --remote` does
 * the same by hand for S3-compatible stores without lifecycle rules.
 */
export function lifecycleConfiguration(request: LifecycleRequest): LifecycleConfiguration {
  const days = (value: number | undefined, fallback: number, flag: string): number => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < 1) throw new StrideError(`${flag} must be a whole number of days, at least 1`, { setting: flag, value, fix: `e.g. ${flag} ${fallback}` });
    return n;
  };
  const base = request.prefix ? `${request.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
  return {
    Rules: [
      { ID: 'stride-scopes-expire', Status: 'Enabled', Filter: { Prefix: `${base}scopes/` }, Expiration: { Days: days(request.scopeDays, 7, '--scope-days') } },
      { ID: 'stride-trusted-expire', Status: 'Enabled', Filter: { Prefix: `${base}trusted/` }, Expiration: { Days: days(request.trustedDays, 30, '--trusted-days') } },
      {
        ID: 'stride-abort-incomplete-multipart',
        Status: 'Enabled',
        Filter: { Prefix: base },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: days(request.abortMultipartDays, 1, '--abort-multipart-days') },
      },
    ],
  };
}
