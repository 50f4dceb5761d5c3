import { base64ToBytes, equalBytes } from "./hex.js";
import { hashChildren } from "./merkle/tree.js";

/**
 * What the inclusion proofs of one receipt share. The action's and the
 * outcome's paths in one tree meet below the root (at the first level when
 * the outcome followed the action, as it mostly does): from there on both
 * hash the same pairs of nodes, and their proofs carry the same base64 texts.
 * A pure memo for the length of one `verifyReceipt`: every answer is what
 * `base64ToBytes` or `hashChildren` returns for the same input, so a receipt
 * verifies, or fails with the same code, as without it.
 */
export class ReceiptProofMemo {
  readonly #texts: string[] = [];
  readonly #decoded: Uint8Array[] = [];
  /** (left, right, hash) triples, in the order they were hashed. */
  readonly #nodes: Uint8Array[] = [];

  /** `base64ToBytes(text)`, decoded once per receipt. @throws as base64ToBytes. */
  decode(text: string): Uint8Array {
    const i = this.#texts.indexOf(text);
    if (i >= 0) return this.#decoded[i] as Uint8Array;
    const bytes = base64ToBytes(text);
    this.#texts.push(text);
    this.#decoded.push(bytes);
    return bytes;
  }

  /** `hashChildren(left, right)`, hashed once per receipt. */
  node(left: Uint8Array, right: Uint8Array): Uint8Array {
    const nodes = this.#nodes;
    for (let i = 0; i < nodes.length; i += 3) {
      if (same(nodes[i] as Uint8Array, left) && same(nodes[i + 1] as Uint8Array, right)) {
        return nodes[i + 2] as Uint8Array;
      }
    }
    const hash = hashChildren(left, right);
    nodes.push(left, right, hash);
    return hash;
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || equalBytes(a, b);
}
