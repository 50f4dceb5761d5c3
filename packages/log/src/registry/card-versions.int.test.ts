import { agentCardHash } from "@chaoscore/core";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";
import { makeCard, newKey, useRegistryFixture } from "./test-support/registry-fixture.js";

describe(`agent registry: card versions on ${TEST_DB_KIND}`, () => {
  const f = useRegistryFixture();
  const { nowSeconds, advance, expectRejected, registerRequest, registered, updateRequest } = f;

  describe("updateCard", () => {
    it("replaces the card, bumps the version and keeps the history", async () => {
      const { agent, record } = await registered();
      const card2 = makeCard({ name: "v2", capabilities: ["governance.vote", "simulate"] });
      const request = updateRequest(agent.address, agent, { card: card2, nonce: "2" });
      const updated = await f.registry.updateCard(request);
      expect(updated.metadata).toEqual({ card: card2, version: 2, cardHash: agentCardHash(card2) });
      expect(updated.identity).toEqual({
        ...record.identity,
        registryNonce: "2",
        updatedAt: f.clock.toISOString(),
      });
      advance(1);
      const card3 = makeCard({ name: "v3" });
      await f.registry.updateCard(
        updateRequest(agent.address, agent, { card: card3, version: "3", nonce: "10" }),
      );
      const history = await f.registry.cardHistory(agent.address);
      expect(history.map((h) => [h.version, h.kind, h.card.name])).toEqual([
        [1, "RegisterAgent", "Proposal Analyst"],
        [2, "UpdateAgentCard", "v2"],
        [3, "UpdateAgentCard", "v3"],
      ]);
      expect(history[1]).toMatchObject({ message: request.message, signature: request.signature });
      expect((await f.registry.get(agent.address)).metadata.version).toBe(3);
    });

    it("refuses a wrong version, a stale nonce, another key, an unknown agent", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_VERSION_INVALID", () =>
        f.registry.updateCard(updateRequest(id, agent, { version: "1", nonce: "2" })),
      );
      await expectRejected("AGENT_VERSION_INVALID", () =>
        f.registry.updateCard(updateRequest(id, agent, { version: "3", nonce: "2" })),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        f.registry.updateCard(updateRequest(id, agent, { nonce: "1" })),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        f.registry.updateCard(updateRequest(id, agent, { nonce: "0" })),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.updateCard(updateRequest(id, newKey(), { nonce: "2" })),
      );
      await expectRejected("AGENT_EXPIRED", () =>
        f.registry.updateCard(
          updateRequest(id, agent, { nonce: "2", expiry: String(nowSeconds()) }),
        ),
      );
      const stranger = newKey();
      await expectRejected("AGENT_NOT_FOUND", () =>
        f.registry.updateCard(updateRequest(stranger.address, stranger, { nonce: "2" })),
      );
      const good = updateRequest(id, agent, { nonce: "2" });
      await expectRejected("AGENT_CARD_HASH_MISMATCH", () =>
        f.registry.updateCard({ ...good, card: makeCard({ name: "swapped" }) }),
      );
      await expectRejected("AGENT_CARD_INVALID", () =>
        f.registry.updateCard({ ...good, card: { ...good.card, name: "" } }),
      );
      await expectRejected("AGENT_WRONG_CHAIN", () =>
        f.registry.updateCard({ ...good, chainId: "1" }),
      );
      // The same request is accepted once, then is a replay.
      await f.registry.updateCard(good);
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () => f.registry.updateCard(good));
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        f.registry.updateCard(updateRequest(id, agent, { version: "3", nonce: "2" })),
      );
    });

    it("accepts exactly one of concurrent conflicting writes", async () => {
      const agent = newKey();
      const registrations = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) =>
          f.registry.register(registerRequest(agent, { nonce: String(i + 1) })),
        ),
      );
      expect(registrations.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of registrations) {
        if (r.status === "rejected") expect(r.reason.code).toBe("AGENT_ALREADY_REGISTERED");
      }
      const nonce = BigInt((await f.registry.get(agent.address)).identity.registryNonce);
      const updates = await Promise.allSettled(
        Array.from({ length: 4 }, (_, i) =>
          f.registry.updateCard(
            updateRequest(agent.address, agent, {
              card: makeCard({ name: `racer ${i}` }),
              nonce: String(nonce + 1n + BigInt(i)),
            }),
          ),
        ),
      );
      expect(updates.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of updates) {
        if (r.status === "rejected") {
          expect(["AGENT_VERSION_INVALID", "AGENT_NONCE_NOT_INCREASING"]).toContain(r.reason.code);
        }
      }
      expect(await f.registry.cardHistory(agent.address)).toHaveLength(2);
    });

    it("refuses updates by a suspended or revoked agent", async () => {
      const { agent } = await registered();
      await f.registry.suspend(agent.address, "investigation");
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        f.registry.updateCard(updateRequest(agent.address, agent, { nonce: "2" })),
      );
      await f.registry.revokeByOperator(agent.address, "confirmed abuse");
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        f.registry.updateCard(updateRequest(agent.address, agent, { nonce: "2" })),
      );
    });
  });
});
