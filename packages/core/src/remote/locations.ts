import { DEFAULT_SCOPE, TRUSTED_SCOPE, type RemoteSettings } from './settings.js';

/** Where in the bucket an object lives: the trusted tier, or the run's own scope. */
export type Location = 'trusted' | 'scope';

/**
 * What a run is, by its scope; this decides where it reads and writes.
 * - `trusted`: protected-branch CI (`trusted`), reads and writes `trusted/`, signs.
 * - `pull-request`: a scope `pr-*`, the only scope names the generated PR role
 *   may write (`stride aws-policy`); reads `trusted/`, then its own scope.
 * - `developer`: the default scope `local`; reads `trusted/` only and writes
 *   nothing to the bucket, so no other job can put anything in its way.
 * - `named`: any other scope (`dev-alice`, `nightly`): reads `trusted/`, then
 *   its own scope, and writes its own scope. The generated PR role is denied
 *   writing there; who else may is the bucket owner's choice.
 */
export type RunKind = 'trusted' | 'pull-request' | 'developer' | 'named';

/** Scopes a pull-request job may write: the PR role's only writable prefix is `scopes/pr-*`. */
export const PULL_REQUEST_SCOPE_PREFIX = 'pr-';

export function runKind(scope: string): RunKind {
  if (scope === TRUSTED_SCOPE) return 'trusted';
  if (scope === DEFAULT_SCOPE) return 'developer';
  if (scope.startsWith(PULL_REQUEST_SCOPE_PREFIX)) return 'pull-request';
  return 'named';
}

/** `<prefix>/trusted/<name>` or `<prefix>/scopes/<scope>/<name>`. */
export function objectKey(settings: RemoteSettings, location: Location, name: string): string {
  const where = location === 'trusted' ? 'trusted' : `scopes/${settings.scope}`;
  return `${settings.prefix ? `${settings.prefix}/` : ''}${where}/${name}`;
}

/** `<prefix>/timings/trusted.json` or `<prefix>/timings/scopes/<scope>.json`. */
export function timingsKey(settings: RemoteSettings, location: Location): string {
  const where = location === 'trusted' ? 'trusted' : `scopes/${settings.scope}`;
  return `${settings.prefix ? `${settings.prefix}/` : ''}timings/${where}.json`;
}

/**
 * Where a reader looks, in order. Every run reads `trusted/` first (verified
 * against remote.publicKeys when they are set); a pull-request or named run then
 * reads its own scope, unsigned, a location only its own kind of job can write.
 * A trusted run and a developer on the default scope read `trusted/` alone: what
 * a pull request writes never reaches them, whatever scope name it claims.
 * The timing history is read from the same locations.
 */
export function readOrder(settings: RemoteSettings): Location[] {
  const kind = runKind(settings.scope);
  return kind === 'trusted' || kind === 'developer' ? ['trusted'] : ['trusted', 'scope'];
}

/**
 * Where a run writes, if anywhere: a trusted run `trusted/`, a developer on the
 * default scope nowhere (its results stay in its local store), anyone else its
 * own scope.
 */
export function writeLocation(settings: RemoteSettings): Location | undefined {
  const kind = runKind(settings.scope);
  return kind === 'trusted' ? 'trusted' : kind === 'developer' ? undefined : 'scope';
}

/** Only what goes to `trusted/` is ever signed: a signature on anything else would make it a forgery waiting to be copied there. */
export function signsAt(location: Location | undefined): boolean {
  return location === 'trusted';
}
