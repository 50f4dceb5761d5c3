/**
 * Runs a bench's helper process (a load generator in its own process) and
 * resolves with what it printed on stdout; its stderr goes to ours. Rejects
 * when it cannot start or exits with another code than 0.
 */
import { type ChildProcess, spawn } from "node:child_process";

/** The output of `command args…`; `onStart` gets the child (e.g. to note its pid). */
export function outputOf(
  what: string,
  command: string,
  args: readonly string[],
  onStart?: (child: ChildProcess) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
    onStart?.(child);
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`${what} exited with ${code}: ${out.slice(-500)}`));
      resolve(out);
    });
  });
}

/** The last line of a helper's output, as JSON (the load generators print one JSON line). */
export function lastJsonLine<T>(out: string): T {
  return JSON.parse(out.trim().split("\n").pop() as string) as T;
}
