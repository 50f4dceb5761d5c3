/**
 * The credentials of a generated request: none, API keys of each scope,
 * garbage bearer tokens, and agent signatures — valid, over another body,
 * expired, too far ahead, by an unregistered agent, partial or malformed.
 * @module
 */
import fc from "fast-check";
import type { Fixtures } from "./fuzz-fixtures.js";
import type { Planned } from "./fuzz-requests.js";
import { agentRequestHeaders, type TestAgent } from "./http.js";

/** Who a generated request claims to be. */
export type AuthKind =
  | "none"
  | "admin"
  | "ingest"
  | "read-only"
  | "revoked"
  | "bearer-garbage"
  | "agent-valid"
  | "agent-other-body"
  | "agent-expired"
  | "agent-too-far"
  | "agent-unregistered"
  | "agent-partial"
  | "agent-malformed";

/** How often each kind of credentials is drawn. */
export const AUTH_WEIGHTS: [AuthKind, number][] = [
  ["admin", 30],
  ["agent-valid", 14],
  ["none", 10],
  ["ingest", 5],
  ["read-only", 4],
  ["revoked", 4],
  ["bearer-garbage", 7],
  ["agent-other-body", 5],
  ["agent-expired", 5],
  ["agent-too-far", 4],
  ["agent-unregistered", 4],
  ["agent-partial", 4],
  ["agent-malformed", 4],
];

/** Authorization headers that are not a valid bearer key. */
export function bearerGarbage(admin: string): fc.Arbitrary<string> {
  return fc.constantFrom(
    "Bearer",
    "Bearer ",
    "Bearer cck_",
    "Bearer cck_zz_yy",
    "Basic YWRtaW46YWRtaW4=",
    `bearer ${admin}`,
    admin,
    `Bearer ${admin.slice(0, -1)}${admin.endsWith("A") ? "B" : "A"}`,
    `Bearer ${admin}x`,
    `Bearer cck_${"0".repeat(16)}_${"a".repeat(43)}`,
    `Bearer ${"x".repeat(8_000)}`,
    "Bearer \u00e9\u00e9",
  );
}

/** The headers of a planned request, signed (or mis-signed) now. */
export function credentials(p: Planned, fx: Fixtures): Record<string, string> {
  const bodyBytes = p.body.text;
  const sign = (agent: TestAgent, over?: { body?: string; expiry?: number }) => {
    const body = over?.body ?? bodyBytes;
    return agentRequestHeaders(agent, {
      method: p.method,
      path: p.target,
      ...(body === undefined ? {} : { body }),
      ...(over?.expiry === undefined ? {} : { expiry: over.expiry }),
    });
  };
  const now = Math.floor(Date.now() / 1000);
  switch (p.auth) {
    case "none":
      return {};
    case "admin":
      return { authorization: `Bearer ${fx.adminKey}` };
    case "ingest":
      return { authorization: `Bearer ${fx.keys.ingest}` };
    case "read-only":
      return { authorization: `Bearer ${fx.keys.readOnly}` };
    case "revoked":
      return { authorization: `Bearer ${fx.keys.revoked}` };
    case "bearer-garbage":
      return { authorization: p.garbage };
    case "agent-valid":
      return sign(fx.agent);
    case "agent-other-body":
      return sign(fx.agent, { body: '{"other":true}' });
    case "agent-expired":
      return sign(fx.agent, { expiry: now - 5 });
    case "agent-too-far":
      return sign(fx.agent, { expiry: now + 3600 });
    case "agent-unregistered":
      return sign(fx.stranger);
    case "agent-partial": {
      const h = sign(fx.agent);
      delete h["chaoscore-signature"];
      return h;
    }
    case "agent-malformed": {
      const h = sign(fx.agent);
      return {
        ...h,
        "chaoscore-signature": `${h["chaoscore-signature"]?.slice(0, -2)}zz`,
        "chaoscore-nonce": "0x1234",
      };
    }
  }
}
