/**
 * `chaoscore serve`: the HTTP gateway over the data directory's engine. On
 * the embedded defaults it opens PGlite in the data dir, starts a local anvil
 * with the contracts deployed, and anchors every 30 s; with `--no-chain` it
 * serves without a chain, with CHAOSCORE_RPC_URL (or `chain up`'s chain.json)
 * it uses that chain. Prints `LISTENING <url>` and, on the first start,
 * `ADMIN_KEY <key>` (shown once).
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type AnvilInstance,
  type ChaosCoreContracts,
  deployContracts,
  EthereumClient,
  LocalSigner,
  openContracts,
  startAnvil,
} from "@chaoscore/chain";
import {
  bytesToHex,
  generateNoteKey,
  generatePrivateKey,
  type Hex,
  hexToBytes,
  privateKeyToAddress,
  signRegistration,
} from "@chaoscore/core";
import type { ChaosCoreNode, Engine } from "@chaoscore/engine";
import {
  CONFIG_FORMAT,
  checkChainId,
  DEFAULT_ORIGIN,
  isInitialized,
  writeConfig,
  writeLogKey,
} from "../data-dir.js";
import { checkNodeFlags, loadNodeConfig, openNode } from "../node-config.js";
import { info, out, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { untilStopSignal } from "../stop-signals.js";
import { ensureTeeRoot } from "../tee-root.js";
import { chainPaths, openChain } from "./chain.js";
import { anchorNowThroughLeader, startLeaderDuties } from "./serve-leader.js";

export type ServeOptions = {
  host: string;
  port: number;
  databaseUrl?: string;
  /** A streaming replica reads go to (docs/scaling.md "Read replicas"). */
  readDatabaseUrl?: string;
  chain: boolean;
  anchorEvery: number;
  confirmations?: number;
  rateLimit: number;
  bodyLimit: number;
  corsOrigin?: string[];
  publicUrl?: string[];
  ipRateLimit?: number;
  globalRateLimit?: number;
  trustProxy?: string;
  registration?: string;
  signatureThreads: number;
  /** `--shard-max-entries`, `--shard-max-age` (docs/spec/shards.md). */
  shardMaxEntries?: number;
  shardMaxAge?: number;
  explorerUrl?: string;
  logLevel: string;
  /** `<url>=<verifier key>` of witnesses (added to config.json's). */
  witness?: string[];
};

type Chain = {
  client: EthereumClient;
  contracts: ChaosCoreContracts;
  signer: import("@chaoscore/chain").ChainSigner;
  rpcUrl: string;
  close(): void;
};

/**
 * Starts submitting the log's checkpoints to the configured witnesses (the
 * data dir's `witnesses` and `--witness <url>=<key>` flags); undefined when none.
 */
async function startWitnessing(
  engine: Engine,
  configured: readonly { url: string; verifierKey: string }[] | undefined,
  flags: readonly string[] | undefined,
  /** Other gateways write too: the leader re-reads the latest checkpoint every second. */
  shared = false,
) {
  const { parseWitnessEndpoint, FamilyWitnessingService } = await import("@chaoscore/log");
  const witnesses = [...(configured ?? [])].map((w) =>
    parseWitnessEndpoint(`${w.url}=${w.verifierKey}`),
  );
  for (const flag of flags ?? []) {
    try {
      witnesses.push(parseWitnessEndpoint(flag));
    } catch (error) {
      throw new UsageError(`--witness ${flag}: ${(error as Error).message}`);
    }
  }
  if (witnesses.length === 0) return undefined;
  // every shard of the log family, each with its certificate (docs/spec/witness.md §3.1)
  const service = new FamilyWitnessingService({
    logs: engine.logs,
    witnesses,
    ...(shared ? { intervalMs: 1000 } : {}),
    onOutcome: (o) => {
      if (o.status !== "cosigned")
        info(`witness ${o.witness} (${o.url}) ${o.status} at size ${o.size}: ${o.detail ?? ""}`);
    },
  });
  // Started by the leader's duties (serve-leader.ts): one process submits to the witnesses.
  info(`witnesses: ${witnesses.map((w) => w.url).join(", ")}`);
  return service;
}

/** Sybil and spam control from the flags (docs/security.md, issue 19 item 7). */
export function admissionOptions(opts: ServeOptions) {
  const registration = opts.registration ?? "open";
  const pow = /^pow:([0-9]{1,2})$/.exec(registration);
  if (
    registration !== "open" &&
    registration !== "closed" &&
    (pow === null || Number(pow[1]) > 32)
  ) {
    throw new UsageError(`--registration ${registration}: use open, closed or pow:<bits ≤ 32>`);
  }
  const trust = opts.trustProxy;
  return {
    registration:
      pow !== null
        ? { mode: "proof-of-work" as const, difficulty: Number(pow[1]) }
        : { mode: registration as "open" | "closed" },
    ...(opts.ipRateLimit ? { ipRateLimit: opts.ipRateLimit } : {}),
    ...(opts.globalRateLimit ? { globalRateLimit: opts.globalRateLimit } : {}),
    ...(trust === undefined
      ? {}
      : {
          trustProxy:
            trust === "true"
              ? true
              : trust === "false"
                ? false
                : /^[0-9]+$/.test(trust)
                  ? Number(trust)
                  : trust,
        }),
  };
}

/**
 * The origins signed requests may name: `--public-url` (or CHAOSCORE_PUBLIC_URL,
 * comma-separated) when given, else the listening address and its localhost forms.
 */
export function publicOrigins(
  publicUrl: readonly string[] | undefined,
  listening: string,
): string[] {
  const configured =
    publicUrl ??
    (process.env.CHAOSCORE_PUBLIC_URL ?? "")
      .split(",")
      .map((u) => u.trim())
      .filter((u) => u !== "");
  const origin = (u: string) => {
    try {
      return new URL(u).origin;
    } catch {
      throw new UsageError(`--public-url ${u} is not a URL`);
    }
  };
  if (configured.length > 0) return [...new Set(configured.map(origin))];
  const listen = new URL(listening);
  return [
    ...new Set([
      listen.origin,
      `${listen.protocol}//localhost:${listen.port}`,
      `${listen.protocol}//127.0.0.1:${listen.port}`,
    ]),
  ];
}

/** Opens the configured chain, or starts a local anvil with fresh contracts. */
async function startChain(dataDir: string, open: { anvil?: AnvilInstance }): Promise<Chain> {
  const configured =
    (process.env.CHAOSCORE_RPC_URL ?? "").trim() !== "" || existsSync(chainPaths(dataDir).chain);
  if (configured) {
    const chain = await openChain(dataDir);
    if (chain.contracts === undefined) {
      throw new UsageError("the chain has no ChaosCore contracts: run `chaoscore chain deploy`");
    }
    return chain as Chain;
  }
  info("starting a local anvil (embedded default; --no-chain to serve without a chain)…");
  // A block a second, so that anchors gather their confirmations without other traffic.
  open.anvil = await startAnvil({ blockTime: 1 });
  const signer = LocalSigner.fromPrivateKey(open.anvil.accounts[0]?.privateKey as string);
  const client = await EthereumClient.connect({ rpcUrl: open.anvil.rpcUrl, pollIntervalMs: 100 });
  const deployments = await deployContracts(client, signer, { dir: dataDir });
  const contracts = await openContracts(client, deployments, signer);
  info(`anvil at ${open.anvil.rpcUrl}, CheckpointAnchor at ${contracts.anchor.address}`);
  return { client, contracts, signer, rpcUrl: open.anvil.rpcUrl, close: () => client.close() };
}

/** The treasurer's key (`treasurer.key`, mode 0600), made and registered on first use. */
async function openRewards(dataDir: string, engine: Engine, chain: Chain, chainId: bigint) {
  const { RewardService } = await import("@chaoscore/anchoring");
  const file = join(dataDir, "treasurer.key");
  let hex: string;
  try {
    hex = (await readFile(file, "utf8")).trim();
  } catch {
    hex = bytesToHex(generatePrivateKey());
    await writeFile(file, `${hex}\n`, { mode: 0o600 });
  }
  const privateKey = hexToBytes(hex, 32);
  const id = privateKeyToAddress(privateKey);
  if ((await engine.registry.signingState([id])).get(id) === undefined) {
    await engine.registry.register(
      signRegistration({
        privateKey,
        chainId,
        verifyingContract: engine.registry.domain.verifyingContract,
        card: {
          format: "chaoscore.agent-card/v1",
          name: "Gateway treasurer",
          description: "Signs the reward.payout actions of the studios' ERC-20 payouts",
          capabilities: ["studio.rewards"],
          framework: "chaoscore",
          version: "1.0.0",
          endpoints: [],
          codeMeasurement: null,
          owner: null,
        },
      }),
    );
  }
  const service = new RewardService({
    db: engine.db,
    agency: engine.agency,
    registry: engine.registry,
    client: chain.client,
    distributor: chain.contracts.distributor,
    operator: { privateKey },
    chainId,
  });
  return {
    service,
    treasury: {
      fund: (studio: string, amount: bigint) =>
        service.fundStudio({
          studio,
          amount,
          token: chain.contracts.token,
          signer: chain.signer.address,
        }),
    },
  };
}

/** `chaoscore serve [--host h] [--port p] [--no-chain] [--anchor-every s] …`. */
export async function runServe(globals: Globals, opts: ServeOptions): Promise<void> {
  const { dataDir } = globals;
  const open: {
    anvil?: AnvilInstance;
    chain?: Chain;
    node?: ChaosCoreNode;
    stopWitnessing?: () => Promise<void> | undefined;
  } = {};
  const cleanup = async () => {
    await open.stopWitnessing?.();
    await open.node?.close();
    // The sandbox's worker thread (governance simulations) would keep the process alive.
    await (await import("@chaoscore/sandbox")).defaultSandbox().close();
    open.chain?.close();
    await open.anvil?.stop();
  };
  try {
    // Settings it cannot run with are refused before the data dir is made.
    checkNodeFlags({
      databaseUrl: opts.databaseUrl,
      readDatabaseUrl: opts.readDatabaseUrl,
      shardMaxEntries: opts.shardMaxEntries,
      shardMaxAge: opts.shardMaxAge,
    });
    // ---- the data dir: initialised on first start ------------------------------------------
    if (!(await isInitialized(dataDir))) {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      const { signerKey, verifierKey } = generateNoteKey(DEFAULT_ORIGIN);
      await writeLogKey(dataDir, signerKey);
      await writeConfig(dataDir, {
        format: CONFIG_FORMAT,
        chainId: checkChainId(process.env.CHAOSCORE_CHAIN_ID ?? "31337"),
        log: { id: "default", origin: DEFAULT_ORIGIN, verifierKey },
      });
      info(`initialized ${dataDir} (config.json, log.key)`);
    }
    // The mock TEE's root (made on first start) is trusted by the log.
    const tee = new (await import("@chaoscore/sandbox")).MockTeeProvider({
      rootKey: await ensureTeeRoot(dataDir),
    });
    const { file: config, node: nodeConfig } = await loadNodeConfig(dataDir, {
      databaseUrl: opts.databaseUrl,
      readDatabaseUrl: opts.readDatabaseUrl,
      signatureThreads: opts.signatureThreads,
      shardMaxEntries: opts.shardMaxEntries,
      shardMaxAge: opts.shardMaxAge,
    });
    const chainId = BigInt(config.chainId);

    // ---- chain ---------------------------------------------------------------------------------
    if (opts.chain) {
      open.chain = await startChain(dataDir, open);
      if (open.chain.client.chainId !== chainId) {
        throw new UsageError(
          `the chain is ${open.chain.client.chainId} but ${dataDir} signs for chain ${chainId}`,
        );
      }
    }

    // ---- the node: database, engine, anchoring ----------------------------------------------------
    // Notes (a checkpoint per batch) and cosignatures are signed and checked by node:crypto.
    (await import("@chaoscore/witness")).useNodeEd25519();
    const chain = open.chain;
    open.node = await openNode(
      // Only anchors in this deployment's contract (and chain) reach receipts.
      chain === undefined
        ? nodeConfig
        : { ...nodeConfig, anchorContract: chain.contracts.anchor.address },
      chain === undefined || opts.anchorEvery === 0
        ? {}
        : {
            chain: {
              client: chain.client,
              contracts: { anchor: chain.contracts.anchor, identity: chain.contracts.identity },
              signer: chain.signer,
              chainId,
              ...(opts.confirmations === undefined ? {} : { confirmations: opts.confirmations }),
            },
          },
    );
    const { engine, anchors, db } = open.node;
    const roots = nodeConfig.attestation?.trustedRoots as Hex[];

    // ---- the gateway ------------------------------------------------------------------------------
    const { buildGateway, gatewayServices, ApiKeyStore } = await import("@chaoscore/gateway");
    const keys = new ApiKeyStore(db);
    if ((await keys.list()).length === 0) {
      const admin = await keys.create({ scopes: ["admin"], label: "first admin (serve)" });
      out(`ADMIN_KEY ${admin.key}`);
      info(
        "(the admin API key above is shown once: keep it; `chaoscore apikey create` makes more)",
      );
    }
    // Rewards, with a chain: a treasurer agent (its key in the data dir) signs the payout
    // actions; the chain signer operates the studios in the RewardDistributor and funds them.
    const rewards =
      chain === undefined ? undefined : await openRewards(dataDir, engine, chain, chainId);
    const origins: string[] = [];
    // One leader among the gateways on this database anchors and cosigns (serve-leader.ts).
    const { openLeaderLease } = await import("@chaoscore/log");
    const lease = openLeaderLease({
      url: nodeConfig.database.url,
      name: `${nodeConfig.log.id}:${nodeConfig.database.schema ?? ""}`,
      onError: (e) => info(`leader lock: ${(e as Error).message}`),
    });
    const scheduled = opts.anchorEvery > 0 ? engine.anchoring : undefined;
    const app = await buildGateway({
      leader: lease,
      ...(scheduled === undefined
        ? {}
        : {
            anchoring: anchorNowThroughLeader(lease, scheduled, async () => {
              const active = await engine.logs.active();
              return { log: active.id, size: await active.size() };
            }),
          }),
      ...gatewayServices({
        engine,
        chainId,
        tee,
        trustedTeeRoots: roots,
        ...(rewards === undefined ? {} : { rewards: rewards.service }),
      }),
      ...(rewards === undefined ? {} : { treasury: rewards.treasury }),
      anchors,
      ...(open.node.reads === undefined ? {} : { reads: open.node.reads }),
      ...(chain === undefined
        ? {}
        : {
            chain: {
              ping: () => chain.client.getBlockNumber(),
              rpcUrl: chain.rpcUrl,
              ...(opts.explorerUrl === undefined ? {} : { explorerUrl: opts.explorerUrl }),
            },
          }),
      logger:
        opts.logLevel === "silent"
          ? false
          : (await import("pino")).default({
              level: opts.logLevel,
              redact: ["req.headers.authorization", "req.headers['chaoscore-signature']"],
            }),
      rateLimit: opts.rateLimit === 0 ? false : opts.rateLimit,
      bodyLimit: opts.bodyLimit,
      ...(opts.corsOrigin === undefined ? {} : { corsOrigins: opts.corsOrigin }),
      // Agents sign requests for one of these origins (known once listening, for --port 0).
      origins: () => origins,
      ...admissionOptions(opts),
    });
    // Anchoring and witnessing have one writer: the leader among the gateways on this
    // database (a Postgres advisory lock; PGlite: this process). Every gateway takes writes.
    const witnessing = await startWitnessing(
      engine,
      config.witnesses,
      opts.witness,
      lease.kind !== "always",
    );
    const anchoring = scheduled;
    const duties = startLeaderDuties(
      lease,
      [
        ...(anchoring === undefined
          ? []
          : [
              {
                name: "anchoring",
                start: () => anchoring.start({ intervalMs: opts.anchorEvery * 1000 }),
                stop: () => anchoring.stop(),
              },
            ]),
        ...(witnessing === undefined
          ? []
          : [
              {
                name: "witnessing",
                start: () => witnessing.start(),
                stop: () => witnessing.stop(),
              },
            ]),
      ],
      info,
    );
    open.stopWitnessing = () => duties.stop();
    const address = await app.listen({ host: opts.host, port: opts.port });
    origins.push(...publicOrigins(opts.publicUrl, address));
    out(`LISTENING ${address}`);
    info(
      `docs ${address}/docs · explorer ${address}/explorer · metrics ${address}/metrics · ${
        chain === undefined
          ? "no chain"
          : `chain ${chainId} at ${chain.rpcUrl}${engine.anchoring === undefined ? "" : `, anchoring every ${opts.anchorEvery}s`}`
      }`,
    );

    // ---- graceful shutdown: finish in-flight requests and queued writes -----------------------
    const signal = await untilStopSignal();
    info(`${signal}: draining in-flight requests… (${signal} again stops at once)`);
    await app.close();
  } finally {
    await cleanup();
  }
  info("stopped");
}
