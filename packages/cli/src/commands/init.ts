import { mkdir, rm } from "node:fs/promises";
import { relative } from "node:path";
import { generateNoteKey } from "@chaoscore/core";
import {
  type CliConfig,
  CONFIG_FORMAT,
  checkChainId,
  checkKeyName,
  createKey,
  DEFAULT_ORIGIN,
  dataPaths,
  hasKey,
  isInitialized,
  keyInfo,
  readPassword,
  writeConfig,
  writeLogKey,
} from "../data-dir.js";
import { withEngine } from "../engine-context.js";
import { info, out, printFields, printJson, UsageError } from "../output.js";
import type { Globals } from "../program.js";

type InitOptions = { chainId: string; keyName: string; force?: boolean; json?: boolean };

/** `chaoscore init`: config, log key, a first agent key, the migrated database. */
export async function runInit(globals: Globals, opts: InitOptions): Promise<void> {
  const { dataDir } = globals;
  const paths = dataPaths(dataDir);
  const chainId = checkChainId(opts.chainId);
  const keyName = checkKeyName(opts.keyName);
  const initialized = await isInitialized(dataDir);
  if (initialized && opts.force !== true) {
    throw new UsageError(
      `${dataDir} is already initialized (config.json exists); add --force to replace its config, log key and database (agent keys are kept)`,
    );
  }
  // Ask for the password before anything is written.
  const keyExists = await hasKey(dataDir, keyName);
  const password = keyExists
    ? undefined
    : await readPassword(`New password for key '${keyName}': `, true);

  await mkdir(paths.keys, { recursive: true, mode: 0o700 });
  const usesServer = (process.env.DATABASE_URL ?? "") !== "";
  if (opts.force === true && !usesServer) await rm(paths.pgdata, { recursive: true, force: true });

  const { signerKey, verifierKey } = generateNoteKey(DEFAULT_ORIGIN);
  const config: CliConfig = {
    format: CONFIG_FORMAT,
    chainId,
    log: { id: "default", origin: DEFAULT_ORIGIN, verifierKey },
  };
  await writeLogKey(dataDir, signerKey);
  await writeConfig(dataDir, config);
  const key =
    password === undefined
      ? await keyInfo(dataDir, keyName)
      : await createKey(dataDir, keyName, password);

  info(`migrating the database (${usesServer ? "DATABASE_URL" : "PGlite"})…`);
  await withEngine(dataDir, async () => {});

  const rel = (p: string) => relative(dataDir, p);
  if (opts.json === true) {
    printJson({
      dataDir,
      config,
      logKey: paths.logKey,
      key: { name: key.name, address: key.address, path: key.path, created: !keyExists },
      database: usesServer ? "postgres (DATABASE_URL)" : paths.pgdata,
    });
  } else {
    out(`✓ ${initialized ? "re-initialized" : "initialized"} ${dataDir}`);
    printFields(
      [
        [rel(paths.config), `chain ${chainId}, log ${DEFAULT_ORIGIN}`],
        [rel(paths.logKey), "the log's signing key (Ed25519, C2SP note key; keep it secret)"],
        [
          rel(key.path),
          `agent key '${key.name}' ${key.address}${keyExists ? " (existing, kept)" : " (keystore v3, encrypted)"}`,
        ],
        [
          usesServer ? "DATABASE_URL" : `${rel(paths.pgdata)}/`,
          usesServer ? "Postgres server, migrated" : "database (PGlite), migrated",
        ],
      ],
      "  ",
    );
    out(`  verifier key: ${verifierKey}`);
  }
  const keyFlag = keyName === "default" ? "" : ` --key ${keyName}`;
  info(`next: chaoscore agent register${keyFlag} --name "my agent"`);
}
