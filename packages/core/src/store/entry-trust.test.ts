import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { generateSigningKeyPair, loadSigningKey, parsePublicKey } from '../remote/signing.js';
import { LocalStore, type StoreTrust } from './local-store.js';
import { assertArchiveComplete } from './tar-end.js';

const pair = generateSigningKeyPair();
const signingKey = loadSigningKey({ STRIDE_SIGNING_KEY: pair.privateKeyPem })!;
const publicKeys = [parsePublicKey(pair.publicKey, 'test')];

/** One store folder shared by the runs below (a self-hosted runner's persistent cache), one workspace. */
function shared(): { root: string; dir: string; as: (trust: StoreTrust) => LocalStore } {
  const root = mkdtempSync(join(tmpdir(), 'stride-trust-'));
  mkdirSync(join(root, 'dist'));
  writeFileSync(join(root, 'dist/a.js'), 'built\n');
  const dir = join(root, 'cache');
  return { root, dir, as: (trust) => new LocalStore(dir, root, undefined, trust) };
}
const request = { hash: 'ab12', taskId: 'a:build', durationMs: 5, outputs: ['dist'], terminalOutput: 'built a\n' };

describe('store entries record who stored them', () => {
  it('a trusted run does not restore what an untrusted run stored, removes it, and its own signed entry replaces it', async () => {
    const { as } = shared();
    const pr = as({ scope: 'pr-7' });
    await pr.save(request);
    const main = as({ scope: 'trusted', signingKey, publicKeys });
    expect(await main.lookup('ab12')).toBeUndefined();
    expect(main.warnings).toEqual([expect.stringMatching(/removed a local cache entry \(ab12: not restored by this trusted run: it was stored by the untrusted scope pr-7\)/)]);
    const mine = await main.save(request);
    expect(mine).toMatchObject({ scope: 'trusted', signature: { keyId: pair.keyId } });
    expect(await as({ scope: 'trusted', signingKey, publicKeys }).lookup('ab12')).toEqual(mine);
    // Untrusted runs restore trusted entries.
    expect(await as({ scope: 'pr-7' }).lookup('ab12')).toEqual(mine);
  });

  it('with public keys, an entry that merely says scope trusted, or whose signed record was edited, is refused', async () => {
    const { as, dir } = shared();
    const main = as({ scope: 'trusted', signingKey, publicKeys });
    const meta = await main.save(request);
    const file = join(dir, 'ab', 'ab12', 'meta.json');
    writeFileSync(file, JSON.stringify({ ...meta, durationMs: 999_999 }));
    expect(await as({ scope: 'trusted', publicKeys }).lookup('ab12')).toBeUndefined();
    // Without keys (the weaker check) the scope alone decides.
    await as({ scope: 'pr-7' }).save(request);
    const forged = { ...JSON.parse(readFileSync(file, 'utf8')), scope: 'trusted' };
    writeFileSync(file, JSON.stringify(forged));
    expect(await as({ scope: 'trusted' }).lookup('ab12')).toMatchObject({ scope: 'trusted' });
    expect(await as({ scope: 'trusted', publicKeys }).lookup('ab12')).toBeUndefined();
  });

  it('a garbage meta.json or a missing terminal.txt removes the entry once, so the next save stores a fresh one', async () => {
    const { as, dir } = shared();
    const store = as({ scope: 'local' });
    await store.save(request);
    writeFileSync(join(dir, 'ab', 'ab12', 'meta.json'), '{ not json');
    expect(await store.lookup('ab12')).toBeUndefined();
    expect(store.warnings).toEqual([expect.stringMatching(/ab12: its meta.json is not valid JSON/)]);
    const fresh = await store.save(request);
    expect(await store.lookup('ab12')).toEqual(fresh);
    rmSync(join(dir, 'ab', 'ab12', 'terminal.txt'));
    await expect(store.restore(fresh, ['dist'])).rejects.toThrow(/no readable terminal.txt.*removed/);
    expect(await store.lookup('ab12')).toBeUndefined();
    expect(await store.save(request)).toMatchObject({ hash: 'ab12' });
    expect(await store.lookup('ab12')).toBeDefined();
  });

  it('refuses an edited terminal.txt (its sha256 is recorded)', async () => {
    const { as, dir } = shared();
    const store = as({ scope: 'local' });
    const meta = await store.save(request);
    writeFileSync(join(dir, 'ab', 'ab12', 'terminal.txt'), '::error ::forged\n');
    await expect(store.restore(meta, ['dist'])).rejects.toThrow(/terminal.txt checksum mismatch/);
  });
});

describe('assertArchiveComplete', () => {
  const archive = (): Buffer => {
    const root = mkdtempSync(join(tmpdir(), 'stride-tar-'));
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/a.js'), 'a'.repeat(700));
    writeFileSync(join(root, 'dist/b.js'), 'b');
    const file = join(root, 'out.tar');
    tar.c({ cwd: root, file, sync: true }, ['dist']);
    return readFileSync(file);
  };

  it('accepts a whole tar, from bytes and from a file range', async () => {
    const bytes = archive();
    await assertArchiveComplete(bytes);
    const file = join(mkdtempSync(join(tmpdir(), 'stride-tar-')), 'x');
    writeFileSync(file, Buffer.concat([Buffer.from('header\n'), bytes, Buffer.from('tail')]));
    await assertArchiveComplete(file, { start: 7, bytes: bytes.length });
  });

  it('refuses a tar cut at an entry boundary (node-tar reads it without complaint), mid-entry, or with data after its end', async () => {
    const bytes = archive();
    // Entries: dist/ (512), dist/a.js (512 + 1024), dist/b.js (512 + 512), then the end blocks.
    const cut = bytes.subarray(0, 512 + 1536);
    const seen: string[] = [];
    new tar.Parser({ onReadEntry: (e) => (seen.push(e.path), e.resume()) }).end(cut);
    expect(seen).toEqual(['dist/', 'dist/a.js']);
    await expect(assertArchiveComplete(cut)).rejects.toThrow(/no end-of-archive blocks/);
    await expect(assertArchiveComplete(bytes.subarray(0, 1500))).rejects.toThrow(/ends inside an entry/);
    await expect(assertArchiveComplete(Buffer.concat([bytes, Buffer.from('x')]))).rejects.toThrow(/after its end-of-archive/);
    const file = join(mkdtempSync(join(tmpdir(), 'stride-tar-')), 'x');
    writeFileSync(file, cut);
    await expect(assertArchiveComplete(file)).rejects.toThrow(/no end-of-archive blocks/);
  });
});
