import { ChaosCoreError, canonicalJson, canonicalJsonBytes, sha256Hex } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { TRUNCATED_FORMAT, toJsonSafe } from "./recorder.js";

describe("toJsonSafe", () => {
  it("keeps JSON values as they are", () => {
    const value = { a: [1, "two", true, null, { b: -1.5 }], c: "" };
    expect(toJsonSafe(value)).toEqual(value);
  });

  it("drops undefined, functions and symbols from objects and nulls them elsewhere", () => {
    expect(toJsonSafe({ u: undefined, f: () => 1, s: Symbol("x"), k: 1 })).toEqual({ k: 1 });
    expect(toJsonSafe([undefined, () => 1, Symbol("x")])).toEqual([null, null, null]);
    expect(toJsonSafe(undefined)).toBeNull();
    expect(toJsonSafe({ [Symbol("key")]: 1 })).toEqual({});
  });

  it("turns bigints, non-finite numbers and -0 into canonical values", () => {
    expect(toJsonSafe({ big: 2n ** 70n, nan: Number.NaN, inf: -Infinity, z: -0 })).toEqual({
      big: "1180591620717411303424",
      nan: "NaN",
      inf: "-Infinity",
      z: 0,
    });
    expect(Object.is(toJsonSafe(-0), 0)).toBe(true);
  });

  it("describes errors by name, message, own fields and cause, without the stack", () => {
    const cause = new RangeError("inner");
    const error = new ChaosCoreError("AGENCY_EXPIRED", "outer", { details: { at: 5n }, cause });
    expect(toJsonSafe(error)).toEqual({
      name: "ChaosCoreError",
      message: "outer",
      code: "AGENCY_EXPIRED",
      details: { at: "5" },
      cause: { name: "RangeError", message: "inner" },
    });
    expect(toJsonSafe(new Error("plain"))).toEqual({ name: "Error", message: "plain" });
  });

  it("marks cycles but repeats shared (acyclic) references", () => {
    const shared = { v: 1 };
    const loop: Record<string, unknown> = { shared, again: shared };
    loop.self = loop;
    loop.list = [loop];
    expect(toJsonSafe(loop)).toEqual({
      shared: { v: 1 },
      again: { v: 1 },
      self: "[Circular]",
      list: ["[Circular]"],
    });
  });

  it("converts dates, bytes, maps, sets and toJSON objects", () => {
    const date = new Date("2026-11-25T00:00:00.000Z");
    expect(
      toJsonSafe({
        date,
        bad: new Date(Number.NaN),
        bytes: Uint8Array.of(1, 255),
        buffer: Buffer.from("hi"),
        raw: Uint8Array.of(7).buffer,
        map: new Map<unknown, unknown>([["k", 1n]]),
        set: new Set([1, 2]),
        custom: { toJSON: () => ({ as: "json" }) },
      }),
    ).toEqual({
      date: "2026-11-25T00:00:00.000Z",
      bad: null,
      bytes: "0x01ff",
      buffer: "0x6869",
      raw: "0x07",
      map: [["k", "1"]],
      set: [1, 2],
      custom: { as: "json" },
    });
  });

  it("survives throwing getters, toJSON and revoked proxies, and a toJSON that returns itself", () => {
    const getter = Object.defineProperty({ ok: 1 }, "bad", {
      enumerable: true,
      get() {
        throw new Error("no");
      },
    });
    const self = {
      x: 1,
      toJSON() {
        return self;
      },
    };
    expect(toJsonSafe(getter)).toEqual({ ok: 1, bad: "[Unreadable]" });
    expect(
      toJsonSafe({
        toJSON() {
          throw new Error("no");
        },
      }),
    ).toBe("[Unreadable]");
    expect(toJsonSafe(self)).toEqual({ x: 1 });
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(toJsonSafe({ proxy, ok: [proxy] })).toEqual({
      proxy: "[Unreadable]",
      ok: ["[Unreadable]"],
    });
  });

  it("replaces lone surrogates so every side hashes the same text", () => {
    expect(toJsonSafe({ "k\uD800": "a\uDC00b\uD83D\uDE00" })).toEqual({
      "k\uFFFD": "a\uFFFDb\uD83D\uDE00",
    });
  });

  it("stops at maxDepth", () => {
    expect(toJsonSafe({ a: { b: { c: 1 } } }, { maxDepth: 2 })).toEqual({ a: { b: "[MaxDepth]" } });
  });

  it("replaces a value over maxBytes by a marker with its size, hash and a preview that fits", () => {
    const value = { text: "é".repeat(1000) };
    const full = canonicalJsonBytes(value);
    const marker = toJsonSafe(value, { maxBytes: 500 }) as Record<string, unknown>;
    expect(marker).toMatchObject({
      format: TRUNCATED_FORMAT,
      bytes: full.length,
      sha256: sha256Hex(full),
    });
    expect(canonicalJson(value).startsWith(marker.preview as string)).toBe(true);
    expect((marker.preview as string).length).toBeGreaterThan(100);
    expect(canonicalJsonBytes(marker).length).toBeLessThanOrEqual(500);
    // No room for a preview: still a marker, with an empty one.
    expect(toJsonSafe(value, { maxBytes: 10 })).toMatchObject({ preview: "", bytes: full.length });
    // At the limit exactly, the value is kept.
    expect(toJsonSafe(value, { maxBytes: full.length })).toEqual(value);
  });
});
