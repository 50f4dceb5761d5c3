import { type ErrorCode, isChaosCoreError } from "../../errors.js";
import { utf8 } from "../../hash.js";
import { bytesToHex, hexToBytes } from "../../hex.js";
import { CompactRange, leafHash, type NodeLookup, rootFromLeafHashes } from "../../merkle.js";

// Property runs grow in CI (as in OpenZeppelin merkle-tree's core.test.ts).
export const numRuns = process.env.CI ? 400 : 40;

export const h = (hex: string): Uint8Array => hexToBytes(`0x${hex}`);
export const hx = (bytes: Uint8Array): string => bytesToHex(bytes).slice(2);

/** Runs `fn` and returns the ChaosCoreError code it throws (fails on success or on another error type). */
export function codeOf(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (e) {
    if (isChaosCoreError(e)) return e.code;
    throw new Error(`expected a ChaosCoreError, got ${String(e)}`);
  }
  throw new Error("expected a ChaosCoreError, but the call succeeded");
}

// ---- the RFC 6962 reference tree (transparency-dev/merkle proof/verify_test.go) ----------------

export const REF_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map((d) => leafHash(h(d)));

/** Root of the first i+1 reference leaves. */
export const REF_ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

export const REF_INCLUSION: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    index: 2,
    size: 3,
    proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
  },
  {
    index: 1,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];

export const REF_CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

// ---- helpers: a store of complete subtrees, and an RFC 9162 reference prover -----------------

export type Tree = {
  leaves: Uint8Array[];
  /** roots[m] = root of the first m leaves, from the compact range. */
  roots: Uint8Array[];
  store: Map<string, Uint8Array>;
  lookup: NodeLookup;
};

export function buildTree(leaves: Uint8Array[]): Tree {
  const store = new Map<string, Uint8Array>();
  const range = new CompactRange();
  const roots = [range.root()];
  for (const leaf of leaves) {
    for (const node of range.append(leaf)) store.set(`${node.level}/${node.index}`, node.hash);
    roots.push(range.root());
  }
  return { leaves, roots, store, lookup: (level, index) => store.get(`${level}/${index}`) };
}

export function makeLeaves(n: number, seed = 0): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => leafHash(utf8(`leaf ${seed}/${i}`)));
}

export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** PATH(m, D[n]) straight from RFC 9162 §2.1.3.1, on the full leaf list. */
export function referencePath(m: number, leaves: Uint8Array[]): Uint8Array[] {
  const n = leaves.length;
  if (n <= 1) return [];
  const k = largestPowerOfTwoBelow(n);
  return m < k
    ? [...referencePath(m, leaves.slice(0, k)), rootFromLeafHashes(leaves.slice(k))]
    : [...referencePath(m - k, leaves.slice(k)), rootFromLeafHashes(leaves.slice(0, k))];
}

/** SUBPROOF(m, D[n], b) straight from RFC 9162 §2.1.4.1. */
export function referenceSubproof(m: number, leaves: Uint8Array[], b: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [rootFromLeafHashes(leaves)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k
    ? [...referenceSubproof(m, leaves.slice(0, k), b), rootFromLeafHashes(leaves.slice(k))]
    : [...referenceSubproof(m - k, leaves.slice(k), false), rootFromLeafHashes(leaves.slice(0, k))];
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}
