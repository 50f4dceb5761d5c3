import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AGENT_CARD_FORMAT,
  type AgentCard,
  agentCardHash,
  parseAgentCard,
  RegisterAgentRequestSchema,
  RotateAgentKeyRequestSchema,
} from "./agent-card.js";
import { canonicalJson } from "./canonical-json.js";
import { isChaosCoreError } from "./errors.js";
import { compileParser } from "./schemas.js";

const card: AgentCard = {
  format: AGENT_CARD_FORMAT,
  name: "Proposal Analyst",
  description: "Reads DAO proposals,\nsimulates them and recommends a vote.",
  capabilities: ["governance.analyse", "governance:vote", "simulate-v2"],
  framework: "crewai",
  version: "1.4.0",
  endpoints: [{ name: "A2A", endpoint: "https://agent.example/.well-known/agent-card.json" }],
  codeMeasurement: `0x${"ab".repeat(32)}`,
  owner: `0x${"12".repeat(20)}`,
};

function invalidAt(value: unknown): string {
  try {
    parseAgentCard(value);
  } catch (error) {
    if (isChaosCoreError(error, "AGENT_CARD_INVALID")) return String(error.details?.path);
    throw error;
  }
  throw new Error("expected AGENT_CARD_INVALID");
}

describe("parseAgentCard", () => {
  it("returns a valid card unchanged", () => {
    expect(parseAgentCard(card)).toBe(card);
    const minimal = {
      ...card,
      description: "",
      capabilities: [],
      framework: "",
      version: "",
      endpoints: [],
      codeMeasurement: null,
      owner: null,
    };
    expect(parseAgentCard(minimal)).toBe(minimal);
  });

  it.each([
    ["a wrong format tag", { ...card, format: "chaoscore.agent-card/v2" }, "/format"],
    ["an empty name", { ...card, name: "" }, "/name"],
    ["a name over 128 characters", { ...card, name: "n".repeat(129) }, "/name"],
    ["a control character in the name", { ...card, name: "a\u0007b" }, "/name"],
    ["a line break in the name", { ...card, name: "a\nb" }, "/name"],
    ["a NUL in the description", { ...card, description: "a\u0000b" }, "/description"],
    ["a description over 2000", { ...card, description: "d".repeat(2001) }, "/description"],
    ["an upper-case capability", { ...card, capabilities: ["Vote"] }, "/capabilities/0"],
    ["a capability over 64", { ...card, capabilities: ["c".repeat(65)] }, "/capabilities/0"],
    ["a capability starting with '-'", { ...card, capabilities: ["-x"] }, "/capabilities/0"],
    ["duplicate capabilities", { ...card, capabilities: ["a", "a"] }, "/capabilities"],
    [
      "65 capabilities",
      { ...card, capabilities: Array.from({ length: 65 }, (_, i) => `c${i}`) },
      "/capabilities",
    ],
    ["a framework over 64", { ...card, framework: "f".repeat(65) }, "/framework"],
    ["a version over 32", { ...card, version: "v".repeat(33) }, "/version"],
    [
      "a non-http endpoint",
      { ...card, endpoints: [{ name: "x", endpoint: "ftp://agent.example/" }] },
      "/endpoints/0/endpoint",
    ],
    [
      "a javascript: endpoint",
      { ...card, endpoints: [{ name: "x", endpoint: "javascript:alert(1)" }] },
      "/endpoints/0/endpoint",
    ],
    [
      "an endpoint without a host",
      { ...card, endpoints: [{ name: "x", endpoint: "https:///path" }] },
      "/endpoints/0/endpoint",
    ],
    [
      "an endpoint that is not a URL",
      { ...card, endpoints: [{ name: "x", endpoint: "http://[::1/" }] },
      "/endpoints/0/endpoint",
    ],
    [
      "an endpoint with an extra field",
      { ...card, endpoints: [{ name: "x", endpoint: "https://a.example", version: "1" }] },
      "/endpoints/0/version",
    ],
    [
      "17 endpoints",
      {
        ...card,
        endpoints: Array.from({ length: 17 }, (_, i) => ({
          name: `e${i}`,
          endpoint: "https://a.example",
        })),
      },
      "/endpoints",
    ],
    ["a short code measurement", { ...card, codeMeasurement: "0xab" }, "/codeMeasurement"],
    ["an upper-case owner", { ...card, owner: `0x${"AB".repeat(20)}` }, "/owner"],
    ["a lone surrogate", { ...card, description: "a\ud800b" }, "/description"],
    ["an extra field", { ...card, image: "https://a.example/x.png" }, "/image"],
  ])("refuses %s", (_what, value, path) => {
    expect(invalidAt(value)).toBe(path);
  });

  it("refuses a card with a missing field", () => {
    const { owner: _owner, ...rest } = card;
    expect(invalidAt(rest)).toBe("/owner");
  });

  it("refuses values that are not objects", () => {
    for (const value of [null, undefined, 1, "card", [card]]) {
      expect(() => parseAgentCard(value)).toThrow(
        expect.objectContaining({ code: "AGENT_CARD_INVALID" }),
      );
    }
  });
});

describe("agentCardHash", () => {
  it("is SHA-256 of the RFC 8785 canonical JSON", () => {
    const text = canonicalJson(card);
    expect(text.startsWith('{"capabilities":["governance.analyse"')).toBe(true);
    const expected = `0x${createHash("sha256").update(text, "utf8").digest("hex")}`;
    expect(agentCardHash(card)).toBe(expected);
  });

  it("matches a fixed vector", () => {
    const minimal: AgentCard = {
      format: AGENT_CARD_FORMAT,
      name: "a",
      description: "",
      capabilities: [],
      framework: "",
      version: "",
      endpoints: [],
      codeMeasurement: null,
      owner: null,
    };
    expect(canonicalJson(minimal)).toBe(
      '{"capabilities":[],"codeMeasurement":null,"description":"","endpoints":[],' +
        '"format":"chaoscore.agent-card/v1","framework":"","name":"a","owner":null,"version":""}',
    );
    expect(agentCardHash(minimal)).toBe(
      `0x${createHash("sha256").update(canonicalJson(minimal)).digest("hex")}`,
    );
  });

  it("matches the example of docs/spec/agent-card.md", () => {
    const example: AgentCard = {
      format: AGENT_CARD_FORMAT,
      name: "Proposal Analyst",
      description: "Analyses DAO proposals and recommends a vote.",
      capabilities: ["governance.analyse", "governance.vote"],
      framework: "crewai",
      version: "1.0.0",
      endpoints: [{ name: "A2A", endpoint: "https://agent.example/.well-known/agent-card.json" }],
      codeMeasurement: null,
      owner: null,
    };
    expect(agentCardHash(example)).toBe(
      "0xf2ea8a70895f109732dbf51ea924c9f664cc360d4f38380add514ed377e20568",
    );
  });

  it("does not depend on key order, and changes with any field", () => {
    const keys = Object.keys(card) as (keyof AgentCard)[];
    fc.assert(
      fc.property(fc.shuffledSubarray(keys, { minLength: keys.length }), (order) => {
        const reordered = Object.fromEntries(order.map((k) => [k, card[k]])) as AgentCard;
        expect(agentCardHash(reordered)).toBe(agentCardHash(card));
      }),
    );
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }), (name) => {
        fc.pre(name !== card.name);
        expect(agentCardHash({ ...card, name })).not.toBe(agentCardHash(card));
      }),
    );
  });
});

describe("registry request schemas", () => {
  const parseRegister = compileParser(RegisterAgentRequestSchema, "AGENT_REQUEST_MALFORMED", "r");
  const parseRotate = compileParser(RotateAgentKeyRequestSchema, "AGENT_REQUEST_MALFORMED", "r");
  const agent = `0x${"12".repeat(20)}`;
  const signature = `0x${"11".repeat(64)}1b`;

  it("accept well-formed requests and refuse extra or missing fields", () => {
    const register = {
      chainId: "31337",
      card,
      message: { agent, cardHash: agentCardHash(card), nonce: "1", expiry: "1900000000" },
      signature,
    };
    expect(parseRegister(register)).toBe(register);
    expect(() => parseRegister({ ...register, chainId: "0" })).toThrow(
      expect.objectContaining({ code: "AGENT_REQUEST_MALFORMED" }),
    );
    expect(() => parseRegister({ ...register, message: { ...register.message, x: 1 } })).toThrow(
      expect.objectContaining({ code: "AGENT_REQUEST_MALFORMED" }),
    );
    const rotate = {
      chainId: "1",
      message: { agent, newSigner: agent, nonce: "2", expiry: "1900000000" },
      signature,
      newKeyProof: signature,
    };
    expect(parseRotate(rotate)).toBe(rotate);
    const { newKeyProof: _proof, ...withoutProof } = rotate;
    expect(() => parseRotate(withoutProof)).toThrow(
      expect.objectContaining({ code: "AGENT_REQUEST_MALFORMED" }),
    );
  });
});
