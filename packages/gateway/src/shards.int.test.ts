/**
 * Issue 18 item 2 over HTTP (docs/spec/shards.md): agents write through a
 * rotation in the middle of the run (--shard-max-entries 7); both shards'
 * receipts verify offline under the family key; the frozen shard refuses a
 * write that names it (409 LOG_SHARD_FROZEN, nothing stored); GET /v1/logs,
 * ?log= reads, per-shard tiles whose leaf 0 is the link entry, search across
 * shards; the audit is clean.
 */
import {
  leafHash,
  openCheckpoint,
  parseShardLink,
  verifyInclusion,
  verifyReceipt,
  verifyShardCertificate,
  verifyShardLink,
} from "@chaoscore/core";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

type G = Awaited<ReturnType<typeof openTestGateway>>;
let g: G;

const post = (url: string, body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST" as const,
  url,
  headers: { "content-type": "application/json", ...headers },
  payload: JSON.stringify(body),
});
const get = async (url: string) => g.app.inject({ method: "GET", url });

beforeAll(async () => {
  g = await openTestGateway({}, { shards: { maxEntries: 7 } });
});
afterAll(async () => {
  await g?.close();
});

type Written = { id: string; log: string; leafIndex: number };
type Agent = Awaited<ReturnType<G["newAgent"]>>;
let firstAgent: Agent;
const written: Written[] = [];

describe("a log family over HTTP", () => {
  it("takes writes of three agents through a rotation; nonces run on across it", async () => {
    const agents = await Promise.all([1, 2, 3].map(() => g.newAgent()));
    firstAgent = agents[0] as Agent;
    for (let round = 0; round < 4; round++) {
      for (const agent of agents) {
        const r = await g.app.inject(post("/v1/actions", agent.action(), g.bearer(g.admin)));
        expect(r.statusCode, r.body).toBe(201);
        written.push(r.json());
      }
    }
    // 12 actions: shard 0 takes 7, shard 1 its link entry + 5
    expect(written.map((w) => w.log)).toEqual([
      ...Array(7).fill("default"),
      ...Array(5).fill("default-s1"),
    ]);
    expect(written.slice(7).map((w) => w.leafIndex)).toEqual([1, 2, 3, 4, 5]);
    const logs = (await get("/v1/logs")).json().logs;
    expect(
      logs.map((l: { id: string; state: string; size: number }) => [l.id, l.state, l.size]),
    ).toEqual([
      ["default", "frozen", 7],
      ["default-s1", "active", 6],
    ]);
    // each agent's nonces 1..4, in order, across both shards
    for (const agent of agents) {
      const page = (await get(`/v1/actions?agent=${agent.address}`)).json();
      expect(page.items.map((a: { nonce: string }) => a.nonce)).toEqual(["1", "2", "3", "4"]);
    }
  });

  it("publishes the successor's certificate under the family key", async () => {
    const info = (await get("/v1")).json();
    const familyKey = info.log.verifierKey as string;
    const [s0, s1] = (await get("/v1/logs")).json().logs;
    expect(s0.certificate).toBeUndefined();
    expect(s0.successor).toBe("default-s1");
    expect(s0.frozenSize).toBe(7);
    const cert = verifyShardCertificate(s1.certificate, familyKey);
    expect(cert).toMatchObject({
      shard: 1,
      shardOrigin: s1.origin,
      shardVerifierKey: s1.verifierKey,
    });
  });

  it("answers receipts from both shards that verify offline under the family key", async () => {
    const familyKey = (await get("/v1")).json().log.verifierKey as string;
    for (const w of [written[0], written[11]] as Written[]) {
      const r = await get(`/v1/actions/${w.id}/receipt`);
      expect(r.statusCode, r.body).toBe(200);
      const receipt = r.json();
      const verified = verifyReceipt(receipt, familyKey);
      expect([verified.actionId, verified.leafIndex]).toEqual([w.id, w.leafIndex]);
      expect(verified.shard?.number ?? 0).toBe(w.log === "default" ? 0 : 1);
      expect(receipt.shard === undefined).toBe(w.log === "default");
      const online = await g.app.inject(post("/v1/receipts/verify", receipt));
      expect(online.statusCode, online.body).toBe(200);
    }
  });

  it("refuses a write naming the frozen shard (query or header) with 409, storing nothing", async () => {
    const agent = await g.newAgent();
    const before = await g.rows();
    for (const [url, headers] of [
      ["/v1/actions?log=default", {}],
      ["/v1/actions", { "chaoscore-log": "default" }],
    ] as const) {
      const r = await g.app.inject(post(url, agent.action(), { ...g.bearer(g.admin), ...headers }));
      expect(r.statusCode, r.body).toBe(409);
      expect(r.json()).toMatchObject({
        code: "LOG_SHARD_FROZEN",
        details: {
          log: "default",
          activeLog: "default-s1",
          activeOrigin: "chaoscore.test/log/default/s1",
        },
      });
    }
    const unknown = await g.app.inject(
      post("/v1/actions?log=nope", agent.action(), g.bearer(g.admin)),
    );
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe("LOG_NOT_FOUND");
    expect(await g.rows()).toEqual(before);
    // naming the active shard is accepted
    const ok = await g.app.inject(
      post("/v1/actions?log=default-s1", agent.action(), g.bearer(g.admin)),
    );
    expect(ok.statusCode, ok.body).toBe(201);
    written.push(ok.json());
  });

  it("reads each shard: checkpoints, proofs, tiles with the link entry at leaf 0", async () => {
    const logs = (await get("/v1/logs")).json().logs;
    const [s0, s1] = logs;
    // the frozen shard's checkpoint stays at its final size, under its own key
    const final = (await get("/v1/log/checkpoint?log=default")).json();
    expect(final.size).toBe(7);
    const note0 = (await get("/v1/logs/default/checkpoint")).body;
    expect(openCheckpoint(note0, s0.verifierKey).size).toBe(7);
    // the default read is the active shard
    const active = (await get("/v1/log/checkpoint")).json();
    expect(active.origin).toBe(s1.origin);
    expect((await get("/log/checkpoint")).body.split("\n")[0]).toBe(s1.origin);
    // an inclusion proof in shard 1
    const w = written.at(-1) as Written;
    const proof = (
      await get(`/v1/log/proofs/inclusion?log=default-s1&index=${w.leafIndex}&size=${active.size}`)
    ).json();
    const bundle = await get(`/v1/logs/default-s1/tile/entries/000.p/${active.size}`);
    expect(bundle.statusCode).toBe(200);
    const bytes = new Uint8Array(bundle.rawPayload);
    const entries: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; ) {
      const len = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
      entries.push(bytes.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    expect(entries.length).toBe(active.size);
    const link = parseShardLink(entries[0] as Uint8Array);
    expect(link.previous.checkpoint).toBe(final.note);
    verifyShardLink(link, s0.verifierKey, {
      size: 7,
      rootHash: Uint8Array.from(Buffer.from(final.rootHash, "base64")),
    });
    expect(() =>
      verifyInclusion(
        leafHash(entries[w.leafIndex] as Uint8Array),
        w.leafIndex,
        active.size,
        proof.hashes.map((h: string) => Uint8Array.from(Buffer.from(h, "base64"))),
        Uint8Array.from(Buffer.from(active.rootHash, "base64")),
      ),
    ).not.toThrow();
    // and the proof does not hold for another leaf of the shard
    expect(() =>
      verifyInclusion(
        leafHash(entries[0] as Uint8Array),
        w.leafIndex,
        active.size,
        proof.hashes.map((h: string) => Uint8Array.from(Buffer.from(h, "base64"))),
        Uint8Array.from(Buffer.from(active.rootHash, "base64")),
      ),
    ).toThrow();
    // tiles of an unknown shard
    expect((await get("/v1/logs/nope/tile/0/000.p/1")).statusCode).toBe(404);
  });

  it("refuses a nonce used in shard 0 when it comes again in shard 1", async () => {
    const first = (await get(`/v1/actions/${written[0]?.id}`)).json();
    expect([first.log, first.nonce]).toEqual(["default", "1"]);
    expect((await get("/v1/log/checkpoint")).json().origin).toMatch(/\/s1$/);
    // the agent of the first action signs another action under that nonce
    const before = await g.rows();
    const replay = await g.app.inject(
      post(
        "/v1/actions",
        firstAgent.action({ nonce: 1, actionType: "test.again" }),
        g.bearer(g.admin),
      ),
    );
    expect(replay.statusCode).toBe(409);
    expect(replay.json().code).toBe("AGENCY_NONCE_NOT_INCREASING");
    expect(await g.rows()).toEqual(before);
  });

  it("searches across shards: each hit proved in its own shard", async () => {
    const agentAddress = (await get(`/v1/actions/${written[0]?.id}`)).json().agent;
    const r = (await get(`/v1/search?q=${agentAddress}`)).json();
    const logsOfHits = r.items.map((i: { proof: { log: string } }) => i.proof.log);
    expect(new Set(logsOfHits)).toEqual(new Set(["default", "default-s1"]));
    for (const item of r.items) {
      if (item.proof.log === "default") expect(item.proof.checkpoint).toBeDefined();
    }
  });

  it("audits clean across both shards", async () => {
    const report = await g.engine.agency.audit();
    expect(report.findings).toEqual([]);
    expect(report.shards.map((s) => [s.id, s.size])).toEqual([
      ["default", 7],
      ["default-s1", 7],
    ]);
  });
});
