// expect: EXECUTION_MEMORY_LIMIT
// Catch the out-of-memory error and finish normally: a run that hit its
// memory limit is never attested, whatever the code did next.
export default function main() {
  try {
    new ArrayBuffer(1024 * 1024 * 1024);
  } catch {
    // ignore
  }
  return "survived";
}
