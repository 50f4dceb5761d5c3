import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  addSignatureLines,
  cosignCheckpoint,
  encodeEntry,
  generateNoteKey,
  generateWitnessKey,
  isChaosCoreError,
  privateKeyToAddress,
  signAction,
  signNote,
} from "@chaoscore/core";
import {
  type FakeLogState,
  fakeLogPolicy,
  makeEntries,
  startFakeLog,
} from "@chaoscore/testkit/fake-log";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { monitorLog, monitorLogWithStateFile } from "./monitor.js";
import { readMonitorState } from "./state.js";

const policy = fakeLogPolicy();
let dir: string;
let log: Awaited<ReturnType<typeof startFakeLog>>;
const state: FakeLogState = { entries: [] };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chaoscore-monitor-"));
  log = await startFakeLog(state);
});
afterAll(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  for (const k of Object.keys(state) as (keyof FakeLogState)[]) delete state[k];
  state.entries = [];
});

let n = 0;
const statePath = () => join(dir, `state-${++n}.json`);
const kinds = (r: { findings: readonly { kind: string }[] }) => r.findings.map((f) => f.kind);

describe("monitorLogWithStateFile on a clean log", () => {
  it("verifies the whole log, then only what is new, resuming from the state file", async () => {
    const path = statePath();
    state.entries = makeEntries(300);
    const first = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(first.findings).toEqual([]);
    expect(first).toMatchObject({ previousSize: 0, newEntries: 300, advanced: true });
    expect((await readMonitorState(path))?.checkpoint.size).toBe(300);

    state.entries.push(...makeEntries(260, 300));
    const second = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(second.findings).toEqual([]);
    expect(second).toMatchObject({ previousSize: 300, newEntries: 260, advanced: true });
    expect(second.checkpoint?.size).toBe(560);

    const third = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(third).toMatchObject({ findings: [], newEntries: 0, advanced: false });
  });

  it("accepts an entry signed by a rotated key the registry lists for its agent", async () => {
    const agent = privateKeyToAddress(new Uint8Array(32).fill(0x11));
    const rotated = new Uint8Array(32).fill(0x12);
    const entry = signAction({
      privateKey: rotated,
      agent,
      chainId: 31337n,
      actionType: "test.rotated",
      nonce: 9,
      timestamp: 1_800_000_000,
    }).entry;
    state.entries = [...makeEntries(3), encodeEntry(entry)];
    const unknown = await monitorLog({ gateway: log.url, policy });
    expect(kinds(unknown)).toEqual(["bad_entry"]);
    expect(unknown.findings[0]?.index).toBe(3);
    state.keys = { [agent]: [agent, privateKeyToAddress(rotated)] };
    expect((await monitorLog({ gateway: log.url, policy })).findings).toEqual([]);
  });
});

describe("monitorLog finds", () => {
  it("a tampered level-0 tile (and keeps the old state)", async () => {
    const path = statePath();
    state.entries = makeEntries(10);
    await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    state.entries.push(...makeEntries(10, 10));
    state.tamper = (p, body) => {
      if (!p.startsWith("/log/tile/0/")) return body;
      const copy = Buffer.from(body);
      copy[32 * 12] = (copy[32 * 12] as number) ^ 1;
      return copy;
    };
    const r = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(kinds(r)).toEqual(["tampered_tile"]);
    expect(r.findings[0]?.details).toMatchObject({ level: 0, leaf: 12 });
    expect(r.advanced).toBe(false);
    expect((await readMonitorState(path))?.checkpoint.size).toBe(10);
  });

  it("a tampered level-1 tile", async () => {
    state.entries = makeEntries(256);
    state.tamper = (p, body) => (p.startsWith("/log/tile/1/") ? Buffer.alloc(body.length) : body);
    expect(kinds(await monitorLog({ gateway: log.url, policy }))).toEqual(["tampered_tile"]);
  });

  it("an entry bundle that is cut short, or whose entry was changed", async () => {
    state.entries = makeEntries(5);
    state.tamper = (p, body) =>
      p.includes("/entries/") ? body.subarray(0, body.length - 3) : body;
    expect(kinds(await monitorLog({ gateway: log.url, policy }))).toEqual(["tampered_tile"]);
    state.tamper = (p, body) =>
      p.includes("/entries/")
        ? Buffer.from(body.toString("latin1").replace('"nonce":"4"', '"nonce":"9"'), "latin1")
        : body;
    const r = await monitorLog({ gateway: log.url, policy });
    // the changed entry no longer hashes to its tile, nor is it signed by its agent
    expect(kinds(r)).toEqual(["tampered_tile", "bad_entry", "tampered_tile"]);
  });

  it("a checkpoint that goes backwards", async () => {
    const path = statePath();
    state.entries = makeEntries(20);
    await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    state.checkpointSize = 17;
    const r = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(kinds(r)).toEqual(["rollback"]);
    expect(r.findings[0]).toMatchObject({ size: 17, details: { previousSize: 20 } });
    expect((await readMonitorState(path))?.checkpoint.size).toBe(20);
  });

  it("two roots for one size (a forked tree served to this monitor)", async () => {
    const path = statePath();
    state.entries = makeEntries(20);
    await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    state.entries = [...makeEntries(19), ...makeEntries(1, 100)];
    const same = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(kinds(same)).toEqual(["split_view"]);
    expect(same.findings[0]?.size).toBe(20);
    // a larger fork of an earlier prefix: its new entries are fine, its root does not extend ours
    state.entries = [...makeEntries(5), ...makeEntries(40, 200)];
    const grown = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(kinds(grown)).toEqual(["split_view"]);
    expect(grown.findings[0]?.message).toContain("does not extend checkpoint 20");
    expect((await readMonitorState(path))?.checkpoint.size).toBe(20);
  });

  it("a checkpoint not signed by the policy's log key, or not a note at all", async () => {
    state.entries = makeEntries(3);
    const other = generateNoteKey("fake.chaoscore.test/log", new Uint8Array(32).fill(43));
    const r = await monitorLog({
      gateway: log.url,
      policy: { ...policy, log: { key: other.verifierKey } },
    });
    expect(kinds(r)).toEqual(["bad_signature"]);
    state.cosign = () => "garbage\n";
    expect(kinds(await monitorLog({ gateway: log.url, policy }))).toEqual(["bad_signature"]);
    state.cosign = (note) => signNote(note.slice(0, note.indexOf("\n\n") + 1), other.signerKey);
    expect(kinds(await monitorLog({ gateway: log.url, policy }))).toEqual(["bad_signature"]);
  });

  it("a checkpoint without the policy's quorum of witness cosignatures (and one with it)", async () => {
    const w1 = generateWitnessKey("w1.test", new Uint8Array(32).fill(1));
    const w2 = generateWitnessKey("w2.test", new Uint8Array(32).fill(2));
    const withWitnesses = {
      ...policy,
      witnesses: { keys: [w1.verifierKey, w2.verifierKey], quorum: 2 },
    };
    state.entries = makeEntries(3);
    state.cosign = (note) =>
      addSignatureLines(note, [cosignCheckpoint(note, w1.signerKey, 1_800_000_000)]);
    const one = await monitorLog({ gateway: log.url, policy: withWitnesses });
    expect(kinds(one)).toEqual(["quorum_missing"]);
    expect(one.witnesses).toMatchObject({ required: 2, verified: 1 });
    state.cosign = (note) =>
      addSignatureLines(note, [
        cosignCheckpoint(note, w1.signerKey, 1_800_000_000),
        cosignCheckpoint(note, w2.signerKey, 1_800_000_001),
      ]);
    const two = await monitorLog({ gateway: log.url, policy: withWitnesses });
    expect(two.findings).toEqual([]);
    expect(two.witnesses?.verified).toBe(2);
  });

  it("withheld entries: a bundle the checkpoint covers is not served", async () => {
    const path = statePath();
    state.entries = makeEntries(6);
    await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    state.entries.push(...makeEntries(4, 6));
    state.withhold = (p) => p.startsWith("/log/tile/entries/");
    const r = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    expect(kinds(r)).toEqual(["tampered_tile"]);
    expect(r.findings[0]?.message).toContain("HTTP 404");
    expect((await readMonitorState(path))?.checkpoint.size).toBe(6);
  });

  it("a log that is down or not there", async () => {
    state.entries = makeEntries(3);
    state.down = 503;
    expect(kinds(await monitorLog({ gateway: log.url, policy }))).toEqual(["unreachable"]);
    const closed = await startFakeLog({ entries: [] });
    await closed.close();
    expect(kinds(await monitorLog({ gateway: closed.url, policy }))).toEqual(["unreachable"]);
  });
});

describe("monitorLog on garbage", () => {
  it("never throws, whatever a path answers (random bytes, truncations, other sizes)", async () => {
    const path = statePath();
    state.entries = makeEntries(300);
    await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    state.entries.push(...makeEntries(220, 300));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/log/tile/0/", "/log/tile/1/", "/log/tile/entries/", "/log/checkpoint"),
        fc.uint8Array({ maxLength: 600 }),
        async (target, junk) => {
          state.tamper = (p, body) => (p.startsWith(target) ? Buffer.from(junk) : body);
          if (target === "/log/checkpoint")
            state.cosign = () => Buffer.from(junk).toString("latin1");
          const r = await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
          delete state.cosign;
          // 300 → 520 leaves completes level-1 node 1: every kind of tile is read, so garbage is a finding
          expect(r.findings.length).toBeGreaterThan(0);
          expect(r.advanced).toBe(false);
        },
      ),
      { numRuns: 12 },
    );
    expect((await readMonitorState(path))?.checkpoint.size).toBe(300);
  });
});

describe("monitor inputs", () => {
  it("refuses a state file that is damaged or for another log key", async () => {
    const path = statePath();
    state.entries = makeEntries(4);
    await monitorLogWithStateFile({ gateway: log.url, policy, statePath: path });
    const saved = JSON.parse(await readFile(path, "utf8"));
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => "no error",
        (e) => (isChaosCoreError(e) ? e.code : String(e)),
      );
    const other = generateNoteKey("other.test/log", new Uint8Array(32).fill(44)).verifierKey;
    expect(
      await code(
        monitorLogWithStateFile({
          gateway: log.url,
          policy: { ...policy, log: { key: other } },
          statePath: path,
        }),
      ),
    ).toBe("MONITOR_STATE_INVALID");
    await writeFile(
      path,
      JSON.stringify({ ...saved, checkpoint: { ...saved.checkpoint, size: 5 } }),
    );
    expect(await code(monitorLogWithStateFile({ gateway: log.url, policy, statePath: path }))).toBe(
      "MONITOR_STATE_INVALID",
    );
    await writeFile(path, "{");
    expect(await code(readMonitorState(path))).toBe("MONITOR_STATE_INVALID");
    expect(await code(monitorLog({ gateway: log.url, policy: { format: "x" } }))).toBe(
      "TRUST_POLICY_MALFORMED",
    );
  });
});
