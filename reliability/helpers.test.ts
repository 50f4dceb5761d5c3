import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodePart, operationsOf } from "./fuzz-operations.js";
import { type Answer, codeOf } from "./http.js";
import { classify, randomMoments } from "./ingest.js";
import { isCleanRound } from "./nonce-race.js";
import { formatTable, goalLine, sumMeasure } from "./report.js";
import {
  invalidValue,
  mutatedBody,
  NASTY_STRINGS,
  type Schema,
  validValue,
} from "./schema-arbitraries.js";

const answer = (status: number, body: unknown): Answer => ({
  ok: true,
  status,
  body,
  text: JSON.stringify(body),
  headers: new Headers(),
});

describe("classify", () => {
  it("acknowledges 201 only; retries transport errors, 503, 429 and retryable problems", () => {
    expect(classify(answer(201, { id: "0x1", duplicate: true }))).toBe("acked");
    expect(classify({ ok: false, error: "ECONNREFUSED" })).toBe("retry");
    expect(classify(answer(503, { code: "STORE_UNAVAILABLE", retryable: true }))).toBe("retry");
    expect(classify(answer(429, { code: "GATEWAY_RATE_LIMITED" }))).toBe("retry");
    expect(classify(answer(500, { code: "X", retryable: true }))).toBe("retry");
    expect(classify(answer(409, { code: "AGENCY_NONCE_NOT_INCREASING", retryable: false }))).toBe(
      "refused",
    );
    expect(classify(answer(500, "oops"))).toBe("refused");
  });
});

describe("codeOf", () => {
  it("reads the problem code, or nothing", () => {
    expect(codeOf(answer(400, { code: "GATEWAY_REQUEST_INVALID" }))).toBe(
      "GATEWAY_REQUEST_INVALID",
    );
    expect(codeOf(answer(200, "text"))).toBeUndefined();
    expect(codeOf({ ok: false, error: "ECONNRESET" })).toBeUndefined();
  });
});

describe("randomMoments", () => {
  it("picks n distinct sorted values in [lo, hi)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 1000 }), (n, lo) => {
        const m = randomMoments(n, lo, lo + n + 10);
        expect(m).toHaveLength(n);
        expect(new Set(m).size).toBe(n);
        expect([...m].sort((a, b) => a - b)).toEqual(m);
        for (const v of m) expect(v >= lo && v < lo + n + 10).toBe(true);
      }),
    );
  });
  it("refuses more values than the range holds", () => {
    expect(() => randomMoments(5, 0, 4)).toThrow(RangeError);
  });
});

describe("isCleanRound", () => {
  it("needs exactly one winner and every other writer refused with the nonce code", () => {
    const losers = (n: number) => new Map([["409 AGENCY_NONCE_NOT_INCREASING", n]]);
    expect(isCleanRound({ winners: 1, losers: losers(49) }, 50)).toBe(true);
    expect(isCleanRound({ winners: 2, losers: losers(48) }, 50)).toBe(false);
    expect(isCleanRound({ winners: 0, losers: losers(50) }, 50)).toBe(false);
    expect(isCleanRound({ winners: 1, losers: new Map([["503 STORE_UNAVAILABLE", 49]]) }, 50)).toBe(
      false,
    );
  });
});

describe("formatTable / goalLine / sumMeasure", () => {
  it("pads columns", () => {
    expect(formatTable(["a", "bb"], [["xyz", "1"]])).toBe(
      "| a   | bb |\n|-----|----|\n| xyz | 1  |",
    );
  });
  it("prints the bench's GOAL line", () => {
    expect(goalLine({ name: "actions_lost", measured: 0, target: 0 })).toBe(
      "GOAL actions_lost 0 0 PASS",
    );
    expect(goalLine({ name: "http_5xx", measured: 3, target: 0 })).toBe("GOAL http_5xx 3 0 FAIL");
  });
  it("sums a measure, missing ones as 0", () => {
    const r = (measures: Record<string, number>) => ({
      scenario: "s",
      load: "",
      faults: "",
      badInputs: 0,
      actionsLost: 0,
      http5xx: 0,
      seconds: 0,
      notes: [],
      measures,
    });
    expect(sumMeasure([r({ a: 2 }), r({}), r({ a: 3, b: 1 })], "a")).toBe(5);
  });
});

describe("schema arbitraries", () => {
  const hex: Schema = { type: "string", pattern: "^0x[0-9a-f]{64}$" };
  it("validValue matches the pattern", () => {
    fc.assert(fc.property(validValue(hex), (v) => /^0x[0-9a-f]{64}$/.test(v as string)));
  });
  it("invalidValue never matches a string pattern", () => {
    fc.assert(
      fc.property(invalidValue(hex), (v) => typeof v !== "string" || !/^0x[0-9a-f]{64}$/.test(v)),
    );
  });
  it("invalidValue of a number is outside its range or not a number", () => {
    const schema: Schema = { type: "number", minimum: 0, maximum: 1 };
    fc.assert(
      fc.property(
        invalidValue(schema),
        (v) => typeof v !== "number" || v < 0 || v > 1 || v === 0.5,
      ),
    );
  });
  it("validValue of an object has its required keys", () => {
    const schema: Schema = {
      type: "object",
      required: ["a"],
      properties: { a: { type: "integer" }, b: { type: "string" } },
    };
    fc.assert(fc.property(validValue(schema), (v) => typeof (v as { a: unknown }).a === "number"));
  });
  it("mutatedBody names its one mutation", () => {
    const schema: Schema = {
      type: "object",
      required: ["a"],
      properties: { a: { type: "integer" } },
    };
    fc.assert(
      fc.property(mutatedBody(schema), ({ mutation, body }) => {
        if (mutation === "missing a") expect(body).not.toHaveProperty("a");
        if (mutation === "extra field") expect(body).toHaveProperty("unexpectedField");
        if (mutation === "not an object") {
          expect(typeof body !== "object" || body === null || Array.isArray(body)).toBe(true);
        }
      }),
    );
  });
  it("has bad hex among its nasty strings", () => {
    expect(NASTY_STRINGS).toContain("0xzz");
  });
});

describe("operationsOf / encodePart", () => {
  it("lists every operation with its parameters and JSON body schema", () => {
    const ops = operationsOf({
      paths: {
        "/v1/x/{id}": {
          get: { parameters: [{ name: "id", in: "path", schema: { type: "string" } }] },
          post: {
            requestBody: { content: { "application/json": { schema: { type: "object" } } } },
          },
          parameters: [],
        },
      },
    });
    expect(ops.map((o) => [o.method, o.path, o.params.length, o.body])).toEqual([
      ["GET", "/v1/x/{id}", 1, undefined],
      ["POST", "/v1/x/{id}", 0, { type: "object" }],
    ]);
  });
  it("percent-encodes, lone surrogates as invalid UTF-8", () => {
    expect(encodePart("a b/")).toBe("a%20b%2F");
    expect(encodePart("x\ud800")).toBe("x%ED%A0%80");
  });
});
