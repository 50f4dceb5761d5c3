/**
 * A bench's options are wrong (an unknown value, a missing server): the
 * runner prints the message and where `--help` is, without a stack trace,
 * and exits 2.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

/** True for a {@link UsageError} or an error of `node:util`'s `parseArgs` (unknown option, missing value). */
export function isUsageError(error: unknown): error is Error {
  if (error instanceof UsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}
