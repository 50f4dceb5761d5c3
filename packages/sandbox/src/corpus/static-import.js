// expect: EXECUTION_COMPILE_ERROR
// A static import: the module cannot link.
import { execSync } from "node:child_process";

export default function main() {
  return execSync("id").toString();
}
