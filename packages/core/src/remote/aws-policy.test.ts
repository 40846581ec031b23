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

  it('gives pull requests read access to trusted/, their scopes, and an explicit deny on writing trusted/', () => {
    const all = statements(policies.pullRequest.permissionsPolicy);
    const allowedPuts = all.filter((s) => s.Effect === 'Allow' && actions(s).includes('s3:PutObject')).flatMap(resources);
    expect(allowedPuts.every((r) => r.includes('/scopes/'))).toBe(true);
    const deny = all.find((s) => s.Effect === 'Deny');
    expect(actions(deny ?? {})).toContain('s3:PutObject');
    expect(resources(deny ?? {})).toContain('arn:aws:s3:::acme-cache/stride/trusted/*');
    expect(all.some((s) => s.Effect === 'Allow' && actions(s).includes('s3:GetObject') && resources(s).includes('arn:aws:s3:::acme-cache/stride/trusted/*'))).toBe(true);
  });

  it('refuses what it cannot pin, naming the flag and the fix', () => {
    expect(() => awsPolicies({ bucket: 'Bad_Bucket', prefix: '', repo: 'a/b', branch: 'main' })).toThrow(/--bucket = "Bad_Bucket"[\s\S]*fix:/);
    expect(() => awsPolicies({ bucket: 'ok-bucket', prefix: '', repo: 'nope', branch: 'main' })).toThrow(/--repo[\s\S]*owner\/name/);
    expect(() => awsPolicies({ bucket: 'ok-bucket', prefix: '', repo: 'a/b', branch: 'release/*' })).toThrow(/--branch[\s\S]*no wildcards/);
  });
});
