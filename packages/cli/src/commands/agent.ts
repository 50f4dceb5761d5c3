import { readFile } from "node:fs/promises";
import {
  AGENT_CARD_FORMAT,
  type AgentCard,
  ChaosCoreError,
  ERC8004_REGISTRATION_TYPE,
  fromA2AAgentCard,
  fromErc8004Registration,
  parseAgentCard,
  signRegistration,
  signTypedMessage,
} from "@chaoscore/core";
import type { AgentRecord, AgentStatus } from "@chaoscore/log";
import { keyInfo, unlockKey } from "../data-dir.js";
import { withEngine } from "../engine-context.js";
import {
  defined,
  info,
  out,
  printFields,
  printJson,
  printTable,
  shellQuote,
  UsageError,
} from "../output.js";
import type { Globals } from "../program.js";
import { type GatewayOptions, registerAgentRemote } from "./remote.js";

type RegisterOptions = {
  key: string;
  name?: string;
  description?: string;
  capability?: string[];
  framework?: string;
  card?: string;
  anchor?: boolean;
  json?: boolean;
} & GatewayOptions;

async function readCardFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${path} is not valid JSON`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`${path} does not hold a JSON object (an agent card)`);
  }
  return value as Record<string, unknown>;
}

/**
 * A `--card` file: a ChaosCore card as it is, or an A2A AgentCard / ERC-8004
 * registration file read as one (docs/spec/agent-card.md §1.3–1.4). A signed
 * A2A card must be signed by the key that registers.
 */
function importCard(file: Record<string, unknown>, signer: string): Record<string, unknown> {
  if (file.format === AGENT_CARD_FORMAT) return file;
  if (file.type === ERC8004_REGISTRATION_TYPE) return fromErc8004Registration(file).card;
  if ("protocolVersion" in file || "skills" in file) {
    const imported = fromA2AAgentCard(file);
    if (imported.signedBy !== null && imported.signedBy !== signer) {
      throw new ChaosCoreError(
        "AGENT_CARD_SIGNATURE_INVALID",
        `the A2A card is signed by ${imported.signedBy}, not by the registering key ${signer}`,
      );
    }
    return imported.card;
  }
  return file;
}

/** The card to register: defaults, then the --card file, then the options. */
async function buildCard(
  opts: RegisterOptions,
  keyName: string,
  signer: string,
): Promise<AgentCard> {
  const base: Record<string, unknown> = {
    format: AGENT_CARD_FORMAT,
    name: keyName,
    description: "",
    capabilities: [],
    framework: "",
    version: "",
    endpoints: [],
    codeMeasurement: null,
    owner: null,
  };
  const file = opts.card === undefined ? {} : importCard(await readCardFile(opts.card), signer);
  return parseAgentCard({
    ...base,
    ...file,
    ...defined({
      name: opts.name,
      description: opts.description,
      capabilities: opts.capability,
      framework: opts.framework,
    }),
  });
}

function printAgent(record: AgentRecord): void {
  const { identity, metadata } = record;
  const { card } = metadata;
  printFields([
    ["agent", identity.id],
    ["status", identity.status],
    [
      "signer",
      identity.signer === identity.id ? `${identity.signer} (registration key)` : identity.signer,
    ],
    ["name", card.name],
    ["description", card.description],
    ["capabilities", card.capabilities],
    ["framework", card.framework],
    ["version", card.version],
    ["endpoints", card.endpoints.map((e) => `${e.name} ${e.endpoint}`)],
    ["owner", card.owner],
    ["code", card.codeMeasurement],
    ["card", `version ${metadata.version}, hash ${metadata.cardHash}`],
    ["registered", identity.createdAt],
    ["updated", identity.updatedAt],
  ]);
}

/** `chaoscore agent register`. */
export async function runAgentRegister({ dataDir }: Globals, opts: RegisterOptions): Promise<void> {
  const key = await unlockKey(dataDir, opts.key);
  const card = await buildCard(opts, key.name, key.address);
  if (opts.gateway !== undefined) {
    // Through the running server; it anchors the card itself when it has a chain.
    const remote = await registerAgentRemote(
      { ...opts, gateway: opts.gateway },
      key.privateKey,
      card,
    );
    if (opts.json === true) printJson(remote);
    else {
      out("✓ agent registered (through the gateway)");
      printAgent(remote as AgentRecord);
    }
    return;
  }
  const record = await withEngine(dataDir, async ({ engine, chainId }) =>
    engine.registry.register(
      signRegistration({
        privateKey: key.privateKey,
        chainId,
        verifyingContract: engine.registry.domain.verifyingContract,
        card,
      }),
    ),
  );
  if (opts.json === true) printJson(record);
  else {
    out(`✓ agent registered`);
    printAgent(record);
  }
  // Anchor the card hash on chain when a chain is configured (--no-anchor skips it).
  const chain = await import("./chain.js");
  if (opts.anchor !== false && (await chain.isChainConfigured(dataDir))) {
    const { anchorAgentCard } = await import("./anchor.js");
    await anchorAgentCard(dataDir, record.identity.id);
  }
  const keyFlag = opts.key === "default" ? "" : ` --key ${shellQuote(opts.key)}`;
  info(`next: chaoscore action record${keyFlag} --type tool.call --payload '{"q":"hello"}'`);
}

async function agentId(dataDir: string, id: string | undefined, keyName: string): Promise<string> {
  return id ?? (await keyInfo(dataDir, keyName)).address;
}

/** `chaoscore agent show [id]`. */
export async function runAgentShow(
  { dataDir }: Globals,
  id: string | undefined,
  opts: { key: string; json?: boolean },
): Promise<void> {
  const agent = await agentId(dataDir, id, opts.key);
  const record = await withEngine(dataDir, ({ engine }) => engine.registry.get(agent));
  if (opts.json === true) printJson(record);
  else printAgent(record);
}

type ListOptions = {
  capability?: string;
  owner?: string;
  status?: AgentStatus;
  limit?: number;
  cursor?: string;
  json?: boolean;
};

/** `chaoscore agent list`. */
export async function runAgentList({ dataDir }: Globals, opts: ListOptions): Promise<void> {
  const { json, ...query } = opts;
  const page = await withEngine(dataDir, ({ engine }) => engine.registry.list(defined(query)));
  if (json === true) return printJson(page);
  if (page.items.length === 0) info("no agents");
  else {
    printTable(
      ["AGENT", "STATUS", "NAME", "CAPABILITIES"],
      page.items.map(({ identity, metadata }) => [
        identity.id,
        identity.status,
        metadata.card.name,
        metadata.card.capabilities.join(","),
      ]),
    );
  }
  if (page.nextCursor !== null) info(`more: repeat with --cursor ${page.nextCursor}`);
}

/** `chaoscore agent verify [id]`: challenge, sign ProveAgentControl, verify. */
export async function runAgentVerify(
  { dataDir }: Globals,
  id: string | undefined,
  opts: { key: string; json?: boolean },
): Promise<void> {
  const key = await unlockKey(dataDir, opts.key);
  const agent = (id ?? key.address).toLowerCase() as `0x${string}`;
  const proof = await withEngine(dataDir, async ({ engine, chainId }) => {
    const { challenge, expiresAt } = await engine.registry.createChallenge(agent);
    info(`challenge ${challenge} (expires ${expiresAt}), signing with key '${key.name}'`);
    const message = {
      agent,
      nonce: challenge,
      expiry: String(Math.floor(Date.parse(expiresAt) / 1000)),
    };
    const signature = signTypedMessage(
      "ProveAgentControl",
      message,
      engine.registry.domain,
      key.privateKey,
    );
    return engine.registry.verify({ chainId: chainId.toString(), message, signature });
  });
  if (opts.json === true) return printJson(proof);
  out(`✓ key '${key.name}' controls agent ${proof.agent}`);
  printFields(
    [
      ["signer", proof.signer],
      ["status", proof.status],
      ["verified", proof.verifiedAt],
    ],
    "  ",
  );
}

/** `chaoscore agent suspend|reactivate|revoke <id> --reason r` (operator). */
export async function runAgentStatus(
  { dataDir }: Globals,
  change: "suspend" | "reactivate" | "revoke",
  id: string,
  opts: { reason: string; json?: boolean },
): Promise<void> {
  const record = await withEngine(dataDir, ({ engine }) => {
    const registry = engine.registry;
    if (change === "suspend") return registry.suspend(id, opts.reason);
    if (change === "reactivate") return registry.reactivate(id, opts.reason);
    return registry.revokeByOperator(id, opts.reason);
  });
  if (opts.json === true) return printJson(record);
  out(`✓ agent ${record.identity.id} is now ${record.identity.status}`);
}
