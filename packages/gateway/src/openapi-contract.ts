/**
 * The OpenAPI document as the contract. Routes declare their parameters,
 * bodies and success answers; this module completes the generated document
 * with what holds for every route, from the same sources the gateway uses to
 * answer:
 *
 * - every error answer an operation can give, as `application/problem+json`
 *   with one shared `ProblemDetails` schema whose `code` is an enum of the
 *   codes that operation can return, grouped by their HTTP status with
 *   {@link statusOf} (the table problem.ts answers with);
 * - an `operationId` per operation and OpenAPI `links` where one answer feeds
 *   the next request (agent id → its actions, action id → its receipt,
 *   checkpoint → proofs), so that a stateful tester can walk the API;
 * - the media types of the routes that do not answer JSON.
 *
 * Which domain codes a route can return is {@link ROUTE_AREAS}: the engine
 * components behind each group of paths. A route whose path matches no area
 * fails the contract test (`openapi-contract.int.test.ts`).
 * @module
 */
import { ERROR_CODES, type ErrorCode } from "@chaoscore/core";
import type { Access } from "./auth.js";
import { SUCCESS } from "./openapi-success.js";
import { PROBLEM_MEDIA_TYPE, statusOf } from "./problem.js";

/** What the gateway knows of a route when it builds the document. */
export type RouteContract = {
  method: string;
  /** The OpenAPI path (`/v1/agents/{id}`). */
  path: string;
  access: Access;
  hasBody: boolean;
  hasParams: boolean;
};

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const withPrefixes = (prefixes: readonly string[]) =>
  CODES.filter((c) => prefixes.some((p) => c.startsWith(`${p}_`)));

/** Components (code prefixes) of the core library (hex, JSON, signatures) that any engine call may raise. */
const CORE: readonly string[] = ["INVALID", "SIGNATURE"];

/**
 * The engine components behind each group of paths: the code prefixes a route
 * there can answer (besides the gateway's own and the store's).
 */
export const ROUTE_AREAS: readonly { path: RegExp; prefixes: readonly string[] }[] = [
  { path: /^\/(healthz|readyz|metrics|openapi\.json|v1)$/, prefixes: [] },
  { path: /^\/v1\/api-keys/, prefixes: [] },
  { path: /^\/v1\/agents\/\{id\}\/actions$/, prefixes: ["AGENT", "AGENCY"] },
  { path: /^\/v1\/agents/, prefixes: ["AGENT"] },
  {
    path: /^\/v1\/(actions|outcomes)/,
    prefixes: ["AGENCY", "AGENT", "LOG", "MERKLE", "CHECKPOINT", "NOTE", "ATTESTATION", "STUDIO"],
  },
  {
    path: /^\/v1\/receipts/,
    prefixes: ["RECEIPT", "MERKLE", "CHECKPOINT", "NOTE", "COSIGNATURE", "ATTESTATION", "TRUST"],
  },
  { path: /^\/v1\/logs/, prefixes: ["LOG", "MERKLE", "CHECKPOINT", "NOTE"] },
  {
    path: /^\/(v1\/)?log\//,
    prefixes: ["LOG", "MERKLE", "CHECKPOINT", "NOTE", "COSIGNATURE", "WITNESS", "ANCHOR", "CHAIN"],
  },
  { path: /^\/v1\/search$/, prefixes: ["LOG", "MERKLE", "AGENT", "AGENCY", "STUDIO"] },
  { path: /^\/v1\/executions/, prefixes: ["EXECUTION", "ATTESTATION"] },
  { path: /^\/v1\/reputation/, prefixes: ["REPUTATION", "AGENT", "AGENCY", "MERKLE"] },
  {
    path: /^\/v1\/studios/,
    prefixes: [
      "STUDIO",
      "AGENT",
      "AGENCY",
      "EXECUTION",
      "ATTESTATION",
      "REPUTATION",
      "CHAIN",
      "LOG",
    ],
  },
];

/** Gateway codes that only some routes answer (the rest of GATEWAY_* applies to every route). */
const ROUTE_SPECIFIC: Readonly<Record<string, (route: RouteContract) => boolean>> = {
  // Never the answer of a declared operation: they are for undeclared paths and methods.
  GATEWAY_ROUTE_NOT_FOUND: () => false,
  GATEWAY_METHOD_NOT_ALLOWED: () => false,
  GATEWAY_URI_TOO_LONG: (r) => r.hasParams,
  GATEWAY_API_KEY_NOT_FOUND: (r) => r.path.startsWith("/v1/api-keys/"),
  GATEWAY_LAST_ADMIN_KEY: (r) => r.path.startsWith("/v1/api-keys/"),
  GATEWAY_API_KEY_SELF_REVOKE: (r) => r.path.startsWith("/v1/api-keys/"),
  // Bodies and idempotency keys: writes only.
  GATEWAY_MALFORMED_JSON: (r) => r.method !== "GET",
  GATEWAY_UNSUPPORTED_MEDIA_TYPE: (r) => r.method !== "GET",
  GATEWAY_PAYLOAD_TOO_LARGE: (r) => r.method !== "GET",
  GATEWAY_IDEMPOTENCY_KEY_IN_USE: (r) => r.method !== "GET",
  GATEWAY_IDEMPOTENCY_KEY_REUSED: (r) => r.method !== "GET",
  STORE_CONFLICT: (r) => r.method !== "GET",
  STORE_CONSTRAINT_VIOLATION: (r) => r.method !== "GET",
  // Start-up only.
  STORE_MIGRATION_FAILED: () => false,
  STORE_DATA_DIR_LOCKED: () => false,
  // A read replica that is none: reads go to the primary, never an answer.
  STORE_NOT_A_REPLICA: () => false,
};

/**
 * The gateway's and the store's codes a route can answer: every GATEWAY_* and
 * STORE_* code (credentials are checked on every request that carries them,
 * any route may be rate-limited or find the database gone), but those that
 * {@link ROUTE_SPECIFIC} keeps to some routes. A new gateway code applies to
 * every route until it is listed there.
 */
function gatewayCodes(route: RouteContract): ErrorCode[] {
  const components = new Set(["GATEWAY", "STORE"]);
  return CODES.filter((c) => components.has(c.split("_")[0] as string)).filter(
    (c) => ROUTE_SPECIFIC[c]?.(route) ?? true,
  );
}

/** The area of a path, or undefined for a path no area covers. */
export function areaOf(path: string): { prefixes: readonly string[] } | undefined {
  return ROUTE_AREAS.find((a) => a.path.test(path));
}

/** Every code an operation can answer, sorted. */
export function codesOf(route: RouteContract): ErrorCode[] {
  const area = areaOf(route.path);
  const domain =
    area === undefined || area.prefixes.length === 0
      ? []
      : withPrefixes([...CORE, ...area.prefixes]);
  return [...new Set([...gatewayCodes(route), ...domain])].sort();
}

/** The shared problem+json schema (RFC 9457 with ChaosCore's members). */
export const PROBLEM_DETAILS_SCHEMA = {
  type: "object",
  description:
    "RFC 9457 problem details; `code` is a stable code of docs/errors.md (branch on it, not on `detail`)",
  required: ["type", "title", "status", "detail", "instance", "code", "requestId", "retryable"],
  properties: {
    type: { type: "string", description: "docs/errors.md#<code in lower case>" },
    title: { type: "string" },
    status: { type: "integer", minimum: 400, maximum: 599 },
    detail: { type: "string", description: "for humans; may change between versions" },
    instance: { type: "string", description: "the request path" },
    code: { type: "string", enum: [...CODES].sort() },
    requestId: { type: "string", description: "the X-Request-Id, also in the server's log" },
    retryable: { type: "boolean", description: "true when the same request may succeed later" },
    details: { type: "object", additionalProperties: true },
  },
  additionalProperties: false,
} as const;

type Json = Record<string, unknown>;
type Operation = Json & {
  operationId?: string;
  responses?: Record<string, Json>;
  parameters?: Json[];
};

/** `get /v1/agents/{id}/actions` → `getV1AgentsIdActions`. */
export function operationIdOf(method: string, path: string): string {
  const words = path
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w[0]?.toUpperCase() + w.slice(1));
  const id = `${method.toLowerCase()}${words.join("")}`;
  return path === "/log/tile/{*}" ? `${id}Tile` : id;
}

/** Links: where one answer feeds the next request (OpenAPI 3.1 `links`). */
const LINKS: readonly {
  from: [method: string, path: string, status: string];
  name: string;
  to: [method: string, path: string];
  parameters: Record<string, string>;
}[] = [
  // an agent → what it did, its history, its signing state, its reputation
  ...(
    [
      "/v1/agents/{id}",
      "/v1/agents/{id}/actions",
      "/v1/agents/{id}/history",
      "/v1/agents/{id}/signing-state",
    ] as const
  ).flatMap((to) => [
    {
      from: ["post", "/v1/agents", "201"] as [string, string, string],
      name: operationIdOf("get", to),
      to: ["get", to] as [string, string],
      parameters: { id: "$response.body#/identity/id" },
    },
    {
      from: ["get", "/v1/agents", "200"] as [string, string, string],
      name: operationIdOf("get", to),
      to: ["get", to] as [string, string],
      parameters: { id: "$response.body#/items/0/identity/id" },
    },
  ]),
  {
    from: ["post", "/v1/agents", "201"],
    name: "getV1ReputationAgent",
    to: ["get", "/v1/reputation/{agent}"],
    parameters: { agent: "$response.body#/identity/id" },
  },
  // an action → itself and its receipt
  ...(["/v1/actions/{id}", "/v1/actions/{id}/receipt"] as const).flatMap((to) => [
    {
      from: ["post", "/v1/actions", "201"] as [string, string, string],
      name: operationIdOf("get", to),
      to: ["get", to] as [string, string],
      parameters: { id: "$response.body#/id" },
    },
    {
      from: ["get", "/v1/actions", "200"] as [string, string, string],
      name: operationIdOf("get", to),
      to: ["get", to] as [string, string],
      parameters: { id: "$response.body#/items/0/id" },
    },
    {
      from: ["get", "/v1/agents/{id}/actions", "200"] as [string, string, string],
      name: operationIdOf("get", to),
      to: ["get", to] as [string, string],
      parameters: { id: "$response.body#/items/0/id" },
    },
  ]),
  // a checkpoint → proofs in its tree, and the entries it covers
  {
    from: ["get", "/v1/log/checkpoint", "200"],
    name: "getV1LogProofsConsistency",
    to: ["get", "/v1/log/proofs/consistency"],
    parameters: { to: "$response.body#/size" },
  },
  {
    from: ["get", "/v1/log/checkpoint", "200"],
    name: "getV1LogProofsInclusion",
    to: ["get", "/v1/log/proofs/inclusion"],
    parameters: { size: "$response.body#/size" },
  },
  {
    from: ["get", "/v1/log/checkpoint", "200"],
    name: "getV1LogEntries",
    to: ["get", "/v1/log/entries"],
    parameters: { end: "$response.body#/size" },
  },
  // a studio → its members and tasks
  ...(["/v1/studios/{id}", "/v1/studios/{id}/members", "/v1/studios/{id}/tasks"] as const).flatMap(
    (to) => [
      {
        from: ["post", "/v1/studios", "201"] as [string, string, string],
        name: operationIdOf("get", to),
        to: ["get", to] as [string, string],
        parameters: { id: "$response.body#/id" },
      },
      {
        from: ["get", "/v1/studios", "200"] as [string, string, string],
        name: operationIdOf("get", to),
        to: ["get", to] as [string, string],
        parameters: { id: "$response.body#/items/0/id" },
      },
    ],
  ),
  // an API key → its revocation
  {
    from: ["post", "/v1/api-keys", "201"],
    name: "deleteV1ApiKeysKeyId",
    to: ["delete", "/v1/api-keys/{keyId}"],
    parameters: { keyId: "$response.body#/id" },
  },
];

/** Media types of the routes that do not answer JSON. */
const MEDIA: Record<string, { type: string; schema: Json }> = {
  "get /metrics": { type: "text/plain", schema: { type: "string" } },
  "get /log/checkpoint": { type: "text/plain", schema: { type: "string" } },
  "get /log/tile/{*}": {
    type: "application/octet-stream",
    schema: { type: "string", format: "binary" },
  },
  "get /v1/logs/{id}/checkpoint": { type: "text/plain", schema: { type: "string" } },
  "get /v1/logs/{id}/tile/{*}": {
    type: "application/octet-stream",
    schema: { type: "string", format: "binary" },
  },
};

/** A tree size, as read-routing.ts parses it. */
const MIN_SIZE = { type: "string", pattern: "^[0-9]{1,15}$" };
const MIN_SIZE_MEANING =
  "read-your-writes (docs/scaling.md): with a read replica, a read whose log the replica holds fewer than this many leaves of goes to the primary; the answer says which side in ChaosCore-Read. Ignored without a replica; not a tree size: 400 GATEWAY_REQUEST_INVALID";

/** `?minSize=` and `ChaosCore-Min-Size`, which every GET accepts (read-routing.ts). */
function addReadYourWrites(op: Operation): void {
  op.parameters ??= [];
  const has = (where: string, name: string) =>
    op.parameters?.some((p) => p.in === where && p.name === name) ?? false;
  if (!has("query", "minSize")) {
    op.parameters.push({
      in: "query",
      name: "minSize",
      required: false,
      schema: MIN_SIZE,
      description: MIN_SIZE_MEANING,
    });
  }
  if (!has("header", "ChaosCore-Min-Size")) {
    op.parameters.push({
      in: "header",
      name: "ChaosCore-Min-Size",
      required: false,
      schema: MIN_SIZE,
      description: `the same as ?minSize= (the query parameter wins): ${MIN_SIZE_MEANING}`,
    });
  }
}

/**
 * Completes the generated OpenAPI document (see the module comment). Returns
 * the same object, changed.
 */
export function completeDocument<T extends Json>(doc: T, routes: readonly RouteContract[]): T {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Operation>>;
  const d = doc as Json;
  d.components ??= {};
  const components = d.components as Json;
  components.schemas ??= {};
  (components.schemas as Json).ProblemDetails = PROBLEM_DETAILS_SCHEMA;
  const byKey = new Map(routes.map((r) => [`${r.method.toLowerCase()} ${r.path}`, r]));

  for (const [path, methods] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const route = byKey.get(`${method} ${path}`) ?? {
        method: method.toUpperCase(),
        path,
        access: "public",
        hasBody: false,
        hasParams: path.includes("{"),
      };
      op.operationId ??= operationIdOf(method, path);
      const responses: Record<string, Json> = {};
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        const code = Number(status);
        if (code >= 400) continue; // replaced below
        // `errors()` declares 200 and 201 for every route: a read never creates.
        if (method === "get" && status === "201") continue;
        const media = MEDIA[`${method} ${path}`];
        if (media !== undefined && code < 300) {
          responses[status] = {
            description: response.description ?? "the result",
            content: { [media.type]: { schema: media.schema } },
          };
        } else if (code === 204 || response.content !== undefined) {
          responses[status] = response;
        } else {
          responses[status] = {
            ...response,
            content: { "application/json": { schema: {} } },
          };
        }
      }
      // Success bodies the route does not declare itself (openapi-success.ts): exactly those.
      const success = SUCCESS[`${method} ${path}`];
      if (success !== undefined) {
        for (const status of Object.keys(responses)) {
          if (Number(status) < 300 && success[status] === undefined) delete responses[status];
        }
        for (const [status, schema] of Object.entries(success)) {
          responses[status] = {
            description: responses[status]?.description ?? "the result",
            content: { "application/json": { schema } },
          };
        }
      } else if (responses["204"] !== undefined) {
        // A route that answers 204 answers nothing else on success.
        for (const status of ["200", "201"]) delete responses[status];
      }
      // Error answers: problem+json, the codes of this operation grouped by status.
      const byStatus = new Map<number, ErrorCode[]>();
      for (const code of codesOf(route)) {
        const status = statusOf(code);
        byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
      }
      for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
        responses[String(status)] = {
          description: `problem+json: ${codes.join(", ")}`,
          content: {
            [PROBLEM_MEDIA_TYPE]: {
              schema: {
                allOf: [
                  { $ref: "#/components/schemas/ProblemDetails" },
                  {
                    type: "object",
                    properties: { status: { const: status }, code: { enum: codes } },
                  },
                ],
              },
            },
          },
        };
      }
      op.responses = responses;
      if (method === "get") addReadYourWrites(op);
    }
  }

  for (const link of LINKS) {
    const [method, path, status] = link.from;
    const response = paths[path]?.[method]?.responses?.[status];
    const target = paths[link.to[1]]?.[link.to[0]];
    if (response === undefined || target === undefined) continue;
    response.links ??= {};
    const links = response.links as Record<string, Json>;
    links[link.name] = {
      operationId: target.operationId ?? operationIdOf(link.to[0], link.to[1]),
      parameters: link.parameters,
    };
  }
  return doc;
}
