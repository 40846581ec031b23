// What an attacker who knows Stride's (public) artifact format does to bucket
// objects: split an artifact into header and parts, put it back together with
// a header consistent with its bytes, re-sign it with whatever key it holds.
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { canonicalJson } from '../../packages/core/src/remote/signing.js';

export type Header = Record<string, unknown>;

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** An artifact's header, archive and terminal output, as its header's sizes cut them. */
export function splitArtifact(artifact: Buffer): { header: Header; archive: Buffer; terminal: Buffer } {
  const newline = artifact.indexOf(0x0a);
  const header = JSON.parse(artifact.subarray(0, newline).toString('utf8')) as Header;
  const rest = artifact.subarray(newline + 1);
  const archiveBytes = Number(header.archiveBytes);
  return { header, archive: rest.subarray(0, archiveBytes), terminal: rest.subarray(archiveBytes) };
}

/** An artifact from parts, its sizes and sha256s made to match them (every check but the signature passes). */
export function joinArtifact(header: Header, archive: Buffer, terminal: Buffer): Buffer {
  const consistent = {
    ...header,
    archiveBytes: archive.length,
    archiveSha256: archive.length > 0 ? sha256(archive) : null,
    terminalBytes: terminal.length,
    terminalSha256: sha256(terminal),
  };
  return Buffer.concat([Buffer.from(`${JSON.stringify(consistent)}\n`), archive, terminal]);
}

export function keyIdOf(privatePem: string): string {
  const der = createPublicKey(createPrivateKey(privatePem)).export({ format: 'der', type: 'spki' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

/** Signs a header as Stride signs records (every field but the signature, canonical JSON), with `privatePem`. */
export function signHeader(header: Header, privatePem: string): Header {
  const { signature: _old, ...fields } = header;
  const value = sign(null, Buffer.from(`stride-signed-record-v2\n${canonicalJson(fields)}`), createPrivateKey(privatePem)).toString('base64');
  return { ...fields, signature: { keyId: keyIdOf(privatePem), value } };
}

/** Re-signs a whole artifact's header with another key, bytes unchanged. */
export function resignArtifact(artifact: Buffer, privatePem: string): Buffer {
  const { header, archive, terminal } = splitArtifact(artifact);
  return Buffer.concat([Buffer.from(`${JSON.stringify(signHeader(header, privatePem))}\n`), archive, terminal]);
}

/** The tar without its two end-of-archive blocks, cut after its `keep` first entries: a tar node-tar reads without complaint. */
export function cutTar(archive: Buffer, keep: number): Buffer {
  let at = 0;
  for (let entry = 0; entry < keep; entry++) {
    const size = parseInt(archive.subarray(at + 124, at + 136).toString('latin1').replace(/[\0 ]+$/, '') || '0', 8);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return archive.subarray(0, at);
}
