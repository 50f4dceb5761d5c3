/**
 * The CLI as users run it: `node packages/cli/bin/chaoscore.js …` as a child
 * process, in a temporary data directory, with CHAOSCORE_PASSWORD set.
 *
 * The children always use PGlite in their temporary data directory: their
 * environment has no DATABASE_URL even when the test run has one (a shared
 * server would need a private schema per data directory, which the CLI does
 * not do), so these tests pass the same way with and without a server.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@chaoscore/engine";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../bin/chaoscore.js", import.meta.url));
const PASSWORD = "correct horse battery staple";

type Run = { code: number; stdout: string; stderr: string };

/** Runs the CLI; `env` entries set to undefined are removed from the child's environment. */
function cli(
  args: string[],
  options: { home?: string; env?: Record<string, string | undefined>; input?: string } = {},
): Promise<Run> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    CHAOSCORE_PASSWORD: PASSWORD,
    ...(options.home === undefined ? {} : { CHAOSCORE_HOME: options.home }),
    ...options.env,
  };
  delete env.DATABASE_URL;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}

/** Fails with the child's output, so that a failing step says why. */
function expectCode(run: Run, code: number): void {
  if (run.code !== code) {
    throw new Error(
      `exit ${run.code}, expected ${code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`,
    );
  }
}

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "chaoscore-cli-test-"));
  temps.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

describe("chaoscore --help", () => {
  it("lists the commands and the typical sequence, with examples per command", async () => {
    const [top, record, verify, agent, missing, unknown] = await Promise.all([
      cli(["--help"]),
      cli(["action", "record", "--help"]),
      cli(["receipt", "verify", "--help"]),
      cli(["agent", "--help"]),
      cli(["action", "record"]),
      cli(["frobnicate"]),
    ]);
    expectCode(top, 0);
    for (const command of ["init", "key", "agent", "action", "receipt", "log", "demo"]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, "m"));
    }
    const sequence = ["init", "agent register", "action record", "receipt get", "receipt verify"];
    const positions = sequence.map((s) => top.stdout.indexOf(`chaoscore ${s}`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(top.stdout).toContain("CHAOSCORE_PASSWORD");

    expectCode(record, 0);
    expect(record.stdout).toContain("--payload <json>");
    expect(record.stdout).toContain("Examples:");
    expectCode(verify, 0);
    expect(verify.stdout).toContain("--log-key");
    expectCode(agent, 0);
    for (const sub of ["register", "show", "list", "verify", "suspend", "reactivate", "revoke"]) {
      expect(agent.stdout).toMatch(new RegExp(`^  ${sub}\\b`, "m"));
    }

    expectCode(missing, 2); // usage errors exit 2
    expect(missing.stderr).toContain("--type");
    expectCode(unknown, 2);
  });
});

describe("chaoscore errors", () => {
  it("prints coded errors, exits 1, and needs a password to create keys", async () => {
    const home = join(await tempDir(), "home");
    const [uninitialized, asJson, noPassword] = await Promise.all([
      cli(["agent", "list"], { home }),
      cli(["log", "status", "--json"], { home }),
      cli(["init"], { home, env: { CHAOSCORE_PASSWORD: undefined } }),
    ]);
    expectCode(uninitialized, 1);
    expect(uninitialized.stderr).toMatch(/^error CLI_NOT_INITIALIZED: .*chaoscore init/m);
    expectCode(asJson, 1);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ code: "CLI_NOT_INITIALIZED" });
    expectCode(noPassword, 1);
    expect(noPassword.stderr).toMatch(/^error CLI_KEYSTORE_PASSWORD: .*CHAOSCORE_PASSWORD/m);
    await expect(stat(join(home, "config.json"))).rejects.toThrow(); // nothing written
  });
});

describe("chaoscore init → agent register → action record → receipt → audit", () => {
  let work: string;
  let home: string;
  let firstAction: string;
  let secondAction: string;

  beforeAll(async () => {
    work = await tempDir();
    home = join(work, ".chaoscore");
    const init = await cli(["init"], { home });
    expectCode(init, 0);
    expect(init.stdout).toContain("initialized");
    expect(init.stderr).toContain("next: chaoscore agent register");
    expect((await stat(join(home, "log.key"))).mode & 0o777).toBe(0o600);
    const keystore = await readFile(join(home, "keys", "default.json"), "utf8");
    expect(JSON.parse(keystore)).toMatchObject({ version: 3 });
    expect(init.stdout + init.stderr).not.toContain(PASSWORD);
    expectCode(await cli(["init"], { home }), 2); // refuses to overwrite without --force

    const register = await cli(
      ["agent", "register", "--name", "Test agent", "--capability", "governance", "--json"],
      { home },
    );
    expectCode(register, 0);
    expect(JSON.parse(register.stdout).metadata.card).toMatchObject({
      name: "Test agent",
      capabilities: ["governance"],
    });

    const first = await cli(
      ["action", "record", "--type", "tool.call", "--payload", '{"q":"hi"}', "--json"],
      { home },
    );
    expectCode(first, 0);
    const firstResult = JSON.parse(first.stdout);
    expect(firstResult).toMatchObject({ kind: "action", leafIndex: 0, nonce: "1" });
    firstAction = firstResult.id;
    expect(first.stderr).toContain(`chaoscore receipt get ${firstAction}`);

    const second = await cli(
      ["action", "record", "--type", "tool.result", "--parent", firstAction, "--task", "t1"],
      { home },
    );
    expectCode(second, 0);
    expect(second.stdout).toMatch(/^leaf index\s+1$/m);
    expect(second.stdout).toMatch(/^nonce\s+2$/m);
    secondAction = /^id\s+(0x[0-9a-f]{64})$/m.exec(second.stdout)?.[1] as string;
    expect(secondAction).toBeDefined();
  }, 180_000);

  it("gets a receipt that verifies offline, and refuses it with one byte changed", async () => {
    const file = join(work, "receipt.json");
    const got = await cli(["receipt", "get", firstAction, "--out", file], { home });
    expectCode(got, 0);
    expect(got.stdout).toContain(file);
    expect(got.stdout).toMatch(/^hash\s+0x[0-9a-f]{64}$/m);

    const text = await readFile(file, "utf8");
    const verifierKey = JSON.parse(await readFile(join(home, "config.json"), "utf8")).log
      .verifierKey as string;
    // One byte of the signed action type changes: "tool.call" → "tool.calm".
    const at = text.indexOf('"tool.call"') + '"tool.cal'.length;
    const tampered = join(work, "tampered.json");
    await writeFile(tampered, `${text.slice(0, at)}m${text.slice(at + 1)}`);

    const elsewhere = join(work, "no-data-dir-here");
    const [ok, offline, fromStdin, bad, badJson] = await Promise.all([
      cli(["receipt", "verify", file], { home }),
      // Offline: no data dir and no database, only the receipt and the key.
      cli(["receipt", "verify", file, "--log-key", verifierKey], { home: elsewhere }),
      cli(["receipt", "verify", "-", "--log-key", verifierKey], { home: elsewhere, input: text }),
      cli(["receipt", "verify", tampered], { home }),
      cli(["receipt", "verify", tampered, "--json"], { home }),
    ]);
    expectCode(ok, 0);
    expect(ok.stdout).toContain("✓ receipt verified");
    expect(ok.stdout).toContain(firstAction);
    expectCode(offline, 0);
    expect(offline.stdout).toContain("✓ receipt verified");
    expectCode(fromStdin, 0);
    await expect(stat(elsewhere)).rejects.toThrow(); // verification created nothing
    expectCode(bad, 1);
    expect(bad.stderr).toMatch(/^✗ RECEIPT_SIGNATURE_INVALID: /m);
    expectCode(badJson, 1);
    expect(JSON.parse(badJson.stdout)).toMatchObject({
      valid: false,
      code: "RECEIPT_SIGNATURE_INVALID",
    });
  }, 120_000);

  it("proves control of the key, lists, and shows the log", async () => {
    const verify = await cli(["agent", "verify"], { home });
    expectCode(verify, 0);
    expect(verify.stdout).toMatch(/^✓ key 'default' controls agent 0x[0-9a-f]{40}$/m);
    const actions = await cli(["action", "list", "--task", "t1", "--json"], { home });
    expectCode(actions, 0);
    expect(JSON.parse(actions.stdout).items.map((a: { id: string }) => a.id)).toEqual([
      secondAction,
    ]);
    const status = await cli(["log", "status", "--json"], { home });
    expectCode(status, 0);
    expect(JSON.parse(status.stdout)).toMatchObject({ size: 2, database: "pglite" });
  }, 120_000);

  it("audits clean, then names the leaf edited in the database and exits 1", async () => {
    const clean = await cli(["log", "audit"], { home });
    expectCode(clean, 0);
    expect(clean.stdout).toContain("✓ log audit clean: 2 leaves");

    // Edit leaf 1 behind the log's back, as a database administrator could.
    const db = await openDatabase({ databaseUrl: "", dataDir: join(home, "pgdata") });
    try {
      const [row] = await db.query<{ entry: Uint8Array }>(
        "SELECT entry FROM log_leaves WHERE idx = 1",
      );
      const edited = Buffer.from(row!.entry).toString("utf8").replace("tool.result", "tool.resulx");
      await db.query("UPDATE log_leaves SET entry = $1 WHERE idx = 1", [Buffer.from(edited)]);
    } finally {
      await db.close();
    }

    const [dirty, dirtyJson] = [
      await cli(["log", "audit"], { home }),
      await cli(["log", "audit", "--json"], { home }),
    ];
    expectCode(dirty, 1);
    expect(dirty.stdout).toMatch(/^✗ leaf 1 {2}leaf-hash-mismatch /m);
    expect(dirty.stdout).not.toMatch(/^✗ leaf 0 /m);
    // The checkpoint signed over the original leaves no longer matches: named by its size.
    expect(dirty.stdout).toMatch(/^✗ checkpoint \(size 2\) {2}checkpoint-root-mismatch /m);
    expect(dirty.stderr).toContain("log audit failed");
    expectCode(dirtyJson, 1);
    const report = JSON.parse(dirtyJson.stdout) as {
      ok: boolean;
      findings: { index: number; kind: string }[];
    };
    expect(report.ok).toBe(false);
    const leafFindings = report.findings.filter((f) => !f.kind.startsWith("checkpoint"));
    expect(leafFindings.length).toBeGreaterThan(0);
    expect(leafFindings.every((f) => f.index === 1)).toBe(true);
  }, 120_000);
});

describe("chaoscore demo", () => {
  it("runs the vertical slice on its own anvil; the receipt it names verifies offline and on chain", async () => {
    const demo = await cli(["demo", "--keep-chain"], { home: join(await tempDir(), "unused") });
    expectCode(demo, 0);
    const pid = Number(/anvil pid (\d+)/.exec(demo.stdout)?.[1]);
    try {
      expect(demo.stdout).toContain("verification fails ✗ RECEIPT_SIGNATURE_INVALID");
      // Witnesses the demo started cosigned the checkpoint; the receipt verifies under policy.json.
      expect(demo.stdout).toMatch(
        /cosigned by 3 witnesses \(tlog-cosignature\/v1\): witness\.demo\/w1/,
      );
      expect(demo.stdout).toMatch(
        /3 of 3 witnesses cosigned \(quorum 2\), anchor contract trusted ✓/,
      );
      const last = demo.stdout.trimEnd().split("\n").at(-1) ?? "";
      const match = /^RECEIPT (0x[0-9a-f]{64}) (\S+)$/.exec(last);
      expect(match).not.toBeNull();
      const file = match?.[2] as string;
      const logKey = /^log key +(\S+)$/m.exec(demo.stdout)?.[1] as string;
      const rpc = /^chain +(http:\S+)/m.exec(demo.stdout)?.[1] as string;
      // The trusted CheckpointAnchor: the demo's deployment (in its data dir), not the receipt's.
      const verified = await cli(
        ["receipt", "verify", file, "--log-key", logKey, "--rpc", rpc, "--json"],
        { home: dirname(file) },
      );
      expectCode(verified, 0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ valid: true, receiptHash: match?.[1] });
    } finally {
      if (pid > 0) process.kill(pid);
    }
  }, 120_000);
});
