/** What one monitoring pass carries around, and how it records read failures. */
import { isChaosCoreError, type TrustPolicy } from "@chaoscore/core";
import { type Finding, finding } from "./findings.js";
import { type LogClient, LogReadError } from "./log-client.js";

/** Per-pass context. */
export type Pass = {
  client: LogClient;
  policy: TrustPolicy;
  findings: Finding[];
  agentKeys: Map<string, Promise<string[] | null>>;
  /** Shard n ≥ 1 of a family: leaf 0 is its link entry (chaoscore.shard-link/v1), not an action. */
  linkAtZero?: boolean;
};

/** The code of a coded error, else its message. */
export function codeOf(error: unknown): string {
  return isChaosCoreError(error) ? error.code : ((error as Error)?.message ?? String(error));
}

/** Records a failed read: `unreachable`, or `tampered_tile` for a malformed answer. */
export function readFailure(
  pass: Pick<Pass, "findings">,
  error: unknown,
  what: string,
  index?: number,
): void {
  if (error instanceof LogReadError) {
    pass.findings.push(
      error.kind === "unreachable"
        ? finding("unreachable", `cannot read ${what}: ${error.message}`, {
            details: { path: error.path },
          })
        : finding("tampered_tile", `${what} is malformed: ${error.message}`, {
            ...(index === undefined ? {} : { index }),
            details: { path: error.path },
          }),
    );
    return;
  }
  pass.findings.push(finding("unreachable", `cannot read ${what}: ${codeOf(error)}`));
}
