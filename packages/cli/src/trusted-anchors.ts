/**
 * The CheckpointAnchor deployments a CLI verifier trusts: from the command
 * line (`--contract` + `--chain-id`), else from the data directory's own
 * deployments files (`<data-dir>/deployments/<chainId>.json`, written when
 * this data dir deployed or adopted the contracts). Never from a receipt: an
 * operator holding the log key could anchor a forked history in a contract of
 * its own (issue 19 item 1).
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Address } from "@chaoscore/core";
import { checkChainId, readConfig } from "./data-dir.js";
import { UsageError } from "./output.js";

/** One trusted deployment (the shape `verifyReceiptAnchor`'s `trusted` option takes). */
export type TrustedAnchor = { chainId: string; contract: Address };

const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

/** The CheckpointAnchor of every `deployments/<chainId>.json` in `dataDir` (none when absent). */
export async function deployedAnchors(dataDir: string): Promise<TrustedAnchor[]> {
  let names: string[];
  try {
    names = await readdir(join(dataDir, "deployments"));
  } catch {
    return [];
  }
  const found: TrustedAnchor[] = [];
  for (const name of names.filter((n) => /^[0-9]+\.json$/.test(n)).sort()) {
    try {
      const d = JSON.parse(await readFile(join(dataDir, "deployments", name), "utf8")) as {
        chainId?: unknown;
        contracts?: { CheckpointAnchor?: { address?: unknown } };
      };
      const address = d.contracts?.CheckpointAnchor?.address;
      if (
        typeof address === "string" &&
        ADDRESS_RE.test(address) &&
        Number.isSafeInteger(d.chainId)
      ) {
        found.push({ chainId: String(d.chainId), contract: address.toLowerCase() as Address });
      }
    } catch {
      // a malformed deployments file trusts nothing
    }
  }
  return found;
}

/**
 * The trusted anchors of a verifying command: `--contract` (on `--chain-id`, default the data
 * dir's configured chain id), else the data dir's deployments.
 * @throws UsageError on a malformed address or chain id, or when nothing is trusted.
 */
export async function trustedAnchors(
  dataDir: string,
  opts: { contract?: string; chainId?: string },
): Promise<TrustedAnchor[]> {
  if (opts.contract !== undefined) {
    if (!ADDRESS_RE.test(opts.contract)) {
      throw new UsageError("--contract must be a 0x-prefixed 20-byte address");
    }
    let chainId = opts.chainId === undefined ? undefined : checkChainId(opts.chainId);
    if (chainId === undefined) {
      try {
        chainId = (await readConfig(dataDir)).chainId;
      } catch {
        throw new UsageError("--contract needs --chain-id (no data dir config names a chain)");
      }
    }
    return [{ chainId, contract: opts.contract.toLowerCase() as Address }];
  }
  if (opts.chainId !== undefined) throw new UsageError("--chain-id needs --contract");
  const deployed = await deployedAnchors(dataDir);
  if (deployed.length === 0) {
    throw new UsageError(
      `no trusted CheckpointAnchor contract: pass --contract <address> [--chain-id <id>] (${dataDir} has no deployments/)`,
    );
  }
  return deployed;
}
