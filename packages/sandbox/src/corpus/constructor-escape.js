// expect: EXECUTION_CODE_ERROR
// The classic vm escape: reach the Function constructor through an object's
// constructor chain and ask for the host's `process`. QuickJS's Function
// constructor is the guest's own, whose global has no `process`.
export default function main() {
  const F = {}.constructor.constructor;
  const process = F("return process")();
  return process.mainModule.require("child_process").execSync("id").toString();
}
