/** Bench agents: fresh keys with a nonce counter, and their registration. */
import { randomBytes } from "node:crypto";
import { privateKeyToAddress, signRegistration } from "@chaoscore/core";
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
