import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  anvilAccounts,
  CHAIN_ENV,
  type ChainSigner,
  type ChaosCoreContracts,
  connectChain,
  type Deployments,
  deployContracts,
  deploymentsPath,
  EthereumClient,
  LocalSigner,
  loadDeployments,
  loadKeystore,
  logIdOf,
  openContracts,
  rpcAnswers,
  startAnvil,
  startDetachedAnvil,
} from "@chaoscore/chain";
import { ChaosCoreError, isChaosCoreError } from "@chaoscore/core";
import { readConfig } from "../data-dir.js";
import { withEngine } from "../engine-context.js";
import { info, out, printFields, printJson, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { untilStopSignal } from "../stop-signals.js";

/** `<data-dir>/chain.json`: the local anvil started by `chain up`. */
export type ChainFile = {
  format: "chaoscore.chain/v1";
  rpcUrl: string;
  chainId: string;
  pid: number | null;
  port: number;
  stateFile: string;
  startedAt: string;
};

/** The chain files of a data directory. */
export function chainPaths(dataDir: string) {
  return {
    chain: join(dataDir, "chain.json"),
    state: join(dataDir, "anvil-state.json"),
    deployments: (chainId: bigint | number | string) => deploymentsPath(dataDir, BigInt(chainId)),
  };
}

/** Reads chain.json, or undefined when there is none. */
export async function readChainFile(dataDir: string): Promise<ChainFile | undefined> {
  let text: string;
  try {
    text = await readFile(chainPaths(dataDir).chain, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const value = JSON.parse(text) as Partial<ChainFile>;
  if (value.format !== "chaoscore.chain/v1" || typeof value.rpcUrl !== "string") {
    throw new ChaosCoreError("INVALID_INPUT", `${chainPaths(dataDir).chain} is not a chain file`);
  }
  return value as ChainFile;
}

/** True when a chain is configured: `CHAOSCORE_RPC_URL`, or a chain.json from `chain up`. */
export async function isChainConfigured(dataDir: string): Promise<boolean> {
  const url = process.env[CHAIN_ENV.rpcUrl];
  return (url !== undefined && url.trim() !== "") || existsSync(chainPaths(dataDir).chain);
}

/** A connected chain with the deployed contracts, signing with the chain key. */
export type ChainContext = {
  client: EthereumClient;
  signer: ChainSigner;
  deployments: Deployments;
  contracts: ChaosCoreContracts;
  rpcUrl: string;
  close(): void;
};

/**
 * Connects to the configured chain: `CHAOSCORE_RPC_URL` (+ `CHAOSCORE_KEYSTORE`), else the
 * anvil of chain.json (signing with its first dev account — a public test key — unless
 * `CHAOSCORE_KEYSTORE` is set).
 * @throws UsageError when no chain is configured; ChaosCoreError CHAIN_RPC_UNREACHABLE,
 * CHAIN_WRONG_CHAIN, CHAIN_INSUFFICIENT_FUNDS, CHAIN_DEPLOYMENTS_INVALID, CHAIN_NOT_DEPLOYED.
 */
export async function openChain(
  dataDir: string,
  options: { deployed?: boolean } = {},
): Promise<Omit<ChainContext, "deployments" | "contracts"> & Partial<ChainContext>> {
  const envUrl = process.env[CHAIN_ENV.rpcUrl]?.trim();
  let client: EthereumClient;
  let signer: ChainSigner;
  let rpcUrl: string;
  if (envUrl !== undefined && envUrl !== "") {
    const connection = await connectChain({ rpcUrl: envUrl });
    client = connection.client;
    signer = connection.signer;
    rpcUrl = envUrl;
  } else {
    const file = await readChainFile(dataDir);
    if (file === undefined) {
      throw new UsageError(
        `no chain configured: run \`chaoscore chain up\` (a local anvil) or set ${CHAIN_ENV.rpcUrl} and ${CHAIN_ENV.keystore}`,
      );
    }
    rpcUrl = file.rpcUrl;
    client = await EthereumClient.connect({
      rpcUrl,
      chainId: BigInt(file.chainId),
      retry: { attempts: 3, baseDelayMs: 100 },
    });
    const keystore = process.env[CHAIN_ENV.keystore]?.trim();
    signer =
      keystore !== undefined && keystore !== ""
        ? await loadKeystore({ path: keystore })
        : LocalSigner.fromPrivateKey(anvilAccounts(1)[0]?.privateKey as string);
  }
  const close = () => client.close();
  if (options.deployed === false) return { client, signer, rpcUrl, close };
  try {
    const deployments = loadDeployments(dataDir, client.chainId);
    const contracts = await openContracts(client, deployments, signer);
    return { client, signer, rpcUrl, deployments, contracts, close };
  } catch (error) {
    close();
    throw error;
  }
}

/** The deployments of the data dir if their code is on chain, else fresh ones. */
async function ensureDeployed(
  dataDir: string,
  client: EthereumClient,
  signer: ChainSigner,
  force = false,
): Promise<{ deployments: Deployments; deployed: boolean }> {
  if (!force) {
    try {
      const deployments = loadDeployments(dataDir, client.chainId);
      await openContracts(client, deployments);
      return { deployments, deployed: false };
    } catch (error) {
      if (
        !isChaosCoreError(error, "CHAIN_DEPLOYMENTS_INVALID") &&
        !isChaosCoreError(error, "CHAIN_NOT_DEPLOYED")
      ) {
        throw error;
      }
    }
  }
  return { deployments: await deployContracts(client, signer, { dir: dataDir }), deployed: true };
}

function printDeployments(d: Deployments): void {
  printFields(
    Object.entries(d.contracts).map(([name, c]) => [name, `${c.address} (block ${c.block})`]),
    "  ",
  );
}

type UpOptions = { port?: number; blockTime?: number; detach?: boolean; json?: boolean };

/**
 * `chaoscore chain up`: starts anvil with its state in the data dir, deploys
 * the contracts if needed, writes chain.json; stays until Ctrl-C unless --detach.
 */
export async function runChainUp({ dataDir }: Globals, opts: UpOptions): Promise<void> {
  await readConfig(dataDir);
  const paths = chainPaths(dataDir);
  const existing = await readChainFile(dataDir);
  if (existing !== undefined && (await rpcAnswers(existing.rpcUrl))) {
    throw new UsageError(
      `a chain is already up at ${existing.rpcUrl} (pid ${existing.pid ?? "?"}); \`chaoscore chain down\` stops it`,
    );
  }
  const chainId = Number((await readConfig(dataDir)).chainId);
  let pid: number | null;
  let rpcUrl: string;
  let port: number;
  let stop: (() => Promise<void>) | undefined;
  if (opts.detach === true) {
    const detached = await startDetachedAnvil({
      port: opts.port ?? 8545,
      chainId,
      stateFile: paths.state,
      ...(opts.blockTime === undefined ? {} : { blockTime: opts.blockTime }),
    });
    pid = detached.pid ?? null;
    rpcUrl = detached.rpcUrl;
    port = detached.port;
  } else {
    const anvil = await startAnvil({
      chainId,
      stateFile: paths.state,
      stateIntervalSeconds: 5,
      ...(opts.port === undefined ? {} : { port: opts.port }),
      ...(opts.blockTime === undefined ? {} : { blockTime: opts.blockTime }),
    });
    pid = anvil.pid ?? null;
    rpcUrl = anvil.rpcUrl;
    port = anvil.port;
    stop = () => anvil.stop();
  }
  const file: ChainFile = {
    format: "chaoscore.chain/v1",
    rpcUrl,
    chainId: String(chainId),
    pid,
    port,
    stateFile: paths.state,
    startedAt: new Date().toISOString(),
  };
  await writeFile(paths.chain, `${JSON.stringify(file, null, 2)}\n`);
  const chain = await openChain(dataDir, { deployed: false });
  let deployments: Deployments;
  let deployed: boolean;
  try {
    ({ deployments, deployed } = await ensureDeployed(dataDir, chain.client, chain.signer));
  } finally {
    chain.close();
  }
  if (opts.json === true) printJson({ ...file, deployed, deployments });
  else {
    out(`✓ chain up: anvil at ${rpcUrl}, chain ${chainId}, pid ${pid ?? "?"}`);
    info(
      deployed
        ? `contracts deployed (${paths.deployments(chainId)})`
        : "contracts already deployed",
    );
    printDeployments(deployments);
    info("the chain key is anvil's first dev account: a PUBLIC test key, never use it elsewhere");
  }
  if (stop === undefined) {
    info(
      "next: chaoscore agent register, chaoscore anchor --wait; `chaoscore chain down` stops it",
    );
    return;
  }
  info("anvil runs until Ctrl-C");
  await untilStopSignal();
  await stop();
  await rm(paths.chain, { force: true });
  info("chain stopped (state saved)");
}

/** `chaoscore chain down`: stops a detached anvil (it saves its state) and removes chain.json. */
export async function runChainDown({ dataDir }: Globals, opts: { json?: boolean }): Promise<void> {
  const file = await readChainFile(dataDir);
  if (file === undefined) throw new UsageError("no chain.json: no chain is up");
  let stopped = false;
  if (file.pid !== null) {
    try {
      process.kill(file.pid, "SIGINT");
      for (let i = 0; i < 100 && (await rpcAnswers(file.rpcUrl)); i++) await sleep(50);
      stopped = true;
    } catch {
      stopped = false;
    }
  }
  await rm(chainPaths(dataDir).chain, { force: true });
  if (opts.json === true) printJson({ stopped, pid: file.pid });
  else
    out(stopped ? `✓ anvil ${file.pid} stopped` : "✓ chain.json removed (anvil was not running)");
}

/** `chaoscore chain deploy`: deploys the contracts (again, with --force) and writes deployments. */
export async function runChainDeploy(
  { dataDir }: Globals,
  opts: { force?: boolean; json?: boolean },
): Promise<void> {
  const chain = await openChain(dataDir, { deployed: false });
  try {
    const { deployments, deployed } = await ensureDeployed(
      dataDir,
      chain.client,
      chain.signer,
      opts.force === true,
    );
    if (opts.json === true) return printJson({ deployed, deployments });
    out(deployed ? "✓ contracts deployed" : "✓ contracts already deployed (--force redeploys)");
    printDeployments(deployments);
  } finally {
    chain.close();
  }
}

/** `chaoscore chain status`. */
export async function runChainStatus(
  { dataDir }: Globals,
  opts: { json?: boolean },
): Promise<void> {
  await readConfig(dataDir); // CLI_NOT_INITIALIZED before any chain connection
  const chain = await openChain(dataDir);
  try {
    const { client, signer } = chain;
    const contracts = chain.contracts as ChaosCoreContracts;
    // The active shard: the one that grows (shard 0 until a rotation; docs/spec/shards.md).
    const { id, origin, size, records } = await withEngine(dataDir, async ({ engine, db }) => ({
      ...(await engine.logs.active().then(async (a) => ({
        id: a.id,
        origin: a.origin,
        size: await a.size(),
      }))),
      records: await db.query<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM anchors WHERE chain_id = $1 AND contract = $2
         GROUP BY status ORDER BY status`,
        [client.chainId.toString(), contracts.anchor.address.toLowerCase()],
      ),
    }));
    const [block, balance, tokenBalance, anchored] = await Promise.all([
      client.getBlockNumber(),
      client.getBalance(signer.address),
      contracts.token.balanceOf(signer.address),
      contracts.anchor.latest(origin),
    ]);
    const status = {
      rpcUrl: chain.rpcUrl,
      chainId: client.chainId.toString(),
      block: block.toString(),
      signer: signer.address,
      balance: balance.toString(),
      tokenBalance: tokenBalance.toString(),
      contracts: Object.fromEntries(
        Object.entries(chain.deployments?.contracts ?? {}).map(([k, v]) => [k, v.address]),
      ),
      log: {
        id,
        origin,
        logId: logIdOf(origin),
        size,
        anchored:
          anchored === undefined
            ? null
            : {
                count: Number(anchored.index + 1n),
                size: Number(anchored.size),
                root: anchored.root,
              },
        records: Object.fromEntries(records.map((r) => [r.status, Number(r.n)])),
      },
    };
    if (opts.json === true) return printJson(status);
    printFields([
      ["rpc", status.rpcUrl],
      ["chain", status.chainId],
      ["block", status.block],
      ["signer", `${status.signer} (${status.balance} wei, ${status.tokenBalance} reward tokens)`],
      ...Object.entries(status.contracts).map(([k, v]) => [k, v] as [string, string]),
      ["log", `${status.log.origin}: ${size} leaves`],
      [
        "anchored",
        status.log.anchored === null
          ? "nothing yet"
          : `${status.log.anchored.count} checkpoints, latest at size ${status.log.anchored.size}` +
            (status.log.anchored.size < size
              ? ` (${size - status.log.anchored.size} leaves not anchored yet)`
              : " (up to date)"),
      ],
      [
        "records",
        Object.entries(status.log.records)
          .map(([k, v]) => `${v} ${k}`)
          .join(", ") || "none",
      ],
    ]);
  } finally {
    chain.close();
  }
}
