/**
 * Human output ends with a newline (else the shell prompt or the next message
 * lands on the same line), and `<unknown command> --help` is an error that
 * names the command instead of the root help with exit 0. In process, PGlite
 * in a temporary data directory.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";
import { cli, expectCode, type Run } from "./test-support/run-cli.js";
import { unknownCommandWithHelp } from "./unknown-command.js";

const saved = {
  DATABASE_URL: process.env.DATABASE_URL,
  CHAOSCORE_PASSWORD: process.env.CHAOSCORE_PASSWORD,
};
let work: string;
let dir: string;

beforeAll(async () => {
  delete process.env.DATABASE_URL;
  process.env.CHAOSCORE_PASSWORD = "output test password";
  work = await mkdtemp(join(tmpdir(), "chaoscore-cli-output-"));
  dir = join(work, "data");
  expectCode(await cli("--data-dir", dir, "init"), 0);
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await rm(work, { recursive: true, force: true });
});

/** Both streams, when not empty, end with exactly one line break. */
function expectLinesEnded(r: Run): void {
  for (const text of [r.stdout, r.stderr]) {
    if (text === "") continue;
    expect(text.endsWith("\n"), JSON.stringify(text.slice(-80))).toBe(true);
  }
}

describe("human output ends with a newline", () => {
  it("receipt verify's usage errors", async () => {
    for (const args of [
      ["receipt", "verify"],
      ["receipt", "verify", "a.json", "b.json"],
      ["receipt", "verify", join(work, "missing.json")],
      ["receipt", "verify", "--rpc"],
    ]) {
      const r = await cli("--data-dir", dir, ...args);
      expect(r.code, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(/error/);
      expectLinesEnded(r);
    }
  });

  it("exec run's last line, with and without the module's logs, and on failure", async () => {
    const logs = join(work, "logs.js");
    await writeFile(
      logs,
      'export default (input) => { console.log("no newline here"); return input; }',
    );
    const quiet = join(work, "quiet.js");
    await writeFile(quiet, "export default (input) => input");
    const broken = join(work, "broken.js");
    await writeFile(broken, "export const nothing = 1;");
    for (const file of [logs, quiet]) {
      const r = expectCode(
        await cli(
          "--data-dir",
          dir,
          "exec",
          "run",
          file,
          "--input",
          "{}",
          "--out",
          join(work, "e.json"),
        ),
        0,
      );
      expectLinesEnded(r);
    }
    const r = await cli("--data-dir", dir, "exec", "run", broken, "--out", join(work, "f.json"));
    expect(r.code).not.toBe(0);
    expectLinesEnded(r);
  });
});

describe("chaoscore <unknown command> --help", () => {
  it("exits 2 with an error naming the unknown command, not the root help", async () => {
    for (const [args, word, parent] of [
      [["nosuchcmd", "--help"], "nosuchcmd", "chaoscore"],
      [["--data-dir", dir, "nosuchcmd", "-h"], "nosuchcmd", "chaoscore"],
      [["receipt", "nosuch", "--help"], "nosuch", "chaoscore receipt"],
    ] as const) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(`unknown command '${word}'`);
      expect(r.stderr).toContain(`${parent} --help`);
      expectLinesEnded(r);
    }
  });

  it("help of known commands still exits 0", async () => {
    for (const args of [
      ["--help"],
      ["receipt", "--help"],
      ["receipt", "verify", "-h"],
      ["help", "receipt"],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toMatch(/^Usage: chaoscore/);
      expectLinesEnded(r);
    }
  });

  it("unknownCommandWithHelp skips the values of options (global ones too) and leaf arguments", () => {
    const program = buildProgram();
    expect(unknownCommandWithHelp(program, ["--data-dir", "init", "--help"])).toBeUndefined();
    expect(unknownCommandWithHelp(program, ["--data-dir=x", "nope", "--help"])).toEqual({
      word: "nope",
      parent: "chaoscore",
    });
    expect(
      unknownCommandWithHelp(program, ["receipt", "verify", "nope", "--help"]),
    ).toBeUndefined();
    expect(unknownCommandWithHelp(program, ["nope"])).toBeUndefined(); // Commander reports it itself
  });
});
