// scratch (not committed): a seeded gateway for manual exploration
import { MockTeeProvider } from "@chaoscore/engine";
import { CHAIN_ID, openTestEngine } from "../../engine/src/test-support/engine.js";
import { FakeRewards } from "../../engine/src/test-support/studio-fixtures.js";
import { ApiKeyStore, buildGateway, gatewayServices } from "./index.js";

const tee = MockTeeProvider.create();
const h = await openTestEngine({
  attestation: { mode: "optional", trustedRoots: [tee.rootPublicKey] },
});
const services = gatewayServices({
  engine: h.engine,
  chainId: CHAIN_ID,
  tee,
  rewards: new FakeRewards(),
});
const app = await buildGateway({
  ...services,
  logger: false,
  chain: { ping: async () => 1, explorerUrl: "http://otterscan.local" },
});
const operator = await h.newAgent(["governance"]);
const evaluator = await h.newAgent(["evaluation"]);
const agents = [await h.newAgent(["governance"]), await h.newAgent(["governance"])];
const s = services.studios!;
await s.governance.createStudio({
  id: "dao",
  name: "Mock DAO",
  operator: operator.address,
  dao: {
    treasury: 1_000_000,
    monthlyBurn: 20_000,
    parameters: { quorum: 0.5, votingPeriodSeconds: 3600, maxGrant: 200_000 },
    grantsPaid: 0,
  },
  rewardPolicy: { kind: "fixed", budget: "1000", amountPerSuccess: "100" },
});
await s.studios.addMember("dao", evaluator.address, ["evaluator"]);
for (const a of agents) await s.studios.addMember("dao", a.address, ["agent"]);
const rep = services.reputation!;
await rep.runEpoch();
for (const [i, amount] of [100_000, 10_000].entries()) {
  await s.governance.runProposal({
    studio: "dao",
    proposal: {
      id: `p${i + 1}`,
      title: `Grant ${i + 1}`,
      kind: "grant",
      recipient: `0x${"ab".repeat(20)}`,
      amount,
      purpose: "indexer",
    },
    operator,
    evaluator,
    agents: i === 1 ? agents.map((a) => ({ ...a, vote: "against" as const })) : agents,
    provider: tee,
  });
  await rep.runEpoch();
}
const plain = await h.newAgent(["search"]);
await h.engine.agency.recordAction(
  plain.action({ actionType: "tool.call", payload: { q: "hello" } }),
);
await h.engine.log.checkpoint();
const key = await new ApiKeyStore(h.engine.db).create({ scopes: ["admin"] });
await app.listen({ port: Number(process.env.PORT ?? 8899), host: "127.0.0.1" });
console.log(
  "LISTENING",
  `http://127.0.0.1:${process.env.PORT ?? 8899}`,
  JSON.stringify(key).slice(0, 200),
);
console.log("AGENTS", agents.map((a) => a.address).join(" "), "PLAIN", plain.address);
