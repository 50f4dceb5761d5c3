/**
 * Event queries start at the contract's deployment block and ask in bounded ranges
 * (issue 19 item 17): hosted RPC providers refuse `eth_getLogs` from block 0 to latest.
 */
import { getAddress } from "ethers";
import { describe, expect, it } from "vitest";
import { CheckpointAnchorContract } from "./checkpoint-anchor.js";
import { LOG_QUERY_RANGE } from "./contract-client.js";
import { IdentityRegistryContract } from "./identity-registry.js";
import type { BlockchainClient, LogFilter } from "./types.js";

function fakeClient(head: bigint) {
  const calls: LogFilter[] = [];
  const client = {
    chainId: 31337n,
    getBlockNumber: async () => head,
    getLogs: async (filter: LogFilter) => {
      calls.push(filter);
      return [];
    },
  } as unknown as BlockchainClient;
  return { client, calls };
}

const ADDRESS = `0x${"11".repeat(20)}` as const;

describe("ContractClient.queryEvents", () => {
  it("scans from the deployment block to the head in ranges of LOG_QUERY_RANGE blocks", async () => {
    const { client, calls } = fakeClient(25_010n);
    const anchor = new CheckpointAnchorContract({ client, address: ADDRESS, deploymentBlock: 5 });
    await anchor.queryEvents("Anchored");
    expect(LOG_QUERY_RANGE).toBe(10_000n);
    expect(calls.map((c) => [c.fromBlock, c.toBlock])).toEqual([
      [5n, 10_004n],
      [10_005n, 20_004n],
      [20_005n, 25_010n],
    ]);
    expect(calls.every((c) => c.address === ADDRESS)).toBe(true);
  });

  it("keeps an explicit range, and asks nothing when it starts past the head", async () => {
    const { client, calls } = fakeClient(100n);
    const anchor = new CheckpointAnchorContract({ client, address: ADDRESS, deploymentBlock: 50 });
    await anchor.queryEvents("Anchored", { fromBlock: 60n, toBlock: 70n });
    await anchor.queryEvents("Anchored", { fromBlock: 101n });
    expect(calls.map((c) => [c.fromBlock, c.toBlock])).toEqual([[60n, 70n]]);
  });

  it("starts at block 0 only when the deployment block is unknown", async () => {
    const { client, calls } = fakeClient(3n);
    await new CheckpointAnchorContract({ client, address: ADDRESS }).queryEvents("Anchored");
    expect(calls.map((c) => [c.fromBlock, c.toBlock])).toEqual([[0n, 3n]]);
  });

  it("filters on indexed arguments by name, encoded as topics by ethers", async () => {
    const { client, calls } = fakeClient(3n);
    const identity = new IdentityRegistryContract({ client, address: ADDRESS });
    const owner = getAddress(`0x${"ab".repeat(20)}`) as `0x${string}`; // checksummed
    await identity.queryEvents("CardUpdated", { args: { agentId: 7n, version: 2n } });
    await identity.queryEvents("Registered", { args: { owner } });
    const word = (hex: string) => `0x${hex.toLowerCase().padStart(64, "0")}`;
    expect(calls.map((c) => c.topics)).toEqual([
      [identity.interface.getEvent("CardUpdated")?.topicHash, word("7"), word("2")],
      [identity.interface.getEvent("Registered")?.topicHash, null, word(owner.slice(2))],
    ]);
  });

  it("refuses a filter on an argument that is not indexed, or a malformed value, asking nothing", async () => {
    const { client, calls } = fakeClient(3n);
    const identity = new IdentityRegistryContract({ client, address: ADDRESS });
    for (const args of [{ agentURI: "https://x" }, { owner: "0x12" }] as const) {
      const e = await identity.queryEvents("Registered", { args: args as never }).catch((x) => x);
      expect(e.code).toBe("INVALID_INPUT");
    }
    expect(calls).toEqual([]);
  });
});
