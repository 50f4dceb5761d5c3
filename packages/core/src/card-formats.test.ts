import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AgentCard } from "./agent-card.js";
import {
  fromA2AAgentCard,
  fromErc8004Registration,
  toA2AAgentCard,
  toErc8004Registration,
} from "./card-formats.js";
import { privateKeyToAddress } from "./eip712.js";
import { isChaosCoreError } from "./errors.js";
import { hexToBytes } from "./hex.js";

const vector = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../../vectors/agent-cards/${name}`, import.meta.url), "utf8"),
  );
const {
  privateKey: keyHex,
  identity,
  card,
} = vector("card.json") as {
  privateKey: string;
  identity: Parameters<typeof toA2AAgentCard>[1];
  card: AgentCard;
};
const privateKey = hexToBytes(keyHex);

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return isChaosCoreError(error) ? error.code : `not coded: ${String(error)}`;
  }
  return "no error";
}

describe("toA2AAgentCard / fromA2AAgentCard", () => {
  it("writes the vector byte for byte (deterministic ES256K signature)", () => {
    expect(toA2AAgentCard(card, identity, { privateKey })).toEqual(vector("a2a-signed.json"));
  });

  it("round-trips: the imported card is the card, signed by the agent", () => {
    const imported = fromA2AAgentCard(vector("a2a-signed.json"));
    expect(imported).toEqual({ card, signedBy: identity.agent, claimedAgent: identity.agent });
    expect(privateKeyToAddress(privateKey)).toBe(identity.agent);
  });

  it("an unsigned card imports with signedBy null", () => {
    expect(fromA2AAgentCard(toA2AAgentCard(card, identity)).signedBy).toBeNull();
  });

  it("refuses to sign with a key that is not the agent's", () => {
    expect(
      codeOf(() => toA2AAgentCard(card, identity, { privateKey: new Uint8Array(32).fill(7) })),
    ).toBe("INVALID_INPUT");
  });

  it("any change to a signed card breaks its signature", () => {
    const signed = vector("a2a-signed.json");
    fc.assert(
      fc.property(
        fc.constantFrom("name", "description", "url", "version"),
        fc.string({ minLength: 1, maxLength: 20 }),
        (field, text) => {
          fc.pre(signed[field] !== text);
          const code = codeOf(() => fromA2AAgentCard({ ...signed, [field]: text }));
          expect([
            "AGENT_CARD_SIGNATURE_INVALID",
            "AGENT_CARD_INVALID",
            "AGENT_CARD_IMPORT_INVALID",
          ]).toContain(code);
        },
      ),
    );
  });
});

describe("toErc8004Registration / fromErc8004Registration", () => {
  it("writes the vector and reads the card back unchanged", () => {
    const file = toErc8004Registration(card, identity);
    expect(file).toEqual(vector("erc8004.json"));
    expect(file.registrations).toEqual([
      { agentId: "1", agentRegistry: `eip155:31337:${identity.identityRegistry}` },
    ]);
    expect(fromErc8004Registration(file)).toEqual({
      card,
      signedBy: null,
      claimedAgent: identity.agent,
      skipped: [],
    });
  });

  it("derives a card from a foreign registration file, skipping non-URL services", () => {
    const imported = fromErc8004Registration({
      type: "https://eips.ethereum.org/EIPS/eip-8004#registration-v1",
      name: "Other Agent",
      description: "from elsewhere",
      image: "",
      services: [
        { name: "A2A", endpoint: "https://other.example/.well-known/agent-card.json" },
        { name: "ENS", endpoint: "other.eth" },
      ],
      active: true,
      registrations: [],
      supportedTrust: ["reputation"],
    });
    expect(imported.card.endpoints).toEqual([
      { name: "A2A", endpoint: "https://other.example/.well-known/agent-card.json" },
    ]);
    expect(imported.skipped).toEqual(["ENS: other.eth"]);
  });
});

describe("bad cards", () => {
  for (const v of vector("invalid.json") as {
    name: string;
    format: string;
    code: string;
    input: unknown;
  }[]) {
    it(`${v.name}: ${v.code}`, () => {
      const read = v.format === "a2a" ? fromA2AAgentCard : fromErc8004Registration;
      expect(codeOf(() => read(v.input))).toBe(v.code);
    });
  }

  it("never throws anything but a coded error on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        for (const read of [fromA2AAgentCard, fromErc8004Registration]) {
          expect(codeOf(() => read(value))).toMatch(/^(AGENT_CARD_|INVALID_)/);
        }
      }),
    );
  });
});
