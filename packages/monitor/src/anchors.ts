/**
 * The monitor's on-chain check: every anchored checkpoint of the policy's
 * CheckpointAnchor contracts on the RPC's chain must be in the verified tree.
 * @module
 */
import {
  ChaosCoreError,
  type Checkpoint,
  equalBytes,
  isChaosCoreError,
  verifyConsistency,
} from "@chaoscore/core";
import { finding } from "./findings.js";
import { LogReadError } from "./log-client.js";
import { codeOf, type Pass, readFailure } from "./pass.js";

/** Checks the anchors not checked yet; returns how many passed and the new progress. */
export async function checkAnchors(
  pass: Pass,
  rpcUrl: string,
  checkpoint: Checkpoint,
  progress: Readonly<Record<string, number>>,
): Promise<{ checked: number; progress: Record<string, number> }> {
  const out = { ...progress };
  let checked = 0;
  const chain = await import("@chaoscore/chain");
  let client: Awaited<ReturnType<typeof chain.EthereumClient.connect>>;
  try {
    client = await chain.EthereumClient.connect({ rpcUrl, retry: { attempts: 2 } });
  } catch (error) {
    if (isChaosCoreError(error, "INVALID_INPUT")) throw error;
    pass.findings.push(
      finding("unreachable", `cannot reach the chain at ${rpcUrl} (${codeOf(error)})`),
    );
    return { checked, progress: out };
  }
  try {
    const trusted = pass.policy.anchors.filter((a) => BigInt(a.chainId) === client.chainId);
    if (trusted.length === 0) {
      throw new ChaosCoreError(
        "INVALID_INPUT",
        `the policy names no anchor contract on chain ${client.chainId} (the chain of ${rpcUrl})`,
      );
    }
    for (const anchor of trusted) {
      const key = `${anchor.chainId}/${anchor.contract}`;
      const contract = new chain.CheckpointAnchorContract({ client, address: anchor.contract });
      let history: Awaited<ReturnType<typeof contract.history>>;
      try {
        history = await contract.history(checkpoint.origin, { from: BigInt(out[key] ?? 0) });
      } catch (error) {
        pass.findings.push(
          isChaosCoreError(error, "CHAIN_NOT_DEPLOYED")
            ? finding("anchor_mismatch", `no CheckpointAnchor contract at ${key}`)
            : finding("unreachable", `cannot read the anchors at ${key} (${codeOf(error)})`),
        );
        continue;
      }
      for (const h of history) {
        const size = Number(h.size);
        const root = Buffer.from(h.root.slice(2), "hex");
        const where = `anchor ${h.index} at ${key} (size ${size}, block ${h.blockNumber})`;
        if (size > checkpoint.size) {
          pass.findings.push(
            finding(
              "rollback",
              `${where} is beyond the log's checkpoint of size ${checkpoint.size}`,
              {
                size,
                details: { anchorIndex: Number(h.index), contract: key },
              },
            ),
          );
          break;
        }
        const holds = await anchorHolds(pass, size, root, checkpoint);
        if (holds === "unreachable") break; // reported; checked again next pass
        if (!holds) {
          pass.findings.push(
            finding("anchor_mismatch", `${where} is not a checkpoint of the log's tree`, {
              size,
              details: { anchorIndex: Number(h.index), contract: key, root: h.root },
            }),
          );
          break;
        }
        out[key] = Number(h.index) + 1;
        checked++;
      }
    }
  } finally {
    client.close();
  }
  return { checked, progress: out };
}

/**
 * True when the anchored (size, root) is in the tree of the verified checkpoint;
 * "unreachable" when the proof could not be fetched (a finding is recorded).
 */
async function anchorHolds(
  pass: Pass,
  size: number,
  root: Uint8Array,
  checkpoint: Checkpoint,
): Promise<boolean | "unreachable"> {
  if (size === checkpoint.size) return equalBytes(root, checkpoint.rootHash);
  if (size === 0) return true;
  let proof: Uint8Array[];
  try {
    proof = await pass.client.consistencyProof(size, checkpoint.size);
  } catch (error) {
    if (error instanceof LogReadError && error.kind === "unreachable") {
      readFailure(pass, error, `a consistency proof from anchored size ${size}`);
      return "unreachable";
    }
    return false; // no proof: the anchored tree is not a prefix of the served one
  }
  try {
    verifyConsistency(size, checkpoint.size, proof, root, checkpoint.rootHash);
    return true;
  } catch {
    return false;
  }
}
