import { describe, expect, it } from 'vitest';
import { awsPolicies } from './aws-policy.js';

describe('stride aws-policy', () => {
  const policies = awsPolicies({ bucket: 'acme-cache', prefix: 'stride', repo: 'acme/mono', branch: 'main', account: '123456789012' });
  const statements = (doc: { Statement: Array<Record<string, unknown>> }) => doc.Statement;
  const resources = (s: Record<string, unknown>): string[] => [s.Resource].flat() as string[];
  const actions = (s: Record<string, unknown>): string[] => [s.Action].flat() as string[];

  it('lets only the protected branch assume the trusted writer, and only it write trusted/', () => {
    const [assume] = statements(policies.trustedWriter.trustPolicy);
    expect(assume?.Condition).toEqual({
      StringEquals: { 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com', 'token.actions.githubusercontent.com:sub': 'repo:acme/mono:ref:refs/heads/main' },
    });
    expect((assume?.Principal as { Federated: string }).Federated).toBe('arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com');
    const writes = statements(policies.trustedWriter.permissionsPolicy).filter((s) => s.Effect === 'Allow' && actions(s).includes('s3:PutObject'));
    expect(writes.flatMap(resources)).toEqual(['arn:aws:s3:::acme-cache/stride/trusted/*', 'arn:aws:s3:::acme-cache/stride/timings/trusted.json']);
  });

  it('with --environment, trusts only jobs in that GitHub environment (the generated workflow keeps the signing key there)', () => {
    const scoped = awsPolicies({ bucket: 'acme-cache', prefix: 'stride', repo: 'acme/mono', branch: 'main', environment: 'stride-trusted' });
    const [assume] = statements(scoped.trustedWriter.trustPolicy);
    expect((assume?.Condition as { StringEquals: Record<string, string> }).StringEquals['token.actions.githubusercontent.com:sub']).toBe('repo:acme/mono:environment:stride-trusted');
    expect(() => awsPolicies({ bucket: 'acme-cache', prefix: 'stride', repo: 'acme/mono', branch: 'main', environment: 'a*' })).toThrow(/--environment/);
  });

  it('lets pull requests read trusted/ and write only scopes/pr-* (and its timings), with explicit Denies on everything else', () => {
    const all = statements(policies.pullRequest.permissionsPolicy);
    const allowedPuts = all.filter((s) => s.Effect === 'Allow' && actions(s).includes('s3:PutObject')).flatMap(resources);
    expect(allowedPuts).toEqual(['arn:aws:s3:::acme-cache/stride/scopes/pr-*', 'arn:aws:s3:::acme-cache/stride/timings/scopes/pr-*']);
    // No Allow anywhere grants a write outside those two patterns, nor any delete.
    for (const s of all.filter((s) => s.Effect === 'Allow')) {
      if (actions(s).some((a) => /Put|Delete|Abort|\*/.test(a))) expect(resources(s).every((r) => allowedPuts.includes(r))).toBe(true);
    }
    const denies = all.filter((s) => s.Effect === 'Deny');
    const denyTrusted = denies.find((s) => resources(s).includes('arn:aws:s3:::acme-cache/stride/trusted/*'));
    expect(actions(denyTrusted ?? {})).toEqual(expect.arrayContaining(['s3:PutObject*', 's3:DeleteObject*', 's3:AbortMultipartUpload']));
    expect(resources(denyTrusted ?? {})).toContain('arn:aws:s3:::acme-cache/stride/timings/trusted.json');
    // Every write is denied on every resource but the pull-request scopes: scopes/local, scopes/dev-alice, trusted/ alike.
    const denyElsewhere = denies.find((s) => s.NotResource !== undefined);
    expect(denyElsewhere?.Resource).toBeUndefined();
    expect(actions(denyElsewhere ?? {})).toEqual(expect.arrayContaining(['s3:PutObject*', 's3:DeleteObject*', 's3:AbortMultipartUpload']));
    expect([denyElsewhere?.NotResource].flat()).toEqual(allowedPuts);
    // It reads trusted/ and pull-request scopes, not other scopes (a developer's objects are no PR's business).
    const reads = all.filter((s) => s.Effect === 'Allow' && actions(s).includes('s3:GetObject')).flatMap(resources);
    expect(reads).toEqual(expect.arrayContaining(['arn:aws:s3:::acme-cache/stride/trusted/*', 'arn:aws:s3:::acme-cache/stride/scopes/pr-*']));
    expect(reads.some((r) => r.endsWith('/scopes/*'))).toBe(false);
  });

  it('refuses what it cannot pin, naming the flag and the fix', () => {
    expect(() => awsPolicies({ bucket: 'Bad_Bucket', prefix: '', repo: 'a/b', branch: 'main' })).toThrow(/--bucket = "Bad_Bucket"[\s\S]*fix:/);
    expect(() => awsPolicies({ bucket: 'ok-bucket', prefix: '', repo: 'nope', branch: 'main' })).toThrow(/--repo[\s\S]*owner\/name/);
    expect(() => awsPolicies({ bucket: 'ok-bucket', prefix: '', repo: 'a/b', branch: 'release/*' })).toThrow(/--branch[\s\S]*no wildcards/);
    expect(() => awsPolicies({ bucket: 'ok-bucket', prefix: 'stride*', repo: 'a/b', branch: 'main' })).toThrow(/--prefix[\s\S]*no wildcards/);
    expect(() => awsPolicies({ bucket: 'ok-bucket', prefix: '${aws:username}', repo: 'a/b', branch: 'main' })).toThrow(/--prefix/);
  });
});
