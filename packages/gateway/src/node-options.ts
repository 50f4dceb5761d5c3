/**
 * The Node.js options a gateway process runs with (`chaoscore serve` in
 * docker-compose.yml and in the staging stack; the gateway bench): a young
 * generation that grows to 64 MiB instead of V8's default 32 (Node 20). A gateway under load
 * keeps every in-flight request's objects (its parsed body, its entry, its
 * promise) alive across a group-commit batch, so they survive scavenges and
 * are copied; a larger young generation lets most of them die first. Measured
 * on 2 vCPUs, signed actions over HTTP against Postgres at default
 * durability (docs/benchmarks.md, issue 14): the gateway's CPU per request
 * −16 µs (≈ 6%), actions/s over HTTP +9%, its memory up by at most the
 * 32 MiB of young generation added. V8 flags cannot be changed once the
 * process runs, so this is set where the process is started.
 * @module
 */

/** The V8 option itself. */
export const GATEWAY_NODE_OPTIONS = "--max-semi-space-size=32";

/**
 * `NODE_OPTIONS` for a gateway process started with `current` in its
 * environment: the operator's own value when it already sizes the young
 * generation, else theirs with {@link GATEWAY_NODE_OPTIONS} added.
 */
export function gatewayNodeOptions(current: string | undefined): string {
  const theirs = current?.trim() ?? "";
  if (/(^|\s)--max-semi-space-size(=|\s)/.test(theirs)) return theirs;
  return theirs === "" ? GATEWAY_NODE_OPTIONS : `${theirs} ${GATEWAY_NODE_OPTIONS}`;
}
