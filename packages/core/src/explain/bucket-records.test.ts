import { describe, expect, it } from 'vitest';
import { BucketRecords, type ExplainObjects } from './bucket-records.js';
import { HASH_RECORD_FORMAT, type HashRecord, parseFileList, parseHashRecord } from './hash-record.js';

/** The bucket as a map of names to bytes, with the write semantics RemoteCache gives (replace: false keeps). */
function memoryObjects(): ExplainObjects & { objects: Map<string, Buffer> } {
  const objects = new Map<string, Buffer>();
  return {
    objects,
    scheduleExplainUploads(items) {
      for (const { name, body, replace } of items) if (replace || !objects.has(name)) objects.set(name, body);
    },
    async readExplain(name, maxBytes) {
      const body = objects.get(name);
      if (!body || body.length > maxBytes) return undefined;
      try {
        return { value: JSON.parse(body.toString('utf8')) as unknown, location: 'trusted' };
      } catch {
        return undefined;
      }
    },
  };
}

const record = (hash: string, digest: string, at: number): HashRecord => ({
  format: HASH_RECORD_FORMAT,
  taskId: 'app:build',
  hash,
  at,
  runner: '@stride/nx:run',
  options: '{}',
  fileSets: { 'app:src': digest },
  values: { 'env:API': 'digest:abc' },
});

describe('BucketRecords', () => {
  it('publishes each file set once, keeps the newest hashes per task, and finds the newest other than the current', async () => {
    const bucket = memoryObjects();
    const records = new BucketRecords(bucket);
    await records.publish([record('aaaa', '1111', 1)], () => [['apps/app/a.ts', '01']]);
    await new BucketRecords(bucket).publish([record('bbbb', '1111', 2)], () => [['apps/app/a.ts', '01']]);
    expect([...bucket.objects.keys()].filter((k) => k.startsWith('why/files/'))).toEqual(['why/files/1111.json']);
    const reader = new BucketRecords(bucket);
    expect((await reader.newest('app:build', 'cccc'))?.record.hash).toBe('bbbb');
    expect((await reader.newest('app:build', 'bbbb'))?.record.hash).toBe('aaaa');
    expect((await reader.files(['1111', 'zz/../x'])).get('1111')).toEqual([['apps/app/a.ts', '01']]);
    expect(await reader.newest('other:build')).toBeUndefined();
  });

  it('refuses records of another task, of another shape, or named outside hex', async () => {
    const bucket = memoryObjects();
    await new BucketRecords(bucket).publish([record('aaaa', '1111', 1)], () => undefined);
    bucket.objects.set('why/tasks/aaaa.json', Buffer.from(JSON.stringify({ ...record('aaaa', '1111', 1), taskId: 'evil:build' })));
    expect(await new BucketRecords(bucket).newest('app:build')).toBeUndefined();
    expect(await new BucketRecords(bucket).record('../../trusted/x')).toBeUndefined();
  });
});

describe('parseHashRecord and parseFileList', () => {
  it('accept exactly a record or a list, nothing else', () => {
    expect(parseHashRecord(record('aaaa', '1111', 1))).toEqual(record('aaaa', '1111', 1));
    expect(parseHashRecord({ ...record('aaaa', '1111', 1), format: 99 })).toBeUndefined();
    expect(parseHashRecord({ ...record('aaaa', '1111', 1), values: { x: 1 } })).toBeUndefined();
    expect(parseHashRecord({ ...record('aaaa', '1111', 1), options: 'x'.repeat(70_000) })).toBeUndefined();
    expect(parseHashRecord([record('aaaa', '1111', 1)])).toBeUndefined();
    expect(parseFileList([['a', 'b']])).toEqual([['a', 'b']]);
    expect(parseFileList([['a', 'b', 'c']])).toBeUndefined();
    expect(parseFileList([['a', 5]])).toBeUndefined();
    expect(parseFileList({ 0: ['a', 'b'] })).toBeUndefined();
  });
});
