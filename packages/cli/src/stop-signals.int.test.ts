/**
 * Stop signals as a user or a supervisor sends them (stop-signals.ts): a
 * second SIGTERM while `serve` drains, and a SIGTERM to `demo`, which does not
 * wait for one, each end the process at once with 143 — and the local anvil
 * the process started is gone with it, not left running on its port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, ROOT } from "./test-support/serve-process.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Starts `chaoscore --data-dir <new dir> <args>` on the embedded defaults (PGlite, its own anvil). */
async function start(args: string[]) {
  const dir = await mkdtemp(join(tmpdir(), "chaoscore-signals-"));
  dirs.push(dir);
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.CHAOSCORE_RPC_URL;
  const child = spawn(process.execPath, [BIN, "--data-dir", dir, ...args], { cwd: ROOT, env });
  children.push(child);
  const output = { text: "" };
  child.stdout?.on("data", (d) => {
    output.text += String(d);
  });
  child.stderr?.on("data", (d) => {
    output.text += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  /** Resolves with the first match of `pattern` in the output (stdout and stderr). */
  const waitFor = async (pattern: RegExp): Promise<RegExpExecArray> => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const match = pattern.exec(output.text);
      if (match !== null) return match;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} in the output:\n${output.text}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, output, exited, waitFor };
}

/** Whether something accepts TCP connections at the URL's host and port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((answer) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      answer(true);
    });
    socket.once("error", () => answer(false));
  });
}

/**
 * Whether the port at the URL stops accepting connections within `ms`: the
 * anvil killed by the exiting process frees its port as the kernel reaps it,
 * a moment after that process's own exit.
 */
async function closedWithin(url: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (await listening(url)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

describe("stop signals", () => {
  it("a second SIGTERM while serve drains ends it at once, and its anvil with it", async () => {
    const serve = await start(["serve", "--port", "0", "--log-level", "warn"]);
    const url = (await serve.waitFor(/LISTENING (\S+)/))[1] as string;
    const rpcUrl = (await serve.waitFor(/anvil at (\S+),/))[1] as string;
    expect(await listening(rpcUrl)).toBe(true);
    // A request that is still arriving (its body promised, not sent) keeps the drain waiting.
    const { hostname, port } = new URL(url);
    const slow = connect(Number(port), hostname);
    await new Promise((r) => slow.once("connect", r));
    slow.write(
      "POST /v1/actions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    );
    slow.on("error", () => undefined);
    serve.child.kill("SIGTERM");
    await serve.waitFor(/SIGTERM: draining/);
    await new Promise((r) => setTimeout(r, 300));
    expect(serve.child.exitCode).toBeNull(); // still draining: the request is in flight
    serve.child.kill("SIGTERM");
    expect(await serve.exited).toEqual({ code: 143, signal: null });
    expect(serve.output.text).toContain("SIGTERM: stopping now");
    expect(await closedWithin(rpcUrl, 5_000)).toBe(true);
    slow.destroy();
  }, 120_000);

  it("a SIGTERM to demo ends it with 143 and stops the anvil it started", async () => {
    const demo = await start(["demo"]);
    const rpcUrl = (await demo.waitFor(/start a local anvil \(chain \d+\) at (\S+)/))[1] as string;
    expect(await listening(rpcUrl)).toBe(true);
    demo.child.kill("SIGTERM");
    expect(await demo.exited).toEqual({ code: 143, signal: null });
    expect(demo.output.text).not.toContain("RECEIPT");
    expect(await closedWithin(rpcUrl, 5_000)).toBe(true);
  }, 120_000);
});
