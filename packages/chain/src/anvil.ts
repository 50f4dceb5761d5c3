/**
 * Starts a local anvil (npm `@foundry-rs/anvil`, D7) as a child process on a
 * free port, for the demo, development and tests. Children are killed when
 * this process exits, so no anvil outlives its parent.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ChaosCoreError } from "@chaoscore/core";
import { HDNodeWallet, Mnemonic } from "ethers";
import type { Address, Hex } from "./types.js";

/**
 * Anvil's default mnemonic. Its keys are PUBLIC test keys, known to everyone:
 * never send real funds to them, never use them on a real network.
 */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";

/** Options of {@link startAnvil}. */
export type StartAnvilOptions = {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  /** Host to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Seconds between blocks; default: a block per transaction (automine). */
  readonly blockTime?: number;
  /** Default 31337. */
  readonly chainId?: number;
  /** Load the chain state from this file if it exists, and dump it there on stop (anvil `--state`). */
  readonly stateFile?: string;
  /** Also dump the state every this many seconds (anvil `--state-interval`). */
  readonly stateIntervalSeconds?: number;
  /** Number of funded dev accounts; default 10. */
  readonly accounts?: number;
  /** How long to wait for the RPC to answer; default 20,000 ms. */
  readonly startTimeoutMs?: number;
  /** More anvil arguments. */
  readonly args?: readonly string[];
};

/** A funded anvil dev account (a public test key). */
export type AnvilAccount = { readonly address: Address; readonly privateKey: Hex };

/** A running anvil. */
export type AnvilInstance = {
  readonly rpcUrl: string;
  readonly port: number;
  readonly chainId: bigint;
  /** Anvil's deterministic dev accounts (public test keys: see {@link ANVIL_MNEMONIC}). */
  readonly accounts: readonly AnvilAccount[];
  /** The child's pid (undefined while stopped). */
  readonly pid: number | undefined;
  /** Stops anvil gracefully (SIGINT: it dumps `stateFile`) and waits for it to exit. */
  stop(): Promise<void>;
  /** Sends a signal (default SIGKILL: no state dump) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts anvil again on the same port with the same options (and the dumped state). */
  restart(): Promise<void>;
  /** Anvil's last 40 lines of output (its RPC calls, mined transactions), for diagnosis. */
  output(): readonly string[];
};

const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
}

/**
 * The anvil binary of the `@foundry-rs/anvil-<platform>-<arch>` package
 * installed for this machine.
 * @throws ChaosCoreError CHAIN_ANVIL_FAILED when no binary is installed for this platform.
 */
export function anvilBinary(): string {
  const os = platform();
  const cpu = arch() === "x64" ? "amd64" : arch();
  const pkg = `@foundry-rs/anvil-${os}-${cpu}`;
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve(`${pkg}/package.json`));
    const bin = join(root, "bin", os === "win32" ? "anvil.exe" : "anvil");
    if (existsSync(bin)) return bin;
  } catch {
    // reported below
  }
  throw new ChaosCoreError("CHAIN_ANVIL_FAILED", `no anvil binary: ${pkg} is not installed`, {
    details: { package: pkg },
  });
}

/** A free TCP port on the host (the OS picks it; there is a small race until anvil binds it). */
async function freePort(host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Anvil's first `count` dev accounts, derived from {@link ANVIL_MNEMONIC}. */
export function anvilAccounts(count = 10): AnvilAccount[] {
  const mnemonic = Mnemonic.fromPhrase(ANVIL_MNEMONIC);
  return Array.from({ length: count }, (_, i) => {
    const w = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    return { address: w.address as Address, privateKey: w.privateKey as Hex };
  });
}

/**
 * Starts anvil and waits until its RPC answers.
 * @throws ChaosCoreError CHAIN_ANVIL_FAILED when it exits early or does not answer in time
 * (details: its last output lines).
 * @example
 * ```ts
 * const anvil = await startAnvil();
 * const client = await EthereumClient.connect({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId });
 * await anvil.stop();
 * ```
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilInstance> {
  installExitHook();
  const host = options.host ?? "127.0.0.1";
  const chainId = options.chainId ?? 31337;
  const accountCount = options.accounts ?? 10;
  const bin = anvilBinary();
  let port = options.port ?? 0;
  let child: ChildProcess | undefined;

  const args = (p: number): string[] => {
    const a = ["--host", host, "--port", String(p), "--chain-id", String(chainId)];
    a.push("--accounts", String(accountCount), "--mnemonic", ANVIL_MNEMONIC);
    if (options.blockTime !== undefined) a.push("--block-time", String(options.blockTime));
    if (options.stateFile !== undefined) a.push("--state", options.stateFile);
    if (options.stateIntervalSeconds !== undefined) {
      a.push("--state-interval", String(options.stateIntervalSeconds));
    }
    return [...a, ...(options.args ?? [])];
  };

  let output: string[] = [];
  const launch = async (p: number): Promise<ChildProcess> => {
    const proc = spawn(bin, args(p), { stdio: ["ignore", "pipe", "pipe"] });
    children.add(proc);
    output = [];
    const keep = (chunk: Buffer) => {
      output.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (output.length > 40) output.splice(0, output.length - 40);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    let exited = false;
    proc.once("exit", () => {
      exited = true;
      children.delete(proc);
    });
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    const url = `http://${host}:${p}`;
    while (Date.now() < deadline) {
      if (exited) break;
      if (await rpcAnswers(url)) return proc;
      await sleep(50);
    }
    proc.kill("SIGKILL");
    throw new ChaosCoreError(
      "CHAIN_ANVIL_FAILED",
      exited ? `anvil exited on start (port ${p})` : `anvil did not answer on ${url} in time`,
      { details: { port: p, output: output.slice(-10) } },
    );
  };

  for (let attempt = 1; ; attempt++) {
    const p = port === 0 ? await freePort(host) : port;
    try {
      child = await launch(p);
      port = p;
      break;
    } catch (e) {
      // Another process may have taken the free port in between: try another one.
      if (options.port !== undefined && options.port !== 0) throw e;
      if (attempt >= 3) throw e;
    }
  }

  const waitExit = async (proc: ChildProcess | undefined, signal: NodeJS.Signals) => {
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const rpcUrl = `http://${host}:${port}`;
  return {
    rpcUrl,
    port,
    chainId: BigInt(chainId),
    accounts: anvilAccounts(accountCount),
    get pid() {
      return child?.pid;
    },
    async stop() {
      await waitExit(child, "SIGINT");
      child = undefined;
    },
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      await waitExit(child, signal);
      child = undefined;
    },
    async restart() {
      await waitExit(child, "SIGINT");
      child = await launch(port);
    },
    output: () => output.slice(),
  };
}

/** True when a JSON-RPC endpoint answers `eth_chainId` within a second. */
export async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/** Options of {@link startDetachedAnvil}. */
export type DetachedAnvilOptions = {
  /** Default: a free port. */
  port?: number;
  chainId?: number;
  /** Load and save the chain state here (`--state`), saved every second. */
  stateFile?: string;
  blockTime?: number;
};

/**
 * Starts an anvil that outlives this process (for `chaoscore chain up
 * --detach` and `demo --keep-chain`): detached, output discarded, accounts
 * from {@link ANVIL_MNEMONIC}. Resolves once it answers; stopping it is the
 * caller's business (its pid is returned).
 * @throws ChaosCoreError CHAIN_ANVIL_FAILED when it does not answer within 20 s.
 */
export async function startDetachedAnvil(
  options: DetachedAnvilOptions = {},
): Promise<{ rpcUrl: string; port: number; pid: number | undefined }> {
  const port = options.port ?? (await freePort("127.0.0.1"));
  const args = ["--host", "127.0.0.1", "--port", String(port), "--mnemonic", ANVIL_MNEMONIC];
  if (options.chainId !== undefined) args.push("--chain-id", String(options.chainId));
  if (options.stateFile !== undefined)
    args.push("--state", options.stateFile, "--state-interval", "1");
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
  const child = spawn(anvilBinary(), args, { detached: true, stdio: "ignore" });
  child.unref();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (!(await rpcAnswers(rpcUrl))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new ChaosCoreError("CHAIN_ANVIL_FAILED", `anvil did not answer on ${rpcUrl}`, {
        details: { port },
      });
    }
    await sleep(50);
  }
  return { rpcUrl, port, pid: child.pid };
}
