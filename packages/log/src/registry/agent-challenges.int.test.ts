import { randomBytes } from "node:crypto";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";
import { newKey, OTHER_CHAIN, sign, useRegistryFixture } from "./test-support/registry-fixture.js";

describe(`agent registry: challenges on ${TEST_DB_KIND}`, () => {
  const f = useRegistryFixture();
  const { nowSeconds, advance, expectRejected, registered, rotateRequest, proveRequest } = f;

  describe("challenges", () => {
    it("proves control of the current key, once", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const { challenge, expiresAt } = await f.registry.createChallenge(id);
      expect(challenge).toMatch(/^0x[0-9a-f]{64}$/);
      expect(expiresAt).toBe(new Date(f.clock.getTime() + 300_000).toISOString());
      const request = proveRequest(id, agent, challenge);
      expect(await f.registry.verify(request)).toEqual({
        agent: id,
        signer: id,
        status: "active",
        verifiedAt: f.clock.toISOString(),
      });
      await expectRejected("AGENT_CHALLENGE_INVALID", () => f.registry.verify(request));
    });

    it("refuses an expired, unknown or foreign challenge, and another key", async () => {
      const { agent } = await registered();
      const { agent: other } = await registered();
      const id = agent.address;

      const short = await f.registry.createChallenge(id, 10);
      advance(10);
      await expectRejected("AGENT_CHALLENGE_INVALID", () =>
        f.registry.verify(proveRequest(id, agent, short.challenge)),
      );
      await expectRejected("AGENT_CHALLENGE_INVALID", () =>
        f.registry.verify(proveRequest(id, agent, `0x${randomBytes(32).toString("hex")}`)),
      );

      const { challenge } = await f.registry.createChallenge(id);
      await expectRejected("AGENT_CHALLENGE_INVALID", () =>
        f.registry.verify(proveRequest(other.address, other, challenge)),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.verify(proveRequest(id, other, challenge)),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.verify(proveRequest(id, agent, challenge, OTHER_CHAIN)),
      );
      const expired = { ...proveRequest(id, agent, challenge) };
      expired.message = { ...expired.message, expiry: String(nowSeconds()) };
      expired.signature = sign("ProveAgentControl", expired.message, agent);
      await expectRejected("AGENT_EXPIRED", () => f.registry.verify(expired));
      // Still unanswered: the right answer works.
      expect((await f.registry.verify(proveRequest(id, agent, challenge))).signer).toBe(id);
    });

    it("follows key rotation and refuses revoked or unknown agents", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const next = newKey();
      await f.registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2" }));
      const { challenge } = await f.registry.createChallenge(id);
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.verify(proveRequest(id, agent, challenge)),
      );
      expect(await f.registry.verify(proveRequest(id, next, challenge))).toMatchObject({
        agent: id,
        signer: next.address,
      });

      const pending = await f.registry.createChallenge(id);
      await f.registry.revokeByOperator(id, "done");
      await expectRejected("AGENT_NOT_ACTIVE", () => f.registry.createChallenge(id));
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        f.registry.verify(proveRequest(id, next, pending.challenge)),
      );
      await expectRejected("AGENT_NOT_FOUND", () => f.registry.createChallenge(newKey().address));
      for (const ttl of [0, -1, 1.5, 86_401]) {
        await expectRejected("AGENT_REQUEST_MALFORMED", () => f.registry.createChallenge(id, ttl));
      }
    });
  });
});
