import {
  encodeEntry,
  generateNoteKey,
  keccak256Hex,
  leafHash,
  RECEIPT_FORMAT,
  type Receipt,
  signAction,
  signCheckpoint,
  verifyReceipt,
} from "@chaoscore/core";
import { beforeAll, describe, expect, it } from "vitest";
import { deployContracts, openContracts } from "./deploy.js";
import { LocalSigner } from "./signer.js";
import { expectCode, useTestChain } from "./test-support/chain.js";
import type { SentTransaction } from "./types.js";
import { verifyReceiptAnchor } from "./verify-anchor.js";

const chain = useTestChain();
const ORIGIN = "chaoscore.test/log/verify-anchor";
const keys = generateNoteKey(ORIGIN);
let receipt: Receipt;
/** The one contract the verifier trusts (from its own configuration, never the receipt). */
const trusted = () => ({
  trusted: [{ chainId: chain.anvil.chainId.toString(), contract: chain.contracts.anchor.address }],
  trustedLogKey: keys.verifierKey,
});

/**
 * The receipt of a one-leaf log whose checkpoint `signerKey` signs, anchored by `send(root)`
 * (the action is signed by a key made from `seed`).
 */
async function anchoredOneLeaf(
  origin: string,
  signerKey: string,
  seed: number,
  send: (root: Uint8Array) => Promise<SentTransaction>,
): Promise<Receipt> {
  const { entry } = signAction({
    privateKey: Uint8Array.from({ length: 32 }, (_, i) => i + seed),
    chainId: chain.anvil.chainId,
    actionType: "test.act",
    nonce: 1,
  });
  const root = leafHash(encodeEntry(entry));
  const checkpoint = signCheckpoint({ origin, size: 1, rootHash: root, extensions: [] }, signerKey);
  const sent = await send(root);
  const mined = await sent.wait();
  return {
    format: RECEIPT_FORMAT,
    action: { entry, leafIndex: 0, inclusionProof: [], keyRotations: [] },
    outcome: null,
    checkpoint,
    anchor: {
      chainId: chain.anvil.chainId.toString(),
      contract: chain.contracts.anchor.address.toLowerCase() as `0x${string}`,
      logId: keccak256Hex(origin),
      index: 0,
      txHash: sent.hash,
      blockNumber: Number(mined.blockNumber),
    },
    attestation: null,
  };
}

beforeAll(async () => {
  receipt = await anchoredOneLeaf(ORIGIN, keys.signerKey, 1, (root) =>
    chain.contracts.anchor.anchor({ origin: ORIGIN, size: 1, root }),
  );
  verifyReceipt(receipt, keys.verifierKey);
});

function withAnchor(change: Partial<NonNullable<Receipt["anchor"]>>): Receipt {
  return {
    ...receipt,
    anchor: { ...(receipt.anchor as NonNullable<Receipt["anchor"]>), ...change },
  };
}

describe("verifyReceiptAnchor", () => {
  it("confirms an anchor on chain, by URL or client", async () => {
    const byUrl = await verifyReceiptAnchor(receipt, { rpcUrl: chain.anvil.rpcUrl, ...trusted() });
    expect(byUrl).toMatchObject({
      index: 0,
      size: 1,
      txHash: receipt.anchor?.txHash,
      confirmations: 1,
    });
    const byClient = await verifyReceiptAnchor(JSON.stringify(receipt), {
      client: chain.client,
      ...trusted(),
    });
    expect(byClient?.blockHash).toBe(byUrl?.blockHash);
    expect(
      await verifyReceiptAnchor(
        { ...receipt, anchor: null },
        { client: chain.client, ...trusted() },
      ),
    ).toBeNull();
  });

  it("rejects a changed index, transaction, block, contract or log with RECEIPT_ANCHOR_MISMATCH", async () => {
    const other = LocalSigner.random().address.toLowerCase() as `0x${string}`;
    const cases: [Partial<NonNullable<Receipt["anchor"]>>, string][] = [
      [{ index: 1 }, "not-anchored"],
      [{ txHash: `0x${"ab".repeat(32)}` }, "tx"],
      [{ blockNumber: 1 }, "block"],
      [{ logId: keccak256Hex("another origin") }, "log-id"],
    ];
    for (const [change, reason] of cases) {
      const e = await expectCode(
        verifyReceiptAnchor(withAnchor(change), { client: chain.client, ...trusted() }),
        "RECEIPT_ANCHOR_MISMATCH",
      );
      expect(e.details?.reason, JSON.stringify(change)).toBe(reason);
    }
    // A trusted address where no contract is deployed.
    const empty = await expectCode(
      verifyReceiptAnchor(withAnchor({ contract: other }), {
        client: chain.client,
        trustedLogKey: keys.verifierKey,
        trusted: [{ chainId: chain.anvil.chainId.toString(), contract: other }],
      }),
      "RECEIPT_ANCHOR_MISMATCH",
    );
    expect(empty.details?.reason).toBe("no-contract");
    // The right transaction, but another contract's checkpoint (another log's tx).
    const sent = await chain.contracts.anchor.anchor({
      origin: "another",
      size: 1,
      root: `0x${"11".repeat(32)}`,
    });
    await sent.wait();
    const e = await expectCode(
      verifyReceiptAnchor(withAnchor({ txHash: sent.hash }), {
        client: chain.client,
        ...trusted(),
      }),
      "RECEIPT_ANCHOR_MISMATCH",
    );
    expect(e.details?.reason).toBe("tx");
  });

  it("names the chain problems: wrong chain, too few confirmations, unreachable RPC", async () => {
    // Chain 1 is trusted (with the same contract address), but the RPC serves anvil.
    const onChain1 = {
      trusted: [{ chainId: "1", contract: chain.contracts.anchor.address }],
      trustedLogKey: keys.verifierKey,
    };
    await expectCode(
      verifyReceiptAnchor(withAnchor({ chainId: "1" }), { client: chain.client, ...onChain1 }),
      "CHAIN_WRONG_CHAIN",
    );
    await expectCode(
      verifyReceiptAnchor(withAnchor({ chainId: "1" }), {
        rpcUrl: chain.anvil.rpcUrl,
        ...onChain1,
      }),
      "CHAIN_WRONG_CHAIN",
    );
    await expectCode(
      verifyReceiptAnchor(receipt, { client: chain.client, confirmations: 1000, ...trusted() }),
      "CHAIN_TIMEOUT",
    );
    await expectCode(
      verifyReceiptAnchor(receipt, {
        rpcUrl: "http://127.0.0.1:9",
        ...trusted(),
        retry: { attempts: 2, baseDelayMs: 10 },
      }),
      "CHAIN_RPC_UNREACHABLE",
    );
    await expectCode(
      verifyReceiptAnchor({ nope: 1 }, { client: chain.client, ...trusted() }),
      "RECEIPT_MALFORMED",
    );
  });

  it("trusts only the caller's chains and contracts: an operator's own contract with a forked history fails", async () => {
    // The operator holds the log key: it signs a forked checkpoint (another root at
    // size 1) and anchors it in a CheckpointAnchor deployment of its own.
    const forkRoot = leafHash(new TextEncoder().encode("forked history"));
    const forked = signCheckpoint(
      { origin: ORIGIN, size: 1, rootHash: forkRoot, extensions: [] },
      keys.signerKey,
    );
    const own = await openContracts(
      chain.client,
      await deployContracts(chain.client, chain.deployer),
      chain.deployer,
    );
    const sent = await own.anchor.anchor({ origin: ORIGIN, size: 1, root: forkRoot });
    const mined = await sent.wait();
    const fork: Receipt = {
      ...receipt,
      checkpoint: forked,
      anchor: {
        chainId: chain.anvil.chainId.toString(),
        contract: own.anchor.address.toLowerCase() as `0x${string}`,
        logId: keccak256Hex(ORIGIN),
        index: 0,
        txHash: sent.hash,
        blockNumber: Number(mined.blockNumber),
      },
    };
    const e = await expectCode(
      verifyReceiptAnchor(fork, { client: chain.client, ...trusted() }),
      "RECEIPT_ANCHOR_UNTRUSTED",
    );
    expect(e.details).toMatchObject({ contract: own.anchor.address.toLowerCase() });
    // Another chain id than the trusted ones fails the same way, before any RPC call.
    await expectCode(
      verifyReceiptAnchor(withAnchor({ chainId: "1" }), {
        rpcUrl: "http://127.0.0.1:9",
        ...trusted(),
      }),
      "RECEIPT_ANCHOR_UNTRUSTED",
    );
    // Trusting the operator's contract too (the caller's choice) lets it through.
    const both = {
      ...trusted(),
      trusted: [
        ...trusted().trusted,
        { chainId: fork.anchor?.chainId ?? "", contract: own.anchor.address },
      ],
    };
    expect((await verifyReceiptAnchor(fork, { client: chain.client, ...both }))?.root).toBe(
      `0x${Buffer.from(forkRoot).toString("hex")}`,
    );
  });

  it("verifies the checkpoint's signature with the caller's log key before comparing roots", async () => {
    const stranger = generateNoteKey(ORIGIN);
    await expectCode(
      verifyReceiptAnchor(receipt, {
        client: chain.client,
        ...trusted(),
        trustedLogKey: stranger.verifierKey,
      }),
      "RECEIPT_CHECKPOINT_INVALID",
    );
    await expectCode(
      verifyReceiptAnchor(receipt, { client: chain.client, ...trusted(), trusted: [] }),
      "INVALID_INPUT",
    );
  });
});

describe("verifyReceiptAnchor of a group anchor (anchorGroup: no storage, events only)", () => {
  it("confirms the Anchored event of the trusted contract, and names a changed index or root", async () => {
    const origin = "chaoscore.test/log/verify-anchor-group";
    const groupKeys = generateNoteKey(origin);
    const grouped = await anchoredOneLeaf(origin, groupKeys.signerKey, 7, async (root) => {
      const { sent } = await chain.contracts.anchor.anchorGroup(
        origin,
        [],
        [
          { origin, size: 1, root },
          { origin: `${origin}/other`, size: 3, root: `0x${"22".repeat(32)}` },
        ],
      );
      return sent;
    });
    const options = { client: chain.client, ...trusted(), trustedLogKey: groupKeys.verifierKey };
    expect(await verifyReceiptAnchor(grouped, options)).toMatchObject({ index: 0, size: 1 });
    const anchor = grouped.anchor as NonNullable<Receipt["anchor"]>;
    const e = await expectCode(
      verifyReceiptAnchor({ ...grouped, anchor: { ...anchor, index: 1 } }, options),
      "RECEIPT_ANCHOR_MISMATCH",
    );
    expect(e.details?.reason).toBe("not-anchored");
    // a forked checkpoint signed by the operator's key, at the same index: another root
    const forked = signCheckpoint(
      { origin, size: 1, rootHash: leafHash(new TextEncoder().encode("fork")), extensions: [] },
      groupKeys.signerKey,
    );
    const f = await expectCode(
      verifyReceiptAnchor({ ...grouped, checkpoint: forked }, options),
      "RECEIPT_ANCHOR_MISMATCH",
    );
    expect(f.details?.reason).toBe("checkpoint");
    // the legacy receipt's transaction holds no Anchored event of this log
    const g = await expectCode(
      verifyReceiptAnchor(
        {
          ...grouped,
          anchor: {
            ...anchor,
            txHash: receipt.anchor?.txHash ?? anchor.txHash,
            blockNumber: receipt.anchor?.blockNumber ?? 0,
          },
        },
        options,
      ),
      "RECEIPT_ANCHOR_MISMATCH",
    );
    expect(g.details?.reason).toBe("event");
  });
});
