import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AnvilInstance,
  type ChaosCoreContracts,
  CheckpointAnchorContract,
  deployContracts,
  EthereumClient,
  LocalSigner,
  logIdOf,
  openContracts,
  startAnvil,
  verifyReceiptAnchor,
} from "@chaoscore/chain";
import {
  agentCardHash,
  bytesToHex,
  generateNoteKey,
  isChaosCoreError,
  signTypedMessage,
  verifyReceipt,
} from "@chaoscore/core";
import { CHAIN_ID, openTestEngine, TEST_DB_KIND, testCard } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AnchorRecord } from "./anchor-records.js";
import { AnchoringService } from "./anchoring-service.js";

let anvil: AnvilInstance;
let client: EthereumClient;
let deployer: LocalSigner;
let contracts: ChaosCoreContracts;
let dir: string;

async function mine(blocks = 1): Promise<void> {
  await client.request("anvil_mine", [`0x${blocks.toString(16)}`]);
}

async function expectCode(promise: Promise<unknown>, code: string) {
  try {
    await promise;
  } catch (e) {
    if (!isChaosCoreError(e)) throw e;
    expect(e.code, e.message).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "chaoscore-anchoring-"));
  anvil = await startAnvil({ stateFile: join(dir, "anvil-state.json") });
  client = await EthereumClient.connect({
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    pollIntervalMs: 20,
    retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 50 },
  });
  deployer = LocalSigner.fromPrivateKey(anvil.accounts[0]?.privateKey as string);
  const deployments = await deployContracts(client, deployer);
  contracts = await openContracts(client, deployments, deployer);
});

afterAll(async () => {
  client?.close();
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A test engine anchoring on the shared anvil, with its own log origin (by default). */
async function openAnchoredEngine(
  confirmations = 2,
  origin = `chaoscore.test/log/${randomBytes(6).toString("hex")}`,
) {
  const keys = generateNoteKey(origin);
  const t = await openTestEngine({
    log: { origin, signerKey: keys.signerKey, verifierKey: keys.verifierKey },
    chain: { client, contracts, signer: deployer, chainId: anvil.chainId, confirmations },
  });
  const service = t.engine.anchoring as AnchoringService;
  return { ...t, verifierKey: keys.verifierKey, service, origin };
}

/**
 * `sent` (what anchorNow answered) once its transaction has a receipt: anvil
 * mines an automined transaction just after it answers the send, so on a
 * loaded machine (CI) the first reconcile may still find it in the pool.
 */
async function minedAnchor(
  t: Awaited<ReturnType<typeof openAnchoredEngine>>,
  sent: AnchorRecord | null,
): Promise<AnchorRecord | null | undefined> {
  let current: AnchorRecord | null | undefined = sent;
  for (let i = 0; i < 250 && current?.status === "pending"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await t.service.reconcile();
    current = (await t.service.records()).find((r) => r.id === sent?.id);
  }
  return current;
}

/** Appends `n` actions of a fresh agent; returns their ids. */
async function record(t: Awaited<ReturnType<typeof openAnchoredEngine>>, n: number) {
  const agent = await t.newAgent();
  const ids: `0x${string}`[] = [];
  for (let i = 0; i < n; i++) {
    ids.push((await t.engine.agency.recordAction(agent.action())).id);
  }
  return ids;
}

describe(`AnchoringService on anvil (${TEST_DB_KIND})`, () => {
  it("anchors a checkpoint: pending → mined → final; receipts carry the anchor, checked on chain", async () => {
    const t = await openAnchoredEngine(2);
    try {
      const [first] = await record(t, 3);
      // No final anchor yet: the receipt has none.
      expect((await t.engine.agency.getReceipt(first as string)).anchor).toBeNull();
      const sent = await minedAnchor(t, await t.service.anchorNow());
      expect(sent).toMatchObject({ size: 3, status: "mined", index: 0, attempts: 1 });
      expect((await t.engine.agency.getReceipt(first as string)).anchor).toBeNull();
      await mine(1);
      const report = await t.service.reconcile();
      expect(report.counts).toMatchObject({ final: 1, pending: 0, mined: 0, dropped: 0 });
      const receipt = await t.engine.agency.getReceipt(first as string);
      expect(receipt.anchor).toEqual({
        chainId: anvil.chainId.toString(),
        contract: contracts.anchor.address.toLowerCase(),
        logId: logIdOf(t.origin),
        index: 0,
        txHash: sent?.txHash,
        blockNumber: sent?.blockNumber,
      });
      const verified = verifyReceipt(receipt, t.verifierKey);
      expect(verified.treeSize).toBe(3);
      const onChain = await verifyReceiptAnchor(receipt, {
        client,
        confirmations: 2,
        trusted: [{ chainId: anvil.chainId.toString(), contract: contracts.anchor.address }],
        trustedLogKey: t.verifierKey,
      });
      expect(onChain).toMatchObject({ index: 0, size: 3, confirmations: expect.any(Number) });
      // The anchored checkpoint is the signed one.
      const cp = await contracts.anchor.checkpointAt(t.origin, 0);
      expect(cp.size).toBe(3n);
      expect(cp.root).toBe(bytesToHex(await t.engine.log.rootAt(3)));
    } finally {
      await t.close();
    }
  });

  it("is idempotent: one transaction per size; the next size carries a consistency proof", async () => {
    const t = await openAnchoredEngine(1);
    try {
      await record(t, 2);
      const a = await t.service.anchorNow({ wait: true });
      const again = await t.service.anchorNow({ wait: true });
      expect(again?.id).toBe(a?.id);
      expect(again?.txHash).toBe(a?.txHash);
      await record(t, 5);
      const b = await t.service.anchorNow({ wait: true });
      expect(b).toMatchObject({ size: 7, index: 1, status: "final" });
      expect(await contracts.anchor.count(t.origin)).toBe(2n);
      // Concurrent calls are serialized: still one transaction per size.
      await record(t, 1);
      const [c1, c2] = await Promise.all([t.service.anchorNow(), t.service.anchorNow()]);
      expect(c1?.txHash).toBe(c2?.txHash);
      expect(await contracts.anchor.count(t.origin)).toBe(3n);
    } finally {
      await t.close();
    }
  });

  it("after a crash, records what the chain already holds instead of anchoring twice", async () => {
    const t = await openAnchoredEngine(1);
    try {
      await record(t, 4);
      const cp = await t.engine.log.checkpoint();
      // A previous process sent the anchor and crashed before recording anything.
      await (
        await contracts.anchor.anchor({ origin: t.origin, size: cp.size, root: cp.rootHash })
      ).wait();
      // …and another one crashed after writing a pending record without a transaction.
      await t.db.query(
        `INSERT INTO anchors (log_id, size, root, chain_id, contract, status, attempts, created_at, updated_at)
         VALUES ('default', 4, $1, $2, $3, 'pending', 1, now(), now())`,
        [cp.rootHash, anvil.chainId.toString(), contracts.anchor.address.toLowerCase()],
      );
      const report = await t.service.reconcile();
      expect(report.dropped).toEqual([]);
      const records = await t.service.records();
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ size: 4, status: "final", index: 0 });
      expect(records[0]?.txHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await t.service.anchorNow()).toMatchObject({ id: records[0]?.id });
      expect(await contracts.anchor.count(t.origin)).toBe(1n);
    } finally {
      await t.close();
    }
  });

  it("marks an anchor dropped by a reorg (evm_revert) and anchors again, once", async () => {
    const t = await openAnchoredEngine(3);
    try {
      await record(t, 2);
      await t.service.anchorNow();
      await mine(3);
      await record(t, 2);
      const snapshot = await client.request<string>("evm_snapshot");
      const mined = await t.service.anchorNow();
      expect(mined).toMatchObject({ size: 4, status: "mined", index: 1 });
      await client.request("evm_revert", [snapshot]);
      await mine(1);
      expect(await contracts.anchor.count(t.origin)).toBe(1n);
      const report = await t.service.reconcile();
      expect(report.dropped.map((d) => [d.id, d.size, d.status])).toEqual([
        [mined?.id, 4, "dropped"],
      ]);
      expect(report.reanchored).toMatchObject({ size: 4, status: "mined", index: 1 });
      expect(report.reanchored?.txHash).not.toBe(mined?.txHash);
      await mine(3);
      const after = await t.service.reconcile();
      expect(after.counts).toEqual({ pending: 0, mined: 0, final: 2, dropped: 1 });
      const history = await contracts.anchor.history(t.origin);
      expect(history.map((h) => h.size)).toEqual([2n, 4n]);
    } finally {
      await t.close();
    }
  });

  it("takes back a final anchor whose block a deeper reorg removed, and anchors again", async () => {
    const t = await openAnchoredEngine(1);
    try {
      await record(t, 2);
      const snapshot = await client.request<string>("evm_snapshot");
      const first = await t.service.anchorNow({ wait: true });
      expect(first).toMatchObject({ size: 2, status: "final" });
      await client.request("evm_revert", [snapshot]); // deeper than the 1 confirmation
      await mine(2);
      expect(await contracts.anchor.count(t.origin)).toBe(0n);
      const report = await t.service.reconcile();
      expect(report.dropped.map((d) => [d.id, d.status])).toEqual([[first?.id, "dropped"]]);
      expect(report.reanchored).toMatchObject({ size: 2 });
      await mine(1);
      const after = await t.service.reconcile();
      expect(after.counts).toEqual({ pending: 0, mined: 0, final: 1, dropped: 1 });
      expect((await contracts.anchor.history(t.origin)).map((h) => h.size)).toEqual([2n]);
    } finally {
      await t.close();
    }
  });

  it("resumes after anvil is killed mid-anchoring and restarted: converges, no double anchor", async () => {
    const t = await openAnchoredEngine(2);
    try {
      await record(t, 3);
      await t.service.anchorNow();
      await mine(1);
      await t.service.reconcile();
      // Persist the chain so far (graceful restart dumps the state file).
      await anvil.restart();
      await record(t, 3);
      const sent = await minedAnchor(t, await t.service.anchorNow());
      expect(sent).toMatchObject({ size: 6, status: "mined" });
      // SIGKILL: no state dump; the restarted chain has lost the anchor's block.
      await anvil.kill();
      await record(t, 1);
      await expectCode(t.service.anchorNow(), "CHAIN_RPC_UNREACHABLE");
      await expectCode(t.service.reconcile(), "CHAIN_RPC_UNREACHABLE");
      await anvil.restart();
      await t.service.reconcile();
      await mine(2);
      const report = await t.service.reconcile();
      expect(report.counts.pending + report.counts.mined).toBe(0);
      const finals = (await t.service.records()).filter((r) => r.status === "final");
      expect(BigInt(finals.length)).toBe(await contracts.anchor.count(t.origin));
      const history = await contracts.anchor.history(t.origin);
      expect(new Set(history.map((h) => h.size)).size).toBe(history.length);
      expect(history.map((h) => Number(h.size))).toEqual(finals.map((f) => f.size));
    } finally {
      await t.close();
    }
  });

  it("runs on a schedule, and stops", async () => {
    const t = await openAnchoredEngine(1);
    try {
      await record(t, 2);
      const errors: unknown[] = [];
      const service = new AnchoringService({
        db: t.db,
        log: t.engine.log,
        chain: { client, contracts, signer: deployer },
        confirmations: 1,
        onError: (e) => errors.push(e),
      });
      service.start({ intervalMs: 30 });
      for (let i = 0; i < 200; i++) {
        if ((await service.records()).some((r) => r.status === "final")) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await service.stop();
      expect(errors).toEqual([]);
      expect((await service.records()).map((r) => [r.size, r.status])).toEqual([[2, "final"]]);
    } finally {
      await t.close();
    }
  });

  it("fails with coded errors and keeps the records consistent with the chain", async () => {
    const t = await openAnchoredEngine(1);
    try {
      await record(t, 2);
      const base = { db: t.db, log: t.engine.log };
      const wrongChain = new AnchoringService({
        ...base,
        chain: { client, contracts, chainId: 1n },
      });
      await expectCode(wrongChain.anchorNow(), "CHAIN_WRONG_CHAIN");
      const nowhere = new CheckpointAnchorContract({
        client,
        address: LocalSigner.random().address,
        signer: deployer,
      });
      const undeployed = new AnchoringService({
        ...base,
        chain: { client, contracts: { anchor: nowhere } },
      });
      await expectCode(undeployed.anchorNow(), "CHAIN_NOT_DEPLOYED");
      // A funded key without ANCHORER_ROLE: the estimate reverts, nothing is sent.
      const stranger = LocalSigner.fromPrivateKey(anvil.accounts[5]?.privateKey as string);
      const notAnchorer = new AnchoringService({
        ...base,
        chain: { client, contracts: await openContracts(client, contractsDeployments(), stranger) },
      });
      const reverted = await expectCode(notAnchorer.anchorNow(), "CHAIN_REVERTED");
      expect(reverted.details?.error).toBe("AccessControlUnauthorizedAccount");
      // An unfunded key (with the role).
      const broke = LocalSigner.random();
      await (await contracts.anchor.grantAnchorer(broke.address)).wait();
      const unfunded = new AnchoringService({
        ...base,
        chain: { client, contracts: await openContracts(client, contractsDeployments(), broke) },
      });
      await expectCode(unfunded.anchorNow(), "CHAIN_INSUFFICIENT_FUNDS");
      const records = await t.service.records();
      expect(records.map((r) => [r.status, r.txHash])).toEqual([
        ["dropped", null],
        ["dropped", null],
      ]);
      expect(records[0]?.lastError).toMatch(/^CHAIN_REVERTED/);
      expect(await contracts.anchor.count(t.origin)).toBe(0n);
      // The right key anchors the same size afterwards.
      expect(await t.service.anchorNow({ wait: true })).toMatchObject({ status: "final", size: 2 });
    } finally {
      await t.close();
    }
  });

  it("refuses to anchor a log whose origin the chain knows with another history", async () => {
    const a = await openAnchoredEngine(1);
    const b = await openAnchoredEngine(1, a.origin);
    try {
      // Both logs have the same origin: b's tree is not the one a anchored.
      const origin = a.origin;
      await record(a, 2);
      await record(b, 3);
      await a.service.anchorNow({ wait: true });
      const e = await expectCode(b.service.anchorNow(), "ANCHOR_LOG_MISMATCH");
      expect(e.details).toMatchObject({ origin, logId: logIdOf(origin) });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("anchors agent card hashes in the IdentityRegistry, once per card version", async () => {
    const t = await openAnchoredEngine(1);
    try {
      const alice = await t.newAgent();
      const first = await t.service.anchorAgents({ agents: [alice.address], wait: true });
      expect(first).toHaveLength(1);
      const [rec] = first;
      expect(rec).toMatchObject({ agentId: alice.address, cardVersion: 1, chainVersion: 1 });
      expect(rec?.tokenId).not.toBeNull();
      const tokenId = rec?.tokenId as bigint;
      expect((await contracts.identity.cardOf(tokenId)).hash).toBe(rec?.cardHash);
      // Again: nothing new is sent.
      const again = await t.service.anchorAgents({ agents: [alice.address], wait: true });
      expect(again.map((r) => r.id)).toEqual([rec?.id]);
      // A new card version: updateCard.
      const card2 = testCard("alice v2");
      const message = {
        agent: alice.address,
        cardHash: agentCardHash(card2),
        version: "2",
        nonce: "1",
        expiry: String(Math.floor(Date.now() / 1000) + 600),
      };
      await t.engine.registry.updateCard({
        chainId: CHAIN_ID.toString(),
        card: card2,
        message,
        signature: signTypedMessage(
          "UpdateAgentCard",
          message,
          t.engine.registry.domain,
          alice.privateKey,
        ),
      });
      const [updated] = await t.service.anchorAgents({ agents: [alice.address], wait: true });
      expect(updated).toMatchObject({ cardVersion: 2, chainVersion: 2, tokenId });
      const onChain = await contracts.identity.cardOf(tokenId);
      expect(onChain.hash).toBe(agentCardHash(card2));
      expect(onChain.version).toBe(2n);
      // A lost record (a crash after sending) is found again on chain, not re-registered.
      await t.db.query("DELETE FROM agent_anchors");
      const total = await contracts.identity.totalAgents();
      const [found] = await t.service.anchorAgents({ agents: [alice.address] });
      expect(found).toMatchObject({ tokenId, cardVersion: 2 });
      expect(await contracts.identity.totalAgents()).toBe(total);
    } finally {
      await t.close();
    }
  });
});

function contractsDeployments() {
  return {
    format: "chaoscore.deployments/v1" as const,
    chainId: Number(anvil.chainId),
    deployer: deployer.address,
    deployedAt: new Date(0).toISOString(),
    contracts: {
      IdentityRegistry: { address: contracts.identity.address, txHash: ZERO, block: 0 },
      CheckpointAnchor: { address: contracts.anchor.address, txHash: ZERO, block: 0 },
      RewardToken: { address: contracts.token.address, txHash: ZERO, block: 0 },
      RewardDistributor: { address: contracts.distributor.address, txHash: ZERO, block: 0 },
    },
  };
}

const ZERO = `0x${"0".repeat(64)}` as const;
