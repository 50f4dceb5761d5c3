// expect: EXECUTION_LOG_TOO_LARGE
// Log without end: the log limit stops the run.
export default function main(input, host) {
  for (let i = 0; ; i++) host.log("spam", i, "x".repeat(100));
}
