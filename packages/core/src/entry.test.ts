import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DEVELOPMENT_DEPLOYMENT,
  deploymentAddress,
  signingDomain,
  typedDataDigest,
} from "./eip712.js";
import { encodeEntry, entryDigest, entryDomain, entryLeafHash } from "./entry.js";
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

describe("entryDigest", () => {
  const action = entries.find((e) => e.kind === "action") as LogEntry;
  const outcome = entries.find((e) => e.kind === "outcome") as LogEntry;

  it("is the EIP-712 digest under the entry's own domain, for every vector entry", () => {
    for (const entry of entries) {
      const kind = entry.kind === "action" ? "Action" : "Outcome";
      const want = typedDataDigest(kind, entry.message as never, entryDomain(entry));
      expect(bytesToHex(entryDigest(entry))).toBe(bytesToHex(want));
    }
  });

  it("changes with the chain id and the deployment (separators kept per domain)", () => {
    const ids = new Set<string>();
    for (const entry of [action, outcome]) {
      for (const chainId of ["1", "31337", "8453"]) {
        for (const verifyingContract of [DEVELOPMENT_DEPLOYMENT, deploymentAddress("other")]) {
          const moved = { ...entry, chainId, verifyingContract } as LogEntry;
          ids.add(bytesToHex(entryDigest(moved)));
          expect(bytesToHex(entryDigest(moved))).toBe(
            bytesToHex(
              typedDataDigest(
                entry.kind === "action" ? "Action" : "Outcome",
                moved.message as never,
                signingDomain(chainId, verifyingContract),
              ),
            ),
          );
        }
      }
    }
    expect(ids.size).toBe(12);
  });

  it("refuses a malformed deployment every time (a failure is not kept)", () => {
    const bad = { ...action, verifyingContract: "0xABC" } as LogEntry;
    for (let i = 0; i < 2; i++) {
      expect(() => entryDigest(bad)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
  });
});
