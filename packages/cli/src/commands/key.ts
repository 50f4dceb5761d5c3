import { checkKeyName, createKey, hasKey, listKeys, readPassword } from "../data-dir.js";
import { info, out, printJson, printTable, UsageError } from "../output.js";
import type { Globals } from "../program.js";

/** `chaoscore key new <name>`. */
export async function runKeyNew(
  { dataDir }: Globals,
  name: string,
  opts: { json?: boolean },
): Promise<void> {
  checkKeyName(name);
  if (await hasKey(dataDir, name)) throw new UsageError(`a key named ${name} already exists`);
  const password = await readPassword(`New password for key '${name}': `, true);
  const key = await createKey(dataDir, name, password);
  if (opts.json === true) printJson(key);
  else out(`✓ key '${key.name}' ${key.address} → ${key.path}`);
  info(`next: chaoscore agent register --key ${key.name} --name "…"`);
}

/** `chaoscore key list`. */
export async function runKeyList({ dataDir }: Globals, opts: { json?: boolean }): Promise<void> {
  const keys = await listKeys(dataDir);
  if (opts.json === true) return printJson(keys);
  if (keys.length === 0) {
    info(`no keys in ${dataDir}/keys (create one with \`chaoscore key new <name>\`)`);
    return;
  }
  printTable(
    ["NAME", "ADDRESS (AGENT ID)"],
    keys.map((k) => [k.name, k.address]),
  );
}
