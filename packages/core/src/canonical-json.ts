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
  // Plain JSON with its keys in another order (payloads, metrics): a copy
  // with sorted keys, then the native serializer (≈ 2 × the generic one here).
  const sorted = sortedPlainCopy(value, 0);
  if (sorted !== NOT_PLAIN) return JSON.stringify(sorted);
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

const NOT_PLAIN: unique symbol = Symbol("not plain JSON");

/**
 * A copy of `value` whose objects have their keys inserted in RFC 8785 order,
 * so that `JSON.stringify` writes its canonical JSON; NOT_PLAIN for anything
 * {@link isSortedPlainJson} would refuse other than key order, for a key that
 * JavaScript would not keep in insertion order (integer-like: those start
 * with a digit) and for "__proto__" (an accessor on a plain object): the
 * generic serializer takes those.
 */
function sortedPlainCopy(value: unknown, depth: number): unknown {
  if (typeof value === "string" || typeof value === "boolean" || value === null) return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : NOT_PLAIN;
  if (typeof value !== "object" || depth > 32 || "toJSON" in value) return NOT_PLAIN;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return NOT_PLAIN;
      const item = sortedPlainCopy(value[i], depth + 1);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      out[i] = item;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === "__proto__") return NOT_PLAIN;
    const item = sortedPlainCopy((value as Record<string, unknown>)[key], depth + 1);
    if (item === NOT_PLAIN) return NOT_PLAIN;
    out[key] = item;
  }
  return out;
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
