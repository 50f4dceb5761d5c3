// expect: EXECUTION_CODE_ERROR
// issue 21: a real InternalError (QuickJS has the constructor as a global)
// with the out-of-memory message. It was EXECUTION_MEMORY_LIMIT (and dropped
// the cached engine); the host decides from a failed memory growth only.
export default function main() {
  throw new InternalError("out of memory");
}
