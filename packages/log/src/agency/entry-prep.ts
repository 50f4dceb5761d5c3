/**
 * The part of an entry's intake that the signature workers do beside the
 * recovery (recover-worker.mjs loads this module): from the entry's JSON
 * text, its canonical bytes (the leaf data), its EIP-712 digest (the id) and
 * its signature's 65 bytes — with core's own `encodeEntry`, `entryDigest`
 * and `parseSignature`, so the results are those of the main thread's path
 * bit for bit (entry-prep.test.ts compares both).
 * @module
 */
import { encodeEntry, entryDigest, type LogEntry, parseSignature } from "@chaoscore/core";

/** What {@link prepareEntryTexts} gives for n entries, packed for a transfer between threads. */
export type PreparedTexts = {
  /** 32 bytes per entry: its EIP-712 digest. */
  digests: Uint8Array;
  /** 65 bytes per entry: compact signature and v (27 or 28). */
  sigs: Uint8Array;
  /** The entries' canonical bytes, one after the other. */
  bytes: Uint8Array;
  /** Where entry i's canonical bytes end in `bytes` (they start at `ends[i - 1]`, or 0). */
  ends: Uint32Array;
  /** 1 where entry i was prepared; 0 where anything failed (the caller then takes the main thread's path, which gives the error). */
  ok: Uint8Array;
};

/**
 * A copy of a parsed JSON value with every object's keys in RFC 8785 order
 * (UTF-16 code units), so that `canonicalJson` takes its fast path (native
 * `JSON.stringify`, about half the time here); where an object's own key
 * order cannot follow (integer-like keys come first in JavaScript),
 * `canonicalJson` sees it and takes its generic serializer: the same bytes
 * either way.
 */
function sortedKeys(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(sortedKeys);
  // no prototype: a "__proto__" key stays an own property, as JSON.parse made it
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value).sort()) {
    out[key] = sortedKeys((value as Record<string, unknown>)[key]);
  }
  return out;
}

/**
 * Prepares entries sent as JSON text (`JSON.stringify` of an entry that
 * passed `parseEntry`: plain strings, so the text round-trips exactly).
 */
export function prepareEntryTexts(texts: readonly string[]): PreparedTexts {
  const n = texts.length;
  const digests = new Uint8Array(32 * n);
  const sigs = new Uint8Array(65 * n);
  const ends = new Uint32Array(n);
  const ok = new Uint8Array(n);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    try {
      const entry = sortedKeys(JSON.parse(texts[i] as string)) as LogEntry;
      const { compact, recovery } = parseSignature(entry.signature);
      const digest = entryDigest(entry);
      const bytes = encodeEntry(entry);
      digests.set(digest, 32 * i);
      sigs.set(compact, 65 * i);
      sigs[65 * i + 64] = 27 + recovery;
      parts.push(bytes);
      total += bytes.length;
      ok[i] = 1;
    } catch {
      // ok[i] stays 0: the main thread computes this entry itself and gets the error.
    }
    ends[i] = total;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return { digests, sigs, bytes, ends, ok };
}
