/**
 * Issue 19 item 17: an agent-card anchor recorded as pending with no transaction hash (the
 * answer to the send was lost; the transaction is in the pool) is not dropped and registered
 * again — which made a second identity on chain — but looked up on chain first.
 */
import { openAnchoringTestEngine } from "@chaoscore/testkit";
import { useTestChain } from "@chaoscore/testkit/chain";
import { describe, expect, it } from "vitest";

const chain = useTestChain();

describe("a pending agent-card anchor without a transaction hash (anvil)", () => {
  it("stays pending while its registration is in the pool, then is recorded: one identity", async () => {
    const t = await openAnchoringTestEngine(chain, { name: "cards" });
    const { origin, anchoring: service } = t;
    try {
      const agent = await t.newAgent();
      const id = agent.address.toLowerCase();
      const [row] = await t.engine.db.query<{ card_hash: string }>(
        "SELECT encode(card_hash, 'hex') AS card_hash FROM agents WHERE id = $1",
        [id],
      );
      const cardHash = `0x${row?.card_hash}` as const;
      const uri = `chaoscore://${origin}/agents/${id}`;
      const registrations = async () =>
        (
          await chain.contracts.identity.queryEvents("Registered", {
            topics: [null, `0x${chain.deployer.address.slice(2).toLowerCase().padStart(64, "0")}`],
          })
        ).filter((e) => e.args.agentURI === uri);

      // A previous run sent the registration; the node's answer was lost, so the record has
      // no transaction hash, and the transaction waits in the pool (no block mined yet).
      await chain.client.request("evm_setAutomine", [false]);
      try {
        await chain.contracts.identity.register({ uri, cardHash });
        await t.engine.db.query(
          `INSERT INTO agent_anchors (agent_id, card_version, card_hash, chain_id, contract,
             status, attempts, last_error, created_at, updated_at)
           VALUES ($1, 1, decode($2, 'hex'), $3, $4, 'pending', 1, 'CHAIN_RPC_UNREACHABLE', now(), now())`,
          [
            id,
            cardHash.slice(2),
            chain.anvil.chainId.toString(),
            chain.contracts.identity.address.toLowerCase(),
          ],
        );
        const [kept] = await service.anchorAgents({ agents: [id] });
        expect(kept).toMatchObject({ status: "pending", txHash: null });
        await chain.client.request("evm_mine");
      } finally {
        await chain.client.request("evm_setAutomine", [true]);
      }
      const [recorded] = await service.anchorAgents({ agents: [id] });
      expect(recorded?.status).toMatch(/^(mined|final)$/);
      expect(recorded?.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      const onChain = await registrations();
      expect(onChain).toHaveLength(1);
      expect(recorded?.tokenId).toBe(onChain[0]?.args.agentId);
      expect((await service.agentRecords()).filter((r) => r.status === "dropped")).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it("drops it when the chain has neither the card nor a transaction in the pool", async () => {
    const t = await openAnchoringTestEngine(chain, { name: "cards" });
    const { anchoring: service } = t;
    try {
      const agent = await t.newAgent();
      const id = agent.address.toLowerCase();
      await t.engine.db.query(
        `INSERT INTO agent_anchors (agent_id, card_version, card_hash, chain_id, contract,
           status, attempts, created_at, updated_at)
         SELECT id, 1, card_hash, $2, $3, 'pending', 1, now(), now() FROM agents WHERE id = $1`,
        [id, chain.anvil.chainId.toString(), chain.contracts.identity.address.toLowerCase()],
      );
      const [record] = await service.anchorAgents({ agents: [id], wait: true });
      // The stale record was dropped and the card registered once, by this run.
      expect(record).toMatchObject({ status: expect.stringMatching(/^(mined|final)$/) });
      const records = await service.agentRecords();
      expect(records.map((r) => r.status).sort()).toEqual(["dropped", record?.status].sort());
    } finally {
      await t.close();
    }
  });
});
