import {
  canonicalJsonBytes,
  type ErrorCode,
  type Hex,
  isChaosCoreError,
  type Receipt,
  sha256Hex,
  verifyReceipt,
} from "@chaoscore/core";
import { CHAIN_ID, openTestEngine } from "@chaoscore/testkit";
import { expect } from "vitest";
import { type ActionSink, AgentRecorder, type AgentRecorderOptions } from "../../recorder.js";

export { CHAIN_ID };

/** A real in-process engine (PGlite, or DATABASE_URL) and helpers to make recorders and read the log. */
export async function openHarness(options: Parameters<typeof openTestEngine>[0] = {}) {
  const h = await openTestEngine(options);
  /** The in-process log as an ActionSink: the type check is part of the test. */
  const sink: ActionSink = h.engine.agency;

  /** The next nonce the log expects from `agent`, as a client would fetch it. */
  async function nextNonceOf(agent: string): Promise<bigint> {
    const state = (await h.engine.registry.signingState([agent])).get(agent);
    return (state?.actionNonce ?? 0n) + 1n;
  }

  /** A newly registered agent and a recorder for it (default: starts at nonce 1, no retry delay). */
  async function newRecorder(options: Partial<AgentRecorderOptions> = {}) {
    const agent = await h.newAgent();
    const recorder = new AgentRecorder({
      privateKey: agent.privateKey,
      chainId: CHAIN_ID,
      sink,
      nextNonce: 1n,
      retryDelayMs: 0,
      ...options,
    });
    return { agent, recorder };
  }

  /** Every action of `agent` in log order. */
  async function actionsOf(agent: string) {
    return (await h.engine.agency.query({ agent, limit: 1000 })).items;
  }

  /** The receipt of `id`, verified offline with the log's key (as JSON, as it travels). */
  async function verifiedReceipt(id: Hex) {
    const receipt: Receipt = await h.engine.agency.getReceipt(id);
    const verified = verifyReceipt(JSON.parse(JSON.stringify(receipt)), h.verifierKey);
    return { receipt, verified };
  }

  /** The agent's actions in log order, each from its verified receipt. */
  async function stepsOf(agent: string) {
    return Promise.all(
      (await actionsOf(agent)).map(async (r) => {
        const { receipt, verified } = await verifiedReceipt(r.id);
        return {
          id: verified.actionId,
          type: receipt.action.entry.message.actionType,
          parents: receipt.action.entry.message.parents,
          payload: receipt.payload as Record<string, unknown>,
        };
      }),
    );
  }

  return { ...h, sink, nextNonceOf, newRecorder, actionsOf, verifiedReceipt, stepsOf };
}

export type Harness = Awaited<ReturnType<typeof openHarness>>;

/** The SHA-256 of a value's canonical JSON: what a payloadHash must be. */
export function hashOf(value: unknown): Hex {
  return sha256Hex(canonicalJsonBytes(value));
}

/** Awaits `promise` and checks it rejects with a ChaosCoreError of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    expect(isChaosCoreError(error) ? error.code : error).toBe(code);
    return error;
  }
  return expect.unreachable(`expected ${code}`);
}
