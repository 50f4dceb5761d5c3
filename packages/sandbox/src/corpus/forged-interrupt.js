// expect: EXECUTION_CODE_ERROR
// issue 21: a thrown object that looks like QuickJS's interrupt. It was
// reported as EXECUTION_TIMEOUT; the host decides timeouts from its own flag.
export default function main() {
  throw { name: "InternalError", message: "interrupted" };
}
