// expect: EXECUTION_COMPILE_ERROR
// Not JavaScript.
export default function main( {
  return 1;
}
