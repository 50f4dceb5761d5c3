import { cpus, totalmem } from "node:os";

/** One line describing the machine, for benchmark records. */
export function describeMachine(): string {
  const cpu = cpus();
  return `${cpu[0]?.model ?? "unknown CPU"} × ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** Prints a `GOAL` line and returns whether it passed. */
export function goal(
  name: string,
  measured: number,
  target: number,
  higherIsBetter: boolean,
): boolean {
  const pass = higherIsBetter ? measured >= target : measured <= target;
  console.log(`GOAL ${name} ${measured.toFixed(3)} ${target} ${pass ? "PASS" : "FAIL"}`);
  return pass;
}
