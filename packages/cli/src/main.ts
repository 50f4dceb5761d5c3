import { run } from "./program.js";
import { installStopSignals } from "./stop-signals.js";

// `chaoscore … | head` closes the pipe early: stop quietly, as other CLIs do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

// SIGINT / SIGTERM end the process through process.exit, so that its exit
// hooks run (a local anvil is killed); a command that runs until stopped takes
// the first one for its graceful stop (stop-signals.ts).
installStopSignals();

// Exit naturally (not with process.exit) so that piped stdout is flushed.
process.exitCode = await run(process.argv);
