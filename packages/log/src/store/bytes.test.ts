import { describe, expect, it } from "vitest";
import { dbBlob, fromDbHex, toDbHex } from "./bytes.js";

describe("dbBlob", () => {
  const parts = [Uint8Array.of(0, 1, 255), new Uint8Array(0), Uint8Array.of(0xab)];

  it("is one binary Buffer for a Postgres server, cast to bytea", () => {
    const { sql, param } = dbBlob({ kind: "postgres" }, parts, 3);
    expect(sql).toBe("$3::bytea");
    expect(Buffer.isBuffer(param)).toBe(true);
    expect([...(param as Buffer)]).toEqual([0, 1, 255, 0xab]);
  });

  it("is one hex string for PGlite, decoded by the server", () => {
    const { sql, param } = dbBlob({ kind: "pglite" }, parts, 4);
    expect(sql).toBe("decode($4, 'hex')");
    expect(param).toBe("0001ffab");
    expect([...fromDbHex(param as string)]).toEqual([0, 1, 255, 0xab]);
  });

  it("is empty for no parts on both", () => {
    expect((dbBlob({ kind: "postgres" }, [], 1).param as Buffer).length).toBe(0);
    expect(dbBlob({ kind: "pglite" }, [], 1).param).toBe("");
    expect(toDbHex(new Uint8Array(0))).toBe("");
  });
});
