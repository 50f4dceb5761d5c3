import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  bytesToHex,
  canonicalEntryText,
  encodeEntry,
  entryDigest,
  type Hex,
  type LogEntry,
  leafHash,
  parseEntry,
  privateKeyToAddress,
  signAction,
  signOutcome,
} from "@chaoscore/core";
import fc from "fast-check";
import { afterAll, describe, expect, it, vi } from "vitest";
import { prepareEntryTexts } from "./entry-prep.js";
import { InlineSignatureVerifier, WorkerSignatureVerifier } from "./signature-verifier.js";

// secp256k1's order n: s and n − s both verify; only the low one is canonical.
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The same signature with s replaced by n − s and v flipped (valid for ECDSA, refused as non-canonical). */
function highS(signature: Hex): Hex {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = signature.slice(130) === "1b" ? "1c" : "1b";
  return `${signature.slice(0, 66)}${(N - s).toString(16).padStart(64, "0")}${v}` as Hex;
}

const text = fc.string({ maxLength: 40, unit: "grapheme" });

/** Random signed entries: actions and outcomes, random keys, texts (any Unicode), nonces, parents. */
const entries = fc
  .record({
    key: fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => k.some((b) => b !== 0)),
    outcome: fc.boolean(),
    studio: text,
    task: text,
    actionType: text.filter((t) => t.length > 0),
    nonce: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
    chainId: fc.bigInt({ min: 1n, max: 2n ** 53n }),
    parents: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 3 }),
    payload: fc.jsonValue(),
  })
  .map((r): LogEntry => {
    const parents = r.parents.map((p) => bytesToHex(p));
    if (r.outcome) {
      return signOutcome({
        privateKey: r.key,
        chainId: r.chainId,
        action: bytesToHex(r.parents[0] ?? new Uint8Array(32)),
        status: "success",
        nonce: r.nonce,
        result: r.payload,
        metrics: { note: r.task },
      }).entry;
    }
    return signAction({
      privateKey: r.key,
      chainId: r.chainId,
      actionType: r.actionType,
      nonce: r.nonce,
      payload: r.payload,
      studio: r.studio,
      task: r.task,
      parents,
    }).entry;
  });

/** What the main thread computes for an entry: canonical bytes, digest, signer. */
async function inline(entry: LogEntry) {
  const digest = entryDigest(entry);
  return {
    bytes: encodeEntry(entry),
    digest,
    signer: await new InlineSignatureVerifier().recover(digest, entry.signature),
  };
}

describe("prepareEntryTexts (the workers' part of intake)", () => {
  it("gives the main thread's canonical bytes and digests, for any entry", () => {
    fc.assert(
      fc.property(fc.array(entries, { minLength: 1, maxLength: 4 }), (list) => {
        const parsed = list.map((e) => parseEntry(e));
        const out = prepareEntryTexts(parsed.map((e) => canonicalEntryText(e)));
        let start = 0;
        parsed.forEach((e, i) => {
          expect(out.ok[i]).toBe(1);
          expect(out.bytes.subarray(start, out.ends[i])).toEqual(encodeEntry(e));
          expect(out.digests.subarray(32 * i, 32 * i + 32)).toEqual(entryDigest(e));
          expect(out.leaves.subarray(32 * i, 32 * i + 32)).toEqual(leafHash(encodeEntry(e)));
          start = out.ends[i] as number;
        });
      }),
      { numRuns: 60 },
    );
  });

  it("marks an entry it cannot prepare, and prepares the others", () => {
    const good = signAction({
      privateKey: Uint8Array.from(randomBytes(32)),
      chainId: 1,
      actionType: "a",
      nonce: 1,
    }).entry;
    const out = prepareEntryTexts(["{not json", canonicalEntryText(good), "{}"]);
    expect([...out.ok]).toEqual([0, 1, 0]);
    expect(out.bytes.subarray(out.ends[0], out.ends[1])).toEqual(encodeEntry(good));
  });
});

describe("WorkerSignatureVerifier.prepareEntry", () => {
  const verifier = new WorkerSignatureVerifier(2);
  afterAll(() => verifier.close());

  it("agrees with the main thread's path bit for bit, on random keys and messages", async () => {
    const list = fc.sample(entries, 40).map((e) => parseEntry(e));
    const prepared = await Promise.all(
      list.map((e) => verifier.prepareEntry(canonicalEntryText(e))),
    );
    for (const [i, e] of list.entries()) {
      const ours = await inline(e);
      expect(prepared[i]).not.toBeNull();
      expect(prepared[i]?.bytes).toEqual(ours.bytes);
      expect(prepared[i]?.leafHash).toEqual(leafHash(ours.bytes));
      expect(prepared[i]?.digest).toEqual(ours.digest);
      expect(prepared[i]?.signer).toBe(ours.signer);
    }
  });

  it("recovers the signing key's address", async () => {
    const key = Uint8Array.from(randomBytes(32));
    const { entry } = signAction({ privateKey: key, chainId: 31337, actionType: "t", nonce: 7 });
    expect((await verifier.prepareEntry(canonicalEntryText(entry)))?.signer).toBe(
      privateKeyToAddress(key),
    );
  });

  it("leaves high-s, malformed and unrecoverable signatures, and bad text, to the caller (null)", async () => {
    const { entry } = signAction({
      privateKey: Uint8Array.from(randomBytes(32)),
      chainId: 31337,
      actionType: "t",
      nonce: 1,
    });
    const zeroR: Hex = `0x${"00".repeat(32)}${entry.signature.slice(66)}`;
    // r = 7: on no point of the curve with a y for v, or a point with no key: either way nothing recovers
    const noKey: Hex = `0x${"00".repeat(31)}07${entry.signature.slice(66)}`;
    const bad = [
      { ...entry, signature: highS(entry.signature) },
      { ...entry, signature: `${entry.signature.slice(0, 130)}1d` as Hex },
      { ...entry, signature: zeroR },
      { ...entry, signature: entry.signature.slice(0, 20) as Hex },
    ];
    for (const b of bad) expect(await verifier.prepareEntry(canonicalEntryText(b))).toBeNull();
    expect(await verifier.prepareEntry("{")).toBeNull();
    // an unrecoverable one is null too, or (if a key happens to recover) not the signer's
    const other = await verifier.prepareEntry(canonicalEntryText({ ...entry, signature: noKey }));
    expect(other?.signer).not.toBe(entry.message.agent);
    // and a good one in the same chunk still answers
    expect((await verifier.prepareEntry(canonicalEntryText(entry)))?.signer).toBe(
      entry.message.agent,
    );
  });

  it("stops asking workers that cannot load entry-prep, and says so once", async () => {
    // The worker alone in a directory of its own (no entry-prep beside it), its packages linked.
    const dir = mkdtempSync(join(tmpdir(), "chaoscore-worker-"));
    copyFileSync(join(import.meta.dirname, "recover-worker.mjs"), join(dir, "recover-worker.mjs"));
    symlinkSync(join(import.meta.dirname, "../../../../node_modules"), join(dir, "node_modules"));
    const said: string[] = [];
    const write = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      said.push(String(chunk));
      return true;
    });
    const alone = new WorkerSignatureVerifier(1, {
      workerUrl: pathToFileURL(join(dir, "recover-worker.mjs")),
    });
    try {
      const key = Uint8Array.from(randomBytes(32));
      const signed = [1, 2, 3].map(
        (nonce) => signAction({ privateKey: key, chainId: 1, actionType: "t", nonce }).entry,
      );
      // ready() settles once the worker has tried to load it, and by then the pool knows
      await alone.ready();
      expect(said.filter((m) => m.includes("cannot load entry-prep"))).toHaveLength(1);
      expect(await alone.prepareEntry(canonicalEntryText(signed[0] as LogEntry))).toBeNull();
      expect(await alone.prepareEntry(canonicalEntryText(signed[1] as LogEntry))).toBeNull();
      expect(said.filter((m) => m.includes("cannot load entry-prep"))).toHaveLength(1);
      // The caller's path still recovers on the same workers.
      const { digest } = await inline(parseEntry(signed[2]));
      expect(await alone.recover(digest, signed[2]?.signature as Hex)).toBe(
        privateKeyToAddress(key),
      );
    } finally {
      write.mockRestore();
      await alone.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("answers null without sending when entry preparation is off", async () => {
    const off = new WorkerSignatureVerifier(1, { prepareEntries: false });
    try {
      const { entry } = signAction({
        privateKey: Uint8Array.from(randomBytes(32)),
        chainId: 1,
        actionType: "t",
        nonce: 1,
      });
      expect(await off.prepareEntry(canonicalEntryText(entry))).toBeNull();
    } finally {
      await off.close();
    }
  });
});
