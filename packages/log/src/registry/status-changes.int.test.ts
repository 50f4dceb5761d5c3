import { TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";
import { newKey, useRegistryFixture } from "./test-support/registry-fixture.js";

describe(`agent registry: status changes on ${TEST_DB_KIND}`, () => {
  const f = useRegistryFixture();
  const { expectRejected, registered, revokeRequest } = f;

  describe("status", () => {
    it("suspends, reactivates and revokes, recording every change", async () => {
      const { agent } = await registered();
      const id = agent.address;
      expect((await f.registry.suspend(id, "too many failures")).identity.status).toBe("suspended");
      expect((await f.registry.reactivate(id, "fixed")).identity.status).toBe("active");
      const revoked = await f.registry.revokeByOperator(id, "key leaked");
      expect(revoked.identity).toMatchObject({ status: "revoked", registryNonce: "1" });
      expect(
        (await f.registry.statusHistory(id)).map((c) => [c.seq, c.status, c.reason, c.proof]),
      ).toEqual([
        [0, "active", "registered", expect.objectContaining({ kind: "RegisterAgent" })],
        [1, "suspended", "too many failures", null],
        [2, "active", "fixed", null],
        [3, "revoked", "key leaked", null],
      ]);
    });

    it("lets an agent revoke itself, even when suspended", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await f.registry.suspend(id, "check");
      const request = revokeRequest(id, agent, "5");
      const revoked = await f.registry.revoke(request);
      expect(revoked.identity).toMatchObject({ status: "revoked", registryNonce: "5" });
      const history = await f.registry.statusHistory(id);
      expect(history[2]).toEqual({
        seq: 2,
        status: "revoked",
        reason: "revoked by the agent",
        proof: { kind: "RevokeAgent", message: request.message, signature: request.signature },
        createdAt: f.clock.toISOString(),
      });
    });

    it("refuses invalid transitions: revoked is terminal", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_STATUS_TRANSITION_INVALID", () => f.registry.reactivate(id, "x"));
      await f.registry.suspend(id, "x");
      await expectRejected("AGENT_STATUS_TRANSITION_INVALID", () => f.registry.suspend(id, "x"));
      await f.registry.revokeByOperator(id, "x");
      for (const change of [
        () => f.registry.suspend(id, "x"),
        () => f.registry.reactivate(id, "x"),
        () => f.registry.revokeByOperator(id, "x"),
        () => f.registry.revoke(revokeRequest(id, agent, "2")),
      ]) {
        await expectRejected("AGENT_STATUS_TRANSITION_INVALID", change);
      }
    });

    it("refuses a self-revocation by another key, a stale nonce or an unknown agent", async () => {
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.revoke(revokeRequest(id, newKey(), "2")),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        f.registry.revoke(revokeRequest(id, agent, "1")),
      );
      const stranger = newKey();
      await expectRejected("AGENT_NOT_FOUND", () =>
        f.registry.revoke(revokeRequest(stranger.address, stranger, "2")),
      );
      await expectRejected("AGENT_NOT_FOUND", () => f.registry.suspend(stranger.address, "x"));
      await expectRejected("AGENT_REQUEST_MALFORMED", () =>
        f.registry.suspend(id, "r".repeat(1001)),
      );
      await expectRejected("AGENT_REQUEST_MALFORMED", () =>
        f.registry.suspend(id, undefined as unknown as string),
      );
    });
  });
});
