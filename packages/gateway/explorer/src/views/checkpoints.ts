/**
 * The checkpoints page: signed checkpoints, their anchors and cosignatures.
 * @module
 */
import { type Checkpoint, get } from "../api.js";
import { badge, h, jsonBlock, mono, table, when } from "../dom.js";
import { pinnedPolicy, witnessBadge } from "../policy.js";
import { verifyCheckpointNote } from "../verifier.js";
import { chainUrl, gatewayInfo, section, type View } from "./shared.js";

// ---- checkpoints ----------------------------------------------------------------------------------

export async function checkpointsView(): Promise<View> {
  const [gw, cps, logs] = await Promise.all([
    gatewayInfo(),
    get<{ items: Checkpoint[] }>("/v1/log/checkpoints?limit=100"),
    // the shards' certificates (a gateway without shards: none), checked here under the log key
    get<{ logs: { certificate?: string }[] }>("/v1/logs").catch(() => ({ logs: [] })),
  ]);
  const certificates = logs.logs.flatMap((l) =>
    l.certificate === undefined ? [] : [l.certificate],
  );
  const explorerUrl = gw.chain?.explorerUrl ?? null;
  const tx = chainUrl(explorerUrl, "tx");
  const address = chainUrl(explorerUrl, "address");
  const block = chainUrl(explorerUrl, "block");
  const pinned = pinnedPolicy();
  const rows = cps.items.map((cp) => {
    const sig = verifyCheckpointNote(cp.note, pinned?.log.key ?? gw.log.verifierKey, certificates);
    return [
      h("span", { class: "num" }, cp.size),
      mono(cp.rootHash, 12),
      when(cp.createdAt),
      h(
        "span",
        null,
        sig.ok && sig.size === cp.size
          ? badge(
              sig.shard === undefined ? "✓ signed" : `✓ signed (shard ${sig.shard}, certified)`,
              "ok",
            )
          : badge(`✗ ${sig.ok ? "size differs" : sig.code}`, "fail"),
        pinned === null ? null : witnessBadge(cp.note, pinned),
      ),
      cp.anchors.length === 0
        ? h("span", { class: "muted" }, gw.features.anchoring ? "not anchored yet" : "—")
        : h(
            "ul",
            { class: "anchors" },
            cp.anchors.map((a) =>
              h(
                "li",
                { "data-testid": "anchor" },
                badge(a.status),
                ` chain ${a.chainId} · #${a.index} · tx `,
                a.txHash ? tx(a.txHash) : "pending",
                a.blockNumber === null ? "" : [" · block ", block(a.blockNumber)],
                " · contract ",
                address(a.contract),
              ),
            ),
          ),
      jsonBlock("note", cp.note),
    ];
  });
  return {
    title: "Checkpoints",
    body: section(
      "Checkpoints",
      h(
        "p",
        { class: "muted" },
        pinned === null
          ? "Signed tree heads (C2SP checkpoints), newest first. Signatures are checked in this browser against the log key; anchors are the Ethereum transactions that committed them"
          : "Signed tree heads (C2SP checkpoints), newest first. Signatures and witness cosignatures are checked in this browser against the trust policy pinned here; anchors are the Ethereum transactions that committed them",
        explorerUrl ? ` (links open ${explorerUrl}).` : ".",
      ),
      cps.items.length === 0
        ? h("p", { class: "muted" }, "No checkpoint is signed yet.")
        : table(["size", "root", "signed", "signature", "anchors", ""], rows, "checkpoints"),
    ),
  };
}
