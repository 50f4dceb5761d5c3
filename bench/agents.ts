/** Bench agents: fresh keys with a nonce counter, and their registration. */
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import {
  type ActionEntry,
  bytesToHex,
  canonicalJsonBytes,
  entryDigest,
  privateKeyToAddress,
  sha256Hex,
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

type NativeSign = {
  ecdsaSign(msg32: Uint8Array, key: Uint8Array): { signature: Uint8Array; recid: number };
};

/** libsecp256k1's signer (npm secp256k1), or null: only to prepare bench data faster. */
function nativeSigner(): NativeSign | null {
  try {
    return createRequire(import.meta.url)("secp256k1/bindings") as NativeSign;
  } catch {
    return null;
  }
}

/**
 * Signs `n` tool-call actions round-robin over the agents (each agent's
 * nonces increase in array order); `onProgress` is called every 20,000.
 *
 * Signing is not what the benches measure, so it uses libsecp256k1 (≈14×
 * faster than noble here) where it loads: each agent's first action comes
 * from core's `signAction`; the later ones copy its envelope with a new
 * message and sign core's `entryDigest` of it (RFC 6979 with low s: the same
 * bytes noble makes, which the first agent's second action checks).
 */
export function signActions(
  agents: BenchAgent[],
  n: number,
  chainId: bigint,
  onProgress?: (done: number) => void,
  payloadOf: (i: number) => unknown = (i) => ({ step: i, tool: "search", query: `q${i}` }),
  /** The deployment the actions are signed for (default: core's development deployment). */
  deployment: { verifyingContract?: `0x${string}` } = {},
): SignedAction[] {
  const native = nativeSigner();
  const templates = new Map<BenchAgent, ActionEntry>();
  const out: SignedAction[] = [];
  for (let i = 0; i < n; i++) {
    const agent = agents[i % agents.length] as BenchAgent;
    agent.nonce++;
    const payload = payloadOf(i);
    const template = templates.get(agent);
    if (native !== null && template !== undefined) {
      const now = Math.floor(Date.now() / 1000);
      const entry: ActionEntry = {
        ...template,
        message: {
          ...template.message,
          task: `task-${i % 100}`,
          payloadHash: sha256Hex(canonicalJsonBytes(payload)),
          nonce: String(agent.nonce),
          timestamp: String(now),
          expiry: String(now + 86_400),
        },
      };
      const { signature, recid } = native.ecdsaSign(entryDigest(entry), agent.privateKey);
      const sig = new Uint8Array(65);
      sig.set(signature);
      sig[64] = 27 + recid;
      entry.signature = bytesToHex(sig);
      if (i === agents.length) {
        // the same bytes as core's signer
        const slow = signAction({
          privateKey: agent.privateKey,
          chainId,
          actionType: "tool.call",
          studio: "bench",
          task: entry.message.task,
          nonce: agent.nonce,
          payload,
          timestamp: now,
          ttlSeconds: 86_400,
          ...deployment,
        }).entry;
        if (JSON.stringify(slow) !== JSON.stringify(entry)) {
          throw new Error("bench signer: libsecp256k1 and core disagree");
        }
      }
      out.push({ entry, payload });
      if ((i + 1) % 20_000 === 0) onProgress?.(i + 1);
      continue;
    }
    const { entry } = signAction({
      privateKey: agent.privateKey,
      chainId,
      actionType: "tool.call",
      studio: "bench",
      task: `task-${i % 100}`,
      nonce: agent.nonce,
      payload,
      ttlSeconds: 86_400,
      ...deployment,
    });
    templates.set(agent, entry);
    out.push({ entry, payload });
    if ((i + 1) % 20_000 === 0) onProgress?.(i + 1);
  }
  return out;
}
