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
import { LocalSigner } from "./signer.js";
import { expectCode, useTestChain } from "./test-support/chain.js";
import { verifyReceiptAnchor } from "./verify-anchor.js";

const chain = useTestChain();
const ORIGIN = "chaoscore.test/log/verify-anchor";
const keys = generateNoteKey(ORIGIN);
let receipt: Receipt;

beforeAll(async () => {
  const { entry } = signAction({
    privateKey: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
    chainId: chain.anvil.chainId,
    actionType: "test.act",
    nonce: 1,
  });
  const root = leafHash(encodeEntry(entry));
  const checkpoint = signCheckpoint(
    { origin: ORIGIN, size: 1, rootHash: root, extensions: [] },
    keys.signerKey,
  );
  const sent = await chain.contracts.anchor.anchor({ origin: ORIGIN, size: 1, root });
  const mined = await sent.wait();
  receipt = {
    format: RECEIPT_FORMAT,
    action: { entry, leafIndex: 0, inclusionProof: [], keyRotations: [] },
    outcome: null,
    checkpoint,
    anchor: {
      chainId: chain.anvil.chainId.toString(),
      contract: chain.contracts.anchor.address.toLowerCase() as `0x${string}`,
      logId: keccak256Hex(ORIGIN),
      index: 0,
      txHash: sent.hash,
      blockNumber: Number(mined.blockNumber),
    },
    attestation: null,
  };
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
    const byUrl = await verifyReceiptAnchor(receipt, { rpcUrl: chain.anvil.rpcUrl });
    expect(byUrl).toMatchObject({
      index: 0,
      size: 1,
      txHash: receipt.anchor?.txHash,
      confirmations: 1,
    });
    const byClient = await verifyReceiptAnchor(JSON.stringify(receipt), { client: chain.client });
    expect(byClient?.blockHash).toBe(byUrl?.blockHash);
    expect(
      await verifyReceiptAnchor({ ...receipt, anchor: null }, { client: chain.client }),
    ).toBeNull();
  });

  it("rejects a changed index, transaction, block, contract or log with RECEIPT_ANCHOR_MISMATCH", async () => {
    const other = LocalSigner.random().address.toLowerCase() as `0x${string}`;
    const cases: [Partial<NonNullable<Receipt["anchor"]>>, string][] = [
      [{ index: 1 }, "not-anchored"],
      [{ txHash: `0x${"ab".repeat(32)}` }, "tx"],
      [{ blockNumber: 1 }, "block"],
      [{ contract: other }, "no-contract"],
      [{ logId: keccak256Hex("another origin") }, "log-id"],
    ];
    for (const [change, reason] of cases) {
      const e = await expectCode(
        verifyReceiptAnchor(withAnchor(change), { client: chain.client }),
        "RECEIPT_ANCHOR_MISMATCH",
      );
      expect(e.details?.reason, JSON.stringify(change)).toBe(reason);
    }
    // The right transaction, but another contract's checkpoint (another log's tx).
    const sent = await chain.contracts.anchor.anchor({
      origin: "another",
      size: 1,
      root: `0x${"11".repeat(32)}`,
    });
    await sent.wait();
    const e = await expectCode(
      verifyReceiptAnchor(withAnchor({ txHash: sent.hash }), { client: chain.client }),
      "RECEIPT_ANCHOR_MISMATCH",
    );
    expect(e.details?.reason).toBe("tx");
  });

  it("names the chain problems: wrong chain, too few confirmations, unreachable RPC", async () => {
    await expectCode(
      verifyReceiptAnchor(withAnchor({ chainId: "1" }), { client: chain.client }),
      "CHAIN_WRONG_CHAIN",
    );
    await expectCode(
      verifyReceiptAnchor(withAnchor({ chainId: "1" }), { rpcUrl: chain.anvil.rpcUrl }),
      "CHAIN_WRONG_CHAIN",
    );
    await expectCode(
      verifyReceiptAnchor(receipt, { client: chain.client, confirmations: 1000 }),
      "CHAIN_TIMEOUT",
    );
    await expectCode(
      verifyReceiptAnchor(receipt, {
        rpcUrl: "http://127.0.0.1:9",
        retry: { attempts: 2, baseDelayMs: 10 },
      }),
      "CHAIN_RPC_UNREACHABLE",
    );
    await expectCode(
      verifyReceiptAnchor({ nope: 1 }, { client: chain.client }),
      "RECEIPT_MALFORMED",
    );
  });
});
