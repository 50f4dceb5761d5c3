// Worker thread of the signature pool: recovers Ethereum signer addresses with
// libsecp256k1: the native binding of the npm package `secp256k1` when
// workerData.backend is "native" and it loads, else libsecp256k1 compiled to
// WebAssembly (tiny-secp256k1); below the writer's priority by workerData.nice
// (see signature-verifier.ts). Plain JavaScript on purpose, so that it runs
// without a TypeScript loader. Protocol: receives
// { id, digests: Uint8Array(32n), sigs: Uint8Array(65n) } (signatures already
// checked canonical by the caller) and answers
// { id, addresses: Uint8Array(20n), ok: Uint8Array(n) }; or receives
// { id, entries: string[] } (entries as canonical JSON text) and answers, with
// entry-prep (compiled beside this file in a packed release, else the
// TypeScript source through tsx; loaded as the thread starts), each entry's
// digest, canonical bytes and their leaf hash beside its signer:
// { id, addresses, ok, digests: Uint8Array(32n), bytes, leaves: Uint8Array(32n), ends: Uint32Array(n) }
// (ok[i] is 0 where anything failed; when entry-prep cannot load, every ok[i]
// is 0 and the answer says `unprepared: true`). entry-prep starts loading when
// the thread starts (from the sources, through tsx, that takes ≈ 0.3 s of CPU),
// and the thread says so once it is done: { ready: true, prepares: boolean }.
import { readlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { getPriority, setPriority } from "node:os";
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

// workerData.nice: how far below the thread that started it this thread runs.
// On Linux a thread has a nice value of its own (setpriority on its thread
// id); elsewhere, or when refused, the thread keeps the process's priority.
if (workerData?.nice > 0) {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    setPriority(tid, Math.min(19, getPriority(tid) + workerData.nice));
  } catch {
    // not Linux: same priority as the writer
  }
}

const recover = loadRecover();
const keccak = await createKeccak(256);

/** entry-prep.ts's prepareEntryTexts, or null when it cannot load here. */
let prepare;
const preparing = loadPrepare().then((loaded) => {
  prepare = loaded;
  parentPort.postMessage({ ready: true, prepares: loaded !== null });
});

async function loadPrepare() {
  try {
    // a packed release: compiled beside this file (docs/release.md)
    return (await import("./entry-prep.js")).prepareEntryTexts;
  } catch {
    // the sources: TypeScript, through tsx
  }
  try {
    const { register } = await import("tsx/esm/api");
    register();
    return (await import("./entry-prep.ts")).prepareEntryTexts;
  } catch {
    return null;
  }
}

/** Signer addresses of n digests and signatures; ok[i] is 1 where a key recovered. */
function recoverAll(digests, sigs, ok) {
  const n = digests.length / 32;
  const addresses = new Uint8Array(20 * n);
  for (let i = 0; i < n; i++) {
    if (ok[i] !== 1) continue;
    const pub = recover(
      digests.subarray(32 * i, 32 * i + 32),
      sigs.subarray(65 * i, 65 * i + 64),
      sigs[65 * i + 64] - 27,
    );
    if (pub === null) {
      ok[i] = 0;
      continue;
    }
    keccak.init();
    keccak.update(pub.subarray(1));
    addresses.set(keccak.digest("binary").subarray(12), 20 * i);
  }
  return addresses;
}

async function prepareEntries(id, entries) {
  await preparing;
  if (prepare === null) {
    // The pool stops sending entries: the main thread prepares them from now on.
    const ok = new Uint8Array(entries.length);
    parentPort.postMessage({ id, ok, unprepared: true }, [ok.buffer]);
    return;
  }
  const { digests, sigs, bytes, leaves, ends, ok } = prepare(entries);
  const addresses = recoverAll(digests, sigs, ok);
  parentPort.postMessage({ id, addresses, ok, digests, bytes, leaves, ends }, [
    addresses.buffer,
    ok.buffer,
    digests.buffer,
    bytes.buffer,
    leaves.buffer,
    ends.buffer,
  ]);
}

// Messages are handled in order: an entries message waits for entry-prep to
// load, and the messages behind it wait for it.
let turn = Promise.resolve();
parentPort.on("message", (m) => {
  if (m.entries !== undefined) {
    turn = turn.then(() => prepareEntries(m.id, m.entries));
    return;
  }
  turn = turn.then(() => recoverDigests(m));
});

function recoverDigests({ id, digests, sigs }) {
  const ok = new Uint8Array(digests.length / 32).fill(1);
  const addresses = recoverAll(digests, sigs, ok);
  parentPort.postMessage({ id, addresses, ok }, [addresses.buffer, ok.buffer]);
}
