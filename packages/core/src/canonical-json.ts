import canonicalizeModule from "canonicalize";
import { ChaosCoreError } from "./errors.js";
import { utf8 } from "./hash.js";

// canonicalize is CommonJS (module.exports = fn) but its typings declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** A JSON value (what RFC 8785 canonicalizes). */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Serializes `value` as RFC 8785 (JCS) canonical JSON: sorted keys, no
 * whitespace, ECMAScript number formatting.
 * @throws ChaosCoreError INVALID_JSON for values JSON cannot carry (bigint,
 * NaN, Infinity, undefined, functions, cycles).
 * @example canonicalJson({ b: 1, a: [true, null] }) // '{"a":[true,null],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new ChaosCoreError("INVALID_JSON", "value cannot be canonicalized as JSON", { cause });
  }
  if (text === undefined) {
    throw new ChaosCoreError("INVALID_JSON", "value cannot be canonicalized as JSON");
  }
  return text;
}

/** The UTF-8 bytes of `canonicalJson(value)`. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

/**
 * Parses JSON text, turning syntax errors into a coded error.
 * @throws ChaosCoreError INVALID_JSON when `text` is not JSON.
 */
export function parseJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw new ChaosCoreError("INVALID_JSON", "text is not valid JSON", { cause });
  }
}
