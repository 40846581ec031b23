import { TRUSTED_SCOPE, type RemoteSettings } from './settings.js';

/** Where in the bucket an object lives: the trusted tier, or the run's own scope. */
export type Location = 'trusted' | 'scope';

/** `<prefix>/trusted/<name>` or `<prefix>/scopes/<scope>/<name>`. */
export function objectKey(settings: RemoteSettings, location: Location, name: string): string {
  const where = location === 'trusted' ? 'trusted' : `scopes/${settings.scope}`;
  return `${settings.prefix ? `${settings.prefix}/` : ''}${where}/${name}`;
}

/**
 * Where a reader looks, in order: a trusted reader only in `trusted/`, anyone
 * else in its own scope first, then in `trusted/`. Writers write only to their
 * own location (`writeLocation`).
 */
export function readOrder(settings: RemoteSettings): Location[] {
  return settings.scope === TRUSTED_SCOPE ? ['trusted'] : ['scope', 'trusted'];
}

export function writeLocation(settings: RemoteSettings): Location {
  return settings.scope === TRUSTED_SCOPE ? 'trusted' : 'scope';
}
