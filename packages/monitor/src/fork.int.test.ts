/**
 * Issue 12's fork test, end to end: a log forks (two trees from one prefix,
 * each served to other clients); a real witness process cosigns the first
 * branch and refuses the second; monitors catch the fork — the one shown the
 * second branch by its missing quorum, a client switched between branches by
 * the split view.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addSignatureLines, formatAddCheckpointRequest } from "@chaoscore/core";
import {
  FAKE_LOG_KEY,
  type FakeLogState,
  fakeCheckpoint,
  fakeLogPolicy,
  makeEntries,
  startFakeLog,
  treeOf,
} from "@chaoscore/testkit/fake-log";
import {
  startWitnessProcess,
  stopWitnessProcess,
  type WitnessProcess,
} from "@chaoscore/testkit/witness-process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monitorLogWithStateFile } from "./monitor.js";

const prefix = makeEntries(10);
const left: FakeLogState = { entries: [...prefix, ...makeEntries(3, 10)] };
const right: FakeLogState = { entries: [...prefix, ...makeEntries(5, 10, 0x12)] };
let w: WitnessProcess;
let logs: Awaited<ReturnType<typeof startFakeLog>>[];
let dir: string;

const submit = (old: number, state: FakeLogState) => {
  const tree = treeOf(state.entries);
  const proof = old === 0 ? [] : tree.consistency(old, state.entries.length);
  const note = fakeCheckpoint({ entries: state.entries });
  return fetch(`${w.url}/add-checkpoint`, {
    method: "POST",
    body: formatAddCheckpointRequest(old, proof, note),
  });
};

beforeAll(async () => {
  w = await startWitnessProcess({
    logs: [FAKE_LOG_KEY.verifierKey],
    name: "witness.test/fork-monitor",
  });
  logs = [await startFakeLog(left), await startFakeLog(right)];
  dir = await mkdtemp(join(tmpdir(), "chaoscore-monitor-fork-"));
}, 60_000);
afterAll(async () => {
  await stopWitnessProcess(w, "SIGKILL");
  for (const l of logs) await l.close();
  await rm(dir, { recursive: true, force: true });
});

describe("a forked log, a witness and two monitors", () => {
  it("the witness cosigns one branch only; monitors of the other branch report it", async () => {
    // The witness sees the prefix, then the left branch: it cosigns both.
    expect((await submit(0, { entries: prefix })).status).toBe(200);
    const cosigned = await submit(10, left);
    expect(cosigned.status).toBe(200);
    const line = await cosigned.text();
    left.cosign = (note) => addSignatureLines(note, [line]);
    // The right branch, from the same prefix: refused (409 names the size it holds).
    expect((await submit(10, right)).status).toBe(409);
    expect((await submit(13, right)).status).toBe(422);

    const policy = fakeLogPolicy({ witnesses: { keys: [w.verifierKey], quorum: 1 } });
    const [leftLog, rightLog] = logs as [(typeof logs)[0], (typeof logs)[0]];
    const onLeft = await monitorLogWithStateFile({
      gateway: leftLog.url,
      policy,
      statePath: join(dir, "left.json"),
    });
    expect(onLeft.findings).toEqual([]);
    expect(onLeft.witnesses?.verified).toBe(1);

    const onRight = await monitorLogWithStateFile({
      gateway: rightLog.url,
      policy,
      statePath: join(dir, "right.json"),
    });
    expect(onRight.findings.map((f) => f.kind)).toEqual(["quorum_missing"]);

    // A client that saw the left branch and is then served the right one.
    const switched = await monitorLogWithStateFile({
      gateway: rightLog.url,
      policy,
      statePath: join(dir, "left.json"),
    });
    expect(switched.findings.map((f) => f.kind)).toEqual(["quorum_missing", "split_view"]);
  });
});
