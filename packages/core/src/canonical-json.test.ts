import canonicalizeModule from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.js";

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/** The same value with every object's keys inserted in sorted order (the fast path's input). */
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = sortedCopy((value as Record<string, unknown>)[key]);
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true });
    }
    return out;
  }
  return value;
}

describe("canonicalJson", () => {
  it("writes what the RFC 8785 serializer writes, keys sorted or not (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
        expect(canonicalJson(sortedCopy(value))).toBe(canonicalize(value));
      }),
      { numRuns: 500 },
    );
  });

  it("writes the serializer's text for unsorted objects of awkward keys too (property)", () => {
    // keys JavaScript does not keep in insertion order, "__proto__" as an own key (JSON.parse
    // makes one), astral and non-ASCII keys: the sorted copy must leave or sort them right
    const key = fc.constantFrom(
      "__proto__",
      "0",
      "1",
      "10",
      "9",
      "-1",
      "a",
      "B",
      "é",
      "\u{1F600}",
      "",
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 0 }),
        fc.array(tie("node")),
        fc.dictionary(key, tie("node"), { maxKeys: 5 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const viaText = JSON.parse(JSON.stringify(v));
        expect(canonicalJson(v)).toBe(canonicalize(v));
        expect(canonicalJson(viaText)).toBe(canonicalize(viaText));
      }),
      { numRuns: 500 },
    );
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"y":1,"x":2},"a":2}'))).toBe(
      '{"__proto__":{"x":2,"y":1},"a":2,"b":1}',
    );
    const bare = Object.assign(Object.create(null), { b: 1, a: -0 });
    expect(canonicalJson(bare)).toBe('{"a":0,"b":1}');
  });

  it("sorts by UTF-16 code units, integer-like keys included", () => {
    // Object.keys lists integer-like keys first: "10" before "9" is sorted, "9" before "10" is not
    expect(canonicalJson({ 9: 1, 10: 2, a: { "\u{1F600}": 1, "\uFFFF": 2 } })).toBe(
      '{"10":2,"9":1,"a":{"\u{1F600}":1,"\uFFFF":2}}',
    );
    expect(canonicalJson({ b: [1.5e21, -0, "\u2028"], a: null })).toBe(
      canonicalize({ b: [1.5e21, -0, "\u2028"], a: null }),
    );
  });

  it("leaves values JSON.stringify reads otherwise to the serializer", () => {
    // biome-ignore lint/suspicious/noSparseArray: the case under test
    const sparse = [1, , 3];
    expect(canonicalJson({ a: sparse })).toBe(canonicalize({ a: sparse }));
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson({ a: { toJSON: () => ({ z: 1, y: 2 }) } })).toBe('{"a":{"y":2,"z":1}}');
    expect(canonicalJson([new Date(0)])).toBe('["1970-01-01T00:00:00.000Z"]');
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/canonicalized/);
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.b = cycle;
    expect(() => canonicalJson(cycle)).toThrow(/canonicalized/);
  });
});
