import { stableStringify } from '@stride/core';
import { PLUGIN_NAME } from '../../settings.js';

/**
 * nx.json as every task hashes it. Nx 24 hashes the file whole, so any edit
 * re-runs everything; Stride hashes it the same way but without its own plugin
 * entry (`plugins: [{ plugin: "@stride/nx", options }]`): those settings say
 * where results are cached (the store, the bucket, the cache mode), not what a
 * task computes, so switching a remote on must not rebuild the workspace.
 * Parsed and key-sorted: reformatting the file changes nothing.
 */
export function nxJsonHashText(bytes: Buffer): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    // Nx cannot run on an nx.json it cannot parse; hash its bytes rather than fail here.
    return `raw:${bytes.toString('base64')}`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return stableStringify(parsed);
  const json = { ...(parsed as Record<string, unknown>) };
  if (Array.isArray(json['plugins'])) {
    const others = json['plugins'].filter((entry: unknown) => {
      const name = typeof entry === 'string' ? entry : (entry as { plugin?: unknown } | null)?.plugin;
      return name !== PLUGIN_NAME;
    });
    // No plugin left reads the same as no list at all.
    if (others.length > 0) json['plugins'] = others;
    else delete json['plugins'];
  }
  return stableStringify(json);
}
