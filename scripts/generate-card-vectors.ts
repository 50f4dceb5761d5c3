/**
 * Writes the agent-card format vectors in vectors/agent-cards/ (see
 * docs/spec/agent-card.md §1.3–1.4): a ChaosCore card, its A2A AgentCard
 * (signed: ES256K with RFC 6979 nonces, so the bytes are reproducible), its
 * ERC-8004 registration file, and inputs that must be refused.
 *
 *   npx tsx scripts/generate-card-vectors.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  AGENT_CARD_FORMAT,
  type AgentCard,
  hexToBytes,
  privateKeyToAddress,
  toA2AAgentCard,
  toErc8004Registration,
} from "@chaoscore/core";

const dir = join(import.meta.dirname, "..", "vectors", "agent-cards");
mkdirSync(dir, { recursive: true });
const privateKey = hexToBytes(`0x${"42".repeat(32)}`);
const agent = privateKeyToAddress(privateKey);
const card: AgentCard = {
  format: AGENT_CARD_FORMAT,
  name: "Proposal Analyst",
  description: "Analyses DAO proposals and recommends a vote.",
  capabilities: ["governance.analyse", "governance.vote"],
  framework: "crewai",
  version: "1.0.0",
  endpoints: [{ name: "A2A", endpoint: "https://agent.example/a2a/v1" }],
  codeMeasurement: null,
  owner: null,
};
const identity = {
  agent,
  chainId: "31337",
  identityRegistry: "0x5fbdb2315678afecb367f032d93f642f64180aa3" as const,
  tokenId: "1",
  historyUrl: `https://gateway.example/v1/agents/${agent}`,
};
const a2a = toA2AAgentCard(card, identity, { privateKey });
const erc8004 = toErc8004Registration(card, identity);
const write = (name: string, value: unknown) =>
  writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
write("card.json", { privateKey: `0x${"42".repeat(32)}`, identity, card });
write("a2a-signed.json", a2a);
write("erc8004.json", erc8004);
write(
  "invalid.json",
  [
    {
      name: "a2a: the name changed after signing",
      format: "a2a",
      code: "AGENT_CARD_SIGNATURE_INVALID",
      input: { ...a2a, name: "Someone Else" },
    },
    {
      name: "a2a: an unknown top-level field",
      format: "a2a",
      code: "AGENT_CARD_IMPORT_INVALID",
      input: { ...a2a, surprise: true },
    },
    {
      name: "a2a: a skill id that is not a capability tag",
      format: "a2a",
      code: "AGENT_CARD_INVALID",
      input: {
        ...a2a,
        signatures: undefined,
        skills: [{ id: "Not A Tag", name: "x", description: "x", tags: [] }],
      },
    },
    {
      name: "a2a: signature by another algorithm",
      format: "a2a",
      code: "AGENT_CARD_SIGNATURE_INVALID",
      input: { ...a2a, signatures: [{ protected: "eyJhbGciOiJSUzI1NiJ9", signature: "AAAA" }] },
    },
    {
      name: "erc8004: wrong type",
      format: "erc8004",
      code: "AGENT_CARD_IMPORT_INVALID",
      input: { ...erc8004, type: "https://example.com/other" },
    },
    {
      name: "erc8004: card hash that does not match the card",
      format: "erc8004",
      code: "AGENT_CARD_HASH_MISMATCH",
      input: { ...erc8004, chaoscore: { ...erc8004.chaoscore, cardHash: `0x${"00".repeat(32)}` } },
    },
    {
      name: "erc8004: an unknown top-level field",
      format: "erc8004",
      code: "AGENT_CARD_IMPORT_INVALID",
      input: { ...erc8004, extra: 1 },
    },
  ].map((v) => JSON.parse(JSON.stringify(v))),
);
console.log(`wrote ${dir}`);
