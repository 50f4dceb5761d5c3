// Worker thread of the signature pool: recovers Ethereum signer addresses with
// libsecp256k1 (tiny-secp256k1, WebAssembly). Plain JavaScript on purpose, so
// that it runs without a TypeScript loader. Protocol: receives
// { id, digests: Uint8Array(32n), sigs: Uint8Array(65n) } and answers
// { id, addresses: Uint8Array(20n), ok: Uint8Array(n) }.
import { parentPort } from "node:worker_threads";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { recover } from "tiny-secp256k1";

parentPort.on("message", ({ id, digests, sigs }) => {
  const n = digests.length / 32;
  const addresses = new Uint8Array(20 * n);
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const sig = sigs.subarray(65 * i, 65 * i + 64);
    const v = sigs[65 * i + 64];
    let pub = null;
    try {
      pub = recover(digests.subarray(32 * i, 32 * i + 32), sig, v - 27, false);
    } catch {
      pub = null;
    }
    if (pub !== null) {
      addresses.set(keccak_256(pub.subarray(1)).subarray(12), 20 * i);
      ok[i] = 1;
    }
  }
  parentPort.postMessage({ id, addresses, ok }, [addresses.buffer, ok.buffer]);
});
