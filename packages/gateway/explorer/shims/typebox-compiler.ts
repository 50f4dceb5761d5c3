/**
 * `TypeCompiler.Compile` of @sinclair/typebox/compiler, interpreted with
 * `Value.Check` / `Value.Errors`: the compiler generates code with
 * `new Function`, which the gateway's Content-Security-Policy (no
 * 'unsafe-eval') forbids in the explorer. Same JSON Schema checks, no eval.
 * @module
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

/** The part of a compiled checker that @chaoscore/core calls. */
export type CompiledCheck = {
  Check(value: unknown): boolean;
  Errors(value: unknown): ReturnType<typeof Value.Errors>;
};

export const TypeCompiler = {
  Compile(schema: TSchema): CompiledCheck {
    return {
      Check: (value) => Value.Check(schema, value),
      Errors: (value) => Value.Errors(schema, value),
    };
  },
};
