/**
 * `chaoscore demo`: the Proof of Agency vertical slice, end to end, on the
 * embedded defaults, in a fresh directory with in-memory keys (no password).
 * @module
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AGENT_CARD_FORMAT,
  type AgentCard,
  bytesToBase64,
  generateNoteKey,
  isChaosCoreError,
  privateKeyToAddress,
  signAction,
  signOutcome,
  signRegistration,
  verifyReceipt,
} from "@chaoscore/core";
import { createEngine, type Db, type Engine, openDatabase } from "@chaoscore/engine";
import {
  CONFIG_FORMAT,
  DEFAULT_ORIGIN,
  dataPaths,
  isInitialized,
  writeConfig,
  writeLogKey,
} from "../data-dir.js";
import { count, formatDuration, info, out, shortHex, UsageError } from "../output.js";
import type { Globals } from "../program.js";
import { receiptHash } from "./receipt.js";

const CHAIN_ID = 31337n;

function card(name: string, description: string, capabilities: string[]): AgentCard {
  return {
    format: AGENT_CARD_FORMAT,
    name,
    description,
    capabilities,
    framework: "chaoscore-demo",
    version: "1.0.0",
    endpoints: [],
    codeMeasurement: null,
    owner: null,
  };
}

/** `chaoscore demo [--data-dir dir] [--database-url url]`. */
export async function runDemo(globals: Globals, opts: { databaseUrl?: string }): Promise<void> {
  const started = performance.now();
  const keep = globals.dataDirExplicit;
  const dir = keep ? globals.dataDir : await mkdtemp(join(tmpdir(), "chaoscore-demo-"));
  const paths = dataPaths(dir);
  if (keep && ((await isInitialized(dir)) || existsSync(paths.pgdata))) {
    throw new UsageError(`${dir} already holds ChaosCore data; the demo needs a fresh directory`);
  }
  if (opts.databaseUrl === undefined && (process.env.DATABASE_URL ?? "") !== "") {
    info("(DATABASE_URL is set; the demo uses PGlite unless --database-url is given)");
  }

  let n = 0;
  const step = async <T>(label: string | ((result: T) => string), fn: () => T | Promise<T>) => {
    const t = performance.now();
    const result = await fn();
    const text = typeof label === "string" ? label : label(result);
    n++;
    out(`${String(n).padStart(3)}. ${formatDuration(performance.now() - t).padStart(8)}  ${text}`);
    return result;
  };

  out("ChaosCore demo: Proof of Agency, end to end");
  out();
  const open: { db?: Db; engine?: Engine } = {};
  const schema =
    opts.databaseUrl === undefined ? undefined : `chaoscore_demo_${randomBytes(6).toString("hex")}`;
  try {
    const keys = await step(
      "generate keys in memory: the log's Ed25519 note key, agent and evaluator secp256k1 keys",
      () => ({
        log: generateNoteKey(DEFAULT_ORIGIN),
        agent: Uint8Array.from(randomBytes(32)),
        evaluator: Uint8Array.from(randomBytes(32)),
      }),
    );
    const log = {
      id: "default",
      origin: DEFAULT_ORIGIN,
      signerKey: keys.log.signerKey,
      verifierKey: keys.log.verifierKey,
    };
    const e = await step(
      schema === undefined
        ? `open the database: PGlite in ${paths.pgdata}, migrated`
        : `open the database: Postgres, fresh schema ${schema}, migrated`,
      async () => {
        await mkdir(dir, { recursive: true });
        open.db =
          schema === undefined
            ? await openDatabase({ databaseUrl: null, dataDir: paths.pgdata })
            : await openDatabase({ databaseUrl: opts.databaseUrl, schema });
        open.engine = await createEngine({ db: open.db, chainId: CHAIN_ID, log });
        return open.engine;
      },
    );
    const agent = privateKeyToAddress(keys.agent);
    const evaluator = privateKeyToAddress(keys.evaluator);
    await step(`register agent ${shortHex(agent, 4)} "Proposal analyst"`, () =>
      e.registry.register(
        signRegistration({
          privateKey: keys.agent,
          chainId: CHAIN_ID,
          card: card("Proposal analyst", "Analyses and votes on DAO proposals", [
            "governance.analyze",
            "governance.vote",
          ]),
        }),
      ),
    );
    await step(`register evaluator ${shortHex(evaluator, 4)} "Vote reviewer"`, () =>
      e.registry.register(
        signRegistration({
          privateKey: keys.evaluator,
          chainId: CHAIN_ID,
          card: card("Vote reviewer", "Evaluates governance votes", ["governance.evaluate"]),
        }),
      ),
    );

    const record = (input: Parameters<typeof signAction>[0]) => {
      const { entry } = signAction(input);
      return e.agency.recordAction(
        input.payload === undefined ? { entry } : { entry, payload: input.payload },
      );
    };
    const base = { privateKey: keys.agent, chainId: CHAIN_ID, studio: "governance", task: "PIP-7" };
    const a1 = await step(
      (r) => `agent signs action 1 governance.analyze with a payload → leaf ${r.leafIndex}`,
      () =>
        record({
          ...base,
          actionType: "governance.analyze",
          nonce: 1,
          payload: { proposal: "PIP-7", summary: "raise the treasury cap to 8%", risk: "medium" },
        }),
    );
    const a2 = await step(
      (r) => `agent signs action 2 governance.simulate, parent = action 1 → leaf ${r.leafIndex}`,
      () => record({ ...base, actionType: "governance.simulate", nonce: 2, parents: [a1.id] }),
    );
    const a3 = await step(
      (r) =>
        `agent signs action 3 governance.vote with a payload, parent = action 2 → leaf ${r.leafIndex}`,
      () =>
        record({
          ...base,
          actionType: "governance.vote",
          nonce: 3,
          parents: [a2.id],
          payload: { proposal: "PIP-7", choice: "for", reason: "runway stays above 24 months" },
        }),
    );
    await step(
      (r) => `evaluator signs the outcome of action 3: success → leaf ${r.leafIndex}`,
      () => {
        const { entry, metrics } = signOutcome({
          privateKey: keys.evaluator,
          chainId: CHAIN_ID,
          action: a3.id,
          status: "success",
          nonce: 1,
          result: { accepted: true },
          metrics: { score: 0.92 },
        });
        return e.agency.recordOutcome({ entry, metrics });
      },
    );
    await step(
      (cp) => `sign a checkpoint: tree size ${cp.size}, root ${bytesToBase64(cp.rootHash)}`,
      () => e.log.checkpoint(),
    );
    const receipt = await step(
      "build the receipt of action 3: entries, inclusion proofs, checkpoint, payload",
      () => e.agency.getReceipt(a3.id),
    );
    const text = `${JSON.stringify(receipt, null, 2)}\n`;
    const verified = await step(
      "verify the receipt offline, with only the receipt and the log's verifier key ✓",
      () => verifyReceipt(text, keys.log.verifierKey),
    );
    await step(
      (code) => `tamper one byte (the vote "for" → "fox"): verification fails ✗ ${code}`,
      () => {
        const bytes = Buffer.from(text, "utf8");
        const at = bytes.indexOf('"choice": "for"') + '"choice": "fo'.length;
        bytes[at] = "x".charCodeAt(0);
        try {
          verifyReceipt(bytes, keys.log.verifierKey);
        } catch (error) {
          if (isChaosCoreError(error)) return error.code;
          throw error;
        }
        throw new Error("the tampered receipt verified: this is a bug");
      },
    );
    await step(
      (r) =>
        `audit the whole log: ${count(r.size, "leaf", "leaves")}, ${count(r.checkpoints, "checkpoint")}, ${count(r.findings.length, "finding")}`,
      async () => {
        const report = await e.agency.audit();
        if (report.findings.length > 0) throw new Error("the demo log has audit findings");
        return report;
      },
    );

    if (keep && schema === undefined) {
      await writeLogKey(dir, log.signerKey);
      await writeConfig(dir, {
        format: CONFIG_FORMAT,
        chainId: CHAIN_ID.toString(),
        log: { id: log.id, origin: log.origin, verifierKey: log.verifierKey },
      });
      await writeFile(join(dir, "receipt.json"), text);
    }
    out();
    out(`action id     ${verified.actionId}`);
    out(`receipt hash  ${receiptHash(receipt)}`);
    out(`receipt verified ✓   (${formatDuration(performance.now() - started)} in all)`);
    if (keep && schema === undefined) {
      info(
        `kept in ${dir} (config.json, log.key, pgdata/, receipt.json); try: chaoscore --data-dir ${dir} log audit`,
      );
    }
  } finally {
    await open.engine?.close();
    if (open.db !== undefined) {
      if (schema !== undefined) await open.db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await open.db.close();
    }
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}
