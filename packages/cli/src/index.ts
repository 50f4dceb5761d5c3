/**
 * The `chaoscore` command-line interface. `run(argv)` runs one command and
 * resolves to its exit code; `buildProgram()` returns the commander program
 * (for its help texts). See packages/cli/README.md.
 * @module
 */

export { UsageError } from "./output.js";
export { buildProgram, run } from "./program.js";
