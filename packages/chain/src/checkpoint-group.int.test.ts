/** The CheckpointAnchor's group path (`anchorGroup`) on a real anvil: anchors, and every refusal. */
import { bytesToHex, sha256Hex } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { logIdOf, SETTLED_DEPTH } from "./checkpoint-anchor.js";
import {
  type GroupLogState,
  groupIdOf,
  groupStateHash,
  planGroupAnchor,
} from "./checkpoint-group.js";
import { openContracts } from "./deploy.js";
import { EthereumClient } from "./ethereum-client.js";
import type { LocalSigner } from "./signer.js";
import { expectRevert, useTestChain } from "./test-support/chain.js";
import { MemoryTree } from "./test-support/tree.js";
import type { Hex } from "./types.js";

const chain = useTestChain();
const h32 = (text: string): Hex => sha256Hex(text);
const ZERO = `0x${"0".repeat(64)}`;
/** A GroupInput's `log` naming a position of the current state. */
const pos = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;

describe("CheckpointAnchor groups", () => {
  const tree = new MemoryTree();
  tree.append(64);
  const family = "example.com/group/0";
  const [a, b, c] = ["example.com/group/0", "example.com/group/1", "example.com/group/2"];
  let state: GroupLogState[] = [];

  /** What a refused anchor must leave unchanged: the block height, group states and memberships. */
  async function snapshot(origins: readonly string[] = [a, b, c, "legacy/log", "other/0"]) {
    const { anchor } = chain.contracts;
    return {
      block: await chain.client.getBlockNumber(),
      state: await anchor.groupState(family),
      other: await anchor.groupState("other/0"),
      groupOf: await Promise.all(origins.map((o) => anchor.groupOf(o))),
      legacy: await anchor.count("legacy/log"),
    };
  }

  it("anchors new logs of a group in one transaction: one state hash, events per log", async () => {
    const { anchor } = chain.contracts;
    expect(await anchor.groupState(family)).toBe(ZERO);
    const { sent, next } = await anchor.anchorGroup(
      family,
      [],
      [
        { origin: a, size: 5, root: tree.root(5) },
        { origin: b, size: 8, root: tree.root(8) },
        { origin: c, size: 3, root: tree.root(3) },
      ],
    );
    const receipt = await sent.wait();
    expect(await anchor.groupState(family)).toBe(groupStateHash(next));
    expect(next.map((s) => s.count)).toEqual([1n, 1n, 1n]);
    const events = anchor.anchoredEvents(receipt);
    expect(events.map((e) => [e.logId, e.index, e.size, e.root]).sort()).toEqual(
      [
        [logIdOf(a), 0n, 5n, bytesToHex(tree.root(5))],
        [logIdOf(b), 0n, 8n, bytesToHex(tree.root(8))],
        [logIdOf(c), 0n, 3n, bytesToHex(tree.root(3))],
      ].sort(),
    );
    const decoded = anchor.decodeEvents(receipt).map((e) => e.name);
    expect(decoded.filter((n) => n === "GroupJoined")).toHaveLength(3);
    expect(decoded.filter((n) => n === "GroupAnchored")).toHaveLength(1);
    for (const o of [a, b, c]) expect(await anchor.groupOf(o)).toBe(groupIdOf(family));
    state = next;
  });

  it("extends logs of the group with consistency proofs, and retires one", async () => {
    const { anchor } = chain.contracts;
    const { sent, next } = await anchor.anchorGroup(family, state, [
      { origin: c, size: 40, root: tree.root(40), proof: tree.consistency(3, 40), retire: true },
      { origin: a, size: 13, root: tree.root(13), proof: tree.consistency(5, 13) },
    ]);
    const receipt = await sent.wait();
    expect(await anchor.groupState(family)).toBe(groupStateHash(next));
    expect(next.map((s) => [s.logId, s.count, s.size])).toEqual(
      [
        [logIdOf(a), 2n, 13n],
        [logIdOf(b), 1n, 8n],
      ].sort((x, y) => ((x[0] as string) < (y[0] as string) ? -1 : 1)),
    );
    const events = anchor.anchoredEvents(receipt);
    expect(events.find((e) => e.logId === logIdOf(c))?.index).toBe(1n);
    expect(events.find((e) => e.logId === logIdOf(a))?.index).toBe(1n);
    expect(anchor.decodeEvents(receipt).filter((e) => e.name === "GroupRetired")).toHaveLength(1);
    state = next;
    // the contract's views know nothing of group logs: their history is in events only
    expect((await anchor.read("count", [logIdOf(a)]))[0]).toBe(0n);
  });

  it("answers latest, count, checkpointAt and history of group logs from the Anchored events", async () => {
    const { anchor } = chain.contracts;
    const history = await anchor.history(a);
    expect(history.map((cp) => [cp.index, cp.size, cp.root])).toEqual([
      [0n, 5n, bytesToHex(tree.root(5))],
      [1n, 13n, bytesToHex(tree.root(13))],
    ]);
    const block = await chain.client.getBlock(history[1]!.blockNumber);
    expect(history[1]!.timestamp).toBe(block?.timestamp);
    expect(await anchor.latest(a)).toEqual(history[1]);
    expect(await anchor.count(a)).toBe(2n);
    expect(await anchor.checkpointAt(a, 0)).toEqual(history[0]);
    expect(await anchor.history(a, { from: 1n })).toEqual(history.slice(1));
    await expectRevert(anchor.checkpointAt(a, 2), "CheckpointNotFound");
    expect(await anchor.count(c)).toBe(2n); // retired, still readable
    expect(await anchor.latest("never/anchored")).toBeUndefined();
    expect(await anchor.count("never/anchored")).toBe(0n);
    // the live state rebuilt from events hashes to the stored one
    const rebuilt = await anchor.rebuildGroupState(family);
    expect(rebuilt).toEqual(state.map((s) => ({ ...s, logId: s.logId.toLowerCase() })));
    expect(groupStateHash(rebuilt)).toBe(await anchor.groupState(family));
  });

  it("reads a group log's settled history once; later reads ask only for the blocks after it", async () => {
    const other = "cache.example/0";
    const first = await chain.contracts.anchor.anchorGroup(
      other,
      [],
      [{ origin: other, size: 5, root: tree.root(5) }],
    );
    await first.sent.wait();
    // A wrapper of its own: nothing settled yet.
    const { anchor } = await chain.as(chain.deployer);
    await chain.client.request("anvil_mine", [`0x${(SETTLED_DEPTH + 6n).toString(16)}`]);
    const froms: bigint[] = [];
    const getLogs = chain.client.getLogs.bind(chain.client);
    chain.client.getLogs = async (filter) => {
      froms.push(BigInt(filter.fromBlock ?? 0));
      return getLogs(filter);
    };
    try {
      expect((await anchor.latest(other))?.size).toBe(5n);
      expect(await anchor.rebuildGroupState(other)).toEqual(first.next);
      expect(Math.min(...froms.map(Number))).toBe(Number(anchor.deploymentBlock));
      // Settled: the next reads start past the settled blocks.
      froms.length = 0;
      const settledTo = (await chain.client.getBlockNumber()) - SETTLED_DEPTH;
      const second = await anchor.anchorGroup(other, first.next, [
        { origin: other, size: 9, root: tree.root(9), proof: tree.consistency(5, 9) },
      ]);
      await second.sent.wait();
      const history = await anchor.history(other);
      expect(history.map((cp) => [cp.index, cp.size])).toEqual([
        [0n, 5n],
        [1n, 9n],
      ]);
      expect(await anchor.rebuildGroupState(other)).toEqual(second.next);
      expect(groupStateHash(second.next)).toBe(await anchor.groupState(other));
      expect(froms.length).toBeGreaterThan(0);
      expect(froms.every((from) => from > settledTo)).toBe(true);
      // The same answers as a full scan (a read at a block tag reads everything).
      const head = await chain.client.getBlockNumber();
      expect(await anchor.history(other, { tag: head })).toEqual(history);
    } finally {
      chain.client.getLogs = getLogs;
    }
  });

  it("drops the settled history after a reorg deeper than the settled depth", async () => {
    const origin = "deep-reorg.example/0";
    const mine = (n: bigint) => chain.client.request("anvil_mine", [`0x${n.toString(16)}`]);
    // The writes go from an account of their own, each time through a client of its own (a
    // client counts its accounts' nonces; the reorg takes one back); the reader is kept across it.
    const writer = chain.others[6] as LocalSigner;
    await (await chain.contracts.anchor.grantAnchorer(writer.address)).wait();
    /** Anchors `origin` at `size` as a new log of its group; returns the group's state after. */
    const anchorNew = async (size: number) => {
      const client = await EthereumClient.connect({
        rpcUrl: chain.anvil.rpcUrl,
        chainId: chain.anvil.chainId,
        pollIntervalMs: 20,
      });
      try {
        const { anchor } = await openContracts(client, chain.deployments, writer);
        const { sent, next } = await anchor.anchorGroup(
          origin,
          [],
          [{ origin, size, root: tree.root(size) }],
        );
        await sent.wait();
        return next;
      } finally {
        client.close();
      }
    };
    const { anchor: reader } = await chain.as(chain.deployer);
    const fork = await chain.client.request("evm_snapshot", []);
    const before = await anchorNew(5);
    await mine(SETTLED_DEPTH + 6n);
    expect((await reader.latest(origin))?.size).toBe(5n); // now settled in the reader
    expect(await reader.rebuildGroupState(origin)).toEqual(before);
    // The chain goes back under the settled blocks and grows past them another way.
    expect(await chain.client.request("evm_revert", [fork])).toBe(true);
    const after = await anchorNew(7);
    await mine(SETTLED_DEPTH + 16n);
    const history = await reader.history(origin);
    expect(history.map((cp) => [cp.index, cp.size])).toEqual([[0n, 7n]]);
    expect(await reader.latest(origin)).toEqual(history[0]);
    expect(await reader.rebuildGroupState(origin)).toEqual(after);
    expect(groupStateHash(after)).toBe(await reader.groupState(origin));
  });

  it("refuses a current state that does not hash to the stored one, and a replay", async () => {
    const { anchor } = chain.contracts;
    const before = await snapshot();
    const stale = state.map((s) => (s.logId === logIdOf(b) ? { ...s, size: 7n } : s));
    await expectRevert(
      anchor.anchorGroup(family, stale, [
        { origin: b, size: 9, root: tree.root(9), proof: tree.consistency(8, 9) },
      ]),
      "GroupStateMismatch",
      { group: groupIdOf(family), stored: groupStateHash(state), given: groupStateHash(stale) },
    );
    // a replay of the first anchor: the state has moved on
    await expectRevert(
      anchor.anchorGroup(
        family,
        [],
        [{ origin: "example.com/group/9", size: 5, root: tree.root(5) }],
      ),
      "GroupStateMismatch",
    );
    await expectRevert(
      anchor.anchorGroup("other/0", state, [{ origin: "other/0", size: 5, root: tree.root(5) }]),
      "GroupStateMismatch",
      { stored: ZERO },
    );
    expect(await snapshot()).toEqual(before);
  });

  it("refuses inputs out of ascending logId order, an unknown position, and none", async () => {
    const { anchor } = chain.contracts;
    const before = await snapshot();
    const plan = planGroupAnchor(state, [
      { origin: a, size: 20, root: tree.root(20), proof: tree.consistency(13, 20) },
      { origin: b, size: 20, root: tree.root(20), proof: tree.consistency(8, 20) },
    ]);
    const group = groupIdOf(family);
    const [pa, pb] = plan.inputs;
    await expectRevert(
      anchor.write("anchorGroup", [
        group,
        plan.current,
        [pb!, pa!],
        [
          ...plan.proofs.slice(Number(pa!.proofLength)),
          ...plan.proofs.slice(0, Number(pa!.proofLength)),
        ],
      ]),
      "GroupPosition", // the second names a position already passed
      { input: "1" },
    );
    const fresh = planGroupAnchor(state, [
      { origin: "example.com/group/x", size: 1, root: h32("x") },
      { origin: "example.com/group/y", size: 1, root: h32("y") },
    ]);
    await expectRevert(
      anchor.write("anchorGroup", [group, fresh.current, [...fresh.inputs].reverse(), []]),
      "GroupOrder",
      { input: "1" },
    );
    await expectRevert(
      anchor.write("anchorGroup", [group, plan.current, [{ ...pa!, log: pos(2) }], plan.proofs]),
      "GroupPosition",
      { input: "0", position: "2" },
    );
    // the proofs must be used exactly: none left over, none missing
    await expectRevert(
      anchor.write("anchorGroup", [group, plan.current, [pa!], plan.proofs]),
      "GroupProofs",
      { used: String(pa!.proofLength), given: String(plan.proofs.length) },
    );
    await expectRevert(
      anchor.write("anchorGroup", [
        group,
        plan.current,
        [{ ...pa!, proofLength: 99n }],
        plan.proofs,
      ]),
      "GroupProofs",
    );
    await expectRevert(
      anchor.write("anchorGroup", [group, plan.current, [], []]),
      "EmptyGroupAnchor",
    );
    await expectRevert(
      anchor.write("anchorGroup", [ZERO as Hex, [], fresh.inputs, []]),
      "EmptyGroupAnchor",
    );
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a log joining twice, a retired log, a legacy log joining, a group log going legacy", async () => {
    const { anchor } = chain.contracts;
    await (await anchor.anchor({ origin: "legacy/log", size: 4, root: tree.root(4) })).wait();
    const before = await snapshot();
    // b is live in `family`: it cannot join another group
    await expectRevert(
      anchor.anchorGroup("other/0", [], [{ origin: b, size: 20, root: tree.root(20) }]),
      "LogInGroup",
      { logId: logIdOf(b), group: groupIdOf(family) },
    );
    // c was retired: neither rejoined here nor anywhere
    await expectRevert(
      anchor.anchorGroup(family, state, [{ origin: c, size: 50, root: tree.root(50) }]),
      "LogInGroup",
      { logId: logIdOf(c) },
    );
    await expectRevert(
      anchor.anchorGroup("other/0", [], [{ origin: c, size: 50, root: tree.root(50) }]),
      "LogInGroup",
    );
    await expectRevert(
      anchor.anchorGroup(family, state, [{ origin: "legacy/log", size: 9, root: tree.root(9) }]),
      "LogHasHistory",
      { logId: logIdOf("legacy/log") },
    );
    for (const o of [a, c]) {
      await expectRevert(
        anchor.anchor({ origin: o, index: 0, size: 50, root: tree.root(50) }),
        "LogInGroup",
      );
      await expectRevert(
        anchor.anchorBatch([{ origin: o, index: 0, size: 50, root: tree.root(50) }]),
        "LogInGroup",
      );
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a bad consistency proof, a size that does not grow, a proof for a new log, a zero root", async () => {
    const { anchor } = chain.contracts;
    const before = await snapshot();
    await expectRevert(
      anchor.anchorGroup(family, state, [
        { origin: a, size: 20, root: h32("forged"), proof: tree.consistency(13, 20) },
      ]),
      "ConsistencyProofInvalid",
      { logId: logIdOf(a), size1: "13", size2: "20" },
    );
    await expectRevert(
      anchor.anchorGroup(family, state, [{ origin: a, size: 20, root: tree.root(20), proof: [] }]),
      "ConsistencyProofInvalid",
    );
    await expectRevert(
      anchor.anchorGroup(family, state, [{ origin: a, size: 13, root: tree.root(13) }]),
      "AlreadyAnchored",
      { logId: logIdOf(a), index: "1" },
    );
    await expectRevert(
      anchor.anchorGroup(family, state, [{ origin: a, size: 12, root: tree.root(12) }]),
      "SizeNotIncreasing",
      { lastSize: "13", size: "12" },
    );
    const group = groupIdOf(family);
    const plan = planGroupAnchor(state, [
      { origin: "example.com/group/z", size: 2, root: tree.root(2) },
    ]);
    await expectRevert(
      anchor.write("anchorGroup", [
        group,
        plan.current,
        [{ ...plan.inputs[0]!, proofLength: 1n }],
        [h32("p")],
      ]),
      "UnexpectedProof",
    );
    await expectRevert(
      anchor.write("anchorGroup", [group, plan.current, [{ ...plan.inputs[0]!, size: 0n }], []]),
      "SizeNotIncreasing",
    );
    await expectRevert(
      anchor.write("anchorGroup", [
        group,
        plan.current,
        [{ ...plan.inputs[0]!, root: ZERO as Hex }],
        [],
      ]),
      "ZeroRoot",
    );
    expect(await snapshot()).toEqual(before);
  });

  it("only lets ANCHORER_ROLE anchor a group", async () => {
    const stranger = chain.others[0]!;
    const { anchor } = await chain.as(stranger);
    const before = await snapshot();
    await expectRevert(
      anchor.anchorGroup(family, state, [
        { origin: "example.com/group/s", size: 1, root: h32("s") },
      ]),
      "AccessControlUnauthorizedAccount",
      { account: stranger.address },
    );
    expect(await snapshot()).toEqual(before);
  });

  it("keeps going after the refusals, and an all-retired group's state is zero", async () => {
    const { anchor } = chain.contracts;
    const { sent, next } = await anchor.anchorGroup(family, state, [
      { origin: a, size: 64, root: tree.root(64), proof: tree.consistency(13, 64), retire: true },
      { origin: b, size: 64, root: tree.root(64), proof: tree.consistency(8, 64), retire: true },
    ]);
    await sent.wait();
    expect(next).toEqual([]);
    expect(await anchor.groupState(family)).toBe(ZERO);
  });
});
