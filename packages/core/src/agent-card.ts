import { type Static, Type } from "@sinclair/typebox";
import { canonicalJsonBytes } from "./canonical-json.js";
import { ChaosCoreError } from "./errors.js";
import { sha256Hex } from "./hash.js";
import type { Hex } from "./hex.js";
import {
  AddressHex,
  ChainIdString,
  compileParser,
  HexBytes32,
  RotateAgentKeySchema,
  SignatureHex,
  Uint64String,
} from "./schemas.js";

/**
 * The agent card (`chaoscore.agent-card/v1`): what an agent says about itself
 * when it registers. The agent signs the card's hash (see {@link agentCardHash})
 * in its `RegisterAgent` and `UpdateAgentCard` messages. Specified in
 * docs/spec/agent-card.md, with its mapping onto the ERC-8004 registration file.
 */
export const AGENT_CARD_FORMAT = "chaoscore.agent-card/v1";

/** A capability tag: lowercase, starts with a letter or digit, at most 64 characters. */
export const CAPABILITY_PATTERN = "^[a-z0-9][a-z0-9._:-]{0,63}$";

// One line of text: no C0 control characters and no DEL.
const LINE = "^[^\\u0000-\\u001f\\u007f]*$";
// Free text: like LINE, but tabs and line breaks are allowed.
const TEXT = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$";
// An absolute http(s) URL with a non-empty authority and no whitespace.
const HTTP_URL = "^https?://[^\\s/?#]+(?:[/?#]\\S*)?$";

/** One way to reach the agent: ERC-8004's service entry, restricted to http(s). */
export const AgentEndpointSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: LINE }),
    endpoint: Type.String({ maxLength: 2048, pattern: HTTP_URL }),
  },
  { additionalProperties: false },
);

/** The JSON schema of an agent card. Every field is required; absent values are `null`. */
export const AgentCardSchema = Type.Object(
  {
    format: Type.Literal(AGENT_CARD_FORMAT),
    name: Type.String({ minLength: 1, maxLength: 128, pattern: LINE }),
    description: Type.String({ maxLength: 2000, pattern: TEXT }),
    capabilities: Type.Array(Type.String({ pattern: CAPABILITY_PATTERN }), {
      maxItems: 64,
      uniqueItems: true,
    }),
    framework: Type.String({ maxLength: 64, pattern: LINE }),
    version: Type.String({ maxLength: 32, pattern: LINE }),
    endpoints: Type.Array(AgentEndpointSchema, { maxItems: 16 }),
    codeMeasurement: Type.Union([HexBytes32, Type.Null()]),
    owner: Type.Union([AddressHex, Type.Null()]),
  },
  { additionalProperties: false },
);

/** An agent card. */
export type AgentCard = Static<typeof AgentCardSchema>;
/** One endpoint of an agent card. */
export type AgentEndpoint = Static<typeof AgentEndpointSchema>;

const checkCardShape = compileParser(AgentCardSchema, "AGENT_CARD_INVALID", "agent card");

// A UTF-16 surrogate without its partner: not Unicode text, and not storable in Postgres.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Checks that `value` is an agent card and returns it typed. Beyond the
 * schema, every string must be well-formed Unicode (no lone surrogates), so
 * that the card has exactly one canonical UTF-8 encoding and one hash.
 *
 * @throws ChaosCoreError AGENT_CARD_INVALID with the offending JSON pointer in `details.path`.
 * @example
 * const card = parseAgentCard(JSON.parse(text));
 */
export function parseAgentCard(value: unknown): AgentCard {
  const card = checkCardShape(value);
  const strings: [string, string][] = [
    ["/name", card.name],
    ["/description", card.description],
    ["/framework", card.framework],
    ["/version", card.version],
    ...card.endpoints.flatMap((e, i): [string, string][] => [
      [`/endpoints/${i}/name`, e.name],
      [`/endpoints/${i}/endpoint`, e.endpoint],
    ]),
  ];
  for (const [path, text] of strings) {
    if (LONE_SURROGATE.test(text)) {
      throw new ChaosCoreError(
        "AGENT_CARD_INVALID",
        `agent card is malformed: ${path} is not well-formed Unicode`,
        { details: { path, problem: "lone UTF-16 surrogate" } },
      );
    }
  }
  for (const [i, e] of card.endpoints.entries()) {
    if (!URL.canParse(e.endpoint)) {
      const path = `/endpoints/${i}/endpoint`;
      throw new ChaosCoreError(
        "AGENT_CARD_INVALID",
        `agent card is malformed: ${path} is not a URL`,
        {
          details: { path, problem: "not a URL" },
        },
      );
    }
  }
  return card;
}

/**
 * The hash an agent signs for its card: SHA-256 of the card's RFC 8785
 * canonical JSON (UTF-8), as 0x-hex. Independent of key order and whitespace.
 *
 * @throws ChaosCoreError INVALID_JSON when `card` cannot be canonicalized
 * (never for a card returned by {@link parseAgentCard}).
 * @example
 * const message = { agent, cardHash: agentCardHash(card), nonce: "1", expiry };
 */
export function agentCardHash(card: AgentCard): Hex {
  return sha256Hex(canonicalJsonBytes(card));
}

// ---------------------------------------------------------------------------
// Registry messages (EIP-712 structs of the same names, see EIP712_TYPES) and
// the requests that carry them. RotateAgentKey's schema is in schemas.ts,
// because receipts embed key rotations.

/** `RegisterAgent { agent, cardHash, nonce, expiry }`: the agent registers its card. */
export const RegisterAgentMessageSchema = Type.Object(
  { agent: AddressHex, cardHash: HexBytes32, nonce: Uint64String, expiry: Uint64String },
  { additionalProperties: false },
);

/** `UpdateAgentCard { agent, cardHash, version, nonce, expiry }`: a new card version. */
export const UpdateAgentCardMessageSchema = Type.Object(
  {
    agent: AddressHex,
    cardHash: HexBytes32,
    version: Uint64String,
    nonce: Uint64String,
    expiry: Uint64String,
  },
  { additionalProperties: false },
);

/** `RevokeAgent { agent, nonce, expiry }`: the agent revokes itself, for good. */
export const RevokeAgentMessageSchema = Type.Object(
  { agent: AddressHex, nonce: Uint64String, expiry: Uint64String },
  { additionalProperties: false },
);

/** `ProveAgentControl { agent, nonce, expiry }`: the answer to a challenge (`nonce`). */
export const ProveAgentControlMessageSchema = Type.Object(
  { agent: AddressHex, nonce: HexBytes32, expiry: Uint64String },
  { additionalProperties: false },
);

/**
 * A request to register an agent. `card` is checked separately (its errors
 * are AGENT_CARD_INVALID), so it is `unknown` here.
 */
export const RegisterAgentRequestSchema = Type.Object(
  {
    chainId: ChainIdString,
    card: Type.Unknown(),
    message: RegisterAgentMessageSchema,
    signature: SignatureHex,
  },
  { additionalProperties: false },
);

/** A request to replace an agent's card. */
export const UpdateAgentCardRequestSchema = Type.Object(
  {
    chainId: ChainIdString,
    card: Type.Unknown(),
    message: UpdateAgentCardMessageSchema,
    signature: SignatureHex,
  },
  { additionalProperties: false },
);

/**
 * A request to rotate an agent's key: `signature` by the current key,
 * `newKeyProof` by the new key, both over the same `RotateAgentKey` message.
 */
export const RotateAgentKeyRequestSchema = Type.Object(
  {
    chainId: ChainIdString,
    message: RotateAgentKeySchema,
    signature: SignatureHex,
    newKeyProof: SignatureHex,
  },
  { additionalProperties: false },
);

/** A request by an agent to revoke itself. */
export const RevokeAgentRequestSchema = Type.Object(
  { chainId: ChainIdString, message: RevokeAgentMessageSchema, signature: SignatureHex },
  { additionalProperties: false },
);

/** An answer to a proof-of-control challenge. */
export const ProveAgentControlRequestSchema = Type.Object(
  { chainId: ChainIdString, message: ProveAgentControlMessageSchema, signature: SignatureHex },
  { additionalProperties: false },
);

export type RegisterAgentMessage = Static<typeof RegisterAgentMessageSchema>;
export type UpdateAgentCardMessage = Static<typeof UpdateAgentCardMessageSchema>;
export type RotateAgentKeyMessage = Static<typeof RotateAgentKeySchema>;
export type RevokeAgentMessage = Static<typeof RevokeAgentMessageSchema>;
export type ProveAgentControlMessage = Static<typeof ProveAgentControlMessageSchema>;
