import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time every process of the machine has used so far (user, nice, system,
 * irq, softirq, steal), in µs, from /proc/stat; null where there is none.
 * The difference over a timed window, minus this process's own, is what the
 * rest of the machine spent: a Postgres server on the same cores, and any
 * other load (so print the load average beside it).
 */
export function machineCpuMicros(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const ticks = [user, nice, system, irq, softirq, steal].reduce<number>(
      (a, b) => a + (b ?? 0),
      0,
    );
    return (ticks * 1_000_000) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
