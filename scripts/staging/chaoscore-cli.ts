/**
 * The parts of the stack that the `chaoscore` command runs itself: the database step
 * (`chaoscore init` on the first run, else `chaoscore log status`, which migrates) and the
 * chain (`chaoscore chain up --detach`: anvil with its state in the data dir and the contracts
 * deployed; `chaoscore chain down`: SIGINT, anvil saves its state).
 * @module
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { assertPortFree, CLI, ROOT, type Settings, type StackFile } from "./settings.js";
import { isOurs, progress, run, StagingError, stopPid, tail } from "./supervisor.js";

/** Runs `chaoscore …` and fails with its error output when it exits non-zero. */
export async function chaoscore(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(process.execPath, [CLI, ...args], { env, cwd: ROOT });
  if (result.code !== 0) {
    throw new StagingError(
      `\`chaoscore ${args.join(" ")}\` failed (exit ${result.code}):\n${tail(result.stderr || result.stdout)}`,
    );
  }
  return result.stdout;
}

/** The chain's health check: its JSON-RPC endpoint answers eth_chainId. */
export async function rpcAnswers(url: string): Promise<boolean> {
  const { rpcAnswers: answers } = await import("@chaoscore/chain");
  return answers(url);
}

type ChainFile = { rpcUrl: string; chainId: string; pid: number | null };

/** `home/chain.json`, written by `chaoscore chain up`. */
export function readChainFile(s: Settings): ChainFile | undefined {
  try {
    return JSON.parse(readFileSync(join(s.home, "chain.json"), "utf8")) as ChainFile;
  } catch {
    return undefined;
  }
}

/** The keystore password: CHAOSCORE_PASSWORD, else one generated into <dir>/secrets. */
async function keystorePassword(s: Settings): Promise<string> {
  const fromEnv = process.env.CHAOSCORE_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const file = join(s.secrets, "keystore-password");
  if (existsSync(file)) return (await readFile(file, "utf8")).trim();
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  progress(
    `  CHAOSCORE_PASSWORD is not set: the agent keystore password is in ${relative(ROOT, file)}`,
  );
  return password;
}

/** The database step: `chaoscore init` on the first run, else `chaoscore log status` (it migrates). */
export async function initOrMigrate(s: Settings, env: NodeJS.ProcessEnv): Promise<void> {
  if (existsSync(join(s.home, "config.json"))) {
    // No separate migrate command: opening the database applies the missing migrations.
    const status = JSON.parse(await chaoscore(["log", "status", "--json"], env)) as {
      size?: number;
    };
    progress(
      `  ${relative(ROOT, s.home)} is initialized; database migrated, log size ${status.size ?? "?"}`,
    );
    return;
  }
  const password = await keystorePassword(s);
  const result = JSON.parse(
    await chaoscore(["init", "--json"], { ...env, CHAOSCORE_PASSWORD: password }),
  ) as { config: { log: { verifierKey: string } }; key: { address: string } };
  progress(`  initialized ${relative(ROOT, s.home)}: log key, agent key ${result.key.address}`);
  progress(`  log verifier key: ${result.config.log.verifierKey}`);
}

/** Starts anvil through `chaoscore chain up --detach` (or checks the contracts of a running one). */
export async function startAnvil(
  s: Settings,
  env: NodeJS.ProcessEnv,
): Promise<{ pid: number; rpcUrl: string; chainId: string }> {
  const existing = readChainFile(s);
  if (existing !== undefined && (await rpcAnswers(existing.rpcUrl))) {
    if (existing.pid === null)
      throw new StagingError(`${existing.rpcUrl} answers but chain.json has no pid`);
    progress(
      `  already running at ${existing.rpcUrl} (pid ${existing.pid}); checking the contracts`,
    );
    await chaoscore(["chain", "deploy"], env);
    return { pid: existing.pid, rpcUrl: existing.rpcUrl, chainId: existing.chainId };
  }
  await assertPortFree(s.ports.anvil, "anvil", "--rpc-port");
  const out = JSON.parse(
    await chaoscore(
      [
        "chain",
        "up",
        "--detach",
        "--port",
        String(s.ports.anvil),
        "--block-time",
        String(s.blockTimeSeconds),
        "--json",
      ],
      env,
    ),
  ) as ChainFile & {
    deployed: boolean;
    deployments: { contracts: Record<string, { address: string }> };
  };
  if (out.pid === null) throw new StagingError("`chaoscore chain up --detach` reported no pid");
  progress(
    `  ${out.rpcUrl}, chain ${out.chainId}, pid ${out.pid}; contracts ${out.deployed ? "deployed" : "already deployed"}: ${Object.entries(
      out.deployments.contracts,
    )
      .map(([name, c]) => `${name} ${c.address}`)
      .join(", ")}`,
  );
  return { pid: out.pid, rpcUrl: out.rpcUrl, chainId: out.chainId };
}

/** Stops anvil through `chaoscore chain down` (it saves its state), else the recorded pid. */
export async function stopAnvil(
  s: Settings,
  stack: StackFile | undefined,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const file = readChainFile(s);
  if (file !== undefined) {
    // SIGINT through `chain down`: anvil saves its state to home/anvil-state.json.
    const out = JSON.parse(await chaoscore(["chain", "down", "--json"], env)) as {
      stopped: boolean;
    };
    return out.stopped;
  }
  const pid = stack?.pids.anvil ?? null;
  if (!isOurs(pid, "anvil")) return false;
  return stopPid(pid, "SIGINT");
}
