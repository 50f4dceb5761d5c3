// expect: EXECUTION_CODE_ERROR
// issue 21: the engine's "string too long" message, thrown by the code.
export default function main() {
  throw { name: "InternalError", message: "string too long" };
}
