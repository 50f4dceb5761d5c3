import { Worker } from "node:worker_threads";
import { ChaosCoreError, type ErrorCode, type ExecutionLimits } from "@chaoscore/core";

/** One run handed to a sandbox worker (see sandbox-worker.mjs for the protocol). */
export type WorkerJob = {
  code: string;
  inputText: string;
  clock: number;
  seedWords: [number, number, number, number];
  limits: ExecutionLimits;
};

/** What the worker measured about a run. */
export type RunStats = {
  durationMs: number;
  /** Gas the run used (deterministic: the same code and input use the same gas). */
  gasUsed: number;
  /** Size of the run's WebAssembly memory at its end (the engine image included). */
  memoryBytes: number;
  /** Calls of QuickJS's interrupt handler (it checks the wall clock only). */
  interrupts: number;
};

/** A worker's answer. */
export type WorkerAnswer = {
  id: number;
  ok: boolean;
  outputText?: string;
  code?: ErrorCode;
  message?: string;
  details?: Record<string, unknown>;
  logs: string[];
  stats: RunStats;
};

/** Options of {@link SandboxWorkerPool}. */
export type WorkerPoolOptions = {
  /** Worker threads that run jobs side by side (each runs one job at a time). */
  size: number;
  /** How long past `timeoutMs` a run may take before its worker is terminated. */
  backstopGraceMs: number;
  /** A worker whose last run's memory ended above this many bytes is replaced. */
  recycleAboveBytes: number;
};

type Waiting = {
  job: WorkerJob;
  resolve: (a: WorkerAnswer) => void;
  reject: (e: unknown) => void;
};
type Slot = { worker: Worker | undefined; busy: boolean };

const WORKER_STACK_MB = 64;

/**
 * A small pool of sandbox worker threads. Jobs queue in order and go to the
 * first idle worker. A worker is terminated and replaced when a run passes
 * its wall-clock backstop, when it crashes, and after a run that grew its
 * memory past `recycleAboveBytes` (V8 does not hand a worker's freed
 * WebAssembly memory back promptly; a new thread does).
 */
export class SandboxWorkerPool {
  private readonly slots: Slot[];
  private readonly waiting: Waiting[] = [];
  private nextId = 1;
  /** Workers replaced so far (for tests and metrics). */
  recycled = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    this.slots = Array.from({ length: options.size }, () => ({ worker: undefined, busy: false }));
  }

  /** Runs `job` on the next idle worker. */
  run(job: WorkerJob): Promise<WorkerAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates every worker; new ones start on demand. */
  async close(): Promise<void> {
    const workers = this.slots.flatMap((s) => (s.worker === undefined ? [] : [s.worker]));
    for (const slot of this.slots) slot.worker = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.waiting.shift();
      if (next === undefined) return;
      this.start(slot, next);
    }
  }

  private retire(slot: Slot, worker: Worker): void {
    if (slot.worker === worker) {
      slot.worker = undefined;
      this.recycled++;
    }
    void worker.terminate();
  }

  private start(slot: Slot, item: Waiting): void {
    slot.busy = true;
    slot.worker ??= new Worker(new URL("./sandbox-worker.mjs", import.meta.url), {
      resourceLimits: { stackSizeMb: WORKER_STACK_MB },
    });
    const worker = slot.worker;
    worker.unref();
    const id = this.nextId++;
    let settled = false;
    const finish = (after: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onFailure);
      worker.off("exit", onFailure);
      slot.busy = false;
      after();
      this.dispatch();
    };
    const onMessage = (answer: WorkerAnswer) => {
      if (answer.id !== id) return;
      finish(() => {
        if (answer.stats.memoryBytes > this.options.recycleAboveBytes) this.retire(slot, worker);
        item.resolve(answer);
      });
    };
    const onFailure = (cause: unknown) => {
      finish(() => {
        this.retire(slot, worker);
        item.reject(
          new ChaosCoreError("EXECUTION_SANDBOX_FAILURE", "the sandbox worker stopped", { cause }),
        );
      });
    };
    const timer = setTimeout(() => {
      // Neither the gas meter nor the interrupt handler stopped the run: kill the worker.
      finish(() => {
        this.retire(slot, worker);
        item.reject(
          new ChaosCoreError("EXECUTION_TIMEOUT", "the run exceeded its wall-clock time limit", {
            details: { timeoutMs: item.job.limits.timeoutMs, backstop: true },
          }),
        );
      });
    }, item.job.limits.timeoutMs + this.options.backstopGraceMs);
    worker.on("message", onMessage);
    worker.on("error", onFailure);
    worker.on("exit", onFailure);
    worker.postMessage({ id, ...item.job });
  }
}
