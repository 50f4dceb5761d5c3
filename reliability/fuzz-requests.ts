/**
 * Bad requests for one operation, as fast-check arbitraries: broken path and
 * query parameters, mutated and malformed bodies, wrong content types,
 * mutated signed entries, and the credentials to attach (fuzz-credentials.ts).
 * @module
 */
import { type Hex, type SignActionInput, signAction } from "@chaoscore/core";
import fc from "fast-check";
import { AUTH_WEIGHTS, type AuthKind, bearerGarbage } from "./fuzz-credentials.js";
import type { Fixtures } from "./fuzz-fixtures.js";
import { encodePart, type Operation, type Param } from "./fuzz-operations.js";
import { actionBody, target as bound, CHAIN_ID } from "./http.js";
import {
  invalidValue,
  MALFORMED_JSON,
  mutatedBody,
  NASTY_STRINGS,
  validValue,
} from "./schema-arbitraries.js";

/** A request body: `text` undefined means none. */
export type BodySpec = { kind: string; text: string | Uint8Array | undefined; contentType: string };

/** A generated request, before its credentials are attached. */
export type Planned = {
  op: string;
  method: string;
  target: string;
  body: BodySpec;
  auth: AuthKind;
  garbage: string;
  labels: string[];
};

const CONTENT_TYPES = [
  "text/plain",
  "application/xml",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "application/json; charset=utf-16",
  "application/jsonx",
  "APPLICATION/JSON",
  "application/problem+json",
];

/** A path parameter value: mostly a fixture or a valid value, sometimes a broken one. */
function pathValue(p: Param, fx: Fixtures): fc.Arbitrary<string> {
  const pattern = p.schema.pattern ?? "";
  const fixtures: string[] = [];
  if (pattern.includes("{40}")) fixtures.push(fx.agent.address, fx.stranger.address);
  if (pattern.includes("{64}")) fixtures.push(...fx.actionIds);
  if (pattern.includes("{16}")) fixtures.push(fx.keys.revokedId);
  const valid =
    p.name === "*"
      ? fc.constantFrom(
          "0/000",
          "0/x000",
          "entries/000",
          "1/000.p/5",
          "9/999",
          "../../x",
          "0/000.p/0",
        )
      : fixtures.length > 0
        ? fc.oneof(fc.constantFrom(...fixtures), validValue(p.schema) as fc.Arbitrary<string>)
        : (validValue(p.schema) as fc.Arbitrary<string>);
  return fc.oneof(
    { weight: 3, arbitrary: valid.map(String) },
    {
      weight: 1,
      arbitrary: invalidValue(p.schema).map((v) => (typeof v === "string" ? v : JSON.stringify(v))),
    },
  );
}

/** Mutations of a valid signed action entry (the engine's parser and checks). */
function entryMutation(fx: Fixtures): fc.Arbitrary<{ mutation: string; body: unknown }> {
  const fresh = () =>
    JSON.parse(actionBody(fx.agent, fx.nextNonce(), { fuzz: true })) as {
      entry: { message: Record<string, unknown>; [k: string]: unknown };
      payload?: unknown;
    };
  const fields = [
    "agent",
    "studio",
    "task",
    "actionType",
    "payloadHash",
    "parents",
    "attestationHash",
    "timestamp",
    "expiry",
    "nonce",
  ];
  const top = ["format", "kind", "chainId", "signature", "message"];
  return fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...fields),
        fc.oneof(fc.constantFrom<unknown>(...NASTY_STRINGS), invalidValue({ type: "string" })),
      )
      .map(([k, v]) => {
        const b = fresh();
        b.entry.message[k] = v;
        return { mutation: `entry.message.${k} replaced (signature now wrong)`, body: b };
      }),
    fc
      .tuple(
        fc.constantFrom(...top),
        fc.constantFrom<unknown>(
          null,
          1,
          "x",
          [],
          {},
          "0x00",
          `0x${"00".repeat(65)}`,
          "99999999999999999999999",
        ),
      )
      .map(([k, v]) => {
        const b = fresh();
        (b.entry as Record<string, unknown>)[k] = v;
        return { mutation: `entry.${k} replaced`, body: b };
      }),
    fc.constantFrom(...fields).map((k) => {
      const b = fresh();
      delete b.entry.message[k];
      return { mutation: `entry.message.${k} missing`, body: b };
    }),
    // Re-signed with odd but well-typed values: the signature is right, the values are not.
    fc
      .constantFrom<Partial<SignActionInput>>(
        { nonce: 2n ** 64n },
        { nonce: 2n ** 64n - 1n },
        { nonce: 0 },
        { timestamp: 0 },
        { timestamp: 2n ** 63n },
        { timestamp: 9_999_999_999 },
        { ttlSeconds: -10 },
        { ttlSeconds: 10 ** 12 },
        { parents: Array.from({ length: 300 }, () => `0x${"ab".repeat(32)}` as Hex) },
        { parents: [`0x${"cd".repeat(32)}` as Hex] },
        { actionType: "x".repeat(70_000) },
        { studio: "no-such-studio", task: "t-1" },
        { chainId: 1 },
        { attestationHash: `0x${"11".repeat(32)}` as Hex },
      )
      .map((extra) => {
        try {
          const signed = signAction({
            privateKey: fx.agent.privateKey,
            chainId: CHAIN_ID,
            verifyingContract: bound.verifyingContract,
            actionType: "fuzz.resigned",
            nonce: fx.nextNonce(),
            payload: { fuzz: 1 },
            ...extra,
          });
          return { mutation: `re-signed with ${Object.keys(extra).join(",")}`, body: signed };
        } catch {
          return { mutation: "re-signed (signing refused: sent unsigned)", body: { entry: extra } };
        }
      }),
    fc.constant(0).map(() => {
      const b = fresh();
      b.payload = { other: "payload" };
      return { mutation: "payload does not match payloadHash", body: b };
    }),
    fc.constant(0).map(() => {
      const b = JSON.parse(actionBody(fx.stranger, 1, { x: 1 }));
      return { mutation: "entry of an unregistered agent", body: b };
    }),
  );
}

/** JSON text of a generated value (bigints as decimal strings). */
const toJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)) ?? "null";

function bodySpec(op: Operation, fx: Fixtures): fc.Arbitrary<BodySpec> {
  if (op.method === "GET" || op.method === "DELETE")
    return fc.constant({ kind: "none", text: undefined, contentType: "" });
  const schema = op.body ?? { type: "object", properties: {} };
  const json = (kind: string) => (b: unknown) => ({
    kind,
    text: toJson(b),
    contentType: "application/json",
  });
  const options: { weight: number; arbitrary: fc.Arbitrary<BodySpec> }[] = [
    { weight: 40, arbitrary: mutatedBody(schema).map((m) => json(`body: ${m.mutation}`)(m.body)) },
    { weight: 8, arbitrary: validValue(schema).map(json("body: valid per schema")) },
    {
      weight: 12,
      arbitrary: fc.constantFrom(...MALFORMED_JSON).map((text) => ({
        kind: "body: malformed JSON",
        text,
        contentType: "application/json",
      })),
    },
    {
      weight: 8,
      arbitrary: fc.tuple(validValue(schema), fc.constantFrom(...CONTENT_TYPES)).map(([b, ct]) => ({
        kind: `content-type ${ct}`,
        text: toJson(b),
        contentType: ct,
      })),
    },
    {
      weight: 2,
      arbitrary: fc.constant({
        kind: "body: 3 MiB",
        text: `{"entry":"${"x".repeat(3 * 2 ** 20)}"}`,
        contentType: "application/json",
      }),
    },
    {
      weight: 2,
      arbitrary: fc.constant({
        kind: "body: none with JSON content type",
        text: "",
        contentType: "application/json",
      }),
    },
  ];
  if (schema.properties?.entry !== undefined) {
    options.push({
      weight: 30,
      arbitrary: entryMutation(fx).map((m) => json(`entry: ${m.mutation}`)(m.body)),
    });
  }
  return fc.oneof(...options);
}

/** A bad request for `op`, before its credentials are attached. */
export function plan(op: Operation, fx: Fixtures): fc.Arbitrary<Planned> {
  const pathParams = op.params.filter((p) => p.in === "path");
  const queryParams = op.params.filter((p) => p.in === "query");
  const path = fc.tuple(...pathParams.map((p) => pathValue(p, fx))).map((values) => {
    let target = op.path;
    pathParams.forEach((p, i) => {
      const v = values[i] as string;
      target = target.replace(`{${p.name}}`, p.name === "*" ? v : encodePart(v));
    });
    return target;
  });
  const query = fc
    .tuple(
      ...queryParams.map((p) =>
        fc.oneof(
          { weight: 4, arbitrary: fc.constant<string | undefined>(undefined) },
          { weight: 3, arbitrary: validValue(p.schema).map(String) },
          {
            weight: 2,
            arbitrary: invalidValue(p.schema).map((v) =>
              typeof v === "string" ? v : JSON.stringify(v),
            ),
          },
        ),
      ),
      fc.oneof(
        { weight: 9, arbitrary: fc.constant(false) },
        { weight: 1, arbitrary: fc.constant(true) },
      ),
    )
    .map(([...all]) => {
      const extra = all.pop() as boolean;
      const parts = queryParams.flatMap((p, i) =>
        all[i] === undefined ? [] : [`${encodePart(p.name)}=${encodePart(all[i] as string)}`],
      );
      if (extra) parts.push("unexpected=1", "limit=1&limit=2");
      return parts.length === 0 ? "" : `?${parts.join("&")}`;
    });
  const auth = fc.oneof(
    ...AUTH_WEIGHTS.map(([k, weight]) => ({ weight, arbitrary: fc.constant(k) })),
  );
  return fc
    .record({ path, query, body: bodySpec(op, fx), auth, garbage: bearerGarbage(fx.adminKey) })
    .map((r) => ({
      op: `${op.method} ${op.path}`,
      method: op.method,
      target: `${r.path}${r.query}`,
      body: r.body,
      auth: r.auth,
      garbage: r.garbage,
      labels: [r.body.kind, `auth ${r.auth}`],
    }));
}
