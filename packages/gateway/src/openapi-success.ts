/**
 * Success bodies of the operations whose routes declare none (their handlers
 * return engine records): what the OpenAPI document promises for them. They
 * are the document's only — Fastify does not serialize with them, so a field
 * they omit is still sent — and schemathesis' `response_schema_conformance`
 * checks every answer against them in CI. Each lists the fields clients rely
 * on; records may carry more (`additionalProperties`).
 * @module
 */

type Schema = Record<string, unknown>;

const str: Schema = { type: "string" };
const int: Schema = { type: "integer", minimum: 0 };
const address: Schema = { type: "string", pattern: "^0x[0-9a-f]{40}$" };
const hash: Schema = { type: "string", pattern: "^0x[0-9a-f]{64}$" };
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: "null" }] });
const object = (
  properties: Record<string, Schema>,
  required: string[] = Object.keys(properties),
) => ({
  type: "object",
  properties,
  required,
  additionalProperties: true,
});
const page = (item: Schema): Schema =>
  object({ items: { type: "array", items: item }, nextCursor: nullable(str) });

const AgentRecord = object({
  identity: object(
    {
      id: address,
      signer: address,
      publicKey: str,
      status: { enum: ["active", "suspended", "revoked"] },
      createdAt: str,
      updatedAt: str,
    },
    ["id", "signer", "status"],
  ),
  metadata: { type: "object" },
});
/** An action or outcome as recorded (`leafIndex` is its position in the log). */
const EntryRecord = object({ id: hash, leafIndex: int }, ["id", "leafIndex"]);
const Checkpoint = object(
  { size: int, rootHash: str, note: str, createdAt: str, origin: str, verifierKey: str },
  ["size", "rootHash", "note"],
);
const Studio = object(
  { id: str, kind: str, name: str, operator: nullable(address), status: str, version: int },
  ["id", "kind", "name", "status"],
);
const Member = object({ agent: address, roles: { type: "array", items: str }, addedAt: str });
const Task = object({ studio: str, id: str, state: str }, ["studio", "id", "state"]);

/** `method path` → status → body schema. */
export const SUCCESS: Readonly<Record<string, Readonly<Record<string, Schema>>>> = {
  "get /readyz": { "200": object({ status: str, checks: { type: "object" } }) },
  "get /v1": {
    "200": object(
      {
        format: { const: "chaoscore.gateway/v1" },
        chainId: str,
        log: object({ id: str, origin: str, verifierKey: str }),
        features: { type: "object" },
      },
      ["format", "chainId", "log", "features"],
    ),
  },
  "post /v1/agents": { "201": AgentRecord },
  "get /v1/agents": { "200": page(AgentRecord) },
  "get /v1/agents/{id}": { "200": AgentRecord },
  "get /v1/agents/{id}/signing-state": {
    "200": object(
      { agent: address, signer: address, status: str, actionNonce: str, nextNonce: str },
      ["agent", "signer", "status"],
    ),
  },
  "get /v1/agents/{id}/actions": { "200": page(EntryRecord) },
  "get /v1/actions": { "200": page(EntryRecord) },
  "get /v1/actions/{id}": { "200": EntryRecord },
  "get /v1/log/checkpoint": { "200": Checkpoint },
  "get /v1/log/checkpoints": {
    "200": object({
      items: {
        type: "array",
        items: object({ size: int, rootHash: str, note: str, anchors: { type: "array" } }),
      },
    }),
  },
  "get /v1/log/proofs/inclusion": {
    "200": object({ index: int, size: int, hashes: { type: "array", items: str } }),
  },
  "get /v1/log/proofs/consistency": {
    "200": object({ from: int, to: int, hashes: { type: "array", items: str } }),
  },
  "get /v1/log/entries": {
    "200": object({ items: { type: "array", items: object({ index: int, entry: str }) } }),
  },
  "get /v1/log/anchors": {
    "200": object({ items: { type: "array" }, explorerUrl: nullable(str) }),
  },
  "post /v1/studios": { "201": Studio },
  "get /v1/studios": { "200": page(Studio) },
  "get /v1/studios/{id}": { "200": Studio },
  "get /v1/studios/{id}/members": { "200": object({ items: { type: "array", items: Member } }) },
  "get /v1/studios/{id}/tasks": { "200": page(Task) },
  "get /v1/agents/{id}/history": {
    "200": object({
      cards: { type: "array" },
      keys: { type: "array" },
      status: { type: "array" },
    }),
  },
  "get /v1/actions/{id}/receipt": {
    "200": object(
      {
        format: { type: "string", pattern: "^chaoscore\\.receipt/v[0-9]+$" },
        action: object({ entry: { type: "object" }, leafIndex: int }, ["entry", "leafIndex"]),
        outcome: nullable({ type: "object" }),
        checkpoint: str,
        anchor: nullable({ type: "object" }),
      },
      ["format", "action", "checkpoint"],
    ),
  },
  "get /v1/reputation/{agent}": { "200": object({ items: { type: "array" } }) },
  "get /v1/reputation": { "200": object({ items: { type: "array" } }) },
  "get /v1/studios/{id}/dao": {
    "200": object({
      treasury: int,
      monthlyBurn: int,
      grantsPaid: int,
      parameters: { type: "object" },
    }),
  },
  "get /v1/studios/{id}/proposals/{proposal}": {
    "200": object({ studio: str, id: str, state: str }),
  },
  "get /v1/studios/{id}/tasks/{task}": {
    "200": object({ ...Task.properties, history: { type: "array" } }),
  },
  "get /v1/studios/{id}/tasks/{task}/eligible": { "200": object({ items: { type: "array" } }) },
  "get /v1/search": {
    "200": object(
      {
        kind: str,
        items: { type: "array" },
        nextCursor: nullable(str),
        checkpoint: nullable({ type: "object" }),
      },
      ["kind", "items"],
    ),
  },
  "get /v1/reputation/pre-trusted": {
    "200": object({ agents: { type: "array", items: address } }),
  },
};
