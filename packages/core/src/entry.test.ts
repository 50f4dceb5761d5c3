import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeEntry, entryLeafHash } from "./entry.js";
import { bytesToHex } from "./hex.js";
import { leafHash } from "./merkle.js";
import type { LogEntry } from "./schemas.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "vectors", "receipts");
const entries: LogEntry[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .flatMap((f) => {
    const receipt = JSON.parse(readFileSync(join(DIR, f), "utf8")).receipt ?? {};
    return [receipt.action?.entry, receipt.outcome?.entry].filter(
      (e): e is LogEntry => typeof e === "object" && e !== null,
    );
  });

/** The same entry with every object's keys in reverse order (the serializer's path). */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .reverse()
      .map((k) => [k, reversed((value as Record<string, unknown>)[k])]),
  );
}

describe("entryLeafHash", () => {
  it("is leafHash(encodeEntry(entry)) for every vector entry, keys sorted or not", () => {
    expect(entries.length).toBeGreaterThan(10);
    for (const entry of entries) {
      const want = bytesToHex(leafHash(encodeEntry(entry)));
      expect(bytesToHex(entryLeafHash(entry))).toBe(want);
      expect(bytesToHex(entryLeafHash(reversed(entry) as LogEntry))).toBe(want);
    }
  });
  it("hashes a short entry's text too (hash-wasm below 256 bytes), non-ASCII included", () => {
    const entry = { kind: "x", message: { studio: "é\u{1F600}" } } as unknown as LogEntry;
    expect(bytesToHex(entryLeafHash(entry))).toBe(bytesToHex(leafHash(encodeEntry(entry))));
  });
});
