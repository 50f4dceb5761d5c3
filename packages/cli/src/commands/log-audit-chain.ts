/**
 * The anchor history `chaoscore log audit` checks the stored log against:
 * every checkpoint of the log in the CheckpointAnchor contract (read from
 * contract storage, in batches), on `--rpc` (else CHAOSCORE_RPC_URL, else the
 * data dir's chain.json), in `--contract` (else the data dir's deployment of
 * that chain).
 * @module
 */
import { CHAIN_ENV } from "@chaoscore/chain";
import type { Address } from "@chaoscore/core";
import type { ChainCheckpoint } from "@chaoscore/log";
import { UsageError } from "../output.js";
import { deployedAnchors } from "../trusted-anchors.js";
import { readChainFile } from "./chain.js";

/** Where the anchors were read, and what they are. */
export type ChainHistory = {
  rpcUrl: string;
  chainId: string;
  contract: Address;
  checkpoints: ChainCheckpoint[];
};

/** The RPC URL of the audit: `--rpc`, CHAOSCORE_RPC_URL, or chain.json; undefined when none. */
export async function auditRpcUrl(dataDir: string, rpc?: string): Promise<string | undefined> {
  if (rpc !== undefined) return rpc;
  const env = process.env[CHAIN_ENV.rpcUrl]?.trim();
  if (env !== undefined && env !== "") return env;
  return (await readChainFile(dataDir))?.rpcUrl;
}

/**
 * Reads the log's whole anchor history from the chain.
 * @throws UsageError when no contract is known for the chain; ChaosCoreError CHAIN_* (RPC).
 */
export async function readChainHistory(
  dataDir: string,
  origin: string,
  opts: { rpcUrl: string; contract?: string },
): Promise<ChainHistory> {
  const { CheckpointAnchorContract, EthereumClient } = await import("@chaoscore/chain");
  const client = await EthereumClient.connect({
    rpcUrl: opts.rpcUrl,
    retry: { attempts: 3, baseDelayMs: 100 },
  });
  try {
    const chainId = client.chainId.toString();
    let contract = opts.contract;
    if (contract === undefined) {
      contract = (await deployedAnchors(dataDir)).find((a) => a.chainId === chainId)?.contract;
    } else if (!/^0x[0-9a-fA-F]{40}$/.test(contract)) {
      throw new UsageError("--contract must be a 0x-prefixed 20-byte address");
    }
    if (contract === undefined) {
      throw new UsageError(
        `no CheckpointAnchor contract known for chain ${chainId}: pass --contract <address> (${dataDir} has no deployments/${chainId}.json)`,
      );
    }
    const anchor = new CheckpointAnchorContract({ client, address: contract as Address });
    const history = await anchor.history(origin);
    return {
      rpcUrl: opts.rpcUrl,
      chainId,
      contract: contract.toLowerCase() as Address,
      checkpoints: history.map((cp) => ({
        index: Number(cp.index),
        size: Number(cp.size),
        root: cp.root.toLowerCase() as `0x${string}`,
        blockNumber: Number(cp.blockNumber),
      })),
    };
  } finally {
    client.close();
  }
}
