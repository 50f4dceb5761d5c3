/**
 * The log's side of C2SP tlog-witness: each checkpoint the writer publishes
 * is sent to the configured witnesses, concurrently, with retries and a time
 * limit; their verified cosignatures are stored with the checkpoint, so that
 * `/log/checkpoint` and receipts carry them. Publication never waits for a
 * witness: the checkpoint is served as soon as its batch commits, and each
 * cosignature is added when it arrives. A witness that is down costs only its
 * own cosignature; the next checkpoint (or the periodic retry) brings it up
 * to date. See docs/spec/witness.md.
 * @module
 */
import {
  bytesToBase64,
  ChaosCoreError,
  type ErrorCode,
  formatAddCheckpointRequest,
  parseTlogSize,
  parseWitnessVerifierKey,
  utf8,
  verifyCosignatures,
} from "@chaoscore/core";
import type { StoredCheckpoint, TransparencyLog } from "./transparency-log.js";

/** A witness the log submits its checkpoints to. */
export type WitnessEndpoint = {
  /** The witness's submission prefix: `<url>/add-checkpoint` is posted to. */
  readonly url: string;
  /** Its cosignature/v1 verifier key. */
  readonly verifierKey: string;
};

/** What became of one submission of one checkpoint to one witness. */
export type WitnessOutcome = {
  readonly url: string;
  /** `name+keyId` of the witness key. */
  readonly witness: string;
  readonly size: number;
  readonly status:
    | "cosigned" // a verified cosignature was stored
    | "superseded" // the witness holds a larger checkpoint already
    | "unavailable" // unreachable, 5xx or slow past the time limit (WITNESS_UNAVAILABLE)
    | "refused"; // a 4xx other than a resolvable 409: the witness disagrees with the log
  readonly detail?: string;
  readonly httpStatus?: number;
  /** The code of a failure: WITNESS_UNAVAILABLE, or the witness's refusal (by its HTTP status). */
  readonly code?: ErrorCode;
};

/** The code of each refusal status of C2SP tlog-witness. */
const REFUSALS: Record<number, ErrorCode> = {
  400: "WITNESS_REQUEST_MALFORMED",
  403: "WITNESS_SIGNATURE_INVALID",
  404: "WITNESS_UNKNOWN_LOG",
  409: "WITNESS_SIZE_CONFLICT",
  422: "WITNESS_PROOF_INVALID",
};

/** Options of {@link WitnessingService}. */
export type WitnessingOptions = {
  log: TransparencyLog;
  witnesses: readonly WitnessEndpoint[];
  /** Time limit for one checkpoint at one witness, retries included (default 5 s). */
  timeoutMs?: number;
  /** Time limit of one HTTP request (default 2 s). */
  requestTimeoutMs?: number;
  /** First retry delay, doubled per retry (default 100 ms). */
  retryDelayMs?: number;
  /** How often the latest checkpoint is re-offered to witnesses that lack it (default 10 s; 0: never). */
  intervalMs?: number;
  /** Receives each outcome (for logs and metrics). */
  onOutcome?: (outcome: WitnessOutcome) => void;
  /**
   * The log's shard certificate when `log` is shard n ≥ 1 of a family: sent
   * with every request (header `ChaosCore-Shard-Certificate`, base64), so that
   * a witness that follows the family key cosigns the shard (docs/spec/witness.md §3.1).
   */
  shardCertificate?: string;
  fetch?: typeof fetch;
};

/**
 * Parses a `--witness` value `<url>=<verifier key>`.
 * @throws ChaosCoreError COSIGNATURE_MALFORMED when the key does not parse;
 * INVALID_INPUT when the URL is not http(s).
 * @example
 * ```ts
 * parseWitnessEndpoint("http://127.0.0.1:8790=witness.example/w1+3f2a9c01+BM…");
 * ```
 */
export function parseWitnessEndpoint(value: string): WitnessEndpoint {
  const eq = value.indexOf("=");
  const url = eq < 0 ? "" : value.slice(0, eq).trim();
  const verifierKey = eq < 0 ? "" : value.slice(eq + 1).trim();
  if (!/^https?:\/\/[^\s]+$/.test(url)) {
    throw new ChaosCoreError("INVALID_INPUT", "a witness is <http(s) url>=<verifier key>", {
      details: { value: value.slice(0, 200) },
    });
  }
  parseWitnessVerifierKey(verifierKey);
  return { url: url.replace(/\/+$/, ""), verifierKey };
}

/** True when `line` is a valid cosignature of the checkpoint in `note` by `verifierKey`. */
function isCosignatureBy(note: string, line: string, verifierKey: string): boolean {
  try {
    const body = note.slice(0, note.indexOf("\n\n") + 1);
    return verifyCosignatures(`${body}\n${line}\n`, [verifierKey]).some((c) => c.verified);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One witness: what we know it holds, and one submission at a time. */
class WitnessLink {
  readonly id: string;
  /** The size of the checkpoint the witness holds, as far as we know (0: nothing known). */
  size = 0;
  #running: Promise<WitnessOutcome> | undefined;
  #next: StoredCheckpoint | undefined;
  #nextWaiters: ((o: WitnessOutcome) => void)[] = [];

  constructor(
    readonly endpoint: WitnessEndpoint,
    private readonly service: WitnessingService,
  ) {
    const key = parseWitnessVerifierKey(endpoint.verifierKey);
    this.id = `${key.name}+${key.keyId}`;
  }

  /** Submits `cp` (or a newer one queued meanwhile: only the newest waits its turn). */
  offer(cp: StoredCheckpoint): Promise<WitnessOutcome> {
    if (this.#running === undefined) return this.#start(cp);
    if (this.#next === undefined || this.#next.size < cp.size) this.#next = cp;
    return new Promise((resolve) => this.#nextWaiters.push(resolve));
  }

  #start(cp: StoredCheckpoint): Promise<WitnessOutcome> {
    const run = this.service.submit(this, cp).finally(() => {
      this.#running = undefined;
      const next = this.#next;
      const waiters = this.#nextWaiters;
      this.#next = undefined;
      this.#nextWaiters = [];
      if (next !== undefined) {
        void this.#start(next).then((o) => {
          for (const w of waiters) w(o);
        });
      }
    });
    this.#running = run;
    return run;
  }
}

/**
 * Sends checkpoints to witnesses and stores their cosignatures.
 * @example
 * ```ts
 * const witnessing = new WitnessingService({ log: engine.log, witnesses });
 * witnessing.start(); // follows the writer's checkpoints
 * ```
 */
export class WitnessingService {
  readonly #log: TransparencyLog;
  readonly #links: WitnessLink[];
  readonly #timeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #retryDelayMs: number;
  readonly #intervalMs: number;
  readonly #onOutcome: ((o: WitnessOutcome) => void) | undefined;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #inflight = new Set<Promise<unknown>>();
  /** Consistency proofs asked for by several witnesses at once are read once. */
  readonly #proofs = new Map<string, Promise<Uint8Array[]>>();
  #stopped = false;

  /** @throws ChaosCoreError COSIGNATURE_MALFORMED when a witness key is malformed. */
  constructor(options: WitnessingOptions) {
    this.#log = options.log;
    this.#links = options.witnesses.map((w) => new WitnessLink(w, this));
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.#retryDelayMs = options.retryDelayMs ?? 100;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#onOutcome = options.onOutcome;
    this.#fetch = options.fetch ?? fetch;
    this.#headers = {
      "content-type": "text/plain; charset=utf-8",
      ...(options.shardCertificate === undefined
        ? {}
        : {
            "chaoscore-shard-certificate": bytesToBase64(utf8(options.shardCertificate)),
          }),
    };
  }

  /** The configured witnesses. */
  get witnesses(): readonly WitnessEndpoint[] {
    return this.#links.map((l) => l.endpoint);
  }

  /**
   * Follows the writer: every checkpoint this process publishes is offered
   * to every witness, and the latest one is re-offered periodically to
   * witnesses whose cosignature of it is missing.
   */
  start(): void {
    if (this.#unsubscribe !== undefined || this.#links.length === 0) return;
    this.#stopped = false;
    this.#unsubscribe = this.#log.onCheckpoint((cp) => this.#track(this.witness(cp)));
    this.#track(this.catchUp());
    if (this.#intervalMs > 0) {
      this.#timer = setInterval(() => this.#track(this.catchUp()), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Stops following the writer and waits for submissions in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#inflight]);
  }

  #track(p: Promise<unknown>): void {
    const tracked = p.catch(() => {});
    this.#inflight.add(tracked);
    void tracked.finally(() => this.#inflight.delete(tracked));
  }

  /** Offers the latest published checkpoint to the witnesses that have not cosigned it. */
  async catchUp(): Promise<WitnessOutcome[]> {
    const latest = await this.#log.latestCheckpoint();
    if (latest === undefined) return [];
    const have = new Set(await this.#log.cosigners(latest.size));
    return Promise.all(this.#links.filter((l) => !have.has(l.id)).map((l) => l.offer(latest)));
  }

  /**
   * Offers a checkpoint to every witness at once and resolves when each has
   * answered, given up or passed the time limit (a witness busy with an
   * earlier checkpoint gets the newest one next).
   */
  async witness(cp: StoredCheckpoint): Promise<WitnessOutcome[]> {
    return Promise.all(this.#links.map((l) => l.offer(cp)));
  }

  /** @internal One checkpoint to one witness, within the time limit. */
  async submit(link: WitnessLink, cp: StoredCheckpoint): Promise<WitnessOutcome> {
    const deadline = Date.now() + this.#timeoutMs;
    const base = { url: link.endpoint.url, witness: link.id, size: cp.size };
    let delay = this.#retryDelayMs;
    let conflicts = 0;
    let last: WitnessOutcome = { ...base, status: "unavailable", detail: "the time limit passed" };
    for (;;) {
      if (link.size > cp.size) {
        return this.#report({
          ...base,
          status: "superseded",
          detail: `the witness holds ${link.size}`,
        });
      }
      const old = link.size;
      let response: Response;
      let text: string;
      try {
        const proof = old === 0 || old === cp.size ? [] : await this.#proof(old, cp.size);
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        response = await this.#fetch(`${link.endpoint.url}/add-checkpoint`, {
          method: "POST",
          headers: this.#headers,
          body: formatAddCheckpointRequest(old, proof, cp.note),
          signal: AbortSignal.timeout(Math.min(this.#requestTimeoutMs, remaining)),
        });
        text = await response.text();
      } catch (error) {
        last = { ...base, status: "unavailable", detail: (error as Error).message };
        if (this.#stopped || Date.now() + delay >= deadline) break;
        await sleep(delay);
        delay *= 2;
        continue;
      }
      if (response.status === 200) {
        const line = text
          .split("\n")
          .find((l) => l !== "" && isCosignatureBy(cp.note, l, link.endpoint.verifierKey));
        if (line === undefined) {
          return this.#report({
            ...base,
            status: "refused",
            httpStatus: 200,
            detail: "no valid cosignature in the answer",
          });
        }
        link.size = Math.max(link.size, cp.size);
        await this.#log.addCosignatures(cp.size, [{ witness: link.id, line }]);
        return this.#report({ ...base, status: "cosigned", httpStatus: 200 });
      }
      if (response.status === 409) {
        const size = parseTlogSize(text);
        if (size !== undefined && size !== old && conflicts < 3) {
          conflicts++;
          link.size = size;
          continue;
        }
        return this.#report({
          ...base,
          status: "refused",
          httpStatus: 409,
          detail: `the witness holds ${text.trim()}`,
        });
      }
      if (response.status >= 500 || response.status === 429) {
        last = {
          ...base,
          status: "unavailable",
          httpStatus: response.status,
          detail: text.slice(0, 200),
        };
        if (this.#stopped || Date.now() + delay >= deadline) break;
        await sleep(delay);
        delay *= 2;
        continue;
      }
      return this.#report({
        ...base,
        status: "refused",
        httpStatus: response.status,
        detail: text.slice(0, 200),
      });
    }
    return this.#report(last);
  }

  #proof(from: number, to: number): Promise<Uint8Array[]> {
    const key = `${from}/${to}`;
    let proof = this.#proofs.get(key);
    if (proof === undefined) {
      proof = this.#log.consistencyProof(from, to);
      if (this.#proofs.size >= 16) this.#proofs.clear();
      this.#proofs.set(key, proof);
      proof.catch(() => this.#proofs.delete(key));
    }
    return proof;
  }

  #report(outcome: WitnessOutcome): WitnessOutcome {
    const code: ErrorCode | undefined =
      outcome.status === "unavailable"
        ? "WITNESS_UNAVAILABLE"
        : outcome.status === "refused"
          ? (REFUSALS[outcome.httpStatus ?? 0] ?? "WITNESS_REQUEST_MALFORMED")
          : undefined;
    const reported = code === undefined ? outcome : { ...outcome, code };
    this.#onOutcome?.(reported);
    return reported;
  }
}
