import { describe, expect, it } from "vitest";
import { dbBlob, fromDbHex, toDbHex } from "./bytes.js";

describe("dbBlob", () => {
  const parts = [Uint8Array.of(0, 1, 255), new Uint8Array(0), Uint8Array.of(0xab)];

  it("is one binary Buffer, cast to bytea", () => {
    const { sql, param } = dbBlob(parts, 3);
    expect(sql).toBe("$3::bytea");
    expect(Buffer.isBuffer(param)).toBe(true);
    expect([...param]).toEqual([0, 1, 255, 0xab]);
  });

  it("is empty for no parts", () => {
    expect(dbBlob([], 1).param.length).toBe(0);
  });
});

describe("toDbHex / fromDbHex", () => {
  it("round-trip bytes, a view into a larger buffer included", () => {
    const big = Uint8Array.of(9, 0, 1, 255, 9);
    const view = big.subarray(1, 4);
    expect(toDbHex(view)).toBe("0001ff");
    expect([...fromDbHex("0001ff")]).toEqual([0, 1, 255]);
    expect(toDbHex(new Uint8Array(0))).toBe("");
  });
});
