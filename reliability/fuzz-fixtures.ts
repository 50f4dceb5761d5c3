/**
 * What the fuzz's generated requests point at, made on the gateway before the
 * run: a registered agent and a stranger, recorded actions, API keys of each
 * scope (one revoked), and accepted agent-signed requests to replay.
 * @module
 */
import type { Hex } from "@chaoscore/core";
import {
  actionBody,
  agentRequestHeaders,
  newAgent,
  registerAgent,
  send,
  type TestAgent,
} from "./http.js";

/** Fixtures the generated requests point at. */
export type Fixtures = {
  adminKey: string;
  keys: { ingest: string; readOnly: string; revoked: string; revokedId: string };
  agent: TestAgent;
  stranger: TestAgent;
  actionIds: Hex[];
  nextNonce: () => number;
  /** Agent-signed requests that were accepted: replaying them must fail. */
  accepted: { method: string; target: string; body?: string; headers: Record<string, string> }[];
};

/** Makes the fixtures on the gateway at `base` with its admin key. */
export async function setup(base: string, adminKey: string): Promise<Fixtures> {
  const admin = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
  const agent = newAgent("fuzz-agent");
  const stranger = newAgent("fuzz-stranger");
  await registerAgent(base, adminKey, agent);
  let nonce = 0;
  const nextNonce = () => ++nonce;
  const actionIds: Hex[] = [];
  for (let i = 0; i < 3; i++) {
    const a = await send(`${base}/v1/actions`, {
      method: "POST",
      headers: admin,
      body: actionBody(agent, nextNonce(), { i }),
    });
    if (!a.ok || a.status !== 201) throw new Error(`fixture action: ${a.ok ? a.text : a.error}`);
    actionIds.push((a.body as { id: Hex }).id);
  }
  actionIds.push(`0x${"00".repeat(32)}`);
  const key = async (scopes: string[]) => {
    const a = await send(`${base}/v1/api-keys`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ scopes }),
    });
    if (!a.ok || a.status !== 201) throw new Error(`fixture key: ${a.ok ? a.text : a.error}`);
    return a.body as { id: string; key: string };
  };
  const ingest = (await key(["ingest"])).key;
  const readOnly = (await key(["read-only"])).key;
  const revoked = await key(["admin"]);
  const del = await send(`${base}/v1/api-keys/${revoked.id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${adminKey}` },
  });
  if (!del.ok || del.status >= 300)
    throw new Error(`revoking the fixture key: ${del.ok ? del.text : del.error}`);
  // Accepted agent-signed requests (a read and a write), to be replayed later.
  const accepted: Fixtures["accepted"] = [];
  for (const target of [
    `/v1/agents/${agent.address}`,
    "/v1/log/checkpoint",
    `/v1/actions/${actionIds[0]}`,
  ]) {
    const headers = agentRequestHeaders(agent, {
      method: "GET",
      path: target,
      expiry: Math.floor(Date.now() / 1000) + 290,
    });
    const a = await send(`${base}${target}`, { headers });
    if (!a.ok || a.status !== 200)
      throw new Error(`fixture signed GET ${target}: ${a.ok ? a.text : a.error}`);
    accepted.push({ method: "GET", target, headers });
  }
  const body = actionBody(agent, nextNonce(), { signed: true });
  const headers = {
    ...agentRequestHeaders(agent, {
      method: "POST",
      path: "/v1/actions",
      body,
      expiry: Math.floor(Date.now() / 1000) + 290,
    }),
    "content-type": "application/json",
  };
  const w = await send(`${base}/v1/actions`, { method: "POST", headers, body });
  if (!w.ok || w.status !== 201) throw new Error(`fixture signed POST: ${w.ok ? w.text : w.error}`);
  accepted.push({ method: "POST", target: "/v1/actions", body, headers });
  return {
    adminKey,
    keys: { ingest, readOnly, revoked: revoked.key, revokedId: revoked.id },
    agent,
    stranger,
    actionIds,
    nextNonce,
    accepted,
  };
}
