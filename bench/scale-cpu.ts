/**
 * CPU time of processes from /proc (Linux), for the scale bench: a gateway
 * (all its threads), the load generator, and a Postgres server (the
 * postmaster and every process it forked: backends, WAL writer,
 * checkpointer). CPU seconds do not depend on what else runs on the machine
 * the way wall-clock rates do, so they carry the capacity model.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux x86-64). */
const TICKS = 100;

type Stat = { ppid: number; cpu: number };

function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // After the command name in parentheses: state ppid … utime(14) stime(15)
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(fields[1]),
      cpu: (Number(fields[11]) + Number(fields[12])) / TICKS,
    };
  } catch {
    return null; // exited
  }
}

/** User + system CPU seconds of one process (all its threads); 0 when it is gone or unknown. */
export function processCpuSeconds(pid: number | undefined): number {
  return pid === undefined ? 0 : (stat(pid)?.cpu ?? 0);
}

/**
 * User + system CPU seconds of the Postgres server whose data directory is
 * `dir`: the postmaster and its children alive now (backends that ended are
 * not counted: read it while the gateways' pools hold their connections).
 */
export function postgresCpuSeconds(dir: string): number {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return 0;
  }
  let total = stat(postmaster)?.cpu ?? 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s !== null && s.ppid === postmaster) total += s.cpu;
  }
  return total;
}
