/**
 * `chaoscore serve --shard-max-entries 4 --witness <url>=<key>` and a
 * `chaoscore witness serve --log <family key>` as processes: the witness
 * follows only the family key, and every shard's checkpoints reach it with
 * their certificate (docs/spec/witness.md §3.1), so receipts of all three
 * shards meet a trust policy of the family key and that witness (quorum 1).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Address,
  isChaosCoreError,
  privateKeyToAddress,
  signAction,
  signRegistration,
  TRUST_POLICY_FORMAT,
  verifyReceiptWithPolicy,
} from "@chaoscore/core";
import {
  startWitnessProcess,
  stopWitnessProcess,
  type WitnessProcess,
} from "@chaoscore/testkit/witness-process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServeProcess, startServe } from "./test-support/serve-process.js";

let dir: string;
let witness: WitnessProcess | undefined;

let server: ServeProcess | undefined;

async function serve(extra: string[]): Promise<{ url: string; adminKey?: string }> {
  server = await startServe(dir, extra);
  const { url, adminKey } = server;
  return { url, ...(adminKey === undefined ? {} : { adminKey }) };
}

async function stopServe(): Promise<void> {
  await server?.stop();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chaoscore-shards-witness-"));
}, 10_000);

afterAll(async () => {
  if (server !== undefined && server.child.exitCode === null) server.child.kill("SIGKILL");
  if (witness !== undefined) await stopWitnessProcess(witness, "SIGKILL").catch(() => {});
  await rm(dir, { recursive: true, force: true });
});

describe("serve with shards and a witness of the family key", () => {
  it("gets every shard cosigned: receipts of all shards meet the family policy's quorum", async () => {
    // first start: the data dir's log key (the family key), then stop
    const first = await serve([]);
    const adminKey = first.adminKey as string;
    const info = (await (await fetch(`${first.url}/v1`)).json()) as {
      chainId: string;
      verifyingContract: Address;
      log: { verifierKey: string };
    };
    await stopServe();
    witness = await startWitnessProcess({
      logs: [info.log.verifierKey],
      name: "witness.test/family",
    });
    const { url } = await serve([
      "--shard-max-entries",
      "4",
      "--witness",
      `${witness.url}=${witness.verifierKey}`,
    ]);
    const auth = { authorization: `Bearer ${adminKey}`, "content-type": "application/json" };
    const chainId = BigInt(info.chainId);
    const privateKey = Uint8Array.from({ length: 32 }, (_, j) => (7 * 31 + j) % 255 || 1);
    const registration = signRegistration({
      privateKey,
      chainId,
      verifyingContract: info.verifyingContract,
      card: {
        format: "chaoscore.agent-card/v1",
        name: `witnessed agent ${privateKeyToAddress(privateKey).slice(0, 8)}`,
        description: "writes through rotations",
        capabilities: ["test"],
        framework: "test",
        version: "1.0.0",
        endpoints: [],
        codeMeasurement: null,
        owner: null,
      },
    });
    const reg = await fetch(`${url}/v1/agents`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify(registration),
    });
    expect(reg.status, await reg.clone().text()).toBe(201);
    const ids: string[] = [];
    for (let nonce = 1; nonce <= 10; nonce++) {
      const action = signAction({
        privateKey,
        chainId,
        verifyingContract: info.verifyingContract,
        actionType: "test.act",
        nonce,
      });
      const r = await fetch(`${url}/v1/actions`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(action),
      });
      expect(r.status, await r.clone().text()).toBe(201);
      ids.push(((await r.json()) as { id: string }).id);
    }
    const logs = ((await (await fetch(`${url}/v1/logs`)).json()) as { logs: { id: string }[] })
      .logs;
    expect(logs.map((l) => l.id)).toEqual(["default", "default-s1", "default-s2"]);

    const policy = {
      format: TRUST_POLICY_FORMAT,
      log: { key: info.log.verifierKey },
      witnesses: { keys: [witness.verifierKey], quorum: 1 },
    };
    // the witnessing rounds are asynchronous (the leader's duty): wait for the last shard's cosignature
    const last = ids.at(-1) as string;
    let verdict = "none";
    for (let attempt = 0; attempt < 120 && verdict !== "ok"; attempt++) {
      const receipt = await (await fetch(`${url}/v1/actions/${last}/receipt`)).json();
      try {
        verifyReceiptWithPolicy(receipt, policy);
        verdict = "ok";
      } catch (e) {
        verdict = isChaosCoreError(e) ? e.code : String(e);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    expect(verdict).toBe("ok");
    // then every receipt, of every shard (frozen shards' final checkpoints cosigned too)
    for (const id of ids) {
      const receipt = await (await fetch(`${url}/v1/actions/${id}/receipt`)).json();
      const verified = verifyReceiptWithPolicy(receipt, policy);
      expect(verified.witnesses.verified).toBe(1);
    }
  }, 180_000);
});
