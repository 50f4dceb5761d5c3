/**
 * fast-check arbitraries from the JSON Schemas of an OpenAPI document: values
 * that match a schema, values that break it (wrong types, out of range,
 * pattern violations, huge strings, bad hex), and bodies with one mutation
 * (a missing required field, an extra field, a field of the wrong type).
 * @module
 */
import fc from "fast-check";

/** The subset of JSON Schema the gateway's TypeBox schemas use. */
export type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
};

/** Strings that break most patterns: bad hex, wrong lengths, case, encodings, injections. */
export const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "0x",
  "0xzz",
  `0x${"g".repeat(64)}`,
  `0x${"A".repeat(40)}`,
  `0x${"0".repeat(39)}`,
  `0x${"0".repeat(41)}`,
  `0x${"f".repeat(63)}`,
  `0x${"f".repeat(65)}`,
  `0X${"a".repeat(64)}`,
  "-1",
  "1e309",
  "NaN",
  "99999999999999999999999999999",
  "__proto__",
  "constructor",
  "null",
  "' OR 1=1 --",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "%00",
  "../../etc/passwd",
  `$${"{"}jndi:ldap://x}`,
  "<script>alert(1)</script>",
  "🦀".repeat(50),
];

const typeOf = (s: Schema): string | undefined =>
  Array.isArray(s.type)
    ? s.type[0]
    : (s.type ?? (s.properties !== undefined ? "object" : undefined));

/** A value valid for `schema` (best effort: patterns via fc.stringMatching). */
export function validValue(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined && alternatives.length > 0) {
    return fc.oneof(...alternatives.map((a) => validValue(a, depth)));
  }
  switch (typeOf(schema)) {
    case "string": {
      if (schema.pattern !== undefined) return fc.stringMatching(new RegExp(schema.pattern));
      const minLength = schema.minLength ?? 0;
      return fc.string({
        minLength,
        maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 40, 40)),
      });
    }
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1_000_000 });
    case "number":
      return fc.double({
        min: schema.minimum ?? -1e6,
        max: schema.maximum ?? 1e6,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    case "array": {
      const minLength = schema.minItems ?? 0;
      return fc.array(validValue(schema.items ?? {}, depth + 1), {
        minLength,
        maxLength: Math.max(minLength, Math.min(schema.maxItems ?? 3, 3)),
      });
    }
    case "object": {
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) record[k] = validValue(v, depth + 1);
      return fc.record(record, { requiredKeys: [...required].filter((k) => k in props) });
    }
    default:
      return depth > 2 ? fc.constant({}) : fc.jsonValue({ maxDepth: 2 });
  }
}

/** A value that does not match `schema`: another type, out of range, a broken pattern, too long. */
export function invalidValue(schema: Schema): fc.Arbitrary<unknown> {
  const wrongTypes: fc.Arbitrary<unknown>[] = [];
  const t = typeOf(schema);
  if (t !== "string")
    wrongTypes.push(fc.string({ maxLength: 20 }), fc.constantFrom(...NASTY_STRINGS));
  if (t !== "number" && t !== "integer") {
    wrongTypes.push(fc.constantFrom(0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2));
  }
  if (t !== "boolean") wrongTypes.push(fc.boolean());
  if (t !== "object") wrongTypes.push(fc.constantFrom({}, { a: 1 }, { __proto__: { x: 1 } }));
  if (t !== "array") wrongTypes.push(fc.constantFrom([], [1, "a"], [[[]]]));
  wrongTypes.push(fc.constant(null));
  const broken: fc.Arbitrary<unknown>[] = [];
  if (t === "string") {
    broken.push(fc.constantFrom(...NASTY_STRINGS));
    if (schema.maxLength !== undefined) {
      broken.push(fc.constant("x".repeat(Math.min(schema.maxLength + 1, 2_000_000))));
    }
    broken.push(fc.constantFrom("x".repeat(100_000), "7".repeat(10_000)));
    if (schema.pattern !== undefined) {
      const re = new RegExp(schema.pattern);
      broken.push(fc.string({ maxLength: 80 }).filter((s) => !re.test(s)));
    }
  }
  if (t === "integer" || t === "number") {
    broken.push(
      fc.constantFrom(
        (schema.minimum ?? 0) - 1,
        (schema.maximum ?? Number.MAX_SAFE_INTEGER) + 1,
        1e308,
        -1e308,
        0.5,
      ),
    );
  }
  if (t === "array") {
    broken.push(fc.constant(Array.from({ length: (schema.maxItems ?? 100) + 1 }, () => "x")));
    if (schema.items !== undefined)
      broken.push(fc.array(invalidValue(schema.items), { minLength: 1, maxLength: 2 }));
  }
  if (schema.enum !== undefined || schema.anyOf !== undefined) {
    broken.push(fc.constantFrom("ACTIVE", "unknown", "", "active "));
  }
  return fc.oneof(...wrongTypes, ...broken);
}

/** One mutation of a body object: what changed, and the body. */
export type MutatedBody = { mutation: string; body: unknown };

/**
 * A body for `schema` with one thing wrong: a required field missing, an
 * unknown field added, one field invalid, or not an object at all.
 */
export function mutatedBody(schema: Schema): fc.Arbitrary<MutatedBody> {
  const props = Object.entries(schema.properties ?? {});
  const required = schema.required ?? [];
  const base = validValue(schema) as fc.Arbitrary<Record<string, unknown>>;
  const options: fc.Arbitrary<MutatedBody>[] = [
    fc
      .constantFrom<unknown>([], "body", 42, true, null, [{}])
      .map((body) => ({ mutation: "not an object", body })),
    base.map((b) => ({ mutation: "extra field", body: { ...b, unexpectedField: "x" } })),
  ];
  if (required.length > 0) {
    options.push(
      fc.tuple(base, fc.constantFrom(...required)).map(([b, k]) => {
        const copy = { ...b };
        delete copy[k];
        return { mutation: `missing ${k}`, body: copy };
      }),
    );
  }
  if (props.length > 0) {
    options.push(
      fc.constantFrom(...props).chain(([k, s]) =>
        fc.tuple(base, invalidValue(s)).map(([b, v]) => ({
          mutation: `invalid ${k}`,
          body: { ...b, [k]: v },
        })),
      ),
    );
  }
  return fc.oneof(...options);
}

/** Text that is not JSON (or not UTF-8), or JSON that parsers may choke on. */
export const MALFORMED_JSON: readonly (string | Uint8Array)[] = [
  "",
  "{",
  '{"a":1',
  "{'a': 1}",
  '{"a":1,}',
  "[1,2,",
  "nul",
  '{"a": NaN}',
  '{"a": Infinity}',
  "\u0000",
  '{"a":"\\ud800"}',
  '{"a":1}{"b":2}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
  `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
  `{"a":${"[".repeat(5_000)}${"]".repeat(5_000)}}`,
  `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(",")}}`,
];
