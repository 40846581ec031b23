import { describe, expect, it } from 'vitest';
import { diffRecords, topMissCauses } from './diff.js';
import { HASH_RECORD_FORMAT, type HashRecord } from './hash-record.js';

const record = (over: Partial<HashRecord>): HashRecord => ({ format: HASH_RECORD_FORMAT, taskId: 'a:build', hash: 'h', at: 0, runner: '@stride/nx:run', options: '{}', fileSets: {}, values: {}, ...over });

describe('diffRecords', () => {
  const files: Record<string, ReadonlyArray<readonly [string, string]>> = {
    d1: [['libs/a/src/x.ts', '1'], ['libs/a/src/y.ts', '2']],
    d2: [['libs/a/src/x.ts', '9'], ['libs/a/src/z.ts', '3']],
  };

  it('names files changed, added and removed, env as changed only, options with values, in that order', () => {
    const before = record({ fileSets: { a: 'd1' }, values: { 'env:API': 'digest:1', 'npm:react': '18.2.0' }, options: '{"args":"--x"}' });
    const after = record({ fileSets: { a: 'd2' }, values: { 'env:API': 'digest:2', 'npm:react': '18.3.1' }, options: '{"args":"--y","prod":true}' });
    expect(diffRecords(before, after, (d) => files[d]).map((c) => c.text)).toEqual([
      'libs/a/src/x.ts changed',
      'libs/a/src/y.ts removed',
      'libs/a/src/z.ts added',
      'env API changed',
      'option --args: "--x" -> "--y"',
      'option --prod=true added',
      'external dependency react 18.2.0 -> 18.3.1',
    ]);
  });

  it('says a file set changed when its file lists are gone', () => {
    expect(diffRecords(record({ fileSets: { a: 'old' } }), record({ fileSets: { a: 'new' } }), () => undefined).map((c) => c.text)).toEqual(['files of a changed']);
  });

  it('counts each missed task once per cause, most common first', () => {
    const change = (subject: string) => ({ kind: 'file' as const, subject, text: `${subject} changed` });
    const causes = topMissCauses(new Map([
      ['a', [change('x.ts'), change('x.ts')]],
      ['b', [change('x.ts'), change('y.ts')]],
      ['c', [change('y.ts')]],
      ['d', [change('x.ts')]],
    ]));
    expect(causes).toEqual([{ subject: 'x.ts', tasks: 3 }, { subject: 'y.ts', tasks: 2 }]);
  });
});
