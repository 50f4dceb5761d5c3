/**
 * Anchoring under chain faults: a gateway anchoring every second on a
 * `chaoscore chain up --detach` anvil (state in the data dir, dumped every
 * second) while actions keep arriving; anvil SIGKILLed and restarted from
 * its state file, then reorgs (evm_snapshot / evm_revert). Afterwards the
 * anchors must converge: no pending or mined rows left, the latest final
 * anchor covers the log, at most one live row per size, and the
 * CheckpointAnchor contract's history equals the final rows (no size twice).
 * @module
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  anvilAccounts,
  EthereumClient,
  LocalSigner,
  loadDeployments,
  openContracts,
} from "@chaoscore/chain";
import { runCli, startGateway } from "./gateway.js";
import { actionBody, newAgent, registerAgent, send, sleep } from "./http.js";
import type { PostgresServer } from "./postgres.js";
import { fmt, type ScenarioResult } from "./report.js";

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

function chainFile(dataDir: string): { rpcUrl: string; pid: number | null; port: number } {
  return JSON.parse(readFileSync(join(dataDir, "chain.json"), "utf8"));
}

export async function anchorFaultScenario(
  pg: PostgresServer,
  options: { kills: number; reorgs: number; port: number },
  progress: (line: string) => void,
): Promise<ScenarioResult> {
  const started = performance.now();
  const database = "rel_anchor";
  const databaseUrl = await pg.createDatabase(database);
  const dataDir = mkdtempSync(join(tmpdir(), "chaoscore-rel-anchor-"));
  const notes: string[] = [];
  // First start without a chain: initialises the data dir and prints the admin key.
  const init = await startGateway({ dataDir, databaseUrl });
  const adminKey = init.adminKey;
  await init.stop();
  const chainUp = async () => {
    const up = await runCli(
      ["chain", "up", "--detach", "--port", String(options.port), "--block-time", "1"],
      { dataDir, databaseUrl },
    );
    if (up.code !== 0) throw new Error(`chain up: ${up.stderr.slice(-500)}`);
  };
  await chainUp();
  const rpcUrl = chainFile(dataDir).rpcUrl;
  const gateway = await startGateway({
    dataDir,
    databaseUrl,
    serveArgs: ["--anchor-every", "1", "--confirmations", "2"],
  });
  progress(`anchoring faults: anvil at ${rpcUrl}, gateway ${gateway.url}, data dir ${dataDir}`);
  const agent = newAgent("anchor-writer");
  await registerAgent(gateway.url, adminKey, agent);
  let writing = true;
  let acked = 0;
  let nonce = 0;
  const writer = (async () => {
    while (writing) {
      const body = actionBody(agent, ++nonce, { nonce });
      for (;;) {
        const a = await send(`${gateway.url}/v1/actions`, {
          method: "POST",
          headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
          body,
        });
        if (a.ok && a.status === 201) break;
        if (a.ok && a.status < 500 && a.status !== 429) {
          notes.push(`writer refused: ${a.status} ${a.text.slice(0, 200)}`);
          break;
        }
        await sleep(100);
      }
      acked++;
      await sleep(40);
    }
  })();
  const rows = () =>
    pg.query<{ status: string; n: number }>(
      database,
      "SELECT status, count(*)::int AS n FROM anchors GROUP BY status",
    );
  const waitFinal = async (min: number, ms: number) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const r = await rows();
      if ((r.find((x) => x.status === "final")?.n ?? 0) >= min) return true;
      await sleep(250);
    }
    return false;
  };
  if (!(await waitFinal(1, 60_000))) notes.push("NO FINAL ANCHOR within 60 s of the start");
  let kills = 0;
  for (let i = 0; i < options.kills; i++) {
    await sleep(2_000 + Math.random() * 2_000);
    const { pid } = chainFile(dataDir);
    if (pid !== null) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        notes.push(`anvil pid ${pid} was not running`);
      }
    }
    kills++;
    await sleep(3_000);
    await chainUp();
    progress(
      `  anvil SIGKILL ${kills}/${options.kills} and restarted from its state (acked ${acked})`,
    );
  }
  let reorgs = 0;
  for (let i = 0; i < options.reorgs; i++) {
    const snapshot = await rpc<string>(rpcUrl, "evm_snapshot");
    const before = await rpc<string>(rpcUrl, "eth_blockNumber");
    await sleep(3_000 + Math.random() * 1_000);
    const head = await rpc<string>(rpcUrl, "eth_blockNumber");
    await rpc<boolean>(rpcUrl, "evm_revert", [snapshot]);
    reorgs++;
    progress(
      `  reorg ${reorgs}/${options.reorgs}: blocks ${Number(before) + 1}…${Number(head)} reverted (acked ${acked})`,
    );
    await sleep(2_000);
  }
  writing = false;
  await writer;
  // Convergence: nothing pending or mined, and the newest final anchor covers the log.
  const [size] = await pg.query<{ size: number }>(
    database,
    "SELECT size::int FROM logs WHERE id = 'default'",
  );
  const logSize = size?.size ?? 0;
  const convergeStart = Date.now();
  let converged = false;
  while (Date.now() - convergeStart < 120_000) {
    const [open] = await pg.query<{ n: number; top: number | null }>(
      database,
      `SELECT count(*) FILTER (WHERE status IN ('pending', 'mined'))::int AS n,
              max(size) FILTER (WHERE status = 'final')::int AS top FROM anchors`,
    );
    if (open !== undefined && open.n === 0 && open.top === logSize) {
      converged = true;
      break;
    }
    await sleep(500);
  }
  const convergeSeconds = (Date.now() - convergeStart) / 1000;
  await gateway.stop();
  // The table against the contract.
  const doubledRows = await pg.query<{ size: number; n: number }>(
    database,
    `SELECT size::int, count(*)::int AS n FROM anchors WHERE status <> 'dropped'
     GROUP BY log_id, chain_id, contract, size HAVING count(*) > 1`,
  );
  const finals = await pg.query<{ size: number; root: string; block: number; tx: string }>(
    database,
    `SELECT size::int, encode(root, 'hex') AS root, block_number::int AS block, tx_hash::text AS tx
     FROM anchors WHERE status = 'final' ORDER BY size`,
  );
  const counts = await rows();
  const config = JSON.parse(readFileSync(join(dataDir, "config.json"), "utf8")) as {
    chainId: string;
    log: { origin: string };
  };
  const client = await EthereumClient.connect({ rpcUrl, chainId: BigInt(config.chainId) });
  const signer = LocalSigner.fromPrivateKey(anvilAccounts(1)[0]?.privateKey as string);
  const contracts = await openContracts(
    client,
    loadDeployments(dataDir, BigInt(config.chainId)),
    signer,
  );
  const history = await contracts.anchor.history(config.log.origin);
  client.close();
  const chainSizes = history.map((h) => Number(h.size));
  const doubledOnChain = chainSizes.length - new Set(chainSizes).size;
  const finalSizes = finals.map((f) => f.size);
  const sameHistory =
    chainSizes.length === finalSizes.length && chainSizes.every((s, i) => s === finalSizes[i]);
  const onChain = new Set(history.map((h) => `${h.size}/${h.root.toLowerCase()}`));
  const inTable = new Set(finals.map((f) => `${f.size}/0x${f.root.toLowerCase()}`));
  const finalNotOnChain = finals.filter((f) => !onChain.has(`${f.size}/0x${f.root.toLowerCase()}`));
  const onChainNotFinal = history.filter((h) => !inTable.has(`${h.size}/${h.root.toLowerCase()}`));
  const rootsMatch = finalNotOnChain.length === 0 && onChainNotFinal.length === 0;
  const { pid } = chainFile(dataDir);
  if (pid !== null) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  notes.unshift(
    `${fmt(acked)} actions written during the faults; log size ${fmt(logSize)}`,
    `anchors table: ${counts.map((c) => `${c.status} ${c.n}`).join(", ")}; ${
      converged
        ? `converged ${convergeSeconds.toFixed(1)} s after the last fault`
        : "DID NOT CONVERGE in 120 s"
    }`,
    `CheckpointAnchor history: ${chainSizes.length} checkpoints (sizes ${chainSizes.slice(0, 12).join(", ")}${chainSizes.length > 12 ? ", …" : ""}); final rows ${finalSizes.length}; ${
      sameHistory && rootsMatch ? "identical sizes and roots" : "DIFFERENT from the final rows"
    }`,
  );
  if (doubledRows.length > 0)
    notes.push(`LIVE ROWS TWICE FOR A SIZE: ${JSON.stringify(doubledRows)}`);
  if (finalNotOnChain.length > 0) {
    notes.push(
      `FINAL ROWS NOT ON CHAIN: ${finalNotOnChain.length} (${finalNotOnChain
        .slice(0, 5)
        .map((f) => `size ${f.size} block ${f.block} tx ${String(f.tx).slice(0, 12)}…`)
        .join("; ")})`,
    );
  }
  if (onChainNotFinal.length > 0) {
    notes.push(
      `ON CHAIN WITHOUT A FINAL ROW: ${onChainNotFinal.map((h) => `size ${h.size}`).join(", ")}`,
    );
  }
  const double = doubledRows.length + doubledOnChain;
  const diverged = (converged ? 0 : 1) + finalNotOnChain.length + onChainNotFinal.length;
  return {
    scenario: "anvil SIGKILL + reorgs while anchoring",
    load: `${fmt(acked)} actions, anchoring every 1 s`,
    faults: `${kills}× anvil SIGKILL + restart from state, ${reorgs}× reorg`,
    badInputs: 0,
    actionsLost: 0,
    http5xx: 0,
    seconds: (performance.now() - started) / 1000,
    notes,
    measures: { double_anchors: double, anchors_diverged: diverged },
  };
}
