/**
 * Ingest under faults: client workers (one per agent, one request in flight
 * each, in nonce order) send signed actions and retry every unacknowledged
 * one with the same signed entry until it is acknowledged (201, possibly
 * `duplicate: true`). A fault injector runs beside them.
 * @module
 */
import { type Answer, actionBody, codeOf, send, sleep, type TestAgent } from "./http.js";

/** What the clients saw. */
export type IngestStats = {
  /** Acknowledged actions: id → leaf index of the first acknowledgement. */
  acked: Map<string, number>;
  /** Acknowledgements with `duplicate: true` (a retry of an entry already committed). */
  duplicates: number;
  /** Retries (sends after the first of an entry). */
  retries: number;
  /** Transport failures (connection refused/reset, timeouts) by error code. */
  transport: Map<string, number>;
  /** HTTP answers other than 201, by "status code" (e.g. "503 STORE_UNAVAILABLE retryable"). */
  answers: Map<string, number>;
  /** Entries the gateway refused for good (a non-retryable 4xx): never acknowledged. */
  refused: { agent: string; nonce: number; status: number; code: string | undefined }[];
  /** 5xx answers that were not retryable 503s. */
  unexpected5xx: { status: number; code: string | undefined; text: string }[];
};

/** A fresh {@link IngestStats}. */
export function newIngestStats(): IngestStats {
  return {
    acked: new Map(),
    duplicates: 0,
    retries: 0,
    transport: new Map(),
    answers: new Map(),
    refused: [],
    unexpected5xx: [],
  };
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** How the client reacts to an answer. */
export type Verdict = "acked" | "retry" | "refused";

/**
 * Classifies one answer to `POST /v1/actions`: 201 is an acknowledgement;
 * transport errors, 503 and 429 are retried, as is any answer marked
 * `retryable: true`; everything else refuses the entry.
 */
export function classify(answer: Answer): Verdict {
  if (!answer.ok) return "retry";
  if (answer.status === 201) return "acked";
  if (answer.status === 503 || answer.status === 429) return "retry";
  const body = answer.body as { retryable?: unknown } | null;
  if (typeof body === "object" && body !== null && body.retryable === true) return "retry";
  return "refused";
}

/** Options of {@link runIngest}. */
export type IngestOptions = {
  /** The gateway's current base URL (it changes when the gateway restarts). */
  baseUrl: () => string;
  adminKey: string;
  agents: readonly TestAgent[];
  /** Actions in total (split across the agents). */
  total: number;
  stats: IngestStats;
  /** Stop retrying after this long without an acknowledgement (ms); default 120 s. */
  stallMs?: number;
};

/** Sends `total` actions; resolves when every one is acknowledged or refused. */
export async function runIngest(options: IngestOptions): Promise<void> {
  const { agents, total, stats } = options;
  const stallMs = options.stallMs ?? 120_000;
  const perAgent = Math.ceil(total / agents.length);
  let remaining = total;
  const worker = async (agent: TestAgent) => {
    for (let nonce = 1; nonce <= perAgent; nonce++) {
      if (remaining <= 0) return;
      remaining--;
      // Signed when first sent (the timestamp must be within the log's clock skew).
      const body = actionBody(agent, nonce, { n: nonce, agent: agent.name, pad: "x".repeat(64) });
      let attempt = 0;
      const since = Date.now();
      for (;;) {
        if (attempt > 0) stats.retries++;
        attempt++;
        const answer = await send(`${options.baseUrl()}/v1/actions`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${options.adminKey}`,
            "content-type": "application/json",
          },
          body,
        });
        const verdict = classify(answer);
        if (!answer.ok) bump(stats.transport, answer.error);
        else if (answer.status !== 201) {
          const code = codeOf(answer);
          const retryable = (answer.body as { retryable?: unknown } | null)?.retryable === true;
          bump(stats.answers, `${answer.status} ${code ?? "-"}${retryable ? " retryable" : ""}`);
          if (answer.status >= 500 && !(answer.status === 503 && retryable)) {
            stats.unexpected5xx.push({
              status: answer.status,
              code,
              text: answer.text.slice(0, 500),
            });
          }
        }
        if (verdict === "acked" && answer.ok) {
          const r = answer.body as { id: string; leafIndex: number; duplicate: boolean };
          if (r.duplicate) stats.duplicates++;
          if (!stats.acked.has(r.id)) stats.acked.set(r.id, r.leafIndex);
          break;
        }
        if (verdict === "refused" && answer.ok) {
          stats.refused.push({
            agent: agent.address,
            nonce,
            status: answer.status,
            code: codeOf(answer),
          });
          break;
        }
        if (Date.now() - since > stallMs) {
          throw new Error(
            `no acknowledgement of ${agent.address} nonce ${nonce} in ${stallMs / 1000} s (last: ${
              answer.ok ? `${answer.status} ${answer.text.slice(0, 200)}` : answer.error
            })`,
          );
        }
        await sleep(Math.min(1000, 25 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
      }
    }
  };
  await Promise.all(agents.map(worker));
}

/** `n` distinct random integers in [lo, hi), sorted. */
export function randomMoments(n: number, lo: number, hi: number, random = Math.random): number[] {
  if (hi - lo < n) throw new RangeError(`cannot pick ${n} distinct values in [${lo}, ${hi})`);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(lo + Math.floor(random() * (hi - lo)));
  return [...picked].sort((a, b) => a - b);
}

/** Resolves once `stats` holds at least `count` acknowledgements (or `done()` is true). */
export async function waitForAcks(
  stats: IngestStats,
  count: number,
  done: () => boolean,
): Promise<void> {
  while (stats.acked.size < count && !done()) await sleep(5);
}
