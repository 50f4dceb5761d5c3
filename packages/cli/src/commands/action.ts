import { readFile } from "node:fs/promises";
import {
  attestationHash,
  ChaosCoreError,
  type Hex,
  parseRecordedExecution,
  signAction,
} from "@chaoscore/core";
import type { ActionRecord } from "@chaoscore/log";
import { unlockKey } from "../data-dir.js";
import { withEngine } from "../engine-context.js";
import {
  defined,
  info,
  out,
  printFields,
  printJson,
  printTable,
  shortHex,
  UsageError,
} from "../output.js";
import type { Globals } from "../program.js";
import { type GatewayOptions, recordActionRemote } from "./remote.js";

type RecordOptions = {
  type: string;
  payload?: unknown;
  payloadFile?: string;
  studio?: string;
  task?: string;
  parent?: string[];
  key: string;
  attestation?: string;
  json?: boolean;
} & GatewayOptions;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function readPayloadFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = path === "-" ? await readStdin() : await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the payload file ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`the payload file ${path} is not valid JSON`);
  }
}

/** `chaoscore action record`: sign with the next nonce and append to the log. */
/** The quote of a recorded execution file (`exec run --out`). */
async function readAttestation(file: string) {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read the recorded execution ${file}: ${(error as Error).message}`);
  }
  const recorded = parseRecordedExecution(value);
  if (recorded.quote === null) throw new UsageError(`${file} carries no attestation quote`);
  return recorded.quote;
}

export async function runActionRecord({ dataDir }: Globals, opts: RecordOptions): Promise<void> {
  const payload =
    opts.payloadFile === undefined ? opts.payload : await readPayloadFile(opts.payloadFile);
  const quote =
    opts.attestation === undefined ? undefined : await readAttestation(opts.attestation);
  const recorded =
    opts.gateway !== undefined
      ? await recordActionRemote(dataDir, { ...opts, gateway: opts.gateway }, payload, quote)
      : await recordLocally(dataDir, opts, payload, quote);
  if (opts.json === true) printJson(recorded);
  else {
    out("✓ action recorded");
    printFields([
      ["id", recorded.id],
      ["leaf index", recorded.leafIndex],
      ["agent", recorded.agent],
      ["nonce", recorded.nonce],
    ]);
  }
  info(`next: chaoscore receipt get ${recorded.id} --out receipt.json`);
}

async function recordLocally(
  dataDir: string,
  opts: RecordOptions,
  payload: unknown,
  quote: Awaited<ReturnType<typeof readAttestation>> | undefined,
) {
  const key = await unlockKey(dataDir, opts.key);
  return await withEngine(dataDir, async ({ engine, chainId }) => {
    const state = (await engine.registry.signingState([key.address])).get(key.address);
    if (state === undefined) {
      throw new ChaosCoreError(
        "AGENT_NOT_FOUND",
        `the agent of key '${key.name}' (${key.address}) is not registered: run \`chaoscore agent register --key ${key.name}\``,
        { details: { id: key.address } },
      );
    }
    // Actions and outcomes share one strictly increasing nonce sequence per agent.
    const nonce = (state.actionNonce ?? 0n) + 1n;
    const { entry } = signAction({
      privateKey: key.privateKey,
      chainId,
      verifyingContract: engine.agency.verifyingContract,
      actionType: opts.type,
      nonce,
      ...defined({
        payload,
        studio: opts.studio,
        task: opts.task,
        parents: opts.parent?.map((p) => p.toLowerCase() as Hex),
        attestationHash: quote === undefined ? undefined : attestationHash(quote),
      }),
    });
    const result = await engine.agency.recordAction({
      entry,
      ...(payload === undefined ? {} : { payload }),
      ...(quote === undefined ? {} : { attestation: quote }),
    });
    return { ...result, agent: key.address, nonce: nonce.toString() };
  });
}

function printAction(a: ActionRecord): void {
  printFields([
    ["id", a.id],
    ["leaf index", a.leafIndex],
    ["agent", a.agent],
    ["type", a.actionType],
    ["studio", a.studio],
    ["task", a.task],
    ["nonce", a.nonce],
    ["signed at", `${new Date(Number(a.timestamp) * 1000).toISOString()} (${a.timestamp})`],
    ["recorded at", a.recordedAt],
    ["payload hash", `${a.payloadHash}${a.hasPayload ? "" : " (payload not stored)"}`],
    ["outcome", a.outcomeId],
  ]);
}

/** `chaoscore action show <id>`. */
export async function runActionShow(
  { dataDir }: Globals,
  id: string,
  opts: { json?: boolean },
): Promise<void> {
  const action = await withEngine(dataDir, ({ engine }) =>
    engine.agency.getAction(id.toLowerCase()),
  );
  if (opts.json === true) printJson(action);
  else printAction(action);
}

type ListOptions = {
  agent?: string;
  studio?: string;
  task?: string;
  type?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  json?: boolean;
};

/** `chaoscore action list`. */
export async function runActionList({ dataDir }: Globals, opts: ListOptions): Promise<void> {
  const { json, type, ...rest } = opts;
  const page = await withEngine(dataDir, ({ engine }) =>
    engine.agency.query(defined({ ...rest, actionType: type })),
  );
  if (json === true) return printJson(page);
  if (page.items.length === 0) info("no actions");
  else {
    printTable(
      ["LEAF", "ID", "AGENT", "TYPE", "SIGNED AT", "OUTCOME"],
      page.items.map((a) => [
        String(a.leafIndex),
        a.id,
        shortHex(a.agent, 4),
        a.actionType,
        new Date(Number(a.timestamp) * 1000).toISOString(),
        a.outcomeId === null ? "-" : shortHex(a.outcomeId, 4),
      ]),
    );
  }
  if (page.nextCursor !== null) info(`more: repeat with --cursor ${page.nextCursor}`);
}
