/**
 * The suite's result rows, the table it prints, and the GOAL lines.
 * @module
 */

/** One scenario's result: a row of the table. */
export type ScenarioResult = {
  scenario: string;
  /** The load held, e.g. "20,000 actions, 16 writers". */
  load: string;
  /** The faults injected, e.g. "20× SIGKILL gateway". */
  faults: string;
  /** Bad inputs tried (0 for fault scenarios). */
  badInputs: number;
  /** Acknowledged actions missing afterwards. */
  actionsLost: number;
  /** 5xx answers other than a retryable 503 (for the fuzz: every 5xx). */
  http5xx: number;
  seconds: number;
  /** Findings, one line each. */
  notes: string[];
  /** Scenario-specific goal measurements (name → measured). */
  measures: Record<string, number>;
};

/** Formats an integer with thousands separators. */
export const fmt = (n: number) => n.toLocaleString("en-US");

/** Lays out rows as a Markdown table (also readable in a terminal). */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [
    line(header),
    `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`,
    ...rows.map(line),
  ].join("\n");
}

/** The results table. */
export function resultsTable(results: readonly ScenarioResult[]): string {
  return formatTable(
    ["scenario", "load held", "faults injected", "bad inputs", "actions lost", "5xx", "time"],
    results.map((r) => [
      r.scenario,
      r.load,
      r.faults,
      fmt(r.badInputs),
      fmt(r.actionsLost),
      fmt(r.http5xx),
      `${r.seconds.toFixed(1)} s`,
    ]),
  );
}

/** A goal: lower is better, met when measured ≤ target. */
export type Goal = { name: string; measured: number; target: number };

/** `GOAL <name> <measured> <target> PASS|FAIL` (the bench convention). */
export function goalLine(g: Goal): string {
  return `GOAL ${g.name} ${g.measured} ${g.target} ${g.measured <= g.target ? "PASS" : "FAIL"}`;
}

/** Sums a measure over the results (scenarios that did not measure it count 0). */
export function sumMeasure(results: readonly ScenarioResult[], name: string): number {
  return results.reduce((s, r) => s + (r.measures[name] ?? 0), 0);
}
