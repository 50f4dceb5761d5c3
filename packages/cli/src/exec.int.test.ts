/**
 * `exec run|verify|replay` and an attested `action record`, in process
 * (PGlite in a temporary data directory; DATABASE_URL removed for this file).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, expectCode } from "./test-support/run-cli.js";

const EXAMPLE = fileURLToPath(new URL("../../../examples/simulate-proposal.js", import.meta.url));
const saved = {
  DATABASE_URL: process.env.DATABASE_URL,
  CHAOSCORE_PASSWORD: process.env.CHAOSCORE_PASSWORD,
};
let work: string;
let dir: string;

beforeAll(async () => {
  delete process.env.DATABASE_URL;
  process.env.CHAOSCORE_PASSWORD = "exec test password";
  work = await mkdtemp(join(tmpdir(), "chaoscore-cli-exec-"));
  dir = join(work, "data");
  expectCode(await cli("--data-dir", dir, "init"), 0);
  expectCode(await cli("--data-dir", dir, "agent", "register", "--name", "simulator"), 0);
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(work, { recursive: true, force: true });
});

describe("chaoscore exec", () => {
  const input = JSON.stringify({ treasury: 100000, grant: 25000, monthlyBurn: 3000 });

  it("runs, verifies and replays an attested execution, and records it as an attested action", async () => {
    const recorded = join(work, "execution.json");
    const ran = expectCode(
      await cli(
        "--data-dir",
        dir,
        "exec",
        "run",
        EXAMPLE,
        "--input",
        input,
        "--seed",
        "s1",
        "--out",
        recorded,
        "--json",
      ),
      0,
    );
    const { output, attestationHash } = JSON.parse(ran.stdout);
    expect(output.runwayOk).toBe(true);
    // The same code, input and seed give the same output (determinism).
    const again = expectCode(
      await cli(
        "--data-dir",
        dir,
        "exec",
        "run",
        EXAMPLE,
        "--input",
        input,
        "--seed",
        "s1",
        "--out",
        join(work, "again.json"),
        "--json",
      ),
      0,
    );
    expect(JSON.parse(again.stdout).output).toEqual(output);

    expect(
      expectCode(await cli("--data-dir", dir, "exec", "verify", recorded), 0).stdout,
    ).toContain("verified");
    expect(
      expectCode(await cli("--data-dir", dir, "exec", "replay", recorded), 0).stdout,
    ).toContain("reproduced");

    const rec = expectCode(
      await cli(
        "--data-dir",
        dir,
        "action",
        "record",
        "--type",
        "governance.simulate",
        "--attestation",
        recorded,
        "--json",
      ),
      0,
    );
    const { id } = JSON.parse(rec.stdout);
    const receiptFile = join(work, "receipt.json");
    expectCode(await cli("--data-dir", dir, "receipt", "get", id, "--out", receiptFile), 0);
    const receipt = JSON.parse(await readFile(receiptFile, "utf8"));
    expect(receipt.action.entry.message.attestationHash).toBe(attestationHash);
    const verified = expectCode(
      await cli("--data-dir", dir, "receipt", "verify", receiptFile, "--json"),
      0,
    );
    expect(JSON.parse(verified.stdout).attestation).toBe("verified");
  });

  it("fails verify and replay of a tampered record with a code", async () => {
    const recorded = join(work, "tampered.json");
    expectCode(
      await cli("--data-dir", dir, "exec", "run", EXAMPLE, "--input", input, "--out", recorded),
      0,
    );
    const record = JSON.parse(await readFile(recorded, "utf8"));
    record.output.final += 1;
    await writeFile(recorded, JSON.stringify(record));
    const verify = expectCode(
      await cli("--data-dir", dir, "exec", "verify", recorded, "--json"),
      1,
    );
    expect(JSON.parse(verify.stdout)).toMatchObject({
      valid: false,
      code: "ATTESTATION_REPORT_DATA_MISMATCH",
    });
    const replay = expectCode(
      await cli("--data-dir", dir, "exec", "replay", recorded, "--json"),
      1,
    );
    expect(JSON.parse(replay.stdout)).toMatchObject({
      valid: false,
      code: "EXECUTION_REPLAY_MISMATCH",
    });
  });

  it("contains code that breaks a limit: a coded error and no recorded execution", async () => {
    const loop = join(work, "loop.js");
    await writeFile(loop, "export default function main() { for (;;) {} }");
    const out = join(work, "loop.json");
    const r = expectCode(
      await cli("--data-dir", dir, "exec", "run", loop, "--out", out, "--json"),
      1,
    );
    expect(JSON.parse(r.stdout).code).toMatch(/^EXECUTION_(CPU_LIMIT|TIMEOUT)$/);
    await expect(readFile(out, "utf8")).rejects.toThrow();
  });
});
