import xxhash, { type XXHashAPI } from 'xxhash-wasm';

let api: Promise<XXHashAPI> | undefined;

/** The wasm module is instantiated once per process, on first use. */
export function xxhashApi(): Promise<XXHashAPI> {
  api ??= xxhash();
  return api;
}

/** Hex of a 64-bit value, zero-padded so every hash has the same width. */
export function toHex64(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}
