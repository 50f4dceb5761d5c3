import { randomBytes } from "node:crypto";
import { type ErrorCode, signAction, signOutcome } from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, snapshot, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness } from "./test-support/agency-harness.js";

describe(`Proof of Agency refuses bad input on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await openTestEngine({ limits: { maxPayloadBytes: 2048 } });
  });
  afterAll(() => h.close());

  describe("rejects bad input with a code and writes nothing", () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: [string, ErrorCode, (h: Harness) => Promise<unknown>][] = [
      [
        "a malformed entry",
        "AGENCY_MALFORMED",
        async (h) => {
          const { entry } = (await h.newAgent()).action();
          return h.engine.agency.recordAction({ entry: { ...entry, extra: 1 } });
        },
      ],
      [
        "an entry that is not an object",
        "AGENCY_MALFORMED",
        (h) => h.engine.agency.recordAction({ entry: "{" }),
      ],
      [
        "an outcome sent as an action",
        "AGENCY_MALFORMED",
        async (h) => {
          const a = await h.newAgent();
          const o = signOutcome({
            privateKey: a.privateKey,
            chainId: CHAIN_ID,
            action: `0x${"11".repeat(32)}`,
            status: "success",
            nonce: 1,
          });
          return h.engine.agency.recordAction({ entry: o.entry });
        },
      ],
      [
        "a signature for another chain",
        "AGENCY_WRONG_CHAIN",
        async (h) => {
          const a = await h.newAgent();
          return h.engine.agency.recordAction(
            signAction({ privateKey: a.privateKey, chainId: 1n, actionType: "x", nonce: 1 }),
          );
        },
      ],
      [
        "an expired message",
        "AGENCY_EXPIRED",
        async (h) =>
          h.engine.agency.recordAction(
            (await h.newAgent()).action({ timestamp: now() - 200, ttlSeconds: 100 }),
          ),
      ],
      [
        "a timestamp from the future",
        "AGENCY_CLOCK_SKEW",
        async (h) =>
          h.engine.agency.recordAction((await h.newAgent()).action({ timestamp: now() + 3600 })),
      ],
      [
        "an oversized payload",
        "AGENCY_PAYLOAD_TOO_LARGE",
        async (h) =>
          h.engine.agency.recordAction(
            (await h.newAgent()).action({ payload: { big: "x".repeat(4096) } }),
          ),
      ],
      [
        "a payload that does not match its hash",
        "AGENCY_PAYLOAD_MISMATCH",
        async (h) => {
          const { entry } = (await h.newAgent()).action({ payload: { a: 1 } });
          return h.engine.agency.recordAction({ entry, payload: { a: 2 } });
        },
      ],
      [
        "a signature by another key",
        "AGENCY_BAD_SIGNATURE",
        async (h) => {
          const a = await h.newAgent();
          const other = Uint8Array.from(randomBytes(32));
          return h.engine.agency.recordAction(
            signAction({
              privateKey: other,
              agent: a.address,
              chainId: CHAIN_ID,
              actionType: "x",
              nonce: 1,
            }),
          );
        },
      ],
      [
        "a signature by another registered agent",
        "AGENCY_BAD_SIGNATURE",
        async (h) => {
          const a = await h.newAgent();
          const b = await h.newAgent();
          return h.engine.agency.recordAction(
            signAction({
              privateKey: b.privateKey,
              agent: a.address,
              chainId: CHAIN_ID,
              actionType: "x",
              nonce: 1,
            }),
          );
        },
      ],
      [
        "a corrupted signature",
        "AGENCY_BAD_SIGNATURE",
        async (h) => {
          const { entry } = (await h.newAgent()).action();
          const sig =
            `${entry.signature.slice(0, 10)}${entry.signature[10] === "0" ? "1" : "0"}${entry.signature.slice(11)}` as `0x${string}`;
          return h.engine.agency.recordAction({ entry: { ...entry, signature: sig } });
        },
      ],
      [
        "an unknown agent",
        "AGENT_NOT_FOUND",
        async (h) => {
          const key = Uint8Array.from(randomBytes(32));
          return h.engine.agency.recordAction(
            signAction({ privateKey: key, chainId: CHAIN_ID, actionType: "x", nonce: 1 }),
          );
        },
      ],
      [
        "a parent that was never recorded",
        "AGENCY_PARENT_NOT_FOUND",
        async (h) =>
          h.engine.agency.recordAction(
            (await h.newAgent()).action({ parents: [`0x${"ab".repeat(32)}`] }),
          ),
      ],
      [
        "an outcome of an unknown action",
        "AGENCY_ACTION_NOT_FOUND",
        async (h) => {
          const a = await h.newAgent();
          return h.engine.agency.recordOutcome(
            signOutcome({
              privateKey: a.privateKey,
              chainId: CHAIN_ID,
              action: `0x${"11".repeat(32)}`,
              status: "success",
              nonce: 1,
            }),
          );
        },
      ],
      [
        "metrics that do not match their hash",
        "AGENCY_PAYLOAD_MISMATCH",
        async (h) => {
          const a = await h.newAgent();
          const o = signOutcome({
            privateKey: a.privateKey,
            chainId: CHAIN_ID,
            action: `0x${"11".repeat(32)}`,
            status: "success",
            nonce: 1,
            metrics: { a: 1 },
          });
          return h.engine.agency.recordOutcome({ entry: o.entry, metrics: { a: 2 } });
        },
      ],
    ];
    it.each(cases)("%s → %s", async (_, code, attempt) => {
      // Setup (registering agents) happens inside attempt: snapshot after it by
      // wrapping the registry's writes out of the comparison.
      const before = await snapshot(h.engine);
      const leaves = (before.counts as { leaves: number }).leaves;
      await expectCode(attempt(h), code);
      const after = await snapshot(h.engine);
      expect((after.counts as { leaves: number }).leaves).toBe(leaves);
      expect(after.counts).toEqual(before.counts);
      const nonces = (after.nonces as { nonce: string | null }[]).filter((n) => n.nonce !== null);
      expect(nonces).toEqual(
        (before.nonces as { nonce: string | null }[]).filter((n) => n.nonce !== null),
      );
    });

    it("a replayed or lower nonce → AGENCY_NONCE_NOT_INCREASING", async () => {
      const a = await h.newAgent();
      await h.engine.agency.recordAction(
        signAction({ privateKey: a.privateKey, chainId: CHAIN_ID, actionType: "x", nonce: 5 }),
      );
      const before = await snapshot(h.engine);
      await expectCode(
        h.engine.agency.recordAction(
          signAction({
            privateKey: a.privateKey,
            chainId: CHAIN_ID,
            actionType: "other",
            nonce: 5,
          }),
        ),
        "AGENCY_NONCE_NOT_INCREASING",
      );
      await expectCode(
        h.engine.agency.recordAction(
          signAction({ privateKey: a.privateKey, chainId: CHAIN_ID, actionType: "x", nonce: 4 }),
        ),
        "AGENCY_NONCE_NOT_INCREASING",
      );
      expect(await snapshot(h.engine)).toEqual(before);
    });

    it("a second outcome for one action → AGENCY_OUTCOME_EXISTS", async () => {
      const a = await h.newAgent();
      const r = await h.engine.agency.recordAction(a.action());
      const o = (n: bigint) =>
        signOutcome({
          privateKey: a.privateKey,
          chainId: CHAIN_ID,
          action: r.id,
          status: "success",
          nonce: n,
        });
      await h.engine.agency.recordOutcome(o(a.nextNonce()));
      const before = await snapshot(h.engine);
      await expectCode(h.engine.agency.recordOutcome(o(a.nextNonce())), "AGENCY_OUTCOME_EXISTS");
      expect(await snapshot(h.engine)).toEqual(before);
    });

    it("suspended and revoked agents → AGENT_NOT_ACTIVE", async () => {
      const a = await h.newAgent();
      await h.engine.registry.suspend(a.address, "test");
      const before = await snapshot(h.engine);
      await expectCode(h.engine.agency.recordAction(a.action()), "AGENT_NOT_ACTIVE");
      expect(await snapshot(h.engine)).toEqual(before);
      await h.engine.registry.revokeByOperator(a.address, "test");
      await expectCode(h.engine.agency.recordAction(a.action()), "AGENT_NOT_ACTIVE");
    });

    it("a bad entry in a batch fails alone; the others commit", async () => {
      const a = await h.newAgent();
      const b = await h.newAgent();
      const good1 = a.action();
      const bad = signAction({
        privateKey: b.privateKey,
        agent: a.address,
        chainId: CHAIN_ID,
        actionType: "x",
        nonce: 99,
      });
      const good2 = b.action();
      const results = await Promise.allSettled([
        h.engine.agency.recordAction(good1),
        h.engine.agency.recordAction(bad),
        h.engine.agency.recordAction(good2),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    });
  });

  it("rejects an oversized entry (configurable limit) and writes nothing", async () => {
    const small = await openTestEngine({ limits: { maxEntryBytes: 700 } });
    try {
      const a = await small.newAgent();
      const before = await snapshot(small.engine);
      await expectCode(
        small.engine.agency.recordAction(a.action({ studio: "s".repeat(256) })),
        "AGENCY_ENTRY_TOO_LARGE",
      );
      expect(await snapshot(small.engine)).toEqual(before);
      await small.engine.agency.recordAction(a.action());
    } finally {
      await small.close();
    }
  });
});
