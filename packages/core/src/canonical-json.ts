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
  // Entries and receipts arrive with their keys already sorted (the log stores
  // canonical JSON): then the native JSON.stringify writes the same text, twice
  // as fast as the generic serializer (canonical-json.test.ts compares both).
  if (isSortedPlainJson(value, 0)) return JSON.stringify(value);
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

/**
 * True when `value` is made only of strings, booleans, null, finite numbers,
 * arrays and plain objects (no toJSON) whose own keys are already in RFC 8785
 * order (UTF-16 code units), at most 32 levels deep: for such a value
 * `JSON.stringify` is its canonical JSON. Anything else (undefined, symbols,
 * unsorted keys, class instances) takes the generic serializer.
 */
function isSortedPlainJson(value: unknown, depth: number): boolean {
  if (typeof value === "string" || typeof value === "boolean" || value === null) return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value !== "object" || depth > 32 || "toJSON" in value) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isSortedPlainJson(value[i], depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  let previous: string | undefined;
  for (const key of Object.keys(value)) {
    if (previous !== undefined && !(previous < key)) return false;
    if (!isSortedPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
    previous = key;
  }
  return true;
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
