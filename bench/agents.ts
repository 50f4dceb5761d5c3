/** Bench agents: fresh keys with a nonce counter, and their registration. */
import { randomBytes } from "node:crypto";
import {
  type ActionEntry,
  privateKeyToAddress,
  signAction,
  signRegistration,
} from "@chaoscore/core";
import type { Engine } from "@chaoscore/engine";

export type BenchAgent = { privateKey: Uint8Array; address: `0x${string}`; nonce: number };

/** `count` agents with fresh keys; each counts its own nonces from 0. */
export function makeAgents(count: number): BenchAgent[] {
  return Array.from({ length: count }, () => {
    const privateKey = Uint8Array.from(randomBytes(32));
    return { privateKey, address: privateKeyToAddress(privateKey), nonce: 0 };
  });
}

/** Registers the agents in the engine's registry (each signs its own card). */
export async function registerAgents(
  engine: Pick<Engine, "registry">,
  agents: readonly BenchAgent[],
  chainId: bigint,
): Promise<void> {
  for (const a of agents) {
    await engine.registry.register(
      signRegistration({
        privateKey: a.privateKey,
        chainId,
        card: {
          format: "chaoscore.agent-card/v1",
          name: `bench ${a.address.slice(0, 8)}`,
          description: "",
          capabilities: ["bench"],
          framework: "bench",
          version: "1",
          endpoints: [],
          codeMeasurement: null,
          owner: null,
        },
      }),
    );
  }
}

/** A signed action and its payload, ready to record. */
export type SignedAction = { entry: ActionEntry; payload: unknown };

/**
 * Signs `n` tool-call actions round-robin over the agents (each agent's
 * nonces increase in array order); `onProgress` is called every 20,000.
 */
export function signActions(
  agents: BenchAgent[],
  n: number,
  chainId: bigint,
  onProgress?: (done: number) => void,
): SignedAction[] {
  const out: SignedAction[] = [];
  for (let i = 0; i < n; i++) {
    const agent = agents[i % agents.length] as BenchAgent;
    agent.nonce++;
    const payload = { step: i, tool: "search", query: `q${i}` };
    const { entry } = signAction({
      privateKey: agent.privateKey,
      chainId,
      actionType: "tool.call",
      studio: "bench",
      task: `task-${i % 100}`,
      nonce: agent.nonce,
      payload,
      ttlSeconds: 86_400,
    });
    out.push({ entry, payload });
    if ((i + 1) % 20_000 === 0) onProgress?.(i + 1);
  }
  return out;
}
