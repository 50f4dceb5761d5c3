/**
 * The typed contract client without a node: arguments and results go through the
 * ABI (struct results by field name), bad input fails before anything is sent, and
 * the types reject what the ABI does not declare (checked by `tsc`: the
 * `@ts-expect-error` lines fail the typecheck if the types stop catching them).
 */
import { isChaosCoreError } from "@chaoscore/core";
import { describe, expect, it } from "vitest";
import { CheckpointAnchorContract, logIdOf } from "./checkpoint-anchor.js";
import { RewardDistributorContract } from "./reward-distributor.js";
import type {
  BlockchainClient,
  ChainSigner,
  Hex,
  Log,
  SentTransaction,
  TransactionRequest,
} from "./types.js";

const ADDRESS = `0x${"11".repeat(20)}` as const;
const OTHER = `0x${"22".repeat(20)}` as const;
const ROOT = `0x${"ab".repeat(32)}` as const;

/** A client answering `eth_call` with `answer(data)` and recording what is sent. */
function fakeClient(answer: (data: Hex) => Hex = () => "0x") {
  const sent: TransactionRequest[] = [];
  const calls: Hex[] = [];
  const client = {
    chainId: 31337n,
    getCode: async () => "0x60" as Hex,
    call: async (tx: { data: Hex }) => {
      calls.push(tx.data);
      return answer(tx.data);
    },
    sendTransaction: async (_signer: ChainSigner, tx: TransactionRequest) => {
      sent.push(tx);
      return { hash: `0x${"00".repeat(32)}`, wait: async () => ({}) } as unknown as SentTransaction;
    },
  } as unknown as BlockchainClient;
  return { client, sent, calls };
}

const signer = { address: OTHER } as ChainSigner;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (isChaosCoreError(e)) return e.code;
    throw e;
  }
  throw new Error("expected a ChaosCoreError");
}

describe("ContractClient.read", () => {
  it("encodes the arguments with the ABI and returns struct results by field name", async () => {
    const probe = new CheckpointAnchorContract({ client: fakeClient().client, address: ADDRESS });
    const { client, calls } = fakeClient(
      () =>
        probe.interface.encodeFunctionResult("latest", [
          { root: ROOT, size: 42n, timestamp: 1_700_000_000n, blockNumber: 7n },
          3n,
        ]) as Hex,
    );
    const anchor = new CheckpointAnchorContract({ client, address: ADDRESS });
    expect(await anchor.latest("example.com/log")).toEqual({
      logId: logIdOf("example.com/log"),
      index: 2n,
      size: 42n,
      root: ROOT,
      timestamp: 1_700_000_000n,
      blockNumber: 7n,
    });
    expect(probe.interface.decodeFunctionData("latest", calls[0] as Hex)[0]).toBe(
      logIdOf("example.com/log"),
    );
  });

  it("maps a zero operator to an unknown studio", async () => {
    const probe = new RewardDistributorContract({ client: fakeClient().client, address: ADDRESS });
    const zero = `0x${"00".repeat(20)}`;
    const { client } = fakeClient(
      () =>
        probe.interface.encodeFunctionResult("studioOf", [{ operator: zero, budget: 0n }]) as Hex,
    );
    const distributor = new RewardDistributorContract({ client, address: ADDRESS });
    expect(await distributor.studioOf(ROOT)).toBeUndefined();
  });
});

describe("ContractClient.write", () => {
  it("refuses to send without a signer, and sends nothing", async () => {
    const { client, sent } = fakeClient();
    const anchor = new CheckpointAnchorContract({ client, address: ADDRESS });
    expect(await codeOf(anchor.anchor({ origin: "o", index: 0, size: 1, root: ROOT }))).toBe(
      "INVALID_INPUT",
    );
    expect(sent).toEqual([]);
  });

  it("refuses a malformed root or size before anything is encoded or sent", async () => {
    const { client, sent, calls } = fakeClient();
    const anchor = new CheckpointAnchorContract({ client, address: ADDRESS, signer });
    const bad = { origin: "o", index: 0, size: 1, root: "0x12" as Hex };
    expect(await codeOf(anchor.anchor(bad))).toBe("INVALID_INPUT");
    expect(await codeOf(anchor.anchor({ ...bad, root: ROOT, size: -1 }))).toBe("INVALID_INPUT");
    expect(await codeOf(anchor.anchorBatch([]))).toBe("INVALID_INPUT");
    expect([sent, calls]).toEqual([[], []]);
  });

  it("encodes a batch as the contract's AnchorInput structs", async () => {
    const { client, sent } = fakeClient();
    const anchor = new CheckpointAnchorContract({ client, address: ADDRESS, signer });
    await anchor.anchorBatch([
      { origin: "a", index: 0, size: 1, root: ROOT },
      { origin: "b", index: 2n, size: 9, root: ROOT, proof: [ROOT] },
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.to).toBe(ADDRESS);
    const [inputs] = anchor.interface.decodeFunctionData("anchorBatch", sent[0]?.data as Hex);
    type Input = { logId: Hex; index: bigint; size: bigint; root: Hex; proof: Hex[] };
    expect(
      (inputs as Input[]).map((i) => ({
        logId: i.logId,
        index: i.index,
        size: i.size,
        root: i.root,
        proof: [...i.proof],
      })),
    ).toEqual([
      { logId: logIdOf("a"), index: 0n, size: 1n, root: ROOT, proof: [] },
      { logId: logIdOf("b"), index: 2n, size: 9n, root: ROOT, proof: [ROOT] },
    ]);
  });
});

describe("ContractClient.events", () => {
  it("decodes this contract's events of one name, skipping other contracts' logs", () => {
    const anchor = new CheckpointAnchorContract({ client: fakeClient().client, address: ADDRESS });
    const encoded = anchor.interface.encodeEventLog("Anchored", [logIdOf("a"), 4n, 10n, ROOT]);
    const log = (address: Hex, logIndex: number): Log => ({
      address,
      topics: encoded.topics as Hex[],
      data: encoded.data as Hex,
      blockNumber: 1n,
      blockHash: ROOT,
      transactionHash: ROOT,
      logIndex,
    });
    const logs = [log(OTHER, 0), log(ADDRESS, 1)];
    const [event, ...rest] = anchor.events("Anchored", logs);
    expect(rest).toEqual([]);
    expect(event?.args).toEqual({ logId: logIdOf("a"), index: 4n, size: 10n, root: ROOT });
    expect(anchor.anchoredEvents(logs)).toEqual([
      { logId: logIdOf("a"), index: 4n, size: 10n, root: ROOT, log: logs[1] },
    ]);
    expect(anchor.events("RoleGranted", logs)).toEqual([]);
  });
});

// Never called: `tsc` checks these lines (the typecheck of `npm run check`).
export async function typesFollowTheAbi(anchor: CheckpointAnchorContract): Promise<void> {
  const [count] = await anchor.read("count", [ROOT]);
  const total: bigint = count;
  // @ts-expect-error a bytes32 argument is hex, not a number
  await anchor.read("count", [1]);
  // @ts-expect-error no such function
  await anchor.read("countAll");
  // @ts-expect-error `anchor` takes five arguments
  await anchor.write("anchor", [ROOT]);
  // @ts-expect-error `count` is a view: it cannot be sent
  await anchor.write("count", [ROOT]);
  const [cp] = await anchor.read("checkpointAt", [ROOT, 0n]);
  // @ts-expect-error the struct's size is a bigint
  const size: string = cp.size;
  // @ts-expect-error no such event
  anchor.events("Anchoredd", []);
  void [total, size];
}
