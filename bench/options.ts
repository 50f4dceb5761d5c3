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

/**
 * The integer an option gives: decimal digits only, at least `min` (default 1).
 * @throws UsageError naming the option, what it takes and what it got.
 */
export function intOption(name: string, text: string | undefined, min = 1): number {
  const value =
    text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(value >= min))
    throw new UsageError(`--${name} takes an integer ≥ ${min}, not "${text ?? ""}"`);
  return value;
}

/** A comma-separated list of integers ≥ `min` (`--sizes 1000,10000`). @throws UsageError */
export function intListOption(name: string, text: string, min = 1): number[] {
  const parts = text.split(",");
  if (!parts.every((p) => /^\s*\d{1,15}\s*$/.test(p) && Number(p) >= min)) {
    throw new UsageError(`--${name} takes integers ≥ ${min} separated by commas, not "${text}"`);
  }
  return parts.map(Number);
}
