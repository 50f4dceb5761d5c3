/**
 * Several gateways behind a load balancer with health checks, as the
 * multi-gateway scenarios drive them: writers registered round robin, and
 * requests sent round robin over the gateways that run and are not taken out
 * of the rotation (from a kill until they listen again).
 * @module
 */
import type { GatewayProcess } from "./gateway.js";
import { newAgent, registerAgent, type TestAgent } from "./http.js";

/** A round-robin balancer over `gateways`. */
export function gatewayPool(gateways: readonly GatewayProcess[]) {
  let turn = 0;
  /** Out of the rotation (the balancer's health check says so). */
  const down = new Set<GatewayProcess>();
  const live = () => gateways.filter((g) => g.isRunning() && !down.has(g));
  return {
    down,
    live,
    /** The URL of the next live gateway (the first gateway when none is live). */
    nextUrl: (): string => {
      const up = live();
      return (up[turn++ % Math.max(1, up.length)] ?? (gateways[0] as GatewayProcess)).url;
    },
  };
}

/** Registers `count` agents named `<prefix>-<i>`, spread round robin over `gateways`. */
export async function registerWriters(
  gateways: readonly GatewayProcess[],
  adminKey: string,
  count: number,
  prefix: string,
): Promise<TestAgent[]> {
  const agents: TestAgent[] = [];
  for (let i = 0; i < count; i++) {
    const agent = newAgent(`${prefix}-${i}`);
    await registerAgent((gateways[i % gateways.length] as GatewayProcess).url, adminKey, agent);
    agents.push(agent);
  }
  return agents;
}
