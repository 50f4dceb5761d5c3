/**
 * A gas report per test file: `recordGas(label, receipt)` keeps each transaction's
 * gasUsed; the table (calls, min, avg, max per label) is printed after the file's tests.
 */
import { afterAll } from "vitest";
import type { TransactionReceipt } from "../types.js";

/** Registers the afterAll hook that prints the report; returns the recorder. */
export function useGasReport(): (label: string, receipt: TransactionReceipt) => TransactionReceipt {
  const gas = new Map<string, bigint[]>();
  afterAll(() => {
    if (gas.size === 0) return;
    const rows = [...gas].map(([label, values]) => {
      const sorted = [...values].sort((a, b) => (a < b ? -1 : 1));
      const avg = values.reduce((a, b) => a + b, 0n) / BigInt(values.length);
      return `| ${label.padEnd(44)} | ${String(values.length).padStart(5)} | ${String(sorted[0]).padStart(8)} | ${String(avg).padStart(8)} | ${String(sorted.at(-1)).padStart(8)} |`;
    });
    console.log(
      [
        "gas report (gasUsed per transaction)",
        `| ${"function".padEnd(44)} | calls |      min |      avg |      max |`,
        `|${"-".repeat(46)}|-------|----------|----------|----------|`,
        ...rows,
      ].join("\n"),
    );
  });
  return (label, receipt) => {
    gas.set(label, [...(gas.get(label) ?? []), receipt.gasUsed]);
    return receipt;
  };
}
