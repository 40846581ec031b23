import { describe, expect, it } from 'vitest';
import { lifecycleConfiguration } from './lifecycle.js';

describe('lifecycleConfiguration', () => {
  it('expires scopes after 7 days and trusted artifacts after 30, aborts unfinished multipart uploads after 1, under the prefix', () => {
    expect(lifecycleConfiguration({ prefix: 'stride' }).Rules).toEqual([
      { ID: 'stride-scopes-expire', Status: 'Enabled', Filter: { Prefix: 'stride/scopes/' }, Expiration: { Days: 7 } },
      { ID: 'stride-trusted-expire', Status: 'Enabled', Filter: { Prefix: 'stride/trusted/' }, Expiration: { Days: 30 } },
      { ID: 'stride-abort-incomplete-multipart', Status: 'Enabled', Filter: { Prefix: 'stride/' }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    ]);
  });
  it('takes other ages and an empty prefix, and refuses an age that is not a whole number of days', () => {
    const rules = lifecycleConfiguration({ prefix: '', scopeDays: 3, trustedDays: 90 }).Rules;
    expect(rules.map((rule) => rule.Filter)).toEqual([{ Prefix: 'scopes/' }, { Prefix: 'trusted/' }, { Prefix: '' }]);
    expect(rules[0]?.Expiration).toEqual({ Days: 3 });
    expect(rules[1]?.Expiration).toEqual({ Days: 90 });
    expect(() => lifecycleConfiguration({ prefix: 'stride', scopeDays: 0 })).toThrow(/--scope-days must be a whole number of days/);
    expect(() => lifecycleConfiguration({ prefix: 'stride', trustedDays: Number('x') })).toThrow(/--trusted-days/);
  });
});
