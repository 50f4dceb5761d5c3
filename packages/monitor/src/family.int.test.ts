/**
 * The family monitor against a fake log family over a real port: every shard
 * verified under its certified key, link entries checked against the
 * predecessor's final checkpoint, a frozen shard that grows reported.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNoteKey, signShardCertificate } from "@chaoscore/core";
import { makeEntries } from "@chaoscore/testkit/fake-log";
import { afterEach, describe, expect, it } from "vitest";
import { monitorFamily, monitorFamilyWithStateFile, readFamilyMonitorState } from "./family.js";
import {
  FAMILY_ORIGIN,
  type FakeFamilyState,
  familyPolicy,
  keyOf,
  linkEntry,
  makeFamily,
  shardOriginOf,
  startFakeFamily,
} from "./test-support/fake-family.js";

let server: Awaited<ReturnType<typeof startFakeFamily>> | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
async function serve(state: FakeFamilyState) {
  server = await startFakeFamily(state);
  return server.url;
}
const kinds = (r: { findings: readonly { kind: string }[] }) => r.findings.map((f) => f.kind);

describe("monitorFamily", () => {
  it("verifies every shard under its certified key and each link, then follows the active shard", async () => {
    const state = makeFamily([5, 4, 3]);
    const gateway = await serve(state);
    const first = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(first.findings).toEqual([]);
    expect(first.shards.map((s) => [s.id, s.state, s.result?.checkpoint?.size])).toEqual([
      ["fam", "frozen", 5],
      ["fam-s1", "frozen", 4],
      ["fam-s2", "active", 3],
    ]);
    expect(first.advanced).toBe(true);
    expect(Object.values(first.state.shards).map((s) => [s.linkChecked, s.frozenSize])).toEqual([
      [false, 5],
      [true, 4],
      [true, undefined],
    ]);
    expect(first.state.shards["fam-s2"]?.verifierKey).toBe(keyOf(2).verifierKey);

    // the active shard grows: only it advances, consistently with the last pass
    state.shards[2]?.entries.push(...makeEntries(4, 100));
    const second = await monitorFamily({ gateway, policy: familyPolicy(), state: first.state });
    expect(second.findings).toEqual([]);
    expect(second.shards[2]?.result?.newEntries).toBe(4);
    expect(second.shards[0]?.result?.newEntries).toBe(0);
  });

  it("reports a frozen shard that grows (frozen_grew), on this pass and the next", async () => {
    const state = makeFamily([5, 3]);
    const gateway = await serve(state);
    const first = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(first.findings).toEqual([]);
    state.shards[0]?.entries.push(...makeEntries(2, 50));
    const second = await monitorFamily({ gateway, policy: familyPolicy(), state: first.state });
    expect(kinds(second)).toEqual(["frozen_grew"]);
    expect(second.findings[0]?.details).toMatchObject({ log: "fam", frozenSize: 5, size: 7 });
    const third = await monitorFamily({ gateway, policy: familyPolicy(), state: second.state });
    expect(kinds(third)).toContain("frozen_grew");
    // and a listing that moves the final size, or thaws the shard
    if (state.shards[0]) state.shards[0].frozenSize = 7;
    expect(
      (await monitorFamily({ gateway, policy: familyPolicy(), state: first.state })).findings.some(
        (f) => f.kind === "frozen_grew" && /final size changed from 5 to 7/.test(f.message),
      ),
    ).toBe(true);
    if (state.shards[0]) delete state.shards[0].frozenSize;
    const thawed = await monitorFamily({ gateway, policy: familyPolicy(), state: first.state });
    expect(thawed.findings.some((f) => /listed active again/.test(f.message))).toBe(true);
  });

  it("reports a link entry that does not commit to the predecessor's final checkpoint (bad_link)", async () => {
    const state = makeFamily([5, 3]);
    const s0 = state.shards[0]?.entries ?? [];
    const s1 = state.shards[1];
    if (s1) s1.entries[0] = linkEntry(1, s0, 4); // links to size 4, the shard froze at 5
    const gateway = await serve(state);
    const r = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(kinds(r)).toEqual(["bad_link"]);
    expect(r.findings[0]?.message).toContain("commits to size 4 of fam, which was frozen at 5");
    expect(r.state.shards["fam-s1"]?.linkChecked).toBe(false);

    // leaf 0 that is an action instead of a link entry: a bad entry of the shard, and a bad link
    if (s1) s1.entries[0] = makeEntries(1, 77)[0] as Uint8Array;
    const r2 = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(kinds(r2).sort()).toEqual(["bad_entry", "bad_link"]);
  });

  it("refuses a shard without a certificate by the family key (bad_certificate) and verifies nothing of it", async () => {
    const state = makeFamily([4, 3]);
    const gateway = await serve(state);
    if (state.shards[1]) state.shards[1].certificate = null;
    const r = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(kinds(r)).toEqual(["bad_certificate"]);
    expect(r.shards[1]?.result).toBeNull();
    expect(r.state.shards["fam-s1"]).toBeUndefined();

    const impostor = generateNoteKey(FAMILY_ORIGIN, new Uint8Array(32).fill(44));
    if (state.shards[1]) {
      state.shards[1].certificate = signShardCertificate(impostor.signerKey, {
        familyOrigin: FAMILY_ORIGIN,
        shard: 1,
        shardOrigin: shardOriginOf(1),
        shardVerifierKey: keyOf(1).verifierKey,
      });
    }
    const forged = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(kinds(forged)).toEqual(["bad_certificate"]);
    expect(forged.findings[0]?.message).toContain("SHARD_CERTIFICATE_SIGNATURE_INVALID");
  });

  it("reports a shard it followed that the listing no longer shows (bad_link), on every pass", async () => {
    const state = makeFamily([5, 3]);
    const gateway = await serve(state);
    const first = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(first.findings).toEqual([]);
    // the log hides its frozen shard 0: the history a receipt of it verifies against
    state.listing = (logs) => logs.filter((l) => l.id !== "fam");
    const hidden = await monitorFamily({ gateway, policy: familyPolicy(), state: first.state });
    expect(kinds(hidden)).toEqual(["bad_link"]);
    expect(hidden.findings[0]?.message).toContain("fam");
    expect(hidden.findings[0]?.details).toMatchObject({ log: "fam" });
    expect(hidden.state.shards.fam).toEqual(first.state.shards.fam);
    const again = await monitorFamily({ gateway, policy: familyPolicy(), state: hidden.state });
    expect(kinds(again)).toEqual(["bad_link"]);
  });

  it("refuses a listing that names a shard twice (tampered_tile) and verifies nothing of it", async () => {
    const state = makeFamily([5, 3]);
    const gateway = await serve(state);
    state.listing = (logs) => [logs[0] as Record<string, unknown>, ...logs];
    const twice = await monitorFamily({ gateway, policy: familyPolicy() });
    expect(kinds(twice)).toEqual(["tampered_tile"]);
    expect(twice.advanced).toBe(false);
    // two ids for one shard number
    state.listing = (logs) => [...logs, { ...(logs[1] as Record<string, unknown>), id: "fam-s01" }];
    expect(kinds(await monitorFamily({ gateway, policy: familyPolicy() }))).toEqual([
      "tampered_tile",
    ]);
  });

  it("keeps its state in a file across passes, and refuses a state of another family key", async () => {
    const state = makeFamily([3, 2]);
    const gateway = await serve(state);
    const dir = await mkdtemp(join(tmpdir(), "chaoscore-family-monitor-"));
    try {
      const statePath = join(dir, "family.json");
      const first = await monitorFamilyWithStateFile({
        gateway,
        policy: familyPolicy(),
        statePath,
      });
      expect(first.findings).toEqual([]);
      expect(await readFamilyMonitorState(statePath)).toEqual(first.state);
      state.shards[1]?.entries.push(...makeEntries(3, 40));
      const second = await monitorFamilyWithStateFile({
        gateway,
        policy: familyPolicy(),
        statePath,
      });
      expect(second.findings).toEqual([]);
      expect(second.shards[1]?.result?.previousSize).toBe(2);
      const other = generateNoteKey("other.example/log", new Uint8Array(32).fill(9));
      await expect(
        monitorFamily({
          gateway,
          policy: { ...familyPolicy(), log: { key: other.verifierKey } },
          state: second.state,
        }),
      ).rejects.toMatchObject({ code: "MONITOR_STATE_INVALID" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
