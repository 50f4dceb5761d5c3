/**
 * {@link toJsonSafe}: any value as JSON that canonicalises (RFC 8785) the same
 * way on every side, capped in size — what a recorder signs as a payload.
 * @module
 */
import { bytesToHex, canonicalJson, type JsonValue, sha256Hex, utf8 } from "@chaoscore/core";

/** The format tag of the value that replaces a payload over the size cap. */
export const TRUNCATED_FORMAT = "chaoscore.truncated/v1";

/** Options of {@link toJsonSafe}. */
export type JsonSafeOptions = {
  /** Largest canonical JSON (UTF-8 bytes) kept as is; default 64 KiB. */
  maxBytes?: number;
  /** Deepest nesting kept; deeper values become `"[MaxDepth]"`. Default 64. */
  maxDepth?: number;
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Turns any value into JSON that canonicalises (RFC 8785) the same way on
 * every side, so the payload hash an agent signs is the hash the log checks:
 * - `undefined`, functions and symbols: dropped from objects, `null` in arrays
 *   and at the top level (as `JSON.stringify` does);
 * - `bigint`: its decimal string; `NaN`, `Infinity`, `-Infinity`: those strings; `-0`: `0`;
 * - strings: lone UTF-16 surrogates become U+FFFD;
 * - `Error`: `{ name, message, ...its own enumerable fields, cause? }` (no stack);
 * - `Date`: its ISO string (`null` if invalid); bytes (typed arrays,
 *   `ArrayBuffer`, `Buffer`): `0x`-hex; `Map`: `[key, value]` pairs; `Set`: an array;
 * - other objects: `toJSON()` when they have one, else their own enumerable
 *   string-keyed properties; a property whose getter throws, and an object
 *   that cannot be read at all (a revoked proxy, a throwing `toJSON`), become `"[Unreadable]"`;
 * - a reference to an enclosing object (a cycle): `"[Circular]"`; nesting
 *   deeper than `maxDepth`: `"[MaxDepth]"`.
 *
 * When the canonical JSON of the result exceeds `maxBytes`, the value is
 * replaced by `{ format: "chaoscore.truncated/v1", bytes, sha256, preview }`:
 * its size, the SHA-256 of its full canonical JSON (so whoever holds the
 * original can show it is the one the agent meant) and the first characters.
 *
 * @example toJsonSafe({ n: 10n, e: new Error("boom"), u: undefined }) // { n: "10", e: { name: "Error", message: "boom" } }
 */
export function toJsonSafe(value: unknown, options: JsonSafeOptions = {}): JsonValue {
  const maxDepth = options.maxDepth ?? 64;
  const maxBytes = options.maxBytes ?? 64 * 1024;
  const json = normalise(value, 0, new Set(), maxDepth) ?? null;
  if (maxBytes === Infinity) return json;
  const text = canonicalJson(json);
  const bytes = utf8(text);
  if (bytes.length <= maxBytes) return json;
  const marker = (preview: string): JsonValue => ({
    format: TRUNCATED_FORMAT,
    bytes: bytes.length,
    sha256: sha256Hex(bytes),
    preview,
  });
  // The marker without a preview is about 190 bytes; give the preview what is left (up to 1 KiB).
  const room = Math.min(1024, maxBytes - utf8(canonicalJson(marker(""))).length);
  let preview = room > 0 ? text.slice(0, room) : "";
  while (preview.length > 0 && utf8(canonicalJson(marker(preview))).length > maxBytes) {
    preview = preview.slice(0, Math.floor(preview.length / 2));
  }
  return marker(toWellFormed(preview));
}

function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/** `undefined` means "omit" (from an object) / `null` (elsewhere). */
function normalise(
  value: unknown,
  depth: number,
  ancestors: Set<object>,
  maxDepth: number,
): JsonValue | undefined {
  switch (typeof value) {
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    case "boolean":
      return value;
    case "string":
      return toWellFormed(value);
    case "bigint":
      return value.toString();
    case "number":
      if (Number.isFinite(value)) return Object.is(value, -0) ? 0 : value;
      return String(value);
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) return "[Circular]";
  if (depth >= maxDepth) return "[MaxDepth]";
  ancestors.add(object);
  try {
    return normaliseObject(object, (v) => normalise(v, depth + 1, ancestors, maxDepth));
  } catch {
    // A revoked proxy, a throwing toJSON or iterator: keep what we can say.
    return "[Unreadable]";
  } finally {
    ancestors.delete(object);
  }
}

function normaliseObject(
  object: object,
  child: (value: unknown) => JsonValue | undefined,
): JsonValue | undefined {
  if (object instanceof Date) {
    return Number.isNaN(object.getTime()) ? null : object.toISOString();
  }
  if (ArrayBuffer.isView(object)) {
    return bytesToHex(new Uint8Array(object.buffer, object.byteOffset, object.byteLength));
  }
  if (object instanceof ArrayBuffer) return bytesToHex(new Uint8Array(object));
  if (Array.isArray(object)) return object.map((item) => child(item) ?? null);
  if (object instanceof Map) {
    return [...object.entries()].map(([k, v]) => [child(k) ?? null, child(v) ?? null]);
  }
  if (object instanceof Set) return [...object.values()].map((v) => child(v) ?? null);
  const out: { [key: string]: JsonValue } = {};
  const isError = object instanceof Error;
  if (isError) {
    out.name = toWellFormed(String(object.name));
    out.message = toWellFormed(String(object.message));
  } else if (typeof (object as { toJSON?: unknown }).toJSON === "function") {
    const converted = (object as { toJSON: () => unknown }).toJSON();
    // A toJSON that returns its own object would loop: read its fields instead.
    if (converted !== object) return child(converted);
  }
  for (const key of Object.keys(object)) {
    if (isError && (key === "stack" || key === "cause")) continue;
    let field: unknown;
    try {
      field = (object as Record<string, unknown>)[key];
    } catch {
      field = "[Unreadable]";
    }
    const json = child(field);
    if (json !== undefined) out[toWellFormed(key)] = json;
  }
  if (isError && object.cause !== undefined) {
    const cause = child(object.cause);
    if (cause !== undefined) out.cause = cause;
  }
  return out;
}
