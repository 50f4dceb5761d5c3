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

/** `text` as an integer ≥ `min` when it is decimal digits only, else undefined. */
function count(text: string, min: number): number | undefined {
  const t = text.trim();
  return /^\d{1,15}$/.test(t) && Number(t) >= min ? Number(t) : undefined;
}

/**
 * The integer an option gives: decimal digits only, at least `min` (default 1).
 * @throws UsageError naming the option, what it takes and what it got.
 */
export function intOption(name: string, text: string | undefined, min = 1): number {
  const value = text === undefined ? undefined : count(text, min);
  if (value === undefined) {
    throw new UsageError(`--${name} takes an integer ≥ ${min}, not "${text ?? ""}"`);
  }
  return value;
}

/** A comma-separated list of integers ≥ `min` (`--sizes 1000,10000`). @throws UsageError */
export function intListOption(name: string, text: string, min = 1): number[] {
  const values = text.split(",").map((part) => count(part, min));
  if (values.includes(undefined)) {
    throw new UsageError(`--${name} takes integers ≥ ${min} separated by commas, not "${text}"`);
  }
  return values as number[];
}
