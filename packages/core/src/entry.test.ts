import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.js";
import {
  DEVELOPMENT_DEPLOYMENT,
  deploymentAddress,
  signingDomain,
  typedDataDigest,
} from "./eip712.js";
import {
  canonicalEntryText,
  encodeEntry,
  entryDigest,
  entryDomain,
  entryLeafHash,
  parseEntry,
} from "./entry.js";
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

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => bytesToHex(b));
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
/** Any text the schema lets through: quotes, backslashes, controls, astral characters. */
const text = fc
  .string({
    maxLength: 24,
    unit: fc.oneof(
      fc.constantFrom('"', "\\", "\n", "\u001f", "\u2028", "é"),
      fc.string({ minLength: 1, maxLength: 1, unit: "binary" }),
    ),
  })
  .filter((t) => !t.includes("\u0000"));

/** Random entries that pass parseEntry, their keys in random order. */
const anyEntry = fc
  .record({
    outcome: fc.boolean(),
    chainId: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }).map(String),
    verifyingContract: hex(20),
    signature: hex(65),
    agent: hex(20),
    h1: hex(32),
    h2: hex(32),
    h3: hex(32),
    parents: fc.array(hex(32), { maxLength: 3 }),
    studio: text,
    task: text,
    actionType: text.filter((t) => t.length > 0),
    status: fc.constantFrom("success", "failure", "partial"),
    timestamp: uint64,
    nonce: uint64,
    expiry: uint64,
  })
  .map((r) => {
    const message = r.outcome
      ? {
          agent: r.agent,
          action: r.h1,
          status: r.status,
          resultHash: r.h2,
          metricsHash: r.h3,
          timestamp: r.timestamp,
          nonce: r.nonce,
          expiry: r.expiry,
        }
      : {
          agent: r.agent,
          studio: r.studio,
          task: r.task,
          actionType: r.actionType,
          payloadHash: r.h1,
          parents: r.parents,
          attestationHash: r.h2,
          timestamp: r.timestamp,
          nonce: r.nonce,
          expiry: r.expiry,
        };
    return {
      format: "chaoscore.entry/v2",
      kind: r.outcome ? "outcome" : "action",
      chainId: r.chainId,
      verifyingContract: r.verifyingContract,
      message,
      signature: r.signature,
    };
  })
  .chain((e) => fc.boolean().map((reverse) => (reverse ? reversed(e) : e)));

describe("canonicalEntryText", () => {
  it("is canonicalJson of any entry that passes parseEntry, whatever its key order", () => {
    fc.assert(
      fc.property(anyEntry, (value) => {
        const entry = parseEntry(value);
        expect(canonicalEntryText(entry)).toBe(canonicalJson(entry));
      }),
      { numRuns: 300 },
    );
  });

  it("is canonicalJson of every vector entry", () => {
    for (const entry of entries) expect(canonicalEntryText(entry)).toBe(canonicalJson(entry));
  });
});

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
