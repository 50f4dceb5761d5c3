/**
 * The monitor's on-chain check, against a real anvil with the CheckpointAnchor
 * contract: anchors of the log's own tree pass; anchors of another tree with
 * the same origin are `anchor_mismatch`; an anchor beyond the log is a `rollback`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useTestChain } from "@chaoscore/testkit/chain";
import {
  FAKE_ORIGIN,
  type FakeLogState,
  fakeLogPolicy,
  makeEntries,
  startFakeLog,
  treeOf,
} from "@chaoscore/testkit/fake-log";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitorLogWithStateFile } from "./monitor.js";

const chain = useTestChain();
const state: FakeLogState = { entries: makeEntries(10) };
let log: Awaited<ReturnType<typeof startFakeLog>>;
let dir: string;
const policy = () =>
  fakeLogPolicy({
    anchors: [
      { chainId: chain.anvil.chainId.toString(), contract: chain.contracts.anchor.address },
    ],
  });

beforeAll(async () => {
  log = await startFakeLog(state);
  dir = await mkdtemp(join(tmpdir(), "chaoscore-monitor-chain-"));
  const tree = treeOf(makeEntries(16));
  await (
    await chain.contracts.anchor.anchor({ origin: FAKE_ORIGIN, size: 4, root: tree.root(4) })
  ).wait();
  await (
    await chain.contracts.anchor.anchor({
      origin: FAKE_ORIGIN,
      size: 10,
      root: tree.root(10),
      proof: tree.consistency(4, 10),
    })
  ).wait();
});
afterAll(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

describe("monitorLog --rpc", () => {
  it("checks each anchored checkpoint once against the verified tree", async () => {
    const statePath = join(dir, "clean.json");
    const options = { gateway: log.url, policy: policy(), statePath, rpcUrl: chain.anvil.rpcUrl };
    const first = await monitorLogWithStateFile(options);
    expect(first.findings).toEqual([]);
    expect(first.anchorsChecked).toBe(2);
    state.entries = makeEntries(12);
    const second = await monitorLogWithStateFile(options);
    expect(second).toMatchObject({ findings: [], anchorsChecked: 0, newEntries: 2 });

    // The chain now holds a checkpoint of size 16: the log (12) is behind its own anchor.
    const tree = treeOf(makeEntries(16));
    await (
      await chain.contracts.anchor.anchor({
        origin: FAKE_ORIGIN,
        size: 16,
        root: tree.root(16),
        proof: tree.consistency(10, 16),
      })
    ).wait();
    const behind = await monitorLogWithStateFile(options);
    expect(behind.findings.map((f) => f.kind)).toEqual(["rollback"]);
    expect(behind.findings[0]).toMatchObject({ size: 16, details: { anchorIndex: 2 } });
    state.entries = makeEntries(16);
    const caughtUp = await monitorLogWithStateFile(options);
    expect(caughtUp).toMatchObject({ findings: [], anchorsChecked: 1 });
  });

  it("reports an anchored checkpoint that is not in the log's tree", async () => {
    const statePath = join(dir, "fork.json");
    // Another tree under the same origin and key: entry 2 differs from the anchored one.
    state.entries = [...makeEntries(2), ...makeEntries(1, 99), ...makeEntries(13, 3)];
    const r = await monitorLogWithStateFile({
      gateway: log.url,
      policy: policy(),
      statePath,
      rpcUrl: chain.anvil.rpcUrl,
    });
    expect(r.findings.map((f) => f.kind)).toEqual(["anchor_mismatch"]);
    expect(r.findings[0]).toMatchObject({ size: 4, details: { anchorIndex: 0 } });
  });

  it("refuses an RPC on a chain the policy names no contract for", async () => {
    const other = { ...policy(), anchors: [{ chainId: "1", contract: `0x${"11".repeat(20)}` }] };
    await expect(
      monitorLogWithStateFile({
        gateway: log.url,
        policy: other,
        statePath: join(dir, "other.json"),
        rpcUrl: chain.anvil.rpcUrl,
      }),
    ).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});
