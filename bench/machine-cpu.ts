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

/**
 * CPU time this process's main thread has used so far (user + system), in
 * µs, from /proc/self/task/<pid>/stat; null where there is none. Unlike the
 * event loop's busy time it is CPU, not wall time, so a crowded machine does
 * not inflate it.
 */
export function mainThreadCpuMicros(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
    // the fields after the command name (in parentheses, which may hold spaces)
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1_000_000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}
