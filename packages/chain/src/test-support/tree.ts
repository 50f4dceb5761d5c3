/** An in-memory RFC 9162 tree built with core's merkle functions, for proofs in tests and benches. */
import { CompactRange, consistencyProofPlan, leafHash, resolveProof, utf8 } from "@chaoscore/core";

export class MemoryTree {
  readonly #range = new CompactRange();
  readonly #nodes = new Map<string, Uint8Array>();
  readonly #roots: Uint8Array[] = [];

  get size(): number {
    return this.#range.size;
  }

  /** Appends `count` leaves (`${tag} ${i}`). */
  append(count: number, tag = "leaf"): void {
    for (let i = 0; i < count; i++) {
      for (const node of this.#range.append(leafHash(utf8(`${tag} ${this.size}`)))) {
        this.#nodes.set(`${node.level}/${node.index}`, node.hash);
      }
      this.#roots.push(this.#range.root());
    }
  }

  /** The root of the tree of the first `size` leaves. */
  root(size: number): Uint8Array {
    const r = this.#roots[size - 1];
    if (r === undefined) throw new Error(`no root for size ${size}`);
    return r;
  }

  /** The consistency proof from `size1` to `size2`. */
  consistency(size1: number, size2: number): Uint8Array[] {
    return resolveProof(consistencyProofPlan(size1, size2), (l, i) => this.#nodes.get(`${l}/${i}`));
  }
}
