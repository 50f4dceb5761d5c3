/** The guest-side prelude of the sandbox; its SHA-256 is `RuntimeIdentity.prelude`. */
export declare const PRELUDE: string;
