/**
 * The part of hash-wasm that @chaoscore/core uses (createKeccak(256),
 * createSHA256), on @noble/hashes, for browsers: core's package.json maps
 * `hash-wasm` here in its `browser` field, so any bundler that honours it
 * (esbuild, webpack, Rollup's node-resolve, Vite) ships pure JavaScript
 * hashes — smaller, and allowed under a Content-Security-Policy without
 * 'wasm-unsafe-eval' (the explorer's). Same digests.
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

type Data = Uint8Array | string;
type Hash = { update(data: Uint8Array): unknown; digest(): Uint8Array };

/** The subset of hash-wasm's IHasher that core calls. */
export type Hasher = {
  init(): Hasher;
  update(data: Data): Hasher;
  digest(encoding: "binary"): Uint8Array;
};

const encoder = new TextEncoder();

function hasher(create: () => Hash): Hasher {
  let state = create();
  const self: Hasher = {
    init() {
      state = create();
      return self;
    },
    update(data) {
      state.update(typeof data === "string" ? encoder.encode(data) : data);
      return self;
    },
    digest(encoding) {
      if (encoding !== "binary") throw new Error(`hash-wasm shim: unsupported digest ${encoding}`);
      return state.digest();
    },
  };
  return self;
}

/** Keccak (Ethereum's, not SHA-3): only 256 bits. */
export async function createKeccak(bits = 512): Promise<Hasher> {
  if (bits !== 256) throw new Error(`hash-wasm shim: keccak-${bits} is not provided`);
  return hasher(() => keccak_256.create());
}

/** SHA-256. */
export async function createSHA256(): Promise<Hasher> {
  return hasher(() => sha256.create());
}
