/**
 * `receipt verify --policy` on the trust-policy vectors, and `log monitor`
 * (one pass and --watch with metrics and a webhook) against a fake log.
 */

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateNoteKey, TRUST_POLICY_FORMAT } from "@chaoscore/core";
import {
  type FakeLogState,
  fakeLogPolicy,
  makeEntries,
  startFakeLog,
} from "@chaoscore/testkit/fake-log";
import { openTestGateway } from "@chaoscore/testkit/gateway";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectCode } from "./test-support/run-cli.js";

const VECTORS = fileURLToPath(new URL("../../../vectors/trust-policy/", import.meta.url));
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "chaoscore-trust-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Writes a vector's receipt and policy to files; returns their paths. */
async function files(vector: string): Promise<{ receipt: string; policy: string }> {
  const v = JSON.parse(await readFile(join(VECTORS, `${vector}.json`), "utf8"));
  const receipt = join(work, `${vector}.receipt.json`);
  const policy = join(work, `${vector}.policy.json`);
  await writeFile(receipt, JSON.stringify(v.receipt));
  await writeFile(policy, JSON.stringify(v.policy));
  return { receipt, policy };
}

describe("chaoscore receipt verify --policy", () => {
  it("verifies a receipt whose checkpoint has the quorum, naming each cosignature", async () => {
    const f = await files("receipt-valid-quorum-2-of-3");
    const r = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy),
      0,
    );
    expect(r.stdout).toContain("✓ receipt verified");
    expect(r.stdout).toContain("2 of 2 required cosigned the checkpoint");
    expect(r.stdout).toContain("✓ witness1.vectors.chaoscore.dev+");
    const json = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy, "--json"),
      0,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      witnesses: { required: 2, verified: 2 },
    });
  });

  it("fails a receipt without the quorum with RECEIPT_WITNESS_QUORUM", async () => {
    const f = await files("receipt-invalid-one-of-two");
    const r = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy),
      1,
    );
    expect(r.stderr).toContain("✗ RECEIPT_WITNESS_QUORUM");
    const json = await cli(
      "--data-dir",
      work,
      "receipt",
      "verify",
      f.receipt,
      "--policy",
      f.policy,
      "--json",
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: false,
      code: "RECEIPT_WITNESS_QUORUM",
      details: { required: 2, verified: 1 },
    });
  });

  it("verifies a receipt of a shard under the family key, and refuses one without its certificate", async () => {
    const f = await files("receipt-valid-shard");
    const r = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy),
      0,
    );
    expect(r.stdout).toContain("✓ receipt verified");
    expect(r.stdout).toContain(
      "signed by the key of shard 1 (vectors.chaoscore.dev/log/trust-policy/s1+",
    );
    expect(r.stdout).toContain(
      "1 of the log family vectors.chaoscore.dev/log/trust-policy: its certificate verified",
    );
    const json = expectCode(
      await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", f.policy, "--json"),
      0,
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      origin: "vectors.chaoscore.dev/log/trust-policy/s1",
      shard: { family: "vectors.chaoscore.dev/log/trust-policy", number: 1 },
    });
    const bad = await files("receipt-invalid-shard-uncertified");
    const refused = expectCode(
      await cli("--data-dir", work, "receipt", "verify", bad.receipt, "--policy", bad.policy),
      1,
    );
    expect(refused.stderr).toContain("✗ RECEIPT_SHARD_UNCERTIFIED");
  });

  it("refuses a bad policy with its code, and --policy with --log-key", async () => {
    const f = await files("receipt-valid-quorum-2-of-3");
    const bad = join(work, "bad-policy.json");
    await writeFile(bad, JSON.stringify({ format: TRUST_POLICY_FORMAT }));
    const r = await cli("--data-dir", work, "receipt", "verify", f.receipt, "--policy", bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("TRUST_POLICY_NO_KEY");
    const both = await cli(
      "--data-dir",
      work,
      "receipt",
      "verify",
      f.receipt,
      "--policy",
      f.policy,
      "--log-key",
      "x",
    );
    expect(both.code).toBe(2);
  });
});

describe("chaoscore log monitor", () => {
  const state: FakeLogState = { entries: makeEntries(12) };
  let log: Awaited<ReturnType<typeof startFakeLog>>;
  let policy: string;
  beforeAll(async () => {
    log = await startFakeLog(state);
    policy = join(work, "monitor-policy.json");
    await writeFile(policy, JSON.stringify(fakeLogPolicy()));
  });
  afterAll(async () => {
    await log.close();
  });

  it("one pass: exit 0 on a clean log, exit 1 naming a split view", async () => {
    const stateFile = join(work, "monitor-once.json");
    const args = [
      "--data-dir",
      work,
      "log",
      "monitor",
      "--gateway",
      log.url,
      "--policy",
      policy,
      "--state",
      stateFile,
    ];
    const clean = expectCode(await cli(...args), 0);
    expect(clean.stdout).toContain("✓ log clean: size 12 (12 new entries)");
    state.entries = [...makeEntries(11), ...makeEntries(1, 50)];
    const forked = expectCode(await cli(...args), 1);
    expect(forked.stdout).toContain("split_view: the log serves two roots for size 12");
    const json = expectCode(await cli(...args, "--json"), 1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      clean: false,
      findings: [{ kind: "split_view" }],
    });
    state.entries = makeEntries(12);
  });

  it("--family: one pass over every shard the gateway lists, exit 0 when clean", async () => {
    const g = await openTestGateway({}, { shards: { maxEntries: 4 } });
    try {
      const url = await g.app.listen({ port: 0, host: "127.0.0.1" });
      const agent = await g.newAgent();
      for (let i = 0; i < 6; i++) await g.engine.agency.recordAction(agent.action());
      await (await g.engine.logs.active()).checkpoint();
      const familyPolicy = join(work, "family-policy.json");
      await writeFile(
        familyPolicy,
        JSON.stringify({ format: TRUST_POLICY_FORMAT, log: { key: g.engine.log.verifierKey } }),
      );
      const args = ["--data-dir", work, "log", "monitor", "--gateway", url];
      const r = expectCode(await cli(...args, "--policy", familyPolicy, "--family"), 0);
      expect(r.stdout).toContain("✓ log family clean: 2 shard(s)");
      expect(r.stdout).toContain("default-s1 (shard 1, active): size 3");
      const json = expectCode(
        await cli(...args, "--policy", familyPolicy, "--family", "--json"),
        0,
      );
      expect(JSON.parse(json.stdout)).toMatchObject({
        clean: true,
        shards: [
          { id: "default", state: "frozen", checkpoint: { size: 4 } },
          { id: "default-s1", state: "active", linkChecked: true },
        ],
      });
      // a policy of another family key: shard 0 is not the policy's, shard 1's certificate fails
      const other = join(work, "other-family-policy.json");
      await writeFile(
        other,
        JSON.stringify({
          format: TRUST_POLICY_FORMAT,
          log: { key: generateNoteKey("chaoscore.test/log/default").verifierKey },
        }),
      );
      const refused = expectCode(
        await cli(...args, "--policy", other, "--family", "--state", join(work, "other.json")),
        1,
      );
      expect(refused.stdout).toContain("bad_certificate");
      expect((await cli(...args, "--policy", familyPolicy, "--family", "--watch")).code).toBe(2);
    } finally {
      await g.close();
    }
  });

  it("--watch: metrics, findings printed once, POSTed to the webhook; stops on SIGINT", async () => {
    const stateFile = join(work, "monitor-watch.json");
    const posted: unknown[] = [];
    let notify = () => {};
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        posted.push(JSON.parse(body));
        res.end();
        notify();
      });
    });
    await new Promise<void>((ok) => hook.listen(0, "127.0.0.1", ok));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const metricsPort = 20000 + Math.floor(Math.random() * 20000);
    // The first pass verifies the log; then the log rolls back.
    expectCode(
      await cli(
        "--data-dir",
        work,
        "log",
        "monitor",
        "--gateway",
        log.url,
        "--policy",
        policy,
        "--state",
        stateFile,
      ),
      0,
    );
    state.checkpointSize = 8;
    const gotFinding = new Promise<void>((ok) => {
      notify = ok;
    });
    const running = cli(
      "--data-dir",
      work,
      "log",
      "monitor",
      "--gateway",
      log.url,
      "--policy",
      policy,
      "--state",
      stateFile,
      "--watch",
      "--interval",
      "1",
      "--metrics-port",
      String(metricsPort),
      "--webhook",
      hookUrl,
    );
    await gotFinding;
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toContain('chaoscore_monitor_findings_total{kind="rollback"} 1');
    expect(metrics).toContain('chaoscore_monitor_findings_total{kind="split_view"} 0');
    process.emit("SIGINT");
    const r = expectCode(await running, 0);
    expect(r.stderr.match(/✗ rollback:/g)?.length).toBe(1);
    expect(posted[0]).toMatchObject({
      format: "chaoscore.monitor-finding/v1",
      gateway: log.url,
      finding: { kind: "rollback", size: 8 },
    });
    delete state.checkpointSize;
    await new Promise<void>((ok) => hook.close(() => ok()));
  });
});
