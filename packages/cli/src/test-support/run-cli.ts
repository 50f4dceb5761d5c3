import { vi } from "vitest";
import { run } from "../index.js";

/** What one command printed and returned. */
export type Run = { code: number; stdout: string; stderr: string };

/** Runs `chaoscore …args` in this process with stdout and stderr captured. */
export async function cli(...args: string[]): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const capture = (append: (text: string) => void) =>
    ((chunk: string | Uint8Array) => {
      append(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    }) as typeof process.stdout.write;
  const out = vi.spyOn(process.stdout, "write").mockImplementation(
    capture((t) => {
      stdout += t;
    }),
  );
  const err = vi.spyOn(process.stderr, "write").mockImplementation(
    capture((t) => {
      stderr += t;
    }),
  );
  try {
    const code = await run(["node", "chaoscore", ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Fails with the command's output when its exit code is not `code`. */
export function expectCode(r: Run, code: number): Run {
  if (r.code !== code) {
    throw new Error(`exit ${r.code}, expected ${code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return r;
}
