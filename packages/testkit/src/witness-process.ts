/**
 * `chaoscore witness serve` as a real process on loopback, for tests: it
 * waits for the WITNESS_KEY and LISTENING lines and can be stopped,
 * SIGKILLed and restarted on the same data directory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../cli/bin/chaoscore.js", import.meta.url));

export type WitnessProcess = {
  readonly url: string;
  readonly verifierKey: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
};

/** Starts a witness process following `logs` (`<origin> <key>` or keys). */
export async function startWitnessProcess(options: {
  logs: readonly string[];
  name?: string;
  dataDir?: string;
  port?: number;
}): Promise<WitnessProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "chaoscore-witness-"));
  const args = [
    CLI,
    "witness",
    "serve",
    "--data-dir",
    dataDir,
    "--listen",
    `127.0.0.1:${options.port ?? 0}`,
    "--name",
    options.name ?? "witness.test/w",
    ...options.logs.flatMap((l) => ["--log", l]),
  ];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DATABASE_URL: "" },
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const lines = await new Promise<Record<string, string>>((resolve, reject) => {
    let out = "";
    const found: Record<string, string> = {};
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      for (const line of out.split("\n")) {
        const m = /^(WITNESS_KEY|LISTENING) (.+)$/.exec(line);
        if (m !== null) found[m[1] as string] = m[2] as string;
      }
      if (found.WITNESS_KEY !== undefined && found.LISTENING !== undefined) resolve(found);
    });
    void exited.then((code) => reject(new Error(`witness exited with ${code}: ${stderr}`)));
  });
  return {
    url: lines.LISTENING as string,
    verifierKey: lines.WITNESS_KEY as string,
    dataDir,
    child,
    exited,
  };
}

/** Stops a witness process (SIGTERM by default) and waits for it to exit. */
export async function stopWitnessProcess(
  w: WitnessProcess,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
  await w.exited;
}
