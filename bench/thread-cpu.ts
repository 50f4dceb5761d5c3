/**
 * CPU time of each thread of this process (Linux, /proc/self/task), to say
 * which thread a bench's CPU went to: the main thread, the PGlite worker, the
 * signature-recovery threads, libuv's pool. Empty where /proc is missing.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * µs of CPU (user + system) thread `tid` of this process has used so far;
 * null where /proc is missing. Unlike the event loop's busy time it is CPU,
 * not wall time, so a crowded machine does not inflate it.
 */
export function threadCpuMicrosOf(tid: number): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(rest[11]) + Number(rest[12]);
    return Number.isFinite(ticks) ? (ticks * 1_000_000) / TICKS_PER_SECOND : null;
  } catch {
    return null; // not Linux, or the thread ended
  }
}

/** µs of CPU (user + system) each thread id has used so far. */
export function threadCpuMicros(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    // not Linux: no per-thread figures
  }
  for (const tid of tids) {
    const micros = threadCpuMicrosOf(Number(tid));
    if (micros !== null) out.set(Number(tid), micros);
  }
  return out;
}

/** The CPU (µs) each thread used since `before`, by thread id. */
export function threadCpuSince(before: Map<number, number>): Map<number, number> {
  const used = new Map<number, number>();
  for (const [tid, micros] of threadCpuMicros()) used.set(tid, micros - (before.get(tid) ?? 0));
  return used;
}

/** Adds `more` into `into`, thread by thread (the CPU of several timed stretches). */
export function addThreadCpu(into: Map<number, number>, more: Map<number, number>): void {
  for (const [tid, micros] of more) into.set(tid, (into.get(tid) ?? 0) + micros);
}

/**
 * CPU by thread as "main 120, 250, 45" in µs per `per`, busiest first (the
 * main thread named, the others by rank).
 */
export function formatThreadCpu(used: Map<number, number>, per: number): string {
  return [...used]
    .filter(([, micros]) => micros > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([tid, micros]) => `${tid === process.pid ? "main " : ""}${(micros / per).toFixed(0)}`)
    .join(", ");
}

/**
 * The CPU each thread used since `before`, busiest first, as "main 120, 250,
 * 45" in µs per `per` (the main thread named, the others by rank).
 */
export function describeThreadCpu(before: Map<number, number>, per: number): string {
  return formatThreadCpu(threadCpuSince(before), per);
}
