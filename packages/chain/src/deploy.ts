/**
 * Deployment of the ChaosCore contracts, the deployments file, and
 * `connectChain`: a remote chain when `CHAOSCORE_RPC_URL` is set, else a local
 * anvil started for the caller.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ChaosCoreError } from "@chaoscore/core";
import { Interface } from "ethers";
import { type AnvilInstance, type StartAnvilOptions, startAnvil } from "./anvil.js";
import { CONTRACT_NAMES, type ContractName, loadArtifact } from "./artifacts.js";
import { CheckpointAnchorContract } from "./checkpoint-anchor.js";
import { EthereumClient, type RetryOptions } from "./ethereum-client.js";
import { IdentityRegistryContract } from "./identity-registry.js";
import { RewardDistributorContract } from "./reward-distributor.js";
import { RewardTokenContract } from "./reward-token.js";
import { LocalSigner, loadKeystore, type PasswordSource } from "./signer.js";
import type { Address, BlockchainClient, ChainSigner, Hex } from "./types.js";

/** The environment variables read by {@link connectChain}. */
export const CHAIN_ENV = {
  rpcUrl: "CHAOSCORE_RPC_URL",
  chainId: "CHAOSCORE_CHAIN_ID",
  keystore: "CHAOSCORE_KEYSTORE",
} as const;

/** One deployed contract. */
export type DeployedContract = {
  readonly address: Address;
  readonly txHash: Hex;
  readonly block: number;
};

/** The deployments file `deployments/<chainId>.json`. */
export type Deployments = {
  readonly format: "chaoscore.deployments/v1";
  readonly chainId: number;
  readonly deployer: Address;
  readonly deployedAt: string;
  readonly contracts: Readonly<Record<ContractName, DeployedContract>>;
};

/** Options of {@link deployContracts}. */
export type DeployOptions = {
  /** Holder of ANCHORER_ROLE; default the deployer. */
  readonly anchorer?: Address;
  readonly tokenName?: string;
  readonly tokenSymbol?: string;
  /** Confirmations to wait for each deployment; default 1. */
  readonly confirmations?: number;
  /** When given, the deployments file is written to `<dir>/deployments/<chainId>.json`. */
  readonly dir?: string;
};

/**
 * Deploys IdentityRegistry, CheckpointAnchor (admin = deployer, anchorer =
 * `options.anchorer` or the deployer), RewardToken ("ChaosCore Reward",
 * "CHAOS"; admin and minter = deployer) and RewardDistributor (admin =
 * deployer), in this order, and returns (and optionally writes) the deployments.
 * @throws ChaosCoreError CHAIN_INSUFFICIENT_FUNDS, CHAIN_REVERTED, CHAIN_TIMEOUT, CHAIN_RPC_UNREACHABLE.
 * @example
 * ```ts
 * const deployments = await deployContracts(client, signer, { dir: dataDir });
 * ```
 */
export async function deployContracts(
  client: BlockchainClient,
  signer: ChainSigner,
  options: DeployOptions = {},
): Promise<Deployments> {
  const confirmations = options.confirmations ?? 1;
  const deploy = async (
    name: ContractName,
    args: readonly unknown[],
  ): Promise<DeployedContract> => {
    const artifact = loadArtifact(name);
    const iface = new Interface(artifact.abi as never);
    const encoded = iface.deploy.inputs.length === 0 ? "0x" : iface.encodeDeploy(args);
    const data = `${artifact.bytecode}${encoded.slice(2)}` as Hex;
    const sent = await client.sendTransaction(signer, { data });
    const receipt = await sent.wait({ confirmations });
    if (receipt.contractAddress === null) {
      throw new ChaosCoreError("CHAIN_NOT_DEPLOYED", `the ${name} deployment created no contract`, {
        details: { contract: name, txHash: sent.hash },
      });
    }
    return {
      address: receipt.contractAddress,
      txHash: sent.hash,
      block: Number(receipt.blockNumber),
    };
  };
  const identity = await deploy("IdentityRegistry", []);
  const anchor = await deploy("CheckpointAnchor", [
    signer.address,
    options.anchorer ?? signer.address,
  ]);
  const token = await deploy("RewardToken", [
    options.tokenName ?? "ChaosCore Reward",
    options.tokenSymbol ?? "CHAOS",
    signer.address,
  ]);
  const distributor = await deploy("RewardDistributor", [token.address, signer.address]);
  const deployments: Deployments = {
    format: "chaoscore.deployments/v1",
    chainId: Number(client.chainId),
    deployer: signer.address,
    deployedAt: new Date().toISOString(),
    contracts: {
      IdentityRegistry: identity,
      CheckpointAnchor: anchor,
      RewardToken: token,
      RewardDistributor: distributor,
    },
  };
  if (options.dir !== undefined) writeDeployments(options.dir, deployments);
  return deployments;
}

/** The path of the deployments file of a chain under `dir`. */
export function deploymentsPath(dir: string, chainId: bigint | number): string {
  return join(dir, "deployments", `${chainId}.json`);
}

/** Writes `<dir>/deployments/<chainId>.json` atomically (write then rename). Returns the path. */
export function writeDeployments(dir: string, deployments: Deployments): string {
  const path = deploymentsPath(dir, deployments.chainId);
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(deployments, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}

/**
 * Reads and checks `<dir>/deployments/<chainId>.json`.
 * @throws ChaosCoreError CHAIN_DEPLOYMENTS_INVALID when it is missing, malformed, or for another chain.
 */
export function loadDeployments(dir: string, chainId: bigint | number): Deployments {
  const path = deploymentsPath(dir, chainId);
  const fail = (why: string): never => {
    throw new ChaosCoreError("CHAIN_DEPLOYMENTS_INVALID", `${path}: ${why}`, {
      details: { path, chainId: String(chainId) },
    });
  };
  if (!existsSync(path)) fail("no deployments for this chain (deploy the contracts first)");
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    fail("not valid JSON");
  }
  const d = parsed as Partial<Deployments> | null;
  if (d === null || typeof d !== "object" || d.format !== "chaoscore.deployments/v1") {
    fail("not a chaoscore.deployments/v1 file");
  }
  if (d?.chainId !== Number(chainId)) fail(`the file is for chain ${String(d?.chainId)}`);
  for (const name of CONTRACT_NAMES) {
    const c = d?.contracts?.[name];
    if (
      c === undefined ||
      !/^0x[0-9a-fA-F]{40}$/.test(String(c.address)) ||
      !/^0x[0-9a-fA-F]{64}$/.test(String(c.txHash)) ||
      !Number.isSafeInteger(c.block)
    ) {
      fail(`contract ${name} is missing or malformed`);
    }
  }
  return d as Deployments;
}

/** The four contract wrappers of a deployment. */
export type ChaosCoreContracts = {
  readonly identity: IdentityRegistryContract;
  readonly anchor: CheckpointAnchorContract;
  readonly token: RewardTokenContract;
  readonly distributor: RewardDistributorContract;
};

/**
 * Wrappers for a deployment, after checking that code exists at every address.
 * @throws ChaosCoreError CHAIN_NOT_DEPLOYED (e.g. a deployments file of a reset anvil),
 * CHAIN_DEPLOYMENTS_INVALID (the deployments are for another chain).
 */
export async function openContracts(
  client: BlockchainClient,
  deployments: Deployments,
  signer?: ChainSigner,
): Promise<ChaosCoreContracts> {
  if (BigInt(deployments.chainId) !== client.chainId) {
    throw new ChaosCoreError(
      "CHAIN_DEPLOYMENTS_INVALID",
      `the deployments are for chain ${deployments.chainId}, the client is on chain ${client.chainId}`,
      { details: { deployments: String(deployments.chainId), client: client.chainId.toString() } },
    );
  }
  const opts = (name: ContractName) => ({
    client,
    address: deployments.contracts[name].address,
    // Event queries start at the deployment block, not block 0 (hosted RPCs refuse to scan it).
    deploymentBlock: deployments.contracts[name].block,
    ...(signer === undefined ? {} : { signer }),
  });
  const contracts = {
    identity: new IdentityRegistryContract(opts("IdentityRegistry")),
    anchor: new CheckpointAnchorContract(opts("CheckpointAnchor")),
    token: new RewardTokenContract(opts("RewardToken")),
    distributor: new RewardDistributorContract(opts("RewardDistributor")),
  };
  await Promise.all(Object.values(contracts).map((c) => c.assertDeployed()));
  return contracts;
}

/** Options of {@link connectChain}. */
export type ConnectChainOptions = PasswordSource & {
  /** A JSON-RPC URL; default `CHAOSCORE_RPC_URL`. When neither is set, a local anvil is started. */
  readonly rpcUrl?: string;
  /** The expected chain id; default `CHAOSCORE_CHAIN_ID` (if set). */
  readonly chainId?: bigint | number;
  /** The signer's keystore v3 file; default `CHAOSCORE_KEYSTORE`. Required for a remote chain. */
  readonly keystore?: string;
  /** A signer to use instead of a keystore. */
  readonly signer?: ChainSigner;
  /** Options of the local anvil. */
  readonly anvil?: StartAnvilOptions;
  readonly retry?: RetryOptions;
  readonly env?: Readonly<Record<string, string | undefined>>;
};

/** A connected chain: client, signer, and the local anvil when one was started. */
export type ChainConnection = {
  readonly client: EthereumClient;
  readonly signer: ChainSigner;
  /** Set when the chain is a local anvil started by this call. */
  readonly anvil: AnvilInstance | undefined;
  /** Closes the client and stops the local anvil, if any. */
  close(): Promise<void>;
};

/**
 * Connects to the configured chain:
 * - with `rpcUrl` / `CHAOSCORE_RPC_URL`: that endpoint, a signer from `signer` or the keystore
 *   (`keystore` / `CHAOSCORE_KEYSTORE`, password from `CHAOSCORE_PASSWORD` or `prompt`), which
 *   must hold funds;
 * - otherwise: a fresh local anvil, signing with its first dev account (a public test key)
 *   unless a signer or keystore is given.
 * @throws ChaosCoreError CHAIN_RPC_UNREACHABLE, CHAIN_WRONG_CHAIN, CHAIN_INSUFFICIENT_FUNDS
 * (the remote signer has no funds), CHAIN_KEYSTORE_PASSWORD, CHAIN_KEYSTORE_INVALID,
 * CHAIN_ANVIL_FAILED, INVALID_INPUT (a remote chain without a key).
 */
export async function connectChain(options: ConnectChainOptions = {}): Promise<ChainConnection> {
  const env = options.env ?? process.env;
  const rpcUrl = options.rpcUrl ?? nonEmpty(env[CHAIN_ENV.rpcUrl]);
  const chainIdText = nonEmpty(env[CHAIN_ENV.chainId]);
  const chainId = options.chainId ?? (chainIdText === undefined ? undefined : BigInt(chainIdText));
  const keystore = options.keystore ?? nonEmpty(env[CHAIN_ENV.keystore]);
  const passwords: PasswordSource = {
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
    env,
  };
  const loadSigner = async (): Promise<ChainSigner | undefined> =>
    options.signer ??
    (keystore === undefined ? undefined : await loadKeystore({ path: keystore }, passwords));

  if (rpcUrl !== undefined) {
    const signer = await loadSigner();
    if (signer === undefined) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        `${CHAIN_ENV.rpcUrl} is set but no key is: set ${CHAIN_ENV.keystore} (a keystore v3 file)`,
      );
    }
    const client = await EthereumClient.connect({
      rpcUrl,
      ...(chainId === undefined ? {} : { chainId: BigInt(chainId) }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
    const balance = await client.getBalance(signer.address);
    if (balance === 0n) {
      client.close();
      throw new ChaosCoreError(
        "CHAIN_INSUFFICIENT_FUNDS",
        `the key ${signer.address} has no funds on chain ${client.chainId}`,
        { details: { from: signer.address, balance: "0", chainId: client.chainId.toString() } },
      );
    }
    return { client, signer, anvil: undefined, close: async () => client.close() };
  }

  const anvil = await startAnvil({
    ...options.anvil,
    ...(chainId === undefined ? {} : { chainId: Number(chainId) }),
  });
  try {
    const client = await EthereumClient.connect({
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      ...(options.retry === undefined ? {} : { retry: options.retry }),
    });
    const signer =
      (await loadSigner()) ??
      LocalSigner.fromPrivateKey((anvil.accounts[0] as { privateKey: Hex }).privateKey);
    return {
      client,
      signer,
      anvil,
      close: async () => {
        client.close();
        await anvil.stop();
      },
    };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
