import type { KeyObject } from 'node:crypto';
import { STRIDE_FORMAT_VERSION } from '../hash/task-hash.js';
import { type ArtifactSignature, verifyRecord } from '../remote/signing.js';
import { printable } from '../util/untrusted-text.js';

/**
 * Format of the entry record, which is both a store entry's `meta.json` and
 * a remote artifact's header line (so an entry imported from a verified
 * artifact keeps its signature). 2: the signature covers the whole record, and
 * the record names the scope that wrote it and the sha256 of terminal.txt.
 * Records of another format are not restored (the entry is replaced).
 */
export const ENTRY_FORMAT = 2;
export const ENTRY_MAGIC = 'stride-artifact';

/** The scope of trusted writers; any other scope is untrusted. Same value as remote/settings' TRUSTED_SCOPE. */
const TRUSTED = 'trusted';

/**
 * What the store records of one cached task run, and what a trusted writer
 * signs (every field but `signature`, as canonical JSON: see signing.ts).
 */
export interface EntryMeta {
  magic: typeof ENTRY_MAGIC;
  format: number;
  /** Stride's hash format (STRIDE_FORMAT_VERSION): what `hash` was computed by. */
  strideFormat: string;
  hash: string;
  taskId: string;
  createdAt: string;
  durationMs: number;
  /** The declared outputs (workspace-relative, possibly globs) the archive was made from. */
  outputs: string[];
  /** Paths the archive holds at its top level; empty when the task wrote no output. */
  archivedPaths: string[];
  archiveBytes: number;
  /** sha256 of outputs.tar, checked before every restore; null when there is no archive. */
  archiveSha256: string | null;
  terminalBytes: number;
  /** sha256 of terminal.txt, checked before it is replayed. */
  terminalSha256: string;
  /** The scope of the run that stored it: `trusted` for protected-branch CI, else e.g. `pr-7`, `local`. */
  scope: string;
  /** Ed25519 signature over every other field, from a trusted run holding the signing key. */
  signature?: ArtifactSignature;
}

/** Who this run is, for what the store records and restores. */
export interface StoreTrust {
  /** The run's scope (remote.scope / STRIDE_REMOTE_SCOPE); recorded in every entry it stores. */
  scope: string;
  /** A trusted run's signing key: every entry it stores is signed. */
  signingKey?: KeyObject;
  /** remote.publicKeys: a trusted run restores only entries one of them signed. */
  publicKeys?: readonly KeyObject[];
}

export const isTrustedScope = (scope: string): boolean => scope === TRUSTED;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isSha256 = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/**
 * Checks that a parsed record (from meta.json or an artifact header, both
 * untrusted bytes) is a well-formed entry of this format for `hash`. Returns
 * why not, safe to print, or undefined. The signature is not checked here.
 */
export function entryProblem(value: unknown, hash: string): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'it is not a JSON object';
  const record = value as Record<string, unknown>;
  if (record.magic === ENTRY_MAGIC && record.version === 1) return 'it is in the old format 1, whose header is not wholly signed';
  if (record.magic !== ENTRY_MAGIC) return 'it is not a Stride entry';
  if (record.format !== ENTRY_FORMAT) return `it is in format ${printable(record.format, 20)}, not ${ENTRY_FORMAT}`;
  if (record.hash !== hash) return `stored under the wrong key (it is for ${printable(record.hash, 80)})`;
  if (record.strideFormat !== STRIDE_FORMAT_VERSION) return `it is from another Stride hash format (${printable(record.strideFormat, 20)})`;
  if (typeof record.taskId !== 'string' || typeof record.createdAt !== 'string' || typeof record.scope !== 'string') return 'its taskId, createdAt or scope is missing';
  if (typeof record.durationMs !== 'number' || !Number.isFinite(record.durationMs) || record.durationMs < 0) return 'its durationMs is not a duration';
  if (!isStringList(record.outputs) || !isStringList(record.archivedPaths)) return 'its outputs are not a list of paths';
  if (!isCount(record.archiveBytes) || !isCount(record.terminalBytes)) return 'its sizes are not byte counts';
  if (record.archiveSha256 === null ? record.archiveBytes !== 0 : !isSha256(record.archiveSha256)) return 'its archiveSha256 does not fit its archiveBytes';
  if (!isSha256(record.terminalSha256)) return 'its terminalSha256 is missing';
  return undefined;
}

/**
 * Whether a run of `trust` may restore this (well-formed) record. An
 * untrusted run restores anything well-formed. A trusted run restores only
 * what a trusted run stored: with public keys, only a record one of them signed
 * (the only proof that holds against whoever else can write the store folder);
 * without, any record that says `scope: trusted` (a weaker check: see SECURITY.md).
 * Returns why not, or undefined.
 */
export function trustProblem(record: EntryMeta, trust: StoreTrust): string | undefined {
  if (!isTrustedScope(trust.scope)) return undefined;
  if (!isTrustedScope(record.scope)) return `it was stored by the untrusted scope ${printable(record.scope, 100)}`;
  const keys = trust.publicKeys ?? [];
  if (keys.length > 0 && !verifyRecord(keys, record, ENTRY_MAGIC)) return 'it carries no valid signature from a key in remote.publicKeys';
  return undefined;
}
