/**
 * The gas of one `anchorBatch` transaction of 1, 4 and 16 logs against the
 * same checkpoints anchored one transaction each (`anchor`), on a local anvil
 * with the contracts deployed. Two rounds per log: its first anchor (no proof)
 * and a follow-up anchor with a real RFC 9162 consistency proof between two
 * sizes of a tree of `base` leaves (≈ 17 hashes at 200,000). Called by
 * `npm run bench -- scale`; runs alone with `npx tsx bench/scale-gas.ts [--quick]`.
 * @module
 */
import { pathToFileURL } from "node:url";
import {
  type AnchorInput,
  deployContracts,
  EthereumClient,
  type GroupAnchorInput,
  type GroupLogState,
  LocalSigner,
  openContracts,
  startAnvil,
} from "@chaoscore/chain";
import { MemoryTree } from "../packages/chain/src/test-support/tree.js";
import { goal } from "./machine.js";

/** The goal of issue 18: one batch of 16 logs costs at most this fraction of 16 single anchors. */
export const BATCH_16_TARGET = 0.25;

type Row = {
  logs: number;
  round: string;
  batch: number;
  singles: number;
  proof: number;
  /** The batch transaction's calldata gas (EIP-2028: 4 per zero byte, 16 per other byte). */
  calldata: number;
  /** One `anchorGroup` of the same N logs (one family), and its calldata gas. */
  group: number;
  groupCalldata: number;
  /** N `anchorGroup` transactions, each for a group of one log. */
  groupsOfOne: number;
};

/** Gas of one new storage slot (EIP-2929 cold SSTORE from zero: 20,000 + 2,100). */
const NEW_SLOT_GAS = 22_100;
/** A warm-after-cold overwrite of a non-zero slot (EIP-2929: 2,100 cold + 2,900). */
const OVERWRITE_GAS = 5_000;
/** Base cost of every transaction. */
const TX_BASE_GAS = 21_000;

/** The calldata gas of a transaction's data (EIP-2028). */
export function calldataGas(data: string): number {
  let gas = 0;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === "00" ? 4 : 16;
  return gas;
}

/**
 * Measures and prints the gas of batch anchors of 1, 4 and 16 logs against as
 * many single anchors, and the goal line. Resolves whether the goal passed.
 */
export async function measureBatchAnchorGas(options: { quick?: boolean } = {}): Promise<boolean> {
  const base = options.quick === true ? 10_000 : 200_000;
  const next = base + 1_000;
  const counts = [1, 4, 16];
  process.stderr.write(`scale-gas: building a tree of ${next.toLocaleString("en-US")} leaves…\n`);
  const tree = new MemoryTree();
  tree.append(next);
  const proof = tree.consistency(base, next);
  const anvil = await startAnvil();
  const client = await EthereumClient.connect({
    rpcUrl: anvil.rpcUrl,
    chainId: anvil.chainId,
    pollIntervalMs: 20,
  });
  try {
    const signer = LocalSigner.fromPrivateKey(anvil.accounts[0]!.privateKey);
    const { anchor } = await openContracts(client, await deployContracts(client, signer), signer);
    const gasOf = async (
      sent: Promise<{ request: { data: string }; wait(): Promise<{ gasUsed: bigint }> }>,
    ) => {
      const tx = await sent;
      return { gas: Number((await tx.wait()).gasUsed), calldata: calldataGas(tx.request.data) };
    };
    const first = (origin: string): AnchorInput => ({ origin, size: base, root: tree.root(base) });
    const later = (origin: string): AnchorInput => ({
      origin,
      index: 1n,
      size: next,
      root: tree.root(next),
      proof,
    });
    const firstG = (origin: string): GroupAnchorInput => ({
      origin,
      size: base,
      root: tree.root(base),
    });
    const laterG = (origin: string): GroupAnchorInput => ({
      origin,
      size: next,
      root: tree.root(next),
      proof,
    });
    /** Anchors a group; keeps its state for the next round. */
    const states = new Map<string, GroupLogState[]>();
    const anchorGroup = async (family: string, inputs: GroupAnchorInput[]) => {
      const { sent, next: after } = await anchor.anchorGroup(
        family,
        states.get(family) ?? [],
        inputs,
      );
      const measured = await gasOf(Promise.resolve(sent));
      states.set(family, after);
      return measured;
    };
    const rows: Row[] = [];
    for (const n of counts) {
      const batched = Array.from({ length: n }, (_, i) => `gas.bench/batch-${n}/${i}`);
      const single = Array.from({ length: n }, (_, i) => `gas.bench/single-${n}/${i}`);
      const grouped = Array.from({ length: n }, (_, i) => `gas.bench/group-${n}/${i}`);
      const ones = Array.from({ length: n }, (_, i) => `gas.bench/one-${n}/${i}`);
      for (const [round, input, inputG] of [
        ["first anchor", first, firstG],
        ["with proof", later, laterG],
      ] as const) {
        const batch = await gasOf(anchor.anchorBatch(batched.map(input)));
        let singles = 0;
        for (const origin of single) singles += (await gasOf(anchor.anchor(input(origin)))).gas;
        const group = await anchorGroup(grouped[0]!, grouped.map(inputG));
        let groupsOfOne = 0;
        for (const origin of ones) groupsOfOne += (await anchorGroup(origin, [inputG(origin)])).gas;
        rows.push({
          logs: n,
          round,
          batch: batch.gas,
          calldata: batch.calldata,
          singles,
          proof: round === "first anchor" ? 0 : proof.length,
          group: group.gas,
          groupCalldata: group.calldata,
          groupsOfOne,
        });
      }
    }
    console.log(
      `batch anchor gas (anvil, CheckpointAnchor; tree of ${next.toLocaleString("en-US")} leaves, consistency proof ${base.toLocaleString("en-US")} → ${next.toLocaleString("en-US")}: ${proof.length} hashes)`,
    );
    console.log(
      "| logs | round | one anchorBatch | per log | N single anchors | batch / singles | one anchorGroup | per log | group / singles | N groups of one | group / groups of one |",
    );
    console.log(
      "|-----:|-------|----------------:|--------:|-----------------:|----------------:|----------------:|--------:|----------------:|----------------:|----------------------:|",
    );
    for (const r of rows) {
      console.log(
        `| ${r.logs} | ${r.round} | ${r.batch} | ${Math.round(r.batch / r.logs)} | ${r.singles} | ${(r.batch / r.singles).toFixed(3)} | ${r.group} | ${Math.round(r.group / r.logs)} | ${(r.group / r.singles).toFixed(3)} | ${r.groupsOfOne} | ${(r.group / r.groupsOfOne).toFixed(3)} |`,
      );
    }
    const at16 = rows.find((r) => r.logs === 16 && r.round === "with proof")!;
    const single1 = rows.find((r) => r.logs === 1 && r.round === "with proof")!;
    console.log(
      `what a batch saves: the 21,000 base cost of each transaction but one; what it keeps per log: two new storage slots (2 × 22,100) per checkpoint, the calldata of its proof and the proof's hashing (one anchor with proof: ${single1.singles} gas)`,
    );
    // Where the 16-log batch's gas goes: what batching cannot remove (each
    // log's calldata, its proof's hashing) and what this contract adds per
    // checkpoint (two new storage slots, cold reads of the previous one).
    const storage = 16 * 2 * NEW_SLOT_GAS;
    const execution = at16.batch - TX_BASE_GAS - at16.calldata - storage;
    console.log(
      `16-log batch with proofs: ${at16.batch} gas = base ${TX_BASE_GAS} + calldata ${at16.calldata} (${Math.round(at16.calldata / 16)} per log) + new storage slots ${storage} (${2 * NEW_SLOT_GAS} per log) + other execution ${execution} (${Math.round(execution / 16)} per log: proof hashing, cold reads of the previous checkpoint, ABI decoding, events)`,
    );
    // The group path: one storage overwrite per transaction (the family's state hash); the
    // previous states come back as calldata; each log's history is in its events.
    const groupExecution = at16.group - TX_BASE_GAS - at16.groupCalldata - OVERWRITE_GAS;
    console.log(
      `16-log anchorGroup with proofs: ${at16.group} gas = base ${TX_BASE_GAS} + calldata ${at16.groupCalldata} (${Math.round(at16.groupCalldata / 16)} per log, with the current state list) + one state overwrite ${OVERWRITE_GAS} + other execution ${groupExecution} (${Math.round(groupExecution / 16)} per log: proof hashing, ABI decoding, state hashing, events)`,
    );
    console.log(
      `16-log anchorGroup vs 16 legacy anchorBatch of the same logs: ${(at16.group / at16.batch).toFixed(3)}; vs 16 anchorGroup of a group of one each (the new path, per-log work only): ${(at16.group / at16.groupsOfOne).toFixed(3)}`,
    );
    console.log(
      `legacy: batch_anchor_16_vs_16_single_ratio with anchorBatch would be ${(at16.batch / at16.singles).toFixed(3)}`,
    );
    return goal(
      "batch_anchor_16_vs_16_single_ratio",
      at16.group / at16.singles,
      BATCH_16_TARGET,
      false,
    );
  } finally {
    client.close();
    await anvil.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  measureBatchAnchorGas({ quick: process.argv.includes("--quick") }).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
