import {
  agentCardHash,
  fromA2AAgentCard,
  fromErc8004Registration,
  privateKeyToAddress,
} from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let g: Awaited<ReturnType<typeof openTestGateway>>;
beforeAll(async () => {
  g = await openTestGateway();
});
afterAll(() => g?.close());

describe("agent cards for other ecosystems", () => {
  it("serves the A2A AgentCard at the agent's well-known path; it reads back as the card", async () => {
    const agent = await g.newAgent(["governance.vote"]);
    const res = await g.app.inject({
      method: "GET",
      url: `/v1/agents/${agent.address}/.well-known/agent-card.json`,
    });
    expect(res.statusCode).toBe(200);
    const a2a = res.json();
    expect(a2a).toMatchObject({
      protocolVersion: "0.3.0",
      url: `http://localhost:80/v1/agents/${agent.address}`,
      skills: [{ id: "governance.vote" }],
    });
    const record = await g.engine.registry.get(agent.address);
    const extension = a2a.capabilities.extensions[0];
    expect(extension.params).toMatchObject({
      agent: agent.address,
      chainId: "31337",
      cardHash: agentCardHash(record.metadata.card),
      tokenId: null,
    });
    const imported = fromA2AAgentCard(a2a);
    expect(imported.claimedAgent).toBe(agent.address);
    expect(imported.card.capabilities).toEqual(record.metadata.card.capabilities);
    expect(imported.signedBy).toBeNull();
    expect(privateKeyToAddress(agent.privateKey)).toBe(agent.address);
  });

  it("serves the ERC-8004 registration file, which carries the card and its hash", async () => {
    const agent = await g.newAgent();
    const res = await g.app.inject({
      method: "GET",
      url: `/v1/agents/${agent.address}/erc8004.json`,
    });
    expect(res.statusCode).toBe(200);
    const file = res.json();
    expect(file.type).toBe("https://eips.ethereum.org/EIPS/eip-8004#registration-v1");
    expect(file.active).toBe(true);
    const record = await g.engine.registry.get(agent.address);
    expect(fromErc8004Registration(file).card).toEqual(record.metadata.card);
  });

  it("answers an unknown agent with 404 and a coded problem", async () => {
    const res = await g.app.inject({
      method: "GET",
      url: `/v1/agents/0x${"ab".repeat(20)}/erc8004.json`,
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toMatch(/AGENT_NOT_FOUND/);
  });
});
