/**
 * Output conventions of the CLI: results go to stdout (so that `--json` output
 * can be piped), progress and hints go to stderr. This module is loaded at
 * start-up, so it imports nothing heavy.
 * @module
 */

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Writes one result line (or block) to stdout. */
export function out(text = ""): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Writes one line of progress, hints or diagnostics to stderr. */
export function info(text = ""): void {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** JSON.stringify replacer: bigints as decimal strings, bytes as 0x-hex. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString("hex")}`;
  return value;
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  out(JSON.stringify(value, jsonReplacer, 2));
}

/** Prints `label  value` lines with the labels aligned; undefined values are skipped. */
export function printFields(rows: readonly (readonly [string, unknown])[], indent = ""): void {
  const shown = rows.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  for (const [label, value] of shown) {
    out(`${indent}${label.padEnd(width)}  ${formatValue(value)}`);
  }
}

function formatValue(value: unknown): string {
  if (value === null) return "-";
  if (Array.isArray(value)) return value.length === 0 ? "-" : value.map(formatValue).join(", ");
  if (typeof value === "object") return JSON.stringify(value, jsonReplacer);
  const text = String(value);
  return text === "" ? "-" : text;
}

/** Prints rows as a table with a header; columns are padded to their widest cell. */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  out(line(header));
  for (const row of rows) out(line(row));
}

/** `0x1234…cdef`: a long hex value, shortened for tables and step lines. */
export function shortHex(value: string, keep = 6): string {
  return value.length <= 2 + 2 * keep ? value : `${value.slice(0, 2 + keep)}…${value.slice(-keep)}`;
}

/** Milliseconds as `12 ms` or `1.42 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Drops the keys whose value is undefined (for `exactOptionalPropertyTypes` option bags). */
export function defined<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** Shell-quotes an argument for the "next command" hints. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** `1 leaf`, `2 leaves`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
