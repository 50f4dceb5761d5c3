/**
 * The group-commit writer takes the recovered head of its queue: it commits
 * the entries whose signatures are in while the ones behind them are still
 * being recovered, once they are at least half of the queue, and never one
 * ahead of an entry that is not.
 */
import type { Address, Hex } from "@chaoscore/core";
import { openTestEngine, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordResult } from "./agency-context.js";
import type { ProofOfAgency } from "./proof-of-agency.js";
import { InlineSignatureVerifier, type SignatureVerifier } from "./signature-verifier.js";
import { agencyWith } from "./test-support/agency-harness.js";

/** An inline verifier whose n-th recovery answers only once `release(n)` is called. */
function gatedVerifier(): SignatureVerifier & { release(...calls: number[]): void } {
  const inline = new InlineSignatureVerifier();
  const gates: (() => void)[] = [];
  const opened = new Set<number>();
  let calls = 0;
  return {
    recover(digest: Uint8Array, signature: Hex): Promise<Address> {
      const call = calls++;
      const open = new Promise<void>((resolve) => {
        gates[call] = resolve;
        if (opened.has(call)) resolve();
      });
      return open.then(() => inline.recover(digest, signature));
    },
    release(...released: number[]) {
      for (const call of released) {
        opened.add(call);
        gates[call]?.();
      }
    },
    close: () => inline.close(),
  };
}

/** Turns of the event loop, enough for any writer that could go on to have gone on. */
async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Resolves once `done()` holds (checked every 5 ms); throws after 10 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error("not answered within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe(`group commit takes the recovered head of its queue (${TEST_DB_KIND})`, () => {
  let h: Awaited<ReturnType<typeof openTestEngine>>;
  beforeAll(async () => {
    h = await openTestEngine();
  });
  afterAll(() => h.close());

  /** Proof of Agency over the test engine's log, with a gated verifier. */
  function gatedAgency() {
    const verifier = gatedVerifier();
    return { agency: agencyWith(h, { verifier }), verifier };
  }

  /** Records `n` actions of one agent (nonces in order) and tracks which were answered. */
  async function record(agency: ProofOfAgency, n: number) {
    const agent = await h.newAgent();
    const answered: (RecordResult | undefined)[] = Array.from({ length: n }, () => undefined);
    const all = Array.from({ length: n }, (_, i) =>
      agency.recordAction(agent.action()).then((r) => {
        answered[i] = r;
        return r;
      }),
    );
    return { answered, all: Promise.all(all) };
  }

  it("commits the recovered half of its queue without waiting for the rest, and not less", async () => {
    const { agency, verifier } = gatedAgency();
    try {
      const size = await h.engine.log.size();
      const { answered, all } = await record(agency, 4);
      verifier.release(0);
      await turns();
      // one of four is not half: nothing is written yet
      expect(answered.every((r) => r === undefined)).toBe(true);
      expect(await h.engine.log.size()).toBe(size);
      verifier.release(1);
      await until(() => answered[1] !== undefined);
      await turns();
      // the first two are durable and answered; the last two wait for their signatures
      expect(answered.map((r) => r !== undefined)).toEqual([true, true, false, false]);
      expect(await h.engine.log.size()).toBe(size + 2);
      verifier.release(2, 3);
      const results = await all;
      expect(results.map((r) => r.leafIndex)).toEqual([size, size + 1, size + 2, size + 3]);
      expect(await h.engine.log.size()).toBe(size + 4);
    } finally {
      verifier.release(0, 1, 2, 3); // (a failed assertion must not leave the writer waiting)
      await agency.close();
    }
  });

  it("commits nothing ahead of an entry whose signature is not in, and keeps the order", async () => {
    const { agency, verifier } = gatedAgency();
    try {
      const size = await h.engine.log.size();
      const { answered, all } = await record(agency, 4);
      verifier.release(1, 2, 3);
      await turns();
      expect(answered.every((r) => r === undefined)).toBe(true);
      expect(await h.engine.log.size()).toBe(size);
      verifier.release(0);
      const results = await all;
      // one agent's nonces 1..4, in order: all accepted, in queue order
      expect(results.map((r) => [r.leafIndex, r.duplicate])).toEqual([
        [size, false],
        [size + 1, false],
        [size + 2, false],
        [size + 3, false],
      ]);
    } finally {
      verifier.release(0, 1, 2, 3);
      await agency.close();
    }
  });
});
