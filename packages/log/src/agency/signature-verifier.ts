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
import { engineSecp256k1, type Secp256k1Choice } from "./native-secp256k1.js";

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
  /**
   * Where the verifier has threads of its own: an entry's canonical bytes,
   * digest and signer computed there, from the entry's canonical JSON text
   * (`canonicalEntryText` of an entry that passed `parseEntry`). Null when it was not
   * prepared there for any reason (a bad signature included): the caller then
   * computes it itself, which gives the error.
   */
  prepareEntry?(text: string): Promise<PreparedEntry | null>;
  close(): Promise<void>;
}

/** An entry prepared by {@link SignatureVerifier.prepareEntry}: what `encodeEntry`, `leafHash` of that, `entryDigest` and the recovery give. */
export type PreparedEntry = {
  bytes: Uint8Array;
  leafHash: Uint8Array;
  digest: Uint8Array;
  signer: Address;
};

const invalid = () =>
  new ChaosCoreError("SIGNATURE_INVALID", "signature does not recover a public key");

/**
 * Recovers on the calling thread with libsecp256k1: the native binding when
 * it loads, else WebAssembly (see `engineSecp256k1`).
 */
export class InlineSignatureVerifier implements SignatureVerifier {
  private readonly recovery = engineSecp256k1().recovery;

  async recover(digest: Uint8Array, signature: Hex): Promise<Address> {
    const { compact, recovery } = parseSignature(signature);
    const pub =
      digest.length === 32 ? this.recovery.recoverPublicKey(digest, compact, recovery) : null;
    if (pub === null) throw invalid();
    return bytesToHex(keccak256(pub.subarray(1)).subarray(12));
  }
  async close(): Promise<void> {}
}

type Pending = {
  digest: Uint8Array;
  sig: Uint8Array;
  resolve: (a: Address) => void;
  reject: (e: unknown) => void;
};

type EntryPending = {
  text: string;
  resolve: (p: PreparedEntry | null) => void;
  reject: (e: unknown) => void;
};

type Chunk =
  | { entries?: undefined; part: Pending[]; attempts: number }
  | { entries: true; part: EntryPending[]; attempts: number };

/** What a worker says once it has loaded entry-prep (or failed to): whether it prepares entries. */
type Ready = { ready: true; prepares: boolean };

/** A worker's answer: signers, and for an entries message the entries' digests and bytes. */
type Answer = {
  ready?: undefined;
  id: number;
  addresses?: Uint8Array;
  ok: Uint8Array;
  digests?: Uint8Array;
  bytes?: Uint8Array;
  leaves?: Uint8Array;
  ends?: Uint32Array;
  /** The worker cannot load entry-prep: it prepares no entry (every ok is 0). */
  unprepared?: boolean;
};

type Slot = {
  worker: Worker;
  inflight: Map<number, Chunk>;
  /** Settles when the worker has loaded entry-prep, or has died. */
  ready: Promise<void>;
  /** Until then the worker keeps the process alive, so that `ready()` cannot strand the caller. */
  loading: boolean;
};

/** Options of {@link WorkerSignatureVerifier}. */
export type WorkerSignatureVerifierOptions = {
  /** Most signatures per message to a worker; default 256 (see {@link chunkSize}). */
  chunk?: number;
  /** Which libsecp256k1 the workers load; default: the engine's choice (native if it loads). */
  backend?: Secp256k1Choice;
  /** Times a chunk is sent again after its worker died; default 1 (a chunk that kills two workers fails). */
  retries?: number;
  /** The worker script (fault-injection tests wrap the real one); default `recover-worker.mjs`. */
  workerUrl?: URL;
  /**
   * Whether {@link WorkerSignatureVerifier.prepareEntry} hands entries to the
   * workers (default true); false: it answers null, the caller prepares them.
   */
  prepareEntries?: boolean;
  /**
   * How many nice levels below the thread that creates the pool its workers
   * run (Linux, where a thread has its own priority; ignored elsewhere); default
   * 10, 0 for equal. The writer on that thread is the serial part of ingest:
   * when a worker took its core, every batch waited (on two cores, +14% actions/s
   * at 10; docs/benchmarks.md). Workers still get every idle cycle.
   */
  nice?: number;
};

/** The fewest signatures a flush puts in one message when it splits itself. */
export const MIN_CHUNK = 32;

/**
 * Signatures per message when `n` are sent at once to `workers` workers:
 * enough messages for two per worker (of at least {@link MIN_CHUNK}, at most
 * `max`), so that the first answers come back while the rest are recovered
 * and the group-commit writer commits them meanwhile. One message for the
 * 128 entries of 128 callers in process put recovery and the transaction in
 * series (docs/benchmarks.md, issue 14).
 */
export function chunkSize(n: number, max: number, workers: number): number {
  return Math.min(max, Math.max(MIN_CHUNK, Math.ceil(n / (2 * Math.max(1, workers)))));
}

/**
 * Recovers on a pool of worker threads. Requests are gathered for one turn of
 * the event loop and sent in chunks ({@link chunkSize}), so the per-message
 * cost is shared by many signatures. A worker that dies (crash, out of memory, terminated) is
 * replaced; the chunks it held are sent again once, then fail with
 * AGENCY_VERIFIER_UNAVAILABLE, so no caller waits for ever.
 */
export class WorkerSignatureVerifier implements SignatureVerifier {
  private readonly slots: Slot[];
  private queue: Pending[] = [];
  private entryQueue: EntryPending[] = [];
  /** Cleared when a worker cannot load entry-prep (then said once on stderr). */
  private prepareEntries: boolean;
  private scheduled = false;
  private nextId = 0;
  private nextWorker = 0;
  private closed = false;
  private readonly chunk: number;
  private readonly backend: Secp256k1Choice;
  private readonly retries: number;
  private readonly workerUrl: URL;
  private readonly nice: number;
  /** Chunks sent again because their worker died. */
  resent = 0;
  /** Workers replaced after they died (for metrics and tests). */
  restarts = 0;
  /** Deaths since a worker last answered: a worker that cannot start at all stops the respawning. */
  private deathsInARow = 0;
  /** Set when workers keep dying without answering: the pool then recovers inline. */
  private inline: InlineSignatureVerifier | null = null;

  constructor(threads: number, options: WorkerSignatureVerifierOptions | number = {}) {
    const o = typeof options === "number" ? { chunk: options } : options;
    this.chunk = o.chunk ?? 256;
    this.backend = o.backend ?? (engineSecp256k1().native ? "native" : "wasm");
    this.retries = o.retries ?? 1;
    this.workerUrl = o.workerUrl ?? new URL("./recover-worker.mjs", import.meta.url);
    this.prepareEntries = o.prepareEntries ?? true;
    this.nice = o.nice ?? 10;
    this.slots = Array.from({ length: Math.max(1, threads) }, () => this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(this.workerUrl, {
      workerData: { backend: this.backend, nice: this.nice },
    });
    let loaded = () => {};
    const slot: Slot = {
      worker,
      inflight: new Map(),
      ready: new Promise((resolve) => {
        loaded = resolve;
      }),
      loading: true,
    };
    const done = () => {
      slot.loading = false;
      if (slot.inflight.size === 0) worker.unref();
      loaded();
    };
    worker.on("message", (m: Answer | Ready) => {
      if (m.ready === true) {
        if (!m.prepares) this.stopPreparing();
        done();
      } else this.settle(slot, m);
    });
    // An uncaught error is followed by 'exit': the exit handler does the work.
    worker.on("error", () => {});
    worker.on("exit", () => {
      loaded();
      this.replace(slot);
    });
    // Idle and loaded, a worker does not keep the process alive; loading, or
    // with a chunk in flight, it does (`send` refs it, `settle` unrefs it once
    // it answered them all): else a process awaiting only a signature would
    // exit (code 13) with the answer on its way.
    return slot;
  }

  /**
   * Settles once every worker has loaded what it prepares entries with
   * (`recover-worker.mjs` starts on it as the thread starts: ≈ 0.3 s of CPU
   * from the TypeScript sources), or has died; never rejects. Entries sent
   * before that wait for it in the worker, so awaiting this is optional: a
   * server does before it takes traffic, so that its first requests do not
   * pay for the loading (`createEngine` does).
   */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** A worker cannot load entry-prep: the main thread prepares every entry from now on (said once). */
  private stopPreparing(): void {
    if (!this.prepareEntries) return;
    this.prepareEntries = false;
    process.stderr.write(
      "chaoscore: the signature workers cannot load entry-prep; the main thread prepares each entry (canonical bytes, EIP-712 digest) from now on\n",
    );
  }

  /** The worker of `slot` is gone: start another, and resend or fail its chunks. */
  private replace(slot: Slot): void {
    const index = this.slots.indexOf(slot);
    const orphans = [...slot.inflight.values()];
    slot.inflight.clear();
    if (this.closed || index === -1) {
      for (const c of orphans) for (const p of c.part) p.reject(this.failure("closed"));
      return;
    }
    this.restarts++;
    if (++this.deathsInARow > 3 * this.slots.length) {
      // Workers die before answering anything (a broken install?): recover on this thread.
      if (this.inline === null) {
        process.stderr.write(
          "chaoscore: signature workers keep dying; recovering signatures on the main thread\n",
        );
        this.inline = new InlineSignatureVerifier();
      }
      const inline = this.inline;
      this.slots.splice(index, 1);
      for (const c of orphans) {
        if (c.entries) for (const p of c.part) p.resolve(null);
        else
          for (const p of c.part)
            inline.recover(p.digest, bytesToHex(p.sig)).then(p.resolve, p.reject);
      }
      return;
    }
    this.slots[index] = this.spawn();
    for (const c of orphans) {
      if (c.attempts > this.retries) {
        for (const p of c.part) p.reject(this.failure("a signature worker died twice on it"));
      } else {
        this.resent++;
        this.send(c);
      }
    }
  }

  private failure(why: string): ChaosCoreError {
    return new ChaosCoreError("AGENCY_VERIFIER_UNAVAILABLE", `signature recovery failed: ${why}`);
  }

  /** The live workers' thread ids (for tests that kill one). */
  get threadIds(): number[] {
    return this.slots.map((s) => s.worker.threadId);
  }

  /** Terminates worker `i` as a crash would (for tests and fault injection). */
  async killWorker(i: number): Promise<void> {
    await this.slots[i]?.worker.terminate();
  }

  recover(digest: Uint8Array, signature: Hex): Promise<Address> {
    let sig: Uint8Array;
    try {
      parseSignature(signature);
      sig = hexToBytes(signature, 65);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(this.failure("closed"));
    if (this.inline !== null) return this.inline.recover(digest, signature);
    if (digest.length !== 32) return Promise.reject(invalid());
    return new Promise((resolve, reject) => {
      this.queue.push({ digest, sig, resolve, reject });
      this.schedule();
    });
  }

  prepareEntry(text: string): Promise<PreparedEntry | null> {
    if (this.closed) return Promise.reject(this.failure("closed"));
    if (this.inline !== null || !this.prepareEntries) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.entryQueue.push({ text, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    const entries = this.entryQueue;
    this.queue = [];
    this.entryQueue = [];
    if (this.closed) {
      for (const p of queue) p.reject(this.failure("closed"));
      for (const p of entries) p.reject(this.failure("closed"));
      return;
    }
    if (this.inline !== null) {
      const inline = this.inline;
      for (const p of queue) inline.recover(p.digest, bytesToHex(p.sig)).then(p.resolve, p.reject);
      for (const p of entries) p.resolve(null);
      return;
    }
    const workers = this.slots.length;
    const size = chunkSize(queue.length, this.chunk, workers);
    for (let start = 0; start < queue.length; start += size) {
      this.send({ part: queue.slice(start, start + size), attempts: 0 });
    }
    const entrySize = chunkSize(entries.length, this.chunk, workers);
    for (let start = 0; start < entries.length; start += entrySize) {
      this.send({ entries: true, part: entries.slice(start, start + entrySize), attempts: 0 });
    }
  }

  private send(c: Chunk): void {
    c.attempts++;
    const id = this.nextId++;
    const slot = this.slots[this.nextWorker++ % this.slots.length];
    if (slot === undefined) {
      for (const p of c.part) p.reject(this.failure("no signature worker is running"));
      return;
    }
    if (slot.inflight.size === 0) slot.worker.ref();
    slot.inflight.set(id, c);
    if (c.entries) {
      slot.worker.postMessage({ id, entries: c.part.map((p) => p.text) });
      return;
    }
    const { part } = c;
    const digests = new Uint8Array(32 * part.length);
    const sigs = new Uint8Array(65 * part.length);
    part.forEach((p, i) => {
      digests.set(p.digest, 32 * i);
      sigs.set(p.sig, 65 * i);
    });
    slot.worker.postMessage({ id, digests, sigs }, [digests.buffer, sigs.buffer]);
  }

  private settle(slot: Slot, m: Answer) {
    const c = slot.inflight.get(m.id);
    if (c === undefined) return;
    this.deathsInARow = 0;
    slot.inflight.delete(m.id);
    if (slot.inflight.size === 0 && !slot.loading) slot.worker.unref();
    const { addresses, digests, bytes, leaves, ends, ok } = m;
    if (m.unprepared === true) this.stopPreparing();
    if (c.entries) {
      c.part.forEach((p, i) => {
        if (ok[i] !== 1 || !addresses || !digests || !bytes || !leaves || !ends) {
          p.resolve(null);
          return;
        }
        p.resolve({
          bytes: bytes.subarray(i === 0 ? 0 : ends[i - 1], ends[i]),
          leafHash: leaves.subarray(32 * i, 32 * i + 32),
          digest: digests.subarray(32 * i, 32 * i + 32),
          signer: bytesToHex(addresses.subarray(20 * i, 20 * i + 20)),
        });
      });
      return;
    }
    c.part.forEach((p, i) => {
      if (ok[i] === 1 && addresses !== undefined) {
        p.resolve(bytesToHex(addresses.subarray(20 * i, 20 * i + 20)));
      } else p.reject(invalid());
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
