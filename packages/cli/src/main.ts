import { run } from "./program.js";

// `chaoscore … | head` closes the pipe early: stop quietly, as other CLIs do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

// Exit naturally (not with process.exit) so that piped stdout is flushed.
process.exitCode = await run(process.argv);
