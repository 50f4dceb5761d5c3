/**
 * An in-memory RFC 9162 log that signs checkpoints, for witness tests and the
 * witness benchmark: it keeps every complete subtree hash, so proofs of logs
 * of a million entries are cheap.
 */
import {
  CompactRange,
  consistencyProofPlan,
  generateNoteKey,
  leafHash,
  resolveProof,
  signCheckpoint,
  utf8,
} from "@chaoscore/core";

export class MemoryLog {
  readonly origin: string;
  readonly signerKey: string;
  readonly verifierKey: string;
  readonly #range = new CompactRange();
  readonly #nodes = new Map<number, Uint8Array>();
  readonly #segments: [string, number][] = [];

  constructor(origin = "chaoscore.test/log", keys = generateNoteKey(origin)) {
    this.origin = origin;
    this.signerKey = keys.signerKey;
    this.verifierKey = keys.verifierKey;
  }

  get size(): number {
    return this.#range.size;
  }

  /** Appends `n` leaves whose data is `${tag}:${index}`. */
  append(n: number, tag = "leaf"): this {
    this.#segments.push([tag, n]);
    for (let i = 0; i < n; i++) {
      const index = this.#range.size;
      for (const node of this.#range.append(leafHash(utf8(`${tag}:${index}`)))) {
        this.#nodes.set(node.level * 2 ** 40 + node.index, node.hash);
      }
    }
    return this;
  }

  /** A copy of this log (same key, same leaves so far), to fork it. */
  fork(): MemoryLog {
    const copy = new MemoryLog(this.origin, {
      signerKey: this.signerKey,
      verifierKey: this.verifierKey,
    });
    for (const [tag, n] of this.#segments) copy.append(n, tag);
    return copy;
  }

  root(): Uint8Array {
    return this.#range.root();
  }

  /** The signed checkpoint of the current tree. */
  checkpoint(): string {
    return signCheckpoint(
      { origin: this.origin, size: this.size, rootHash: this.root(), extensions: [] },
      this.signerKey,
    );
  }

  /** The consistency proof from `from` to the current size (empty from 0). */
  proof(from: number): Uint8Array[] {
    if (from === 0) return [];
    return resolveProof(consistencyProofPlan(from, this.size), (l, i) =>
      this.#nodes.get(l * 2 ** 40 + i),
    );
  }
}
