import { StrideError } from './errors.js';

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };
const AGE_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses a size such as `10GB`, `500mb` or a plain number of bytes. */
export function parseSize(value: unknown, setting: string): number {
  return parseWithUnits(value, setting, SIZE_UNITS, 'b', 'a size such as "10GB", "500MB" or a number of bytes');
}

/** Parses an age such as `30d`, `12h`, `90m` or a plain number of milliseconds. */
export function parseAge(value: unknown, setting: string): number {
  return parseWithUnits(value, setting, AGE_UNITS, 'ms', 'an age such as "30d", "12h" or "90m"');
}

function parseWithUnits(value: unknown, setting: string, units: Record<string, number>, plainUnit: string, expected: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * (units[plainUnit] as number);
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
    const factor = match ? units[(match[2] || plainUnit).toLowerCase()] : undefined;
    if (match && factor !== undefined) return Number(match[1]) * factor;
  }
  throw new StrideError(`invalid value for ${setting}`, { setting, value, fix: `use ${expected}` });
}
