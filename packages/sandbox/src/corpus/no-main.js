// expect: EXECUTION_CODE_ERROR
// A module without a default export or a main function.
export const answer = 42;
