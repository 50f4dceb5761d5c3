import { randomBytes } from "node:crypto";
import { protocol } from "@electric-sql/pglite";
import { describe, expect, it } from "vitest";
import { bindExecuteSync } from "./pglite-prepared.mjs";

const { serialize } = protocol;

/** PGlite's own bytes for the same call (what pglite-prepared.mjs sent before). */
function pglites(name: string, values: (Uint8Array | string | null)[]): Uint8Array {
  return Buffer.concat([
    serialize.bind({ statement: name, values }),
    serialize.execute({}),
    serialize.sync(),
  ]);
}

describe("bindExecuteSync", () => {
  const cases: [string, (Uint8Array | string | null)[]][] = [
    ["no values", []],
    ["text, NULL and bytes", ["agent-7", null, Uint8Array.of(0, 1, 255)]],
    ["empty text and empty bytes", ["", new Uint8Array(0)]],
    ["text beyond ASCII", ["naïve — 𝄞 ✓", "日本"]],
    // a view into a larger buffer (Node's pooled Buffers): only its own bytes go
    ["a view into a larger buffer", [Buffer.from("0123456789abcdef").subarray(3, 9), "x"]],
    ["large bytes", [Uint8Array.from(randomBytes(200_000)), null, "tail"]],
  ];
  for (const [what, values] of cases) {
    it(`writes PGlite's bytes: ${what}`, () => {
      const got = bindExecuteSync(new Uint8Array(16), "chaoscore_12", values);
      expect(Buffer.from(got).equals(Buffer.from(pglites("chaoscore_12", values)))).toBe(true);
    });
  }

  it("writes into the buffer it is given when they fit, else into a new one at least twice as large", () => {
    const buffer = new Uint8Array(1024);
    const fits = bindExecuteSync(buffer, "s", ["a", Uint8Array.of(1, 2)]);
    expect(fits.buffer).toBe(buffer.buffer);
    const big = bindExecuteSync(buffer, "s", [new Uint8Array(1500)]);
    expect(big.buffer).not.toBe(buffer.buffer);
    expect(big.buffer.byteLength).toBeGreaterThanOrEqual(2048);
    expect(Buffer.from(big).equals(Buffer.from(pglites("s", [new Uint8Array(1500)])))).toBe(true);
  });

  it("random mixes of values, in one reused buffer, give PGlite's bytes every time", () => {
    let buffer: Uint8Array = new Uint8Array(64);
    for (let run = 0; run < 300; run++) {
      const values = Array.from({ length: run % 12 }, (_, i) => {
        const pick = (run * 7 + i * 3) % 3;
        if (pick === 0) return null;
        if (pick === 1) return randomBytes((run * 13 + i) % 700).toString("base64");
        const whole = Uint8Array.from(randomBytes(((run + i) % 900) + 8));
        return whole.subarray(run % 5, whole.length - (i % 3));
      });
      const got = bindExecuteSync(buffer, `chaoscore_${run}`, values);
      expect(Buffer.from(got).equals(Buffer.from(pglites(`chaoscore_${run}`, values)))).toBe(true);
      buffer = new Uint8Array(got.buffer);
    }
  });
});
