import {
  type AgentCard,
  agentCardHash,
  type Hex,
  hexToBytes,
  publicKeyToAddress,
} from "@chaoscore/core";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { describe, expect, it } from "vitest";
import { AgentRegistry } from "./index.js";
import {
  CHAIN,
  makeCard,
  newKey,
  OTHER_CHAIN,
  OTHER_DEPLOYMENT,
  sign,
  useRegistryFixture,
} from "./test-support/registry-fixture.js";

describe(`agent registry: registration on ${TEST_DB_KIND}`, () => {
  const f = useRegistryFixture();
  const {
    nowSeconds,
    expectRejected,
    registerRequest,
    registered,
    updateRequest,
    rotateRequest,
    revokeRequest,
  } = f;

  describe("register", () => {
    it("registers an agent under its address, with the key it proved control of", async () => {
      const agent = newKey();
      const card = makeCard({ owner: newKey().address, codeMeasurement: `0x${"cd".repeat(32)}` });
      const request = registerRequest(agent, { card, nonce: "7" });
      const record = await f.registry.register(request);
      const at = f.clock.toISOString();
      expect(record).toEqual({
        identity: {
          id: agent.address,
          signer: agent.address,
          publicKey: expect.stringMatching(/^0x04[0-9a-f]{128}$/),
          status: "active",
          registryNonce: "7",
          createdAt: at,
          updatedAt: at,
        },
        metadata: { card, version: 1, cardHash: agentCardHash(card) },
      });
      expect(publicKeyToAddress(hexToBytes(record.identity.publicKey))).toBe(agent.address);
      expect(Object.keys(record.metadata.card)).toEqual(Object.keys(card));
      expect(await f.registry.get(agent.address)).toEqual(record);
      expect(await f.registry.get(agent.address.toUpperCase().replace("0X", "0x"))).toEqual(record);

      expect(await f.registry.cardHistory(agent.address)).toEqual([
        {
          version: 1,
          card,
          cardHash: agentCardHash(card),
          kind: "RegisterAgent",
          message: request.message,
          signature: request.signature,
          createdAt: at,
        },
      ]);
      expect(await f.registry.keyHistory(agent.address)).toEqual([
        { seq: 0, signer: agent.address, publicKey: record.identity.publicKey, createdAt: at },
      ]);
      expect(await f.registry.keyRotations(agent.address)).toEqual([]);
      expect(await f.registry.statusHistory(agent.address)).toEqual([
        {
          seq: 0,
          status: "active",
          reason: "registered",
          proof: { kind: "RegisterAgent", message: request.message, signature: request.signature },
          createdAt: at,
        },
      ]);
    });

    it("hashes the card canonically: key order does not matter", async () => {
      const agent = newKey();
      const card = makeCard();
      const reordered = Object.fromEntries(Object.entries(card).reverse()) as AgentCard;
      const record = await f.registry.register(registerRequest(agent, { card: reordered }));
      expect(record.metadata.cardHash).toBe(agentCardHash(card));
    });

    it("refuses a malformed card", async () => {
      const agent = newKey();
      const card = { ...makeCard(), capabilities: ["Not A Tag"] };
      await expectRejected("AGENT_CARD_INVALID", () =>
        f.registry.register(registerRequest(agent, { card, cardHash: agentCardHash(makeCard()) })),
      );
      await expectRejected("AGENT_CARD_INVALID", () =>
        f.registry.register({ ...registerRequest(agent), card: undefined as unknown as AgentCard }),
      );
    });

    it("refuses a card whose hash is not the signed one", async () => {
      const agent = newKey();
      await expectRejected("AGENT_CARD_HASH_MISMATCH", () =>
        f.registry.register(
          registerRequest(agent, { cardHash: agentCardHash(makeCard({ name: "other" })) }),
        ),
      );
    });

    it("refuses a signature by another key", async () => {
      const agent = newKey();
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.register(registerRequest(agent, { signer: newKey() })),
      );
    });

    it("refuses a signature made for another chain", async () => {
      const agent = newKey();
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.register(registerRequest(agent, { signChain: OTHER_CHAIN })),
      );
    });

    it("refuses a request for another chain", async () => {
      const agent = newKey();
      await expectRejected("AGENT_WRONG_CHAIN", () =>
        f.registry.register(
          registerRequest(agent, { chainId: OTHER_CHAIN.toString(), signChain: OTHER_CHAIN }),
        ),
      );
    });

    it("refuses an expired message (expiry must be after now)", async () => {
      const agent = newKey();
      await expectRejected("AGENT_EXPIRED", () =>
        f.registry.register(registerRequest(agent, { expiry: String(nowSeconds()) })),
      );
      await expectRejected("AGENT_EXPIRED", () =>
        f.registry.register(registerRequest(agent, { expiry: "0" })),
      );
    });

    it("refuses a second registration of the same id, whatever its nonce", async () => {
      const { agent } = await registered();
      await expectRejected("AGENT_ALREADY_REGISTERED", () =>
        f.registry.register(registerRequest(agent, { nonce: "1" })),
      );
      await expectRejected("AGENT_ALREADY_REGISTERED", () =>
        f.registry.register(registerRequest(agent, { nonce: "99", card: makeCard({ name: "x" }) })),
      );
    });

    it("refuses malformed requests with AGENT_REQUEST_MALFORMED", async () => {
      const agent = newKey();
      const good = registerRequest(agent);
      const bad: unknown[] = [
        null,
        { ...good, signature: undefined },
        { ...good, signature: "0x1234" },
        { ...good, chainId: 31337 },
        { ...good, extra: true },
        { ...good, message: { ...good.message, agent: agent.address.toUpperCase() } },
        { ...good, message: { ...good.message, nonce: "01" } },
        { ...good, message: { ...good.message, nonce: "99999999999999999999" } },
      ];
      for (const request of bad) {
        await expectRejected("AGENT_REQUEST_MALFORMED", () =>
          f.registry.register(request as Parameters<AgentRegistry["register"]>[0]),
        );
      }
    });

    it("refuses a non-canonical (high s) signature", async () => {
      const agent = newKey();
      const good = registerRequest(agent);
      const bytes = hexToBytes(good.signature);
      const n = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
      const s = BigInt(`0x${Buffer.from(bytes.subarray(32, 64)).toString("hex")}`);
      const highS = (n - s).toString(16).padStart(64, "0");
      const v = bytes[64] === 27 ? "1c" : "1b";
      const signature = `${good.signature.slice(0, 66)}${highS}${v}` as Hex;
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        f.registry.register({ ...good, signature }),
      );
    });
  });

  describe("deployment binding (EIP-712 verifyingContract)", () => {
    // Deployment B: the same chain, the same agents table, another deployment.
    const other = () =>
      new AgentRegistry({
        db: f.db,
        chainId: CHAIN,
        verifyingContract: OTHER_DEPLOYMENT,
        now: () => f.clock,
      });

    it("refuses at deployment B a registration, card update, rotation and revocation signed for A", async () => {
      const b = other();
      const fresh = newKey();
      await expectRejected("AGENT_BAD_SIGNATURE", () => b.register(registerRequest(fresh)));
      const { agent } = await registered();
      const id = agent.address;
      await expectRejected("AGENT_BAD_SIGNATURE", () =>
        b.updateCard(updateRequest(id, agent, { nonce: "2" })),
      );
      // (the new key's proof is checked first: it too was signed for A)
      await expectRejected("AGENT_KEY_PROOF_INVALID", () =>
        b.rotateKey(rotateRequest(id, agent, newKey(), { nonce: "2" })),
      );
      await expectRejected("AGENT_BAD_SIGNATURE", () => b.revoke(revokeRequest(id, agent, "2")));
      // Signed for A, they are accepted at A.
      await f.registry.revoke(revokeRequest(id, agent, "2"));
      expect((await f.registry.get(id)).identity.status).toBe("revoked");
    });

    it("accepts at B what is signed for B", async () => {
      const b = other();
      const agent = newKey();
      const request = registerRequest(agent);
      const message = request.message;
      const signature = sign("RegisterAgent", message, agent, CHAIN, OTHER_DEPLOYMENT);
      expect((await b.register({ ...request, signature })).identity.id).toBe(agent.address);
    });
  });
});
