/**
 * The staging demo's second part (`chaoscore demo --target staging`, after the governance
 * flow), for a stack of several gateways (issue 18; docs/deploy.md "Topology"): agents write
 * through every gateway at once until the log has rotated into a new shard; `GET /v1/logs`
 * shows the shards; each gateway's `/readyz` says leader or follower and how its replica is;
 * reads say which database answered them (`ChaosCore-Read: replica|primary`), with one
 * read-your-writes read (`ChaosCore-Min-Size`); a receipt from each shard is fetched through
 * the gateway that did not write it and verified offline under the family's log key. Ends with
 * `SUMMARY` lines.
 * @module
 */
import { readFile } from "node:fs/promises";
import {
  type AgentCard,
  type Hex,
  isChaosCoreError,
  type LogShardInfo,
  signAction,
  signRegistration,
  verifyReceipt,
} from "@chaoscore/core";
import { ChaosCoreClient } from "@chaoscore/sdk";
import { formatDuration, out, shortHex } from "../output.js";

/** What the tour reads of the staging stack's `stack.json`. */
export type ScaleStack = {
  gatewayUrls: string[];
  adminKey: string;
  /** The gateways' `--shard-max-entries` (0: they never rotate). */
  shardMaxEntries?: number;
  /** Each service's log file (the worker's says when it took the leader lease). */
  logs?: Record<string, string | null>;
  /** The worker's interval (bounds the wait for the shards' anchors). */
  anchorEverySeconds?: number;
};

/** One acknowledged write. */
type Written = { id: Hex; leafIndex: number; log: string; gateway: number };

const AGENTS = 4;

function card(n: number): AgentCard {
  return {
    format: "chaoscore.agent-card/v1",
    name: `Scale demo agent ${n}`,
    description: "Writes through every gateway of the staging stack",
    capabilities: ["demo.scale"],
    framework: "chaoscore-sdk-demo",
    version: "1.0.0",
    endpoints: [],
    codeMeasurement: null,
    owner: null,
  };
}

/** GET `url` (JSON) with the admin key; the answer and the side that read it. */
async function getJson<T>(
  url: string,
  apiKey: string,
  headers: Record<string, string> = {},
): Promise<{ body: T; read: string | null; status: number }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}`, ...headers } });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 300)}`);
  return {
    body: JSON.parse(text) as T,
    read: response.headers.get("chaoscore-read"),
    status: response.status,
  };
}

/** The last `LEADER acquired|lost` line of the worker's log, if the stack names one. */
async function workerLeadership(stack: ScaleStack): Promise<string | null> {
  const path = stack.logs?.worker;
  if (path === undefined || path === null) return null;
  try {
    const lines = (await readFile(path, "utf8")).split("\n").filter((l) => /^LEADER /.test(l));
    return lines.at(-1) ?? null;
  } catch {
    return null;
  }
}

/**
 * Runs the tour against the gateways of `stack` (gateway-1 first).
 * @throws Error when a gateway is not ready, the writes did not cross a rotation although the
 * stack rotates, a receipt does not verify, or the family monitor has a finding.
 */
export async function runScaleTour(
  stack: ScaleStack,
  options: { anchorTimeoutSeconds: number } = { anchorTimeoutSeconds: 0 },
): Promise<void> {
  const started = performance.now();
  const urls = stack.gatewayUrls;
  const name = (i: number) => `gateway-${i + 1}`;
  const clients = urls.map((baseUrl) => new ChaosCoreClient({ baseUrl, apiKey: stack.adminKey }));
  const first = clients[0] as ChaosCoreClient;
  const max = stack.shardMaxEntries ?? 0;
  out();
  out(`Scale-out over HTTP: ${urls.length} gateways on one Postgres primary and its replica`);
  out();

  // ---- the gateways -------------------------------------------------------------------------
  const roles: string[] = [];
  for (const [i, url] of urls.entries()) {
    const { body } = await getJson<{ status: string; checks: Record<string, string> }>(
      `${url}/readyz`,
      stack.adminKey,
    );
    const { leader = "?", replica = "none" } = body.checks;
    roles.push(`${name(i)} ${leader}`);
    out(
      `  ${name(i)}  ${url}  /readyz ${body.status}: leader=${leader}, replica=${replica}, database=${body.checks.database ?? "?"}`,
    );
  }
  const workerLine = await workerLeadership(stack);
  const leader = roles.some((r) => r.endsWith(" leader"))
    ? (roles.find((r) => r.endsWith(" leader")) as string).split(" ")[0]
    : workerLine?.startsWith("LEADER acquired")
      ? "the worker"
      : "none seen";
  if (workerLine !== null) out(`  worker     ${workerLine}`);

  // ---- agents, then writes through every gateway until the log rotates ------------------------
  const gw = await first.info();
  const chainId = BigInt(gw.chainId);
  const verifyingContract = gw.verifyingContract;
  const keys = Array.from({ length: AGENTS }, () => crypto.getRandomValues(new Uint8Array(32)));
  for (const [k, key] of keys.entries()) {
    await (clients[k % clients.length] as ChaosCoreClient).registerAgent(
      signRegistration({ privateKey: key, chainId, verifyingContract, card: card(k + 1) }),
    );
  }
  /** `GET /v1/logs`, or null from a gateway without shards (404: no such route). */
  const listLogs = async (i: number): Promise<LogShardInfo[] | null> => {
    const response = await fetch(`${urls[i]}/v1/logs`, {
      headers: { authorization: `Bearer ${stack.adminKey}` },
    });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`GET /v1/logs: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { logs: LogShardInfo[] }).logs;
  };
  const sharded = await listLogs(0);
  if (sharded === null) {
    out("  ⚠ this gateway has no GET /v1/logs (no shards in this checkout): one log, no rotation");
  }
  const rotates = sharded !== null && max > 0;
  const before = sharded ?? [];
  const active = before.find((l) => l.state === "active");
  // Fill the active shard, then a few more: the first batch after it is full rotates.
  const total = rotates ? Math.max(0, max - (active?.size ?? 0)) + 2 * AGENTS : 4 * AGENTS;
  const shape =
    sharded === null
      ? "one log"
      : `the log has ${before.length} shard(s), the active one ${active?.id ?? "?"} at size ${active?.size ?? "?"}${rotates ? ` of ${max}` : " (no rotation configured)"}`;
  out(`  ${AGENTS} agents registered (through both gateways); ${shape}: writing ${total} actions`);
  const perAgent = Math.ceil(total / AGENTS);
  const written: Written[] = [];
  const t = performance.now();
  await Promise.all(
    keys.map(async (key, k) => {
      for (let j = 0; j < perAgent; j++) {
        // each agent alternates between the gateways: its nonces cross them
        const g = (k + j) % clients.length;
        const signed = signAction({
          privateKey: key,
          chainId,
          verifyingContract,
          actionType: "demo.scale",
          nonce: j + 1,
          payload: { agent: k + 1, step: j + 1, via: name(g) },
        });
        const r = (await (clients[g] as ChaosCoreClient).recordAction(signed)) as Awaited<
          ReturnType<ChaosCoreClient["recordAction"]>
        > & { log?: string };
        written.push({ id: r.id, leafIndex: r.leafIndex, log: r.log ?? "?", gateway: g });
      }
    }),
  );
  const ms = performance.now() - t;
  const via = urls.map((_, i) => written.filter((w) => w.gateway === i).length);
  out(
    `  ${written.length} actions written in ${formatDuration(ms)} (${via.map((n, i) => `${n} via ${name(i)}`).join(", ")}), ${AGENTS} agents in parallel`,
  );

  // ---- the shards ----------------------------------------------------------------------------
  const after = (await listLogs(1 % urls.length)) ?? [];
  if (sharded !== null)
    out(`  GET /v1/logs (through ${name(1 % urls.length)}): ${after.length} shard(s)`);
  for (const l of after) {
    out(
      `    #${l.shard} ${l.id.padEnd(14)} ${l.state.padEnd(6)} size ${String(l.state === "frozen" ? (l.frozenSize ?? l.size) : l.size).padStart(5)}  ${l.origin}${l.successor === undefined ? "" : ` → ${l.successor}`}`,
    );
  }
  const shardsWritten = [...new Set(written.map((w) => w.log))];
  if (rotates) {
    const rotated = after.length > before.length && shardsWritten.length >= 2;
    if (!rotated) {
      throw new Error(
        `the writes did not cross a shard rotation (shards before ${before.length}, after ${after.length}; written to ${shardsWritten.join(", ")})`,
      );
    }
    out(`  the writes crossed a rotation: they landed in ${shardsWritten.join(" and ")}`);
  }

  // ---- receipts, one per shard written, through the other gateway ----------------------------
  const verified: string[] = [];
  const firstOf = new Map<string, Written>();
  for (const shard of shardsWritten) {
    const w = written.filter((x) => x.log === shard).sort((a, b) => a.leafIndex - b.leafIndex)[0];
    if (w === undefined) continue;
    firstOf.set(shard, w);
    const other = (w.gateway + 1) % urls.length;
    const { body, read } = await getJson<Record<string, unknown>>(
      `${urls[other]}/v1/actions/${w.id}/receipt?payload=false`,
      stack.adminKey,
    );
    const text = JSON.stringify(body);
    let result: string;
    try {
      const v = verifyReceipt(text, gw.log.verifierKey);
      result = `verified under the family key ✓ (tree size ${v.treeSize})`;
      verified.push(shard);
    } catch (error) {
      if (!isChaosCoreError(error)) throw error;
      throw new Error(
        `the receipt of ${w.id} (${shard}) does not verify under ${gw.log.verifierKey}: ${error.code} ${error.message}`,
      );
    }
    // the checkpoint is the signed note's text: its first line is the origin (the shard's)
    const checkpoint = body.checkpoint;
    const origin = (typeof checkpoint === "string" ? checkpoint : "").split("\n")[0];
    out(
      `  receipt of ${shortHex(w.id, 4)} (${shard}, leaf ${w.leafIndex}, written via ${name(w.gateway)}), fetched via ${name(other)}${read === null ? "" : ` [read from the ${read}]`}: checkpoint of ${origin || "?"}${body.shard === undefined ? "" : " with its shard certificate"}, ${result}`,
    );
  }

  // ---- reads off the replica -------------------------------------------------------------------
  const sides = { replica: 0, primary: 0, mixed: 0, unsaid: 0 };
  const count = (read: string | null) => {
    if (read === "replica") sides.replica++;
    else if (read === "primary") sides.primary++;
    else if (read === "mixed") sides.mixed++;
    else sides.unsaid++;
  };
  // Give the replica a moment to replay the writes above, then read them back.
  await new Promise((res) => setTimeout(res, 500));
  for (const [i, w] of written.slice(0, 8).entries()) {
    const g = i % urls.length;
    count((await getJson(`${urls[g]}/v1/actions/${w.id}`, stack.adminKey)).read);
    count((await getJson(`${urls[g]}/v1/log/checkpoint`, stack.adminKey)).read);
  }
  // Read-your-writes: a fresh write, read at once, asking for a tree at least as large as
  // the one that holds it: the replica answers only once it has replayed that far.
  const key = keys[0] as Uint8Array;
  const fresh = (await (clients[0] as ChaosCoreClient).recordAction(
    signAction({
      privateKey: key,
      chainId,
      verifyingContract,
      actionType: "demo.scale",
      nonce: perAgent + 1,
      payload: { agent: 1, step: perAgent + 1, via: name(0), readYourWrites: true },
    }),
  )) as { id: Hex; leafIndex: number; log?: string };
  const own = await getJson<{ id: string }>(
    `${urls[1 % urls.length]}/v1/actions/${fresh.id}`,
    stack.adminKey,
    { "ChaosCore-Min-Size": String(fresh.leafIndex + 1) },
  );
  out(
    `  reads: ${sides.replica} answered by the replica, ${sides.primary} by the primary${sides.mixed > 0 ? `, ${sides.mixed} by both` : ""}${sides.unsaid > 0 ? `, ${sides.unsaid} without ChaosCore-Read` : ""}; a fresh write read at once through ${name(1 % urls.length)} with ChaosCore-Min-Size ${fresh.leafIndex + 1}: from the ${own.read ?? "?"}`,
  );
  const metrics = await fetch(`${urls[0]}/metrics`).then((r) => r.text());
  const lag = /^chaoscore_replica_lag_seconds(?:\{[^}]*\})? (\S+)$/m.exec(metrics)?.[1];
  if (lag !== undefined) out(`  chaoscore_replica_lag_seconds on ${name(0)}: ${lag}`);

  // ---- a monitor follows the family (chaoscore log monitor --family) ------------------------------
  // One first pass through the other gateway, under a policy that pins the family key only:
  // each shard's certificate, link entry, checkpoint, every entry and tile.
  let monitored = "";
  if (sharded !== null) {
    const { monitorFamily } = await import("@chaoscore/monitor");
    const via = 1 % urls.length;
    const pass = await monitorFamily({
      gateway: urls[via] as string,
      policy: { format: "chaoscore.trust-policy/v1", log: { key: gw.log.verifierKey } },
    });
    const entries = pass.shards.reduce((n, x) => n + (x.result?.newEntries ?? 0), 0);
    const kinds = [...new Set(pass.findings.map((f) => f.kind))];
    monitored = `${pass.shards.length} shards, ${entries} entries verified, ${pass.findings.length === 0 ? "no findings" : `findings: ${kinds.join(", ")}`}`;
    out(
      `  a monitor pass over the family through ${name(via)} (log monitor --family): ${monitored}`,
    );
    if (pass.findings.length > 0) {
      throw new Error(
        `the monitor found: ${pass.findings
          .slice(0, 5)
          .map((f) => `${f.kind} ${f.message}`)
          .join("; ")}`,
      );
    }
  }

  // ---- anchors: the leader anchors every shard's checkpoint --------------------------------------
  // At most three of the worker's rounds (and --anchor-timeout): each shard's first receipt
  // gains an anchor once a final anchor covers it.
  const waitSeconds = Math.min(
    options.anchorTimeoutSeconds,
    3 * (stack.anchorEverySeconds ?? 30) + 10,
  );
  const anchors = new Map<string, string>();
  if (waitSeconds > 0) {
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      for (const [shard, w] of firstOf) {
        if (anchors.has(shard)) continue;
        const { body } = await getJson<{ anchor: { blockNumber: number | string } | null }>(
          `${urls[0]}/v1/actions/${w.id}/receipt?payload=false`,
          stack.adminKey,
        );
        if (body.anchor !== null) anchors.set(shard, `block ${body.anchor.blockNumber}`);
      }
      if (anchors.size === firstOf.size || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 2000));
    }
    out(
      `  anchors (the leader's): ${[...firstOf.keys()].map((shard) => `${shard} ${anchors.get(shard) ?? `not anchored within ${waitSeconds} s`}`).join(", ")}`,
    );
  }

  // ---- summary ---------------------------------------------------------------------------------
  out();
  out(`SUMMARY gateways ${urls.length}: ${roles.join(", ")}; leader: ${leader}`);
  out(
    `SUMMARY writes ${written.length + 1}: ${via.map((n, i) => `${n + (i === 0 ? 1 : 0)} via ${name(i)}`).join(", ")}`,
  );
  out(
    `SUMMARY shards ${after.length}: ${after.map((l) => `${l.id} ${l.state} (${l.state === "frozen" ? (l.frozenSize ?? l.size) : l.size})`).join(", ")}`,
  );
  out(
    `SUMMARY reads ${sides.replica} from the replica, ${sides.primary} from the primary; read-your-writes from the ${own.read ?? "?"}`,
  );
  out(
    `SUMMARY receipts ${verified.length} verified under ${shortHex(gw.log.verifierKey.split("+").slice(0, 2).join("+"), 40)}: ${verified.join(", ")}`,
  );
  if (monitored !== "") out(`SUMMARY monitor ${monitored}`);
  if (waitSeconds > 0) {
    out(
      `SUMMARY anchors ${anchors.size} of ${firstOf.size} shards: ${[...firstOf.keys()].map((shard) => `${shard} ${anchors.get(shard) ?? "none yet"}`).join(", ")}`,
    );
  }
  out(`SUMMARY took ${formatDuration(performance.now() - started)}`);
}
