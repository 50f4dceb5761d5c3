/**
 * A real `chaoscore serve` child process: started, SIGKILLed and restarted
 * with the same data dir and DATABASE_URL.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

const CLI = resolve(import.meta.dirname, "../packages/cli/bin/chaoscore.js");

/** Options of {@link startGateway}. */
export type GatewayProcessOptions = {
  dataDir: string;
  databaseUrl: string;
  /** Extra `serve` arguments (default: `--no-chain`). */
  serveArgs?: string[];
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
  /** Called with each stderr/stdout line (for diagnostics). */
  onLine?: (line: string) => void;
};

/** A gateway child process. */
export type GatewayProcess = {
  /** `http://127.0.0.1:<port>` of the current process (the port changes on restart). */
  readonly url: string;
  /** The admin key printed on the first start. */
  readonly adminKey: string;
  readonly pid: number | undefined;
  /** How many times the process died without being asked to (crashes). */
  readonly unexpectedExits: number;
  /** The last lines it printed. */
  tail(): string[];
  /** SIGKILL, waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again (after a kill or crash) and waits for LISTENING. */
  restart(): Promise<void>;
  /** True while the process runs. */
  isRunning(): boolean;
  /** SIGTERM (drain) and wait. */
  stop(): Promise<void>;
};

/** Runs the CLI once with the data dir and database; resolves with its exit code and output. */
export function runCli(
  args: string[],
  options: { dataDir: string; databaseUrl?: string; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, "--data-dir", options.dataDir, ...args], {
      env: {
        ...process.env,
        ...options.env,
        ...(options.databaseUrl === undefined ? {} : { DATABASE_URL: options.databaseUrl }),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("exit", (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Starts `chaoscore serve --port 0` and waits for LISTENING (and ADMIN_KEY on a fresh database). */
export async function startGateway(options: GatewayProcessOptions): Promise<GatewayProcess> {
  let child: ChildProcess | undefined;
  let url = "";
  let adminKey = "";
  let unexpectedExits = 0;
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.splice(0, lines.length - 200);
    options.onLine?.(line);
  };

  const launch = () =>
    new Promise<void>((resolveStart, rejectStart) => {
      const args = [
        CLI,
        "--data-dir",
        options.dataDir,
        "serve",
        "--port",
        "0",
        "--rate-limit",
        "0",
        "--log-level",
        "error",
        ...(options.serveArgs ?? ["--no-chain"]),
      ];
      const proc = spawn(process.execPath, args, {
        env: { ...process.env, ...options.env, DATABASE_URL: options.databaseUrl },
        stdio: ["ignore", "pipe", "pipe"],
      });
      child = proc;
      let started = false;
      let expected = false;
      (proc as ChildProcess & { expectedExit?: () => void }).expectedExit = () => {
        expected = true;
      };
      const timer = setTimeout(() => {
        if (!started) {
          proc.kill("SIGKILL");
          rejectStart(
            new Error(
              `the gateway did not print LISTENING in 120 s:\n${lines.slice(-20).join("\n")}`,
            ),
          );
        }
      }, 120_000);
      const onData = (buffer: { partial: string }) => (chunk: Buffer) => {
        buffer.partial += chunk.toString("utf8");
        const parts = buffer.partial.split("\n");
        buffer.partial = parts.pop() ?? "";
        for (const line of parts) {
          keep(line);
          const key = /^ADMIN_KEY (\S+)/.exec(line);
          if (key !== null) adminKey = key[1] as string;
          const listening = /^LISTENING (\S+)/.exec(line);
          if (listening !== null && !started) {
            started = true;
            url = (listening[1] as string).replace("://[::1]", "://127.0.0.1");
            clearTimeout(timer);
            resolveStart();
          }
        }
      };
      proc.stdout?.on("data", onData({ partial: "" }));
      proc.stderr?.on("data", onData({ partial: "" }));
      proc.once("exit", (code, signal) => {
        clearTimeout(timer);
        if (!expected) {
          unexpectedExits++;
          keep(`[gateway exited unexpectedly: code ${code} signal ${signal}]`);
        }
        if (!started) {
          rejectStart(
            new Error(
              `the gateway exited on start (${code ?? signal}):\n${lines.slice(-20).join("\n")}`,
            ),
          );
        }
      });
    });

  const waitExit = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    (proc as ChildProcess & { expectedExit?: () => void }).expectedExit?.();
    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill(signal);
    await exited;
  };

  await launch();
  return {
    get url() {
      return url;
    },
    get adminKey() {
      return adminKey;
    },
    get pid() {
      return child?.pid;
    },
    get unexpectedExits() {
      return unexpectedExits;
    },
    tail: () => [...lines],
    kill: () => waitExit("SIGKILL"),
    async restart() {
      await waitExit("SIGKILL");
      await launch();
    },
    isRunning: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    stop: () => waitExit("SIGTERM"),
  };
}
