/**
 * Sybil and spam control (issue 19 item 7): rate limits per client address
 * and per gateway (beside the per-principal limit of @fastify/rate-limit),
 * and the registration policy of agents that register themselves.
 * @module
 */
import { createHash } from "node:crypto";
import { ChaosCoreError } from "@chaoscore/core";

/**
 * Fixed one-minute windows counting requests per key. In memory, per
 * process: each gateway enforces its own share.
 */
export class WindowCounter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #start = 0;
  #counts = new Map<string, number>();

  constructor(limit: number, options: { windowMs?: number; now?: () => number } = {}) {
    this.#limit = limit;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts one request of `key`.
   * @throws ChaosCoreError GATEWAY_RATE_LIMITED (429, retryable) above the limit.
   */
  take(key: string, what: string): void {
    const now = this.#now();
    if (now - this.#start >= this.#windowMs) {
      this.#start = now;
      this.#counts = new Map();
    }
    const n = (this.#counts.get(key) ?? 0) + 1;
    this.#counts.set(key, n);
    if (n > this.#limit) {
      const retryAfter = Math.max(1, Math.ceil((this.#start + this.#windowMs - now) / 1000));
      throw Object.assign(
        new ChaosCoreError(
          "GATEWAY_RATE_LIMITED",
          `more than ${this.#limit} requests per minute ${what}; retry in ${retryAfter} s`,
          { details: { limit: this.#limit, retryAfter, scope: what } },
        ),
        { statusCode: 429, retryAfter },
      );
    }
  }
}

/**
 * Who may register an agent by itself (an agent-signed `POST /v1/agents`;
 * operator keys always may): `open` — anyone; `proof-of-work` — the request
 * carries `ChaosCore-Proof-Of-Work: <hex nonce>` such that
 * SHA-256(UTF-8("chaoscore.register:" ‖ agent id ‖ ":" ‖ nonce)) starts with
 * `difficulty` zero bits (hashcash); `closed` — only operator keys (the
 * invite flow: an operator registers the agent).
 */
export type RegistrationPolicy =
  | { mode: "open" }
  | { mode: "proof-of-work"; difficulty: number }
  | { mode: "closed" };

/** The number of leading zero bits of `bytes`. */
function leadingZeroBits(bytes: Uint8Array): number {
  let bits = 0;
  for (const b of bytes) {
    if (b === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(b) - 24;
  }
  return bits;
}

/** The hash a proof of work must make small. */
export function proofOfWorkHash(agent: string, nonce: string): Uint8Array {
  return createHash("sha256").update(`chaoscore.register:${agent}:${nonce}`, "utf8").digest();
}

/**
 * Finds a proof-of-work nonce for `agent` (what a client runs before
 * registering; ~2^difficulty hashes).
 */
export function solveProofOfWork(agent: string, difficulty: number): string {
  for (let i = 0; ; i++) {
    const nonce = i.toString(16);
    if (leadingZeroBits(proofOfWorkHash(agent, nonce)) >= difficulty) return nonce;
  }
}

/**
 * Checks a self-registration against the policy.
 * @throws ChaosCoreError GATEWAY_REGISTRATION_REFUSED (403).
 */
export function assertMayRegister(policy: RegistrationPolicy, agent: string, proof: unknown): void {
  if (policy.mode === "open") return;
  if (policy.mode === "closed") {
    throw new ChaosCoreError(
      "GATEWAY_REGISTRATION_REFUSED",
      "this gateway registers agents with an operator key only (ask its operator)",
      { details: { mode: "closed" } },
    );
  }
  const ok =
    typeof proof === "string" &&
    /^[0-9a-f]{1,64}$/.test(proof) &&
    leadingZeroBits(proofOfWorkHash(agent, proof)) >= policy.difficulty;
  if (!ok) {
    throw new ChaosCoreError(
      "GATEWAY_REGISTRATION_REFUSED",
      `registering needs ChaosCore-Proof-Of-Work: a hex nonce whose SHA-256("chaoscore.register:<agent>:<nonce>") starts with ${policy.difficulty} zero bits`,
      { details: { mode: "proof-of-work", difficulty: policy.difficulty } },
    );
  }
}
