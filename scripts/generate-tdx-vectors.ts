/** TDX part of scripts/generate-tee-vectors.ts (filled in with the TDX verifier). */
export function generateTdxVectors(_dir: string): unknown {
  return { cases: [] };
}
