/**
 * Narrows a parsed JSON document to the fields a `{ json, fields, excludeFields }`
 * input names, the way Nx 24 reads them: `fields` is an allowlist of
 * dot-separated paths (siblings under one parent merge), `excludeFields` then
 * removes paths. A document that is not an object is kept whole.
 */
export function selectJsonFields(value: unknown, fields?: readonly string[], excludeFields?: readonly string[]): unknown {
  if (!fields && !excludeFields) return value;
  if (!isObject(value)) return value;
  let result: Record<string, unknown>;
  if (fields) {
    result = {};
    for (const path of fields) {
      const picked = pick(value, path.split('.'));
      if (picked === undefined) continue;
      const [key] = path.split('.') as [string];
      const existing = result[key];
      result[key] = isObject(existing) && isObject(picked) ? mergeObjects(existing, picked) : existing === undefined ? picked : existing;
    }
  } else {
    result = structuredClone(value);
  }
  for (const path of excludeFields ?? []) remove(result, path.split('.'));
  return result;
}

/** The value at `path` wrapped in its parents below the first key (`a.b.c` on `{a:{b:{c:1}}}` gives `{b:{c:1}}`). */
function pick(value: Record<string, unknown>, path: string[]): unknown {
  const [key, ...rest] = path as [string, ...string[]];
  if (!Object.hasOwn(value, key)) return undefined;
  const inner = value[key];
  if (rest.length === 0) return structuredClone(inner);
  if (!isObject(inner)) return undefined;
  const nested = pick(inner, rest);
  return nested === undefined ? undefined : { [rest[0] as string]: nested };
}

function mergeObjects(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = out[key];
    out[key] = isObject(existing) && isObject(value) ? mergeObjects(existing, value) : value;
  }
  return out;
}

function remove(value: Record<string, unknown>, path: string[]): void {
  const [key, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) {
    delete value[key];
    return;
  }
  const inner = value[key];
  if (isObject(inner)) remove(inner, rest);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
