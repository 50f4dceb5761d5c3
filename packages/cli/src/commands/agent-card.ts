import { writeFile } from "node:fs/promises";
import { findAgentToken } from "@chaoscore/anchoring";
import { type AgentCard, toA2AAgentCard, toErc8004Registration } from "@chaoscore/core";
import { keyInfo, unlockKey } from "../data-dir.js";
import { withEngine } from "../engine-context.js";
import { info, out, UsageError } from "../output.js";
import type { Globals } from "../program.js";

export type CardExportOptions = {
  format: "a2a" | "erc8004";
  key: string;
  sign?: boolean;
  url?: string;
  out?: string;
};

/** `chaoscore agent card [id]`: the agent's card as an A2A AgentCard or an ERC-8004 registration file. */
export async function runAgentCardExport(
  { dataDir }: Globals,
  id: string | undefined,
  opts: CardExportOptions,
): Promise<void> {
  const agentId = (id ?? (await keyInfo(dataDir, opts.key)).address).toLowerCase();
  const { record, token, chainId } = await withEngine(dataDir, async ({ engine, chainId }) => ({
    record: await engine.registry.get(agentId),
    token: await findAgentToken(engine.db, agentId, chainId.toString()),
    chainId: chainId.toString(),
  }));
  const identity = {
    agent: record.identity.id,
    chainId,
    identityRegistry: token?.identityRegistry ?? null,
    tokenId: token?.tokenId ?? null,
  };
  const card = record.metadata.card as AgentCard;
  let document: unknown;
  if (opts.format === "a2a") {
    let privateKey: Uint8Array | undefined;
    if (opts.sign === true) {
      const key = await unlockKey(dataDir, opts.key);
      if (key.address !== record.identity.signer) {
        throw new UsageError(
          `--key ${opts.key} (${key.address}) is not the agent's current key ${record.identity.signer}`,
        );
      }
      privateKey = key.privateKey;
    }
    if (privateKey !== undefined && record.identity.signer !== record.identity.id) {
      throw new UsageError(
        "the agent rotated its key: an A2A card is signed by the agent id's key",
      );
    }
    document = toA2AAgentCard(card, identity, {
      ...(opts.url === undefined ? {} : { fallbackUrl: opts.url }),
      ...(privateKey === undefined ? {} : { privateKey }),
    });
  } else {
    document = toErc8004Registration(card, identity, {
      active: record.identity.status === "active",
    });
  }
  const text = `${JSON.stringify(document, null, 2)}\n`;
  if (opts.out === undefined) out(text);
  else {
    await writeFile(opts.out, text);
    info(`wrote ${opts.out}`);
  }
  if (token === null)
    info("note: the card is not anchored on chain yet (no IdentityRegistry token)");
}
