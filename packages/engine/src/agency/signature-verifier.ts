import { Worker } from "node:worker_threads";
import {
  type Address,
  bytesToHex,
  ChaosCoreError,
  type Hex,
  hexToBytes,
  keccak256,
  parseSignature,
} from "@chaoscore/core";
import { recover } from "tiny-secp256k1";

/**
 * Recovers the signer address of an Ethereum signature over a 32-byte digest.
 * The engine verifies every action through this port, so ingest can move
 * signature work off the main thread (see `WorkerSignatureVerifier`).
 */
export interface SignatureVerifier {
  /**
   * @throws ChaosCoreError SIGNATURE_MALFORMED for a non-canonical signature,
   * SIGNATURE_INVALID when no key recovers.
   */
  recover(digest: Uint8Array, signature: Hex): Promise<Address>;
  close(): Promise<void>;
}

function recoverSync(digest: Uint8Array, signature: Hex): Address {
  const { compact, recovery } = parseSignature(signature);
  let pub: Uint8Array | null = null;
  try {
    pub = recover(digest, compact, recovery, false);
  } catch {
    pub = null;
  }
  if (pub === null) {
    throw new ChaosCoreError("SIGNATURE_INVALID", "signature does not recover a public key");
  }
  return bytesToHex(keccak256(pub.subarray(1)).subarray(12));
}

/** Recovers on the calling thread with libsecp256k1 (WebAssembly). */
export class InlineSignatureVerifier implements SignatureVerifier {
  async recover(digest: Uint8Array, signature: Hex): Promise<Address> {
    return recoverSync(digest, signature);
  }
  async close(): Promise<void> {}
}

type Pending = {
  digest: Uint8Array;
  sig: Uint8Array;
  resolve: (a: Address) => void;
  reject: (e: unknown) => void;
};

/**
 * Recovers on a pool of worker threads. Requests are gathered for one turn of
 * the event loop and sent in chunks, so the per-message cost is shared by
 * many signatures.
 */
export class WorkerSignatureVerifier implements SignatureVerifier {
  private readonly workers: Worker[];
  private readonly inflight = new Map<number, Pending[]>();
  private queue: Pending[] = [];
  private scheduled = false;
  private nextId = 0;
  private nextWorker = 0;

  constructor(
    threads: number,
    private readonly chunk = 256,
  ) {
    const url = new URL("./recover-worker.mjs", import.meta.url);
    this.workers = Array.from({ length: Math.max(1, threads) }, () => {
      const w = new Worker(url);
      w.on("message", (m: { id: number; addresses: Uint8Array; ok: Uint8Array }) => this.settle(m));
      w.on("error", (error) => this.failAll(error));
      w.unref();
      return w;
    });
  }

  recover(digest: Uint8Array, signature: Hex): Promise<Address> {
    let sig: Uint8Array;
    try {
      parseSignature(signature);
      sig = hexToBytes(signature, 65);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ digest, sig, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    for (let start = 0; start < queue.length; start += this.chunk) {
      const part = queue.slice(start, start + this.chunk);
      const digests = new Uint8Array(32 * part.length);
      const sigs = new Uint8Array(65 * part.length);
      part.forEach((p, i) => {
        digests.set(p.digest, 32 * i);
        sigs.set(p.sig, 65 * i);
      });
      const id = this.nextId++;
      this.inflight.set(id, part);
      const worker = this.workers[this.nextWorker++ % this.workers.length] as Worker;
      worker.postMessage({ id, digests, sigs }, [digests.buffer, sigs.buffer]);
    }
  }

  private settle({ id, addresses, ok }: { id: number; addresses: Uint8Array; ok: Uint8Array }) {
    const part = this.inflight.get(id);
    if (part === undefined) return;
    this.inflight.delete(id);
    part.forEach((p, i) => {
      if (ok[i] === 1) p.resolve(bytesToHex(addresses.subarray(20 * i, 20 * i + 20)));
      else
        p.reject(
          new ChaosCoreError("SIGNATURE_INVALID", "signature does not recover a public key"),
        );
    });
  }

  private failAll(error: unknown): void {
    for (const part of this.inflight.values()) for (const p of part) p.reject(error);
    this.inflight.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
