/**
 * Reads off the primary (issue 18 item 4), with real processes: a Postgres
 * primary and its streaming replica (Debian's binaries, @chaoscore/testkit/replica)
 * and `chaoscore serve --read-database-url <replica>`. Writes go to the
 * primary; proofs, tiles, checkpoints and receipts are read from the replica.
 * With replay paused the replica is stale: a read without ChaosCore-Min-Size
 * shows the old tree, one with it the new tree (from the primary); a receipt
 * of an action the replica has not replayed is still answered (by-id
 * fall-back); the lag metrics are above 0. With the replica stopped, every
 * read still answers 200, from the primary.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  REPLICA_SKIP_REASON,
  type ReplicaPair,
  startReplicaPair,
} from "@chaoscore/testkit/replica";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, startGateway } from "./gateway.js";
import {
  type Answer,
  actionBody,
  agentRequestHeaders,
  codeOf,
  newAgent,
  registerAgent,
  send,
  type TestAgent,
} from "./http.js";

type Ack = { id: string; leafIndex: number };
type Checkpoint = { size: number; note: string };

const served = (a: Answer) => (a.ok ? a.headers.get("chaoscore-read") : null);
const statusOf = (a: Answer) => (a.ok ? a.status : a.error);
const bodyOf = <T>(a: Answer): T => {
  if (!a.ok) throw new Error(`no answer: ${a.error}`);
  return a.body as T;
};

/** One gauge's value in a Prometheus text exposition. */
function gauge(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

describe.skipIf(REPLICA_SKIP_REASON !== undefined)(
  `a gateway reading from a streaming replica${REPLICA_SKIP_REASON === undefined ? "" : ` (skipped: ${REPLICA_SKIP_REASON})`}`,
  () => {
    let pair: ReplicaPair;
    let dataDir: string;
    let gateway: GatewayProcess;
    let base: string;
    const agent: TestAgent = newAgent("replica reader");
    let nonce = 0;

    const post = async (): Promise<Ack> => {
      nonce++;
      const body = actionBody(agent, nonce, { n: nonce });
      const answer = await send(`${base}/v1/actions`, {
        method: "POST",
        headers: {
          ...agentRequestHeaders(agent, { method: "POST", path: "/v1/actions", body }),
          "content-type": "application/json",
        },
        body,
      });
      expect(statusOf(answer)).toBe(201);
      return bodyOf<Ack>(answer);
    };
    const get = (path: string, headers: Record<string, string> = {}) =>
      send(`${base}${path}`, { headers });
    const createStudio = (id: string) =>
      send(`${base}/v1/studios`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${gateway.adminKey}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({
          id,
          kind: "generic",
          name: id,
          operator: agent.address,
          rules: { attestationRequired: false },
          rewardPolicy: { kind: "fixed", budget: "10", amountPerSuccess: "1" },
        }),
      });

    beforeAll(async () => {
      pair = await startReplicaPair();
      dataDir = mkdtempSync(join(tmpdir(), "chaoscore-replica-gw-"));
      gateway = await startGateway({
        dataDir,
        databaseUrl: pair.primaryUrl,
        // warn: the line saying the replica stopped answering (later flags win).
        serveArgs: ["--no-chain", "--read-database-url", pair.replicaUrl, "--log-level", "warn"],
      });
      base = gateway.url;
      await registerAgent(base, gateway.adminKey, agent);
    }, 240_000);

    afterAll(async () => {
      await gateway?.stop();
      await pair?.stop();
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    it("writes on the primary; checkpoints, proofs, tiles, entries and receipts come from the replica", async () => {
      const acks = [await post(), await post(), await post()];
      await pair.waitForReplay();
      const cp = await get("/v1/log/checkpoint");
      expect(statusOf(cp)).toBe(200);
      expect(served(cp)).toBe("replica");
      const size = bodyOf<Checkpoint>(cp).size;
      expect(size).toBe((acks[2] as Ack).leafIndex + 1);

      const proof = await get(`/v1/log/proofs/inclusion?index=0&size=${size}`);
      expect([statusOf(proof), served(proof)]).toEqual([200, "replica"]);
      const tile = await get(`/log/tile/0/000.p/${size}`);
      expect([statusOf(tile), served(tile)]).toEqual([200, "replica"]);
      expect(tile.ok && tile.headers.get("cache-control")).toBe("no-cache");
      // The same bytes, the same ETag, whichever side serves the tile.
      const tileOnPrimary = await get(`/log/tile/0/000.p/${size}`, {
        "ChaosCore-Min-Size": String(size + 1000),
      });
      expect(served(tileOnPrimary)).toBe("primary");
      expect(tileOnPrimary.ok && tileOnPrimary.headers.get("etag")).toBe(
        tile.ok && tile.headers.get("etag"),
      );
      const bundle = await get(`/log/tile/entries/000.p/${size}`);
      expect([statusOf(bundle), served(bundle)]).toEqual([200, "replica"]);
      const receipt = await get(`/v1/actions/${(acks[0] as Ack).id}/receipt`);
      expect([statusOf(receipt), served(receipt)]).toEqual([200, "replica"]);
      const agentPage = await get(`/v1/agents/${agent.address}/actions`);
      expect([statusOf(agentPage), served(agentPage)]).toEqual([200, "replica"]);
      // The studios' and reputation's reads (the explorer's views) too.
      const studio = await createStudio("replica-one");
      expect(statusOf(studio)).toBe(201);
      await pair.waitForReplay();
      for (const path of [
        "/v1/studios/replica-one",
        "/v1/studios/replica-one/members",
        "/v1/studios/replica-one/tasks",
        "/v1/studios",
        `/v1/reputation/${agent.address}`,
      ]) {
        const answer = await get(path);
        expect([path, statusOf(answer), served(answer)]).toEqual([path, 200, "replica"]);
      }
      // The next nonce an agent signs with is never read from a replica.
      const signing = await get(`/v1/agents/${agent.address}/signing-state`);
      expect([statusOf(signing), served(signing)]).toEqual([200, null]);
    });

    it("with replay paused: stale without Min-Size, fresh with it; a just-written receipt falls back to the primary; the lag is a metric", async () => {
      const before = bodyOf<Checkpoint>(await get("/v1/log/checkpoint")).size;
      await pair.pauseReplay();
      try {
        const fresh = [await post(), await post()];
        const size = (fresh[1] as Ack).leafIndex + 1;
        expect(size).toBe(before + 2);

        const stale = await get("/v1/log/checkpoint");
        expect([served(stale), bodyOf<Checkpoint>(stale).size]).toEqual(["replica", before]);
        const withHeader = await get("/v1/log/checkpoint", { "ChaosCore-Min-Size": String(size) });
        expect([served(withHeader), bodyOf<Checkpoint>(withHeader).size]).toEqual([
          "primary",
          size,
        ]);
        const withQuery = await get(`/log/checkpoint?minSize=${size}`);
        expect(served(withQuery)).toBe("primary");
        expect(withQuery.ok && withQuery.text.split("\n")[1]).toBe(String(size));
        // A size the replica has is served by it even when asked with Min-Size.
        const old = await get("/v1/log/checkpoint", { "ChaosCore-Min-Size": String(before) });
        expect(served(old)).toBe("replica");
        const bad = await get("/v1/log/checkpoint", { "ChaosCore-Min-Size": "-1" });
        expect([statusOf(bad), codeOf(bad)]).toEqual([400, "GATEWAY_REQUEST_INVALID"]);

        // Read by id / by size: a miss on the replica is answered by the primary.
        const id = (fresh[1] as Ack).id;
        const receipt = await get(`/v1/actions/${id}/receipt`);
        expect([statusOf(receipt), served(receipt)]).toEqual([200, "primary"]);
        const action = await get(`/v1/actions/${id}`);
        expect([statusOf(action), served(action)]).toEqual([200, "primary"]);
        const proof = await get(`/v1/log/proofs/inclusion?index=${size - 1}&size=${size}`);
        expect([statusOf(proof), served(proof)]).toEqual([200, "primary"]);
        const tile = await get(`/log/tile/0/000.p/${size}`);
        expect([statusOf(tile), served(tile)]).toEqual([200, "primary"]);
        // A studio created while the replica lags: its read misses there, the primary answers.
        expect(statusOf(await createStudio("replica-two"))).toBe(201);
        const studio = await get("/v1/studios/replica-two");
        expect([statusOf(studio), served(studio)]).toEqual([200, "primary"]);

        const metrics = await get("/metrics");
        const text = metrics.ok ? metrics.text : "";
        expect(gauge(text, "chaoscore_replica_up")).toBe(1);
        expect(gauge(text, "chaoscore_replica_lag_bytes")).toBeGreaterThan(0);
        expect(gauge(text, "chaoscore_replica_lag_seconds")).toBeGreaterThan(0);
        expect(text).toMatch(/chaoscore_replica_fallbacks_total\{reason="min_size"\} [1-9]/);
        expect(text).toMatch(/chaoscore_replica_fallbacks_total\{reason="miss"\} [1-9]/);
        const ready = await get("/readyz");
        expect(statusOf(ready)).toBe(200);
        expect(bodyOf<{ checks: { replica: string } }>(ready).checks.replica).toMatch(/^ok \(lag/);
      } finally {
        await pair.resumeReplay();
      }
      await pair.waitForReplay();
      const caughtUp = await get("/v1/log/checkpoint");
      expect([served(caughtUp), bodyOf<Checkpoint>(caughtUp).size]).toEqual([
        "replica",
        before + 2,
      ]);
    });

    it("with the replica stopped every read still answers 200, from the primary", async () => {
      await pair.stopReplica();
      try {
        const ack = await post();
        const size = ack.leafIndex + 1;
        for (const path of [
          "/v1/log/checkpoint",
          "/log/checkpoint",
          `/v1/log/proofs/inclusion?index=0&size=${size}`,
          `/log/tile/0/000.p/${size}`,
          `/v1/log/entries?start=0&end=${size}`,
          `/v1/actions/${ack.id}/receipt`,
          `/v1/actions?agent=${agent.address}`,
          `/v1/search?q=${agent.address}`,
          `/v1/agents/${agent.address}`,
        ]) {
          const answer = await get(path);
          expect([path, statusOf(answer)]).toEqual([path, 200]);
        }
        const cp = await get("/v1/log/checkpoint");
        expect([served(cp), bodyOf<Checkpoint>(cp).size]).toEqual(["primary", size]);
        const ready = await get("/readyz");
        expect(statusOf(ready)).toBe(200);
        expect(bodyOf<{ checks: { replica: string } }>(ready).checks.replica).toMatch(
          /^unavailable, reads go to the primary/,
        );
        const metrics = await get("/metrics");
        const text = metrics.ok ? metrics.text : "";
        expect(gauge(text, "chaoscore_replica_up")).toBe(0);
        expect(gauge(text, "chaoscore_replica_lag_seconds")).toBe(-1);
        expect(text).toMatch(/chaoscore_replica_fallbacks_total\{reason="unavailable"\} [1-9]/);
        // Said once, however many reads went to the primary.
        const said = gateway.tail().filter((l) => l.includes("read replica does not answer"));
        expect(said).toHaveLength(1);
      } finally {
        await pair.startReplica();
      }
    }, 60_000);
  },
);

describe.skipIf(REPLICA_SKIP_REASON !== undefined)(
  `a replica behind a shard rotation${REPLICA_SKIP_REASON === undefined ? "" : ` (skipped: ${REPLICA_SKIP_REASON})`}`,
  () => {
    let pair: ReplicaPair;
    let dataDir: string;
    let gateway: GatewayProcess;
    const agent: TestAgent = newAgent("replica shard reader");
    let nonce = 0;
    const get = (path: string, headers: Record<string, string> = {}) =>
      send(`${gateway.url}${path}`, { headers });
    const post = async (): Promise<Ack & { log: string }> => {
      nonce++;
      const body = actionBody(agent, nonce, { n: nonce });
      const answer = await send(`${gateway.url}/v1/actions`, {
        method: "POST",
        headers: {
          ...agentRequestHeaders(agent, { method: "POST", path: "/v1/actions", body }),
          "content-type": "application/json",
        },
        body,
      });
      expect(statusOf(answer)).toBe(201);
      return bodyOf<Ack & { log: string }>(answer);
    };

    beforeAll(async () => {
      pair = await startReplicaPair();
      dataDir = mkdtempSync(join(tmpdir(), "chaoscore-replica-shards-"));
      gateway = await startGateway({
        dataDir,
        databaseUrl: pair.primaryUrl,
        serveArgs: [
          "--no-chain",
          "--read-database-url",
          pair.replicaUrl,
          "--shard-max-entries",
          "4",
        ],
      });
      await registerAgent(gateway.url, gateway.adminKey, agent);
    }, 240_000);
    afterAll(async () => {
      await gateway?.stop();
      await pair?.stop();
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    }, 60_000);

    it("Min-Size names the active shard: a shard the replica has not replayed is read from the primary", async () => {
      const first = [await post(), await post(), await post(), await post()];
      const family = (first[0] as Ack & { log: string }).log;
      expect(first.map((a) => a.log)).toEqual([family, family, family, family]);
      await pair.waitForReplay();
      await pair.pauseReplay();
      try {
        // The fifth action rotates: the next shard starts with its link entry (leaf 0).
        const rotated = await post();
        expect(rotated.log).not.toBe(family);
        const size = rotated.leafIndex + 1;

        // The active shard is one the replica does not have yet: every read of it is the primary's.
        const cp = await get("/v1/log/checkpoint", { "ChaosCore-Min-Size": String(size) });
        expect([statusOf(cp), served(cp)]).toEqual([200, "primary"]);
        expect(bodyOf<Checkpoint & { origin: string }>(cp).size).toBe(size);
        const plain = await get("/v1/log/checkpoint");
        expect([statusOf(plain), served(plain)]).toEqual([200, "primary"]);
        const receipt = await get(`/v1/actions/${rotated.id}/receipt`);
        expect([statusOf(receipt), served(receipt)]).toEqual([200, "primary"]);

        // The frozen shard is on the replica in full: reads of it stay there, even with Min-Size.
        const frozen = await get(`/v1/log/checkpoint?log=${family}`, { "ChaosCore-Min-Size": "4" });
        expect([statusOf(frozen), served(frozen), bodyOf<Checkpoint>(frozen).size]).toEqual([
          200,
          "replica",
          4,
        ]);
        const old = await get(`/v1/actions/${(first[0] as Ack).id}/receipt`);
        expect([statusOf(old), served(old)]).toEqual([200, "replica"]);
      } finally {
        await pair.resumeReplay();
      }
      await pair.waitForReplay();
      const after = await get("/v1/log/checkpoint");
      expect([served(after), bodyOf<Checkpoint>(after).size]).toEqual(["replica", 2]);
    });
  },
);
