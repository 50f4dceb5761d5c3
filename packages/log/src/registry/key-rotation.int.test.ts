import {
  type Address,
  compileParser,
  type Hex,
  hexToBytes,
  KeyRotationSchema,
  publicKeyToAddress,
  verifyTypedMessage,
} from "@chaoscore/core";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";
import type { AgentRegistry } from "./index.js";
import { CHAIN, DEPLOYMENT, newKey, useRegistryFixture } from "./test-support/registry-fixture.js";

describe(`agent registry: key rotation on ${TEST_DB_KIND}`, () => {
  const f = useRegistryFixture();
  const { advance, expectRejected, registered, updateRequest, rotateRequest, revokeRequest } = f;

  describe("rotateKey", () => {
    it("rotates to a key the agent proved it holds, and links each key to the id", async () => {
      const { agent, record } = await registered();
      const id = agent.address;
      const key1 = newKey();
      const r1 = rotateRequest(id, agent, key1, { nonce: "2" });
      const rotated = await f.registry.rotateKey(r1);
      expect(rotated.identity).toMatchObject({ id, signer: key1.address, registryNonce: "2" });
      expect(publicKeyToAddress(hexToBytes(rotated.identity.publicKey))).toBe(key1.address);
      expect(rotated.metadata).toEqual(record.metadata);

      advance(1);
      const key2 = newKey();
      const r2 = rotateRequest(id, key1, key2, { nonce: "3" });
      await f.registry.rotateKey(r2);

      expect((await f.registry.keyHistory(id)).map((k) => [k.seq, k.signer])).toEqual([
        [0, id],
        [1, key1.address],
        [2, key2.address],
      ]);
      const chain = await f.registry.keyRotations(id);
      expect(chain).toEqual([
        { message: r1.message, signature: r1.signature },
        { message: r2.message, signature: r2.signature },
      ]);
      expect(await f.registry.keyRotations(id, key2.address)).toEqual(chain);
      expect(await f.registry.keyRotations(id, key1.address)).toEqual(chain.slice(0, 1));
      expect(await f.registry.keyRotations(id, id)).toEqual([]);

      // What an offline verifier does with a receipt's rotations.
      const parseRotation = compileParser(KeyRotationSchema, "INVALID_INPUT", "rotation");
      let signer: Address = id;
      for (const rotation of chain) {
        const { message, signature } = parseRotation(rotation);
        verifyTypedMessage(
          "RotateAgentKey",
          message,
          { chainId: CHAIN, verifyingContract: DEPLOYMENT },
          signature as Hex,
          signer,
        );
        expect(message.agent).toBe(id);
        signer = message.newSigner;
      }
      expect(signer).toBe(key2.address);

      // The old keys no longer act for the agent; the new one does.
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.updateCard(updateRequest(id, agent, { nonce: "4" })),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.updateCard(updateRequest(id, key1, { nonce: "4" })),
      );
      const updated = await f.registry.updateCard(updateRequest(id, key2, { nonce: "4" }));
      expect(updated.metadata.version).toBe(2);
    });

    it("refuses a rotation without a valid proof by the new key", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const next = newKey();
      const { newKeyProof: _omit, ...withoutProof } = rotateRequest(id, agent, next, {
        nonce: "2",
      });
      await expectRejected("AGENT_REQUEST_MALFORMED", () =>
        f.registry.rotateKey(withoutProof as Parameters<AgentRegistry["rotateKey"]>[0]),
      );
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        f.registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2", proofBy: newKey() })),
      );
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        f.registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2", proofBy: agent })),
      );
      const good = rotateRequest(id, agent, next, { nonce: "2" });
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        f.registry.rotateKey({ ...good, newKeyProof: `0x${"00".repeat(65)}` }),
      );
    });

    it("refuses a rotation not signed by the current key, replays and key reuse", async () => {
      const { agent } = await registered();
      const id = agent.address;
      const next = newKey();
      // Signed by the new key only.
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.rotateKey(rotateRequest(id, next, next, { nonce: "2" })),
      );
      await expectRejected("AGENT_NONCE_NOT_INCREASING", () =>
        f.registry.rotateKey(rotateRequest(id, agent, next, { nonce: "1" })),
      );
      await expectRejected("AGENT_EXPIRED", () =>
        f.registry.rotateKey(rotateRequest(id, agent, next, { nonce: "2", expiry: "1" })),
      );
      await expectRejected("AGENT_KEY_REUSED", () =>
        f.registry.rotateKey(rotateRequest(id, agent, agent, { nonce: "2" })),
      );
      const good = rotateRequest(id, agent, next, { nonce: "2" });
      await f.registry.rotateKey(good);
      await expectRejected("AGENT_BAD_SIGNATURE", () => f.registry.rotateKey(good));
      await expectRejected("AGENT_KEY_REUSED", () =>
        f.registry.rotateKey(rotateRequest(id, next, agent, { nonce: "3" })),
      );
      const stranger = newKey();
      await expectRejected("AGENT_NOT_FOUND", () =>
        f.registry.rotateKey(rotateRequest(stranger.address, stranger, newKey(), { nonce: "2" })),
      );
      await expect(f.registry.keyRotations(id, newKey().address)).rejects.toMatchObject({
        code: "AGENT_SIGNER_UNKNOWN",
      });
      await expect(f.registry.keyRotations(id, "nope")).rejects.toMatchObject({
        code: "AGENT_REQUEST_MALFORMED",
      });
    });

    it("refuses rotation by a suspended or revoked agent", async () => {
      const { agent } = await registered();
      await f.registry.suspend(agent.address, "investigation");
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        f.registry.rotateKey(rotateRequest(agent.address, agent, newKey(), { nonce: "2" })),
      );
      await f.registry.revoke(revokeRequest(agent.address, agent, "2"));
      await expectRejected("AGENT_NOT_ACTIVE", () =>
        f.registry.rotateKey(rotateRequest(agent.address, agent, newKey(), { nonce: "3" })),
      );
    });
  });
});
