/**
 * Another agent's A2A card, fetched and checked: the card an A2A client reads
 * at the agent's well-known path must be the card the agent signed into the
 * registry (same hash), and it reads back as a ChaosCore card.
 *
 *   npx tsx examples/a2a-card/fetch-card.ts --gateway http://127.0.0.1:8787 --agent 0x…
 */
import { parseArgs } from "node:util";
import { type A2AAgentCard, fromA2AAgentCard } from "@chaoscore/core";
import { ChaosCoreClient } from "@chaoscore/sdk";

const { values } = parseArgs({
  options: {
    gateway: { type: "string", default: process.env.CHAOSCORE_GATEWAY ?? "http://127.0.0.1:8787" },
    agent: { type: "string" },
  },
});
if (values.agent === undefined) {
  console.log("usage: tsx examples/a2a-card/fetch-card.ts --gateway URL --agent 0x…");
  process.exit(2);
}
const url = `${values.gateway}/v1/agents/${values.agent}/.well-known/agent-card.json`;
const response = await fetch(url);
if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
const a2a = (await response.json()) as A2AAgentCard;
console.log(`A2A card of ${a2a.name}: ${a2a.skills.length} skills, endpoint ${a2a.url}`);
const { card, claimedAgent } = fromA2AAgentCard(a2a);
const registered = await new ChaosCoreClient({ baseUrl: values.gateway }).getAgent(values.agent);
const identity = a2a.capabilities.extensions?.find(
  (e) => e.uri === "https://chaoscore.dev/a2a/identity/v1",
)?.params as { cardHash?: string } | undefined;
if (claimedAgent !== values.agent.toLowerCase()) throw new Error("the card names another agent");
if (identity?.cardHash !== registered.metadata.cardHash) {
  throw new Error("the A2A card is not the card the agent registered");
}
console.log(`identity ${claimedAgent}, card hash ${identity?.cardHash} (as registered)`);
console.log(`imported as a ChaosCore card: ${card.name} [${card.capabilities.join(", ")}]`);
console.log("OK");
