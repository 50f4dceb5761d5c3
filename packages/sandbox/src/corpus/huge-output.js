// expect: EXECUTION_OUTPUT_TOO_LARGE
// Return more than the output limit.
export default function main() {
  return { blob: "x".repeat(4 * 1024 * 1024) };
}
