// Worker thread of the signature pool: recovers Ethereum signer addresses with
// libsecp256k1: the native binding of the npm package `secp256k1` when
// workerData.backend is "native" and it loads, else libsecp256k1 compiled to
// WebAssembly (tiny-secp256k1). Plain JavaScript on purpose, so that it runs
// without a TypeScript loader. Protocol: receives
// { id, digests: Uint8Array(32n), sigs: Uint8Array(65n) } (signatures already
// checked canonical by the caller) and answers
// { id, addresses: Uint8Array(20n), ok: Uint8Array(n) }.
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";
import { createKeccak } from "hash-wasm";
import { recover as wasmRecover } from "tiny-secp256k1";

function loadRecover() {
  if (workerData?.backend === "native") {
    try {
      const native = createRequire(import.meta.url)("secp256k1/bindings");
      const out = new Uint8Array(65);
      return (digest, compact, recid) => {
        try {
          return native.ecdsaRecover(compact, recid, digest, false, out);
        } catch {
          return null;
        }
      };
    } catch {
      // The main thread loaded it; if this thread cannot, WebAssembly still answers the same.
    }
  }
  return (digest, compact, recid) => {
    try {
      return wasmRecover(digest, compact, recid, false);
    } catch {
      return null;
    }
  };
}

const recover = loadRecover();
const keccak = await createKeccak(256);

parentPort.on("message", ({ id, digests, sigs }) => {
  const n = digests.length / 32;
  const addresses = new Uint8Array(20 * n);
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const pub = recover(
      digests.subarray(32 * i, 32 * i + 32),
      sigs.subarray(65 * i, 65 * i + 64),
      sigs[65 * i + 64] - 27,
    );
    if (pub !== null) {
      keccak.init();
      keccak.update(pub.subarray(1));
      addresses.set(keccak.digest("binary").subarray(12), 20 * i);
      ok[i] = 1;
    }
  }
  parentPort.postMessage({ id, addresses, ok }, [addresses.buffer, ok.buffer]);
});
