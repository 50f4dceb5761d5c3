// expect: EXECUTION_CODE_ERROR
// A main whose promise never settles (and no job is left to run).
export default function main() {
  return new Promise(() => {});
}
