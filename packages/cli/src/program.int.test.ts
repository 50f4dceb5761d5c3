/**
 * Every command through `run(argv)` in this process, with stdout and stderr
 * captured: the paths the child-process tests (cli.int.test.ts) take, and the
 * others, measured by coverage. DATABASE_URL is removed for this file (each
 * test file runs in its own process): the commands use PGlite in a temporary
 * data directory, as a user's first run does.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectCode } from "./test-support/run-cli.js";

const PASSWORD = "in-process password";

const saved = {
  DATABASE_URL: process.env.DATABASE_URL,
  CHAOSCORE_PASSWORD: process.env.CHAOSCORE_PASSWORD,
  CHAOSCORE_HOME: process.env.CHAOSCORE_HOME,
};
let work: string;
let dir: string;

beforeAll(async () => {
  delete process.env.DATABASE_URL;
  delete process.env.CHAOSCORE_HOME;
  process.env.CHAOSCORE_PASSWORD = PASSWORD;
  work = await mkdtemp(join(tmpdir(), "chaoscore-cli-run-"));
  dir = join(work, "data");
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(work, { recursive: true, force: true });
});

describe("run(argv)", () => {
  it("prints help and usage errors without touching a data directory", async () => {
    const help = expectCode(await cli("--help"), 0);
    expect(help.stdout).toContain("Typical sequence:");
    expect(expectCode(await cli("receipt", "get", "--help"), 0).stdout).toContain("--out <file>");
    expect(expectCode(await cli("--version"), 0).stdout).toMatch(/^\d+\.\d+\.\d+/);
    expectCode(await cli("agent", "list", "--status", "asleep"), 2);
    expectCode(await cli("action", "list", "--limit", "x"), 2);
    const none = join(work, "none");
    const missing = expectCode(await cli("--data-dir", none, "agent", "show"), 1);
    expect(missing.stderr).toMatch(/^error CLI_NOT_INITIALIZED: /);
    const missingJson = expectCode(await cli("--data-dir", none, "key", "new", "k", "--json"), 0);
    expect(JSON.parse(missingJson.stdout).name).toBe("k");
    const noKeys = expectCode(await cli("--data-dir", join(work, "empty"), "key", "list"), 0);
    expect(noKeys.stderr).toContain("no keys");
    // A data directory that is a file: an unexpected error, exit 1, no stack unless DEBUG.
    const file = join(work, "file");
    await writeFile(file, "");
    const odd = expectCode(await cli("--data-dir", file, "log", "status"), 1);
    expect(odd.stderr).toContain("DEBUG=chaoscore");
    const oddJson = expectCode(await cli("--data-dir", file, "log", "status", "--json"), 1);
    expect(JSON.parse(oddJson.stderr)).toMatchObject({ code: "UNEXPECTED" });
  });

  it("runs every command on one data directory", async () => {
    const d = ["--data-dir", dir];
    const init = JSON.parse(expectCode(await cli(...d, "init", "--json"), 0).stdout);
    expect(init.config).toMatchObject({ format: "chaoscore.config/v1", chainId: "31337" });
    expectCode(await cli(...d, "init"), 2);
    expectCode(await cli(...d, "init", "--chain-id", "0x1"), 2);

    // keys
    expectCode(await cli(...d, "key", "new", "evaluator"), 0);
    expectCode(await cli(...d, "key", "new", "evaluator"), 2);
    expectCode(await cli(...d, "key", "new", "../escape"), 2);
    const keys = JSON.parse(expectCode(await cli(...d, "key", "list", "--json"), 0).stdout);
    expect(keys.map((k: { name: string }) => k.name)).toEqual(["default", "evaluator"]);
    expect(expectCode(await cli(...d, "key", "list"), 0).stdout).toContain("evaluator");

    // agents
    const agent = JSON.parse(
      expectCode(await cli(...d, "agent", "register", "--capability", "tool.use", "--json"), 0)
        .stdout,
    ).identity.id as string;
    const cardFile = join(work, "card.json");
    await writeFile(cardFile, JSON.stringify({ name: "Eval", capabilities: ["evaluate"] }));
    const evaluator = expectCode(
      await cli(...d, "agent", "register", "--key", "evaluator", "--card", cardFile),
      0,
    );
    expect(evaluator.stdout).toMatch(/^name\s+Eval$/m);
    await writeFile(cardFile, "[1]");
    expectCode(await cli(...d, "agent", "register", "--card", cardFile), 2);
    await writeFile(cardFile, "{");
    expectCode(await cli(...d, "agent", "register", "--card", cardFile), 2);
    expectCode(await cli(...d, "agent", "register", "--card", join(work, "nope.json")), 2);
    await writeFile(cardFile, JSON.stringify({ name: 5 }));
    const badCard = expectCode(await cli(...d, "agent", "register", "--card", cardFile), 1);
    expect(badCard.stderr).toMatch(/^error AGENT_CARD_INVALID: /);
    const again = expectCode(await cli(...d, "agent", "register"), 1);
    expect(again.stderr).toMatch(/^error AGENT_ALREADY_REGISTERED: /);

    expect(expectCode(await cli(...d, "agent", "show"), 0).stdout).toContain(agent);
    const shown = JSON.parse(
      expectCode(await cli(...d, "agent", "show", agent, "--json"), 0).stdout,
    );
    expect(shown.metadata.card.capabilities).toEqual(["tool.use"]);
    const page = expectCode(await cli(...d, "agent", "list", "--limit", "1"), 0);
    expect(page.stdout).toContain(agent);
    const cursor = /--cursor (\S+)/.exec(page.stderr)?.[1] as string;
    const next = JSON.parse(
      expectCode(await cli(...d, "agent", "list", "--cursor", cursor, "--json"), 0).stdout,
    );
    expect(next.items).toHaveLength(1);
    expect(next.nextCursor).toBeNull();
    const none = expectCode(await cli(...d, "agent", "list", "--capability", "nothing"), 0);
    expect(none.stderr).toContain("no agents");
    const proof = JSON.parse(expectCode(await cli(...d, "agent", "verify", "--json"), 0).stdout);
    expect(proof).toMatchObject({ agent, signer: agent, status: "active" });
    expect(expectCode(await cli(...d, "agent", "verify"), 0).stdout).toContain("controls agent");

    // actions
    const payloadFile = join(work, "payload.json");
    await writeFile(payloadFile, JSON.stringify({ tool: "search", q: "PIP-7" }));
    const first = expectCode(
      await cli(...d, "action", "record", "--type", "tool.call", "--payload-file", payloadFile),
      0,
    );
    const id = /^id\s+(0x[0-9a-f]{64})$/m.exec(first.stdout)?.[1] as string;
    const second = JSON.parse(
      expectCode(
        await cli(...d, "action", "record", "--type", "tool.result", "--parent", id, "--json"),
        0,
      ).stdout,
    );
    expect(second).toMatchObject({ leafIndex: 1, nonce: "2" });
    expectCode(await cli(...d, "action", "record", "--type", "x", "--payload-file", "/nope"), 2);
    await writeFile(cardFile, "not json");
    expectCode(await cli(...d, "action", "record", "--type", "x", "--payload-file", cardFile), 2);
    const unregistered = await cli(...d, "key", "new", "stranger");
    expectCode(unregistered, 0);
    const stranger = expectCode(
      await cli(...d, "action", "record", "--type", "x", "--key", "stranger"),
      1,
    );
    expect(stranger.stderr).toMatch(/^error AGENT_NOT_FOUND: .*agent register --key stranger/);

    expect(expectCode(await cli(...d, "action", "show", id), 0).stdout).toMatch(
      /^type\s+tool\.call$/m,
    );
    expect(
      JSON.parse(expectCode(await cli(...d, "action", "show", id, "--json"), 0).stdout).hasPayload,
    ).toBe(true);
    const actions = expectCode(await cli(...d, "action", "list", "--limit", "1"), 0);
    expect(actions.stdout).toContain(id);
    expect(actions.stderr).toContain("--cursor 0");
    const typed = JSON.parse(
      expectCode(await cli(...d, "action", "list", "--type", "tool.result", "--json"), 0).stdout,
    );
    expect(typed.items.map((a: { id: string }) => a.id)).toEqual([second.id]);
    expect(
      expectCode(await cli(...d, "action", "list", "--agent", `0x${"0".repeat(40)}`), 0).stderr,
    ).toContain("no actions");

    // receipts
    const printed = expectCode(await cli(...d, "receipt", "get", id), 0);
    expect(JSON.parse(printed.stdout)).toMatchObject({ format: "chaoscore.receipt/v2" });
    expect(printed.stderr).toMatch(/receipt hash 0x[0-9a-f]{64}/);
    const file = join(work, "receipt.json");
    const written = JSON.parse(
      expectCode(await cli(...d, "receipt", "get", id, "--out", file, "--json"), 0).stdout,
    );
    expect(written.path).toBe(file);
    expect(
      expectCode(await cli(...d, "receipt", "get", second.id, "--out", join(work, "r2.json")), 0)
        .stdout,
    ).toContain("✓ receipt written");
    const ok = expectCode(await cli(...d, "receipt", "verify", file), 0);
    expect(ok.stdout).toContain("included, matches the signed payload hash");
    expect(ok.stdout).toContain(written.hash);
    const okJson = JSON.parse(
      expectCode(await cli(...d, "receipt", "verify", file, "--json"), 0).stdout,
    );
    expect(okJson).toMatchObject({
      valid: true,
      actionId: id,
      leafIndex: 0,
      receiptHash: written.hash,
    });
    const noPayload = expectCode(await cli(...d, "receipt", "verify", join(work, "r2.json")), 0);
    expect(noPayload.stdout).toContain("not included");
    const text = await readFile(file, "utf8");
    const tampered = join(work, "tampered.json");
    await writeFile(tampered, text.replace('"search"', '"seArch"'));
    const bad = expectCode(await cli(...d, "receipt", "verify", tampered), 1);
    expect(bad.stderr).toMatch(/^✗ RECEIPT_PAYLOAD_MISMATCH: /);
    expectCode(await cli(...d, "receipt", "verify", file, "--log-key", "not-a-key"), 2);
    expectCode(await cli(...d, "receipt", "verify", join(work, "missing.json")), 2);
    expectCode(await cli("--data-dir", join(work, "none"), "receipt", "verify", file), 2);
    const unknown = expectCode(await cli(...d, "receipt", "get", `0x${"ab".repeat(32)}`), 1);
    expect(unknown.stderr).toMatch(/^error AGENCY_ACTION_NOT_FOUND: /);

    // the log
    const note = expectCode(await cli(...d, "log", "checkpoint"), 0).stdout;
    expect(note).toMatch(/^chaoscore\.local\/log\/default\n2\n/);
    const cp = JSON.parse(expectCode(await cli(...d, "log", "checkpoint", "--json"), 0).stdout);
    expect(cp).toMatchObject({ size: 2, note });
    expect(expectCode(await cli(...d, "log", "status"), 0).stdout).toMatch(/^size\s+2 leaves$/m);
    expect(
      JSON.parse(expectCode(await cli(...d, "log", "status", "--json"), 0).stdout),
    ).toMatchObject({ size: 2, latestCheckpoint: { size: 2 } });
    expect(expectCode(await cli(...d, "log", "audit"), 0).stdout).toContain("✓ log audit clean");
    expect(
      JSON.parse(expectCode(await cli(...d, "log", "audit", "--json"), 0).stdout),
    ).toMatchObject({ ok: true, size: 2, findings: [] });

    // operator status changes
    expect(
      expectCode(await cli(...d, "agent", "suspend", agent, "--reason", "test"), 0).stdout,
    ).toContain("now suspended");
    const refused = expectCode(await cli(...d, "action", "record", "--type", "x", "--json"), 1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ code: "AGENT_NOT_ACTIVE" });
    const back = JSON.parse(
      expectCode(await cli(...d, "agent", "reactivate", agent, "--reason", "ok", "--json"), 0)
        .stdout,
    );
    expect(back.identity.status).toBe("active");
    expectCode(await cli(...d, "agent", "revoke", agent, "--reason", "done"), 0);
    expectCode(await cli(...d, "agent", "reactivate", agent, "--reason", "no"), 1);

    // a wrong password, then a fresh log with --force (keys are kept)
    process.env.CHAOSCORE_PASSWORD = "wrong";
    try {
      const wrong = expectCode(await cli(...d, "agent", "verify"), 1);
      expect(wrong.stderr).toMatch(/^error CLI_KEYSTORE_PASSWORD: wrong password/);
    } finally {
      process.env.CHAOSCORE_PASSWORD = PASSWORD;
    }
    const forced = expectCode(await cli(...d, "init", "--force"), 0);
    expect(forced.stdout).toContain("(existing, kept)");
    expect(JSON.parse(expectCode(await cli(...d, "log", "status", "--json"), 0).stdout).size).toBe(
      0,
    );
  }, 180_000);

  it("runs the demo in a kept data directory that the other commands can open", async () => {
    const kept = join(work, "demo");
    const demo = expectCode(await cli("--data-dir", kept, "demo"), 0);
    expect(demo.stdout).toMatch(/^RECEIPT 0x[0-9a-f]{64} .*receipt\.json$/m);
    expect(expectCode(await cli("--data-dir", kept, "log", "audit"), 0).stdout).toContain(
      "13 leaves",
    );
    expectCode(await cli("--data-dir", kept, "receipt", "verify", join(kept, "receipt.json")), 0);
    expectCode(await cli("--data-dir", kept, "demo"), 2);
  }, 120_000);
});
