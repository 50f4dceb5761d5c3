/**
 * The part of an entry's intake that the signature workers do beside the
 * recovery (recover-worker.mjs loads this module): from the entry's
 * canonical JSON text, its canonical bytes (the leaf data) and their RFC 9162
 * leaf hash, its EIP-712 digest (the id) and its signature's 65 bytes — with
 * core's own `leafHash`, `entryDigest` and `parseSignature`, so the results
 * are those of the main thread's path bit for bit (entry-prep.test.ts
 * compares both).
 * @module
 */
import { entryDigest, type LogEntry, leafHash, parseSignature } from "@chaoscore/core";

/** What {@link prepareEntryTexts} gives for n entries, packed for a transfer between threads. */
export type PreparedTexts = {
  /** 32 bytes per entry: its EIP-712 digest. */
  digests: Uint8Array;
  /** 65 bytes per entry: compact signature and v (27 or 28). */
  sigs: Uint8Array;
  /** The entries' canonical bytes, one after the other. */
  bytes: Uint8Array;
  /** 32 bytes per entry: the RFC 9162 leaf hash of its canonical bytes. */
  leaves: Uint8Array;
  /** Where entry i's canonical bytes end in `bytes` (they start at `ends[i - 1]`, or 0). */
  ends: Uint32Array;
  /** 1 where entry i was prepared; 0 where anything failed (the caller then takes the main thread's path, which gives the error). */
  ok: Uint8Array;
};

const encoder = new TextEncoder();

/**
 * Prepares entries sent as their canonical JSON text (`canonicalEntryText`
 * of an entry that passed `parseEntry`): the text's UTF-8 bytes are the
 * canonical bytes, so only the digest and the signature need the parsed
 * entry.
 */
export function prepareEntryTexts(texts: readonly string[]): PreparedTexts {
  const n = texts.length;
  const digests = new Uint8Array(32 * n);
  const leaves = new Uint8Array(32 * n);
  const sigs = new Uint8Array(65 * n);
  const ends = new Uint32Array(n);
  const ok = new Uint8Array(n);
  let capacity = 0;
  for (const text of texts) capacity += typeof text === "string" ? Buffer.byteLength(text) : 0;
  const bytes = new Uint8Array(capacity);
  let total = 0;
  for (let i = 0; i < n; i++) {
    try {
      const text = texts[i] as string;
      const entry = JSON.parse(text) as LogEntry;
      const { compact, recovery } = parseSignature(entry.signature);
      digests.set(entryDigest(entry), 32 * i);
      sigs.set(compact, 65 * i);
      sigs[65 * i + 64] = 27 + recovery;
      const start = total;
      total += encoder.encodeInto(text, bytes.subarray(total)).written;
      leaves.set(leafHash(bytes.subarray(start, total)), 32 * i);
      ok[i] = 1;
    } catch {
      // ok[i] stays 0: the main thread computes this entry itself and gets the error.
    }
    ends[i] = total;
  }
  return { digests, sigs, bytes, leaves, ends, ok };
}
