// expect: EXECUTION_CODE_ERROR
// issue 21: "stack overflow" thrown by the code itself, not by the engine.
export default function main() {
  const e = new Error("stack overflow");
  e.name = "InternalError";
  throw e;
}
