import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { intListOption, intOption, isUsageError, UsageError } from "./options.js";

const RUN = fileURLToPath(new URL("./run.ts", import.meta.url));

/** `npm run bench -- <args>`, as the runner sees it (through tsx, no npm). */
function bench(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", RUN, ...args], {
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: "" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the bench runner", () => {
  it("refuses wrong options with the reason and where --help is, exit 2, no stack trace", () => {
    for (const [args, reason] of [
      [
        ["ingest", "--backends", "pglite,nosuch"],
        "--backends takes pglite, pglite-worker, postgres, not nosuch",
      ],
      [["ingest", "--nosuch"], "Unknown option '--nosuch'"],
      [["gateway", "--backend", "postgres"], "--backend postgres needs DATABASE_URL"],
      [
        ["ingest", "--sizes", "1000,abc"],
        '--sizes takes integers ≥ 1 separated by commas, not "1000,abc"',
      ],
      [["ingest", "--receipts=-1"], '--receipts takes an integer ≥ 0, not "-1"'],
      [["gateway", "--actions", "2.5"], '--actions takes an integer ≥ 1, not "2.5"'],
      [["receipts", "--rounds", "0"], '--rounds takes an integer ≥ 1, not "0"'],
      [["gateway", "--rounds", "0"], '--rounds takes an integer ≥ 1, not "0"'],
      [["gateway", "--warmup=-5"], '--warmup takes an integer ≥ 0, not "-5"'],
    ] as const) {
      const r = bench(...args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`npm run bench -- ${args[0]}: ${reason}`);
      expect(r.stderr).toContain(`run \`npm run bench -- ${args[0]} --help\` for its options`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
      expect(r.stdout).not.toContain("GOAL"); // nothing was measured
    }
  });

  it("lists the benches for an unknown name, exit 2", () => {
    const r = bench("nosuch");
    expect(r.status).toBe(2);
    expect(r.stdout).toContain("usage: npm run bench -- <bench> [options]");
    expect(r.stdout).toMatch(/^ {2}ingest /m);
  });
});

describe("intOption and intListOption", () => {
  it("take decimal integers at or above the minimum, and name the option otherwise", () => {
    expect(intOption("runs", "12")).toBe(12);
    expect(intOption("threads", "0", 0)).toBe(0);
    expect(intListOption("sizes", "1000, 10000")).toEqual([1000, 10000]);
    for (const bad of ["", "abc", "1e3", "0x10", "-1", "2.5", "0", "1234567890123456"]) {
      expect(() => intOption("runs", bad)).toThrow(UsageError);
    }
    expect(() => intOption("runs", undefined)).toThrow('--runs takes an integer ≥ 1, not ""');
    for (const bad of ["", "1,,2", "1,x", "0,5"])
      expect(() => intListOption("sizes", bad)).toThrow(UsageError);
  });
});

describe("isUsageError", () => {
  it("is true for UsageError and parseArgs's errors, false for other failures", () => {
    expect(isUsageError(new UsageError("--x takes y"))).toBe(true);
    expect(
      isUsageError(
        Object.assign(new TypeError("Unknown option"), { code: "ERR_PARSE_ARGS_UNKNOWN_OPTION" }),
      ),
    ).toBe(true);
    expect(isUsageError(new Error("connection refused"))).toBe(false);
    expect(isUsageError(Object.assign(new Error("x"), { code: "ECONNREFUSED" }))).toBe(false);
    expect(isUsageError(null)).toBe(false);
  });
});
