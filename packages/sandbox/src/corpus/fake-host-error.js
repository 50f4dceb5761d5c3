// expect: EXECUTION_CODE_ERROR
// Throw errors that look like the sandbox's own messages: still an agent error.
export default function main() {
  throw new Error("EXECUTION_CPU_LIMIT: interrupted");
}
