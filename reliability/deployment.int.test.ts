/**
 * The deployment of docs/scaling.md, whole, with real processes (issue 18,
 * "3 gateways + 1 worker on one Postgres server and its replica"): a Postgres
 * primary and its streaming replica (@chaoscore/testkit/replica), a local
 * anvil (`chaoscore chain up --detach`), three `chaoscore serve` that read
 * from the replica (`--read-database-url`), rotate shards
 * (`--shard-max-entries`) and do not anchor (`--anchor-every 0`: no leader
 * duty, so they never take the lease), and one worker `chaoscore anchor
 * --every 1` that holds the leader lease and anchors every shard. Writers send
 * signed actions round robin over the three gateways, across rotations; the
 * worker is SIGKILLed (with an anchor in flight when one can be caught) and a
 * new worker takes the lease over. Then: every acknowledged action is stored
 * once at its acknowledged (shard, leaf); each shard's leaves are contiguous
 * and every agent's nonces rise in log order across shards; receipts of both
 * the first and the last shard verify offline under the family key with a
 * trust policy and carry an anchor that is on chain; read-your-writes with
 * `ChaosCore-Min-Size` while the replica's replay is paused; one live anchor
 * record per (shard, size), every shard anchored to its size, and `log audit`
 * clean against itself and the chain (no gap, no fork).
 *
 * Runs with the Postgres suite (DATABASE_URL set, as `.ci/run`'s first pass)
 * where Debian's Postgres binaries exist; its servers are its own (the
 * fixture's, on free ports), not DATABASE_URL's. Skipped, with the reason,
 * otherwise.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { verifyReceiptAnchor } from "@chaoscore/chain";
import { verifyReceiptWithPolicy } from "@chaoscore/core";
import {
  freePort,
  REPLICA_SKIP_REASON,
  type ReplicaPair,
  startReplicaPair,
} from "@chaoscore/testkit/replica";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, runCli, startGateway } from "./gateway.js";
import { gatewayPool, registerWriters } from "./gateway-pool.js";
import {
  type Answer,
  actionBody,
  agentRequestHeaders,
  send,
  sleep,
  type TestAgent,
  target,
} from "./http.js";
import { serverClient } from "./postgres.js";

const SKIP_REASON =
  process.env.DATABASE_URL === undefined || process.env.DATABASE_URL === ""
    ? "runs with the Postgres suite: set DATABASE_URL (its own primary and replica are started)"
    : REPLICA_SKIP_REASON;
const CLI = resolve(import.meta.dirname, "../packages/cli/bin/chaoscore.js");
/** The origin every gateway is reached at (behind one balancer): signed requests name it. */
const PUBLIC = "http://deployment.test";
const SHARD_MAX = 40;
const WRITERS = 6;
const PER_PHASE = 8; // actions per writer per phase (two phases)

type Ack = { id: string; log: string; leafIndex: number; duplicate?: boolean };

/** Polls `check` until it gives a value; fails with `what` after `ms`. */
async function until<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(100);
  }
}

/** `chaoscore anchor --every 1` as a child process: the deployment's worker. */
function startWorker(dataDir: string, env: NodeJS.ProcessEnv) {
  const lines: string[] = [];
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, "--data-dir", dataDir, "anchor", "--every", "1", "--confirmations", "1"],
    { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.on("data", (chunk: Buffer) => {
      const parts = (partial + chunk.toString("utf8")).split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
    });
  }
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    lines,
    running,
    /** When it printed `LEADER acquired at <iso>` (ms), if it did. */
    acquiredAt: (): number | undefined => {
      const line = lines.find((l) => l.startsWith("LEADER acquired at "));
      return line === undefined ? undefined : Date.parse(line.split(" ")[3] as string);
    },
    async signal(signal: NodeJS.Signals) {
      if (running()) child.kill(signal);
      await exited;
    },
  };
}
type Worker = ReturnType<typeof startWorker>;

describe.skipIf(SKIP_REASON !== undefined)(
  `3 gateways + 1 worker on a Postgres primary and its replica${SKIP_REASON === undefined ? "" : ` (skipped: ${SKIP_REASON})`}`,
  () => {
    let pair: ReplicaPair;
    let dataDir: string;
    let rpcUrl: string;
    let chainUp = false;
    const gateways: GatewayProcess[] = [];
    const workers: Worker[] = [];
    const env = { CHAOSCORE_PASSWORD: "deployment-18", CHAOSCORE_RPC_URL: "" };
    const acked = new Map<string, Ack>(); // action id → its acknowledgement
    const nonces = new Map<string, number>(); // agent → last nonce sent
    let agents: TestAgent[] = [];
    let adminKey = "";
    /** One query on the primary's `postgres` database (the fixture's; the deployment's). */
    const q = <T extends Record<string, unknown>>(sql: string): Promise<T[]> =>
      serverClient(pair.primaryPort).query<T>("postgres", sql);
    const cli = (args: string[]) => runCli(args, { dataDir, databaseUrl: pair.primaryUrl, env });
    const statusText = (a: Answer) => (a.ok ? `${a.status} ${a.text.slice(0, 300)}` : a.error);

    /** One signed action of `agent` through `base`; the acknowledgement is kept. */
    const write = async (base: string, agent: TestAgent): Promise<Ack> => {
      const nonce = (nonces.get(agent.address) ?? 0) + 1;
      nonces.set(agent.address, nonce);
      const body = actionBody(agent, nonce, { nonce });
      const answer = await send(`${base}/v1/actions`, {
        method: "POST",
        headers: {
          ...agentRequestHeaders(agent, { method: "POST", path: "/v1/actions", body }),
          "content-type": "application/json",
        },
        body,
      });
      if (!answer.ok || answer.status !== 201) {
        throw new Error(`${agent.name} nonce ${nonce} via ${base}: ${statusText(answer)}`);
      }
      const ack = answer.body as Ack;
      acked.set(ack.id, ack);
      return ack;
    };
    /** Every writer sends `n` actions, one after another, each through the next gateway. */
    const writePhase = async (n: number) => {
      const { nextUrl } = gatewayPool(gateways);
      await Promise.all(
        agents.map(async (agent) => {
          for (let i = 0; i < n; i++) await write(nextUrl(), agent);
        }),
      );
    };
    const shards = () =>
      q<{ id: string; shard: number; state: string; size: number }>(
        "SELECT id, shard, state, size::int AS size FROM logs ORDER BY shard",
      );
    const leaderRoles = () =>
      Promise.all(
        gateways.map(async (g) => {
          const ready = await send(`${g.url}/readyz`, {});
          return ready.ok ? (ready.body as { checks: { leader: string } }).checks.leader : "down";
        }),
      );

    beforeAll(async () => {
      pair = await startReplicaPair();
      dataDir = mkdtempSync(join(tmpdir(), "chaoscore-deployment-"));
      const init = await cli(["init"]);
      expect(init.code, init.stderr).toBe(0);
      const port = await freePort();
      const up = await cli([
        "chain",
        "up",
        "--detach",
        "--port",
        String(port),
        "--block-time",
        "1",
      ]);
      expect(up.code, up.stderr).toBe(0);
      chainUp = true;
      rpcUrl = `http://127.0.0.1:${port}`;
      const serveArgs = [
        "--anchor-every",
        "0",
        "--shard-max-entries",
        String(SHARD_MAX),
        "--read-database-url",
        pair.replicaUrl,
        "--public-url",
        PUBLIC,
      ];
      const start = () =>
        startGateway({ dataDir, databaseUrl: pair.primaryUrl, serveArgs, env: { ...env } });
      // The first start of a database prints the one ADMIN_KEY; the others join it.
      gateways.push(await start());
      gateways.push(...(await Promise.all([start(), start()])));
      adminKey = gateways.map((g) => g.adminKey).find((k) => k !== "") ?? "";
      expect(adminKey).not.toBe("");
      workers.push(startWorker(dataDir, { ...env, DATABASE_URL: pair.primaryUrl }));
      await until("the worker takes the leader lease", 60_000, () => workers[0]?.acquiredAt());
      agents = await registerWriters(gateways, adminKey, WRITERS, "deployment");
      target.origin = PUBLIC;
    }, 240_000);

    afterAll(async () => {
      for (const w of workers) await w.signal("SIGTERM");
      await Promise.all(gateways.map((g) => g.stop()));
      if (chainUp) await cli(["chain", "down"]);
      await pair?.stop();
      if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
    }, 120_000);

    it("takes writes round robin across rotations; the worker is SIGKILLed and a new one leads; nothing is lost or anchored twice", async () => {
      // Phase 1 crosses the first rotation (6 × 8 = 48 actions, shards of 40).
      await writePhase(PER_PHASE);
      expect((await shards()).length).toBeGreaterThanOrEqual(2);
      // The gateways have no leader duty: only the worker leads.
      expect(await leaderRoles()).toEqual(["follower", "follower", "follower"]);

      // Phase 2 runs while the worker is killed, if it can be caught, with an anchor in flight.
      const phase2 = writePhase(PER_PHASE);
      const first = workers[0] as Worker;
      // (Not asserted: the moment cannot be forced; the log line says which it was.)
      const inFlight = await until("an anchor transaction in flight", 10_000, async () => {
        const [row] = await q<{ n: number }>(
          "SELECT count(*)::int AS n FROM anchors WHERE status IN ('pending', 'mined') AND tx_hash IS NOT NULL",
        );
        return (row?.n ?? 0) > 0 ? "an anchor in flight" : undefined;
      }).catch(() => "no anchor caught in flight");
      const killedAt = Date.now();
      await first.signal("SIGKILL");
      const second = startWorker(dataDir, { ...env, DATABASE_URL: pair.primaryUrl });
      workers.push(second);
      const acquired = await until(
        "the restarted worker takes the leader lease after the SIGKILL",
        30_000,
        () => second.acquiredAt(),
      );
      console.info(
        `worker SIGKILL (${inFlight}); the new worker leads ${acquired - killedAt} ms after the kill`,
      );
      expect(acquired).toBeGreaterThanOrEqual(killedAt);
      await phase2;
      expect(await leaderRoles()).toEqual(["follower", "follower", "follower"]);

      // Every acknowledged action is stored once, at its acknowledged shard and leaf.
      expect(acked.size).toBe(WRITERS * PER_PHASE * 2);
      const rows = await q<{ id: string; log: string; leaf: number }>(
        "SELECT '0x' || encode(id, 'hex') AS id, log_id AS log, leaf_index::int AS leaf FROM actions",
      );
      expect(rows).toHaveLength(acked.size);
      for (const r of rows) {
        const ack = acked.get(r.id);
        expect([r.id, ack?.log, ack?.leafIndex]).toEqual([r.id, r.log, r.leaf]);
      }
      // Each shard's leaves are 0..size−1; a shard after the first starts with its link entry.
      const family = await shards();
      expect(family.length).toBeGreaterThanOrEqual(3);
      expect(family.filter((s) => s.state === "active")).toHaveLength(1);
      expect(new Set(rows.map((r) => r.log))).toEqual(new Set(family.map((s) => s.id)));
      const leaves = await q<{ log: string; n: number; max: number; actions: number }>(
        `SELECT l.log_id AS log, count(*)::int AS n, max(l.idx)::int AS max,
                (SELECT count(*)::int FROM actions a WHERE a.log_id = l.log_id) AS actions
         FROM log_leaves l GROUP BY l.log_id`,
      );
      for (const s of family) {
        const l = leaves.find((x) => x.log === s.id);
        expect([s.id, l?.n, l?.max, l?.actions]).toEqual([
          s.id,
          s.size,
          s.size - 1,
          s.shard === 0 ? s.size : s.size - 1,
        ]);
      }
      // Per agent, the nonces 1..n in log order (shard, then leaf), across shards.
      const order = await q<{ agent: string; nonces: string[] }>(
        `SELECT a.agent_id AS agent, array_agg(a.nonce::text ORDER BY l.shard, a.leaf_index) AS nonces
         FROM actions a JOIN logs l ON l.id = a.log_id GROUP BY a.agent_id`,
      );
      expect(order).toHaveLength(WRITERS);
      for (const o of order) {
        expect(o.nonces.map(Number)).toEqual(
          Array.from({ length: PER_PHASE * 2 }, (_, i) => i + 1),
        );
      }

      // The new worker anchors on: every shard anchored (final) to its size.
      await until("every shard anchored (final) to its size", 90_000, async () => {
        const behind = await q<{ id: string }>(
          `SELECT l.id FROM logs l WHERE l.size > coalesce(
             (SELECT max(size) FROM anchors a WHERE a.log_id = l.id AND a.status = 'final'), 0)`,
        );
        return behind.length === 0 ? true : undefined;
      });
      // No checkpoint anchored twice: one live record per (shard, size).
      const doubled = await q<{ log: string; size: number; n: number }>(
        `SELECT log_id AS log, size::int AS size, count(*)::int AS n FROM anchors
         WHERE status <> 'dropped' GROUP BY log_id, size HAVING count(*) > 1`,
      );
      expect(doubled).toEqual([]);
    }, 240_000);

    it("answers receipts from every shard that verify offline under the family key and the trust policy, with their anchors on chain", async () => {
      const info = await send(`${gateways[0]?.url}/v1`, {});
      const familyKey = (info.ok ? (info.body as { log: { verifierKey: string } }) : undefined)?.log
        .verifierKey as string;
      // The anchor contract `chain up` deployed: what the verifier trusts (not what the receipt says).
      const { chainId } = JSON.parse(readFileSync(join(dataDir, "chain.json"), "utf8")) as {
        chainId: string;
      };
      const deployments = JSON.parse(
        readFileSync(join(dataDir, "deployments", `${chainId}.json`), "utf8"),
      ) as { contracts: { CheckpointAnchor: { address: `0x${string}` } } };
      const trusted = [{ chainId, contract: deployments.contracts.CheckpointAnchor.address }];
      const policy = {
        format: "chaoscore.trust-policy/v1",
        log: { key: familyKey },
        anchors: trusted,
      };
      const family = await shards();
      // The first and the last acknowledged action of every shard (frozen ones and the active one).
      const picks = family.flatMap((s) => {
        const inShard = [...acked.values()].filter((a) => a.log === s.id);
        expect(inShard.length, `acknowledged actions in shard ${s.id}`).toBeGreaterThan(0);
        return [inShard[0], inShard.at(-1)] as Ack[];
      });
      for (const [i, ack] of picks.entries()) {
        const gateway = gateways[i % gateways.length] as GatewayProcess;
        const answer = await send(`${gateway.url}/v1/actions/${ack.id}/receipt`, {});
        expect(answer.ok && answer.status, statusText(answer)).toBe(200);
        const receipt = (answer as { body: { anchor: unknown; shard?: string } }).body;
        const verified = verifyReceiptWithPolicy(receipt, policy);
        expect([verified.actionId, verified.leafIndex]).toEqual([ack.id, ack.leafIndex]);
        expect(verified.shard?.number ?? 0).toBe(
          (family.find((s) => s.id === ack.log) as { shard: number }).shard,
        );
        // Anchored: the receipt carries its anchor, and the chain holds that checkpoint.
        expect(receipt.anchor, `the receipt of ${ack.id} (${ack.log}) carries an anchor`).not.toBe(
          null,
        );
        const onChain = await verifyReceiptAnchor(receipt, {
          trusted,
          trustedLogKey: familyKey,
          rpcUrl,
        });
        expect(onChain).not.toBe(null);
      }
    }, 60_000);

    it("reads its own writes with ChaosCore-Min-Size while the replica's replay is paused", async () => {
      await pair.waitForReplay();
      await pair.pauseReplay();
      try {
        const [a, b, c] = gateways as [GatewayProcess, GatewayProcess, GatewayProcess];
        const ack = await write(a.url, agents[0] as TestAgent);
        const size = ack.leafIndex + 1;
        const plain = await send(`${b.url}/v1/log/checkpoint`, {});
        expect(plain.ok && plain.headers.get("chaoscore-read")).toBe("replica");
        expect((plain as { body: { size: number } }).body.size).toBeLessThan(size);
        const fresh = await send(`${b.url}/v1/log/checkpoint`, {
          headers: { "ChaosCore-Min-Size": String(size) },
        });
        expect(fresh.ok && fresh.headers.get("chaoscore-read")).toBe("primary");
        expect((fresh as { body: { size: number } }).body.size).toBeGreaterThanOrEqual(size);
        // The new action's receipt through a third gateway: a miss on the replica, the primary answers.
        const receipt = await send(`${c.url}/v1/actions/${ack.id}/receipt`, {});
        expect([
          receipt.ok && receipt.status,
          receipt.ok && receipt.headers.get("chaoscore-read"),
        ]).toEqual([200, "primary"]);
      } finally {
        await pair.resumeReplay();
      }
      await pair.waitForReplay();
      const caughtUp = await send(`${gateways[1]?.url}/v1/log/checkpoint`, {});
      expect(caughtUp.ok && caughtUp.headers.get("chaoscore-read")).toBe("replica");
    }, 60_000);

    it("is anchored to the end and audits clean, against itself and against the chain", async () => {
      await until("every shard anchored (final) to its size", 90_000, async () => {
        const behind = await q<{ id: string }>(
          `SELECT l.id FROM logs l WHERE l.size > coalesce(
             (SELECT max(size) FROM anchors a WHERE a.log_id = l.id AND a.status = 'final'), 0)`,
        );
        return behind.length === 0 ? true : undefined;
      });
      const audit = await cli(["log", "audit", "--json"]);
      expect(audit.code, `${audit.stdout}\n${audit.stderr}`).toBe(0);
      const report = JSON.parse(audit.stdout) as {
        ok: boolean;
        findings: unknown[];
        chain: { anchored: number } | null;
      };
      expect(report.findings).toEqual([]);
      expect(report.ok).toBe(true);
      // Checked against the chain, not skipped: every shard's anchors were read.
      const [anchored] = await q<{ n: number }>(
        "SELECT count(*)::int AS n FROM anchors WHERE status = 'final'",
      );
      expect(report.chain?.anchored).toBe(anchored?.n);
      expect(workers.at(-1)?.running()).toBe(true);
      expect(gateways.reduce((n, g) => n + g.unexpectedExits, 0)).toBe(0);
    }, 120_000);
  },
);
