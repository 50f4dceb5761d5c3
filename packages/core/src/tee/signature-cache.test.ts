import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isChaosCoreError } from "../errors.js";
import type { EcdsaVerifier } from "./ecdsa.js";
import { verifyNitroDocument } from "./nitro.js";
import { nodeEcdsaVerifier } from "./node-ecdsa.js";
import { cachingEcdsaVerifier, SignatureCache } from "./signature-cache.js";

const DIR = join(import.meta.dirname, "..", "..", "..", "..", "vectors", "attestation");
const doc = new Uint8Array(readFileSync(join(DIR, "nitro", "cape-2022-09-15.cbor")));
const NOW = 1663263864;

/** Counts the verifications that reach the inner verifier. */
function counting(): EcdsaVerifier & { calls: number } {
  const v = {
    name: "counting",
    calls: 0,
    verify(...args: Parameters<EcdsaVerifier["verify"]>) {
      v.calls++;
      return nodeEcdsaVerifier.verify(...args);
    },
  };
  return v;
}

describe("SignatureCache", () => {
  it("checks the chain once, the document's own signature every time", () => {
    const inner = counting();
    const ecdsa = cachingEcdsaVerifier(inner, new SignatureCache());
    verifyNitroDocument(doc, { now: NOW, ecdsa });
    expect(inner.calls).toBe(5); // 4 certificates + the COSE signature
    verifyNitroDocument(doc, { now: NOW, ecdsa });
    // the same document: everything was a hit (a new document's signature would not be)
    expect(inner.calls).toBe(5);
  });

  it("does not turn a tampered signature into a hit, nor remember failures", () => {
    const inner = counting();
    const cache = new SignatureCache();
    const ecdsa = cachingEcdsaVerifier(inner, cache);
    verifyNitroDocument(doc, { now: NOW, ecdsa });
    const bad = Uint8Array.from(doc);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1; // the COSE signature
    for (let i = 0; i < 2; i++) {
      try {
        verifyNitroDocument(bad, { now: NOW, ecdsa });
        expect.unreachable();
      } catch (error) {
        expect(isChaosCoreError(error) && error.code).toBe("ATTESTATION_NITRO_SIGNATURE_INVALID");
      }
    }
    expect(inner.calls).toBe(7); // the bad signature was checked both times
    expect(cache.size).toBe(5);
  });

  it("still checks validity at `now` on a hit", () => {
    const ecdsa = cachingEcdsaVerifier(nodeEcdsaVerifier, new SignatureCache());
    verifyNitroDocument(doc, { now: NOW, ecdsa });
    let code = "none";
    try {
      verifyNitroDocument(doc, { now: NOW + 10 * 365 * 86400, ecdsa });
    } catch (error) {
      code = isChaosCoreError(error) ? error.code : "not coded";
    }
    expect(code).toBe("ATTESTATION_CERT_EXPIRED");
  });

  it("is bounded, dropping the oldest keys", () => {
    const cache = new SignatureCache(2);
    for (const k of ["a", "b", "c"]) cache.verify([k], () => true);
    expect(cache.size).toBe(2);
    let called = false;
    cache.verify(["a"], () => {
      called = true;
      return true;
    });
    expect(called).toBe(true);
    expect(() => new SignatureCache(0)).toThrow(RangeError);
  });

  it("keys are length-prefixed: moving bytes between parts changes the key", () => {
    expect(SignatureCache.key(["ab", "c"])).not.toBe(SignatureCache.key(["a", "bc"]));
  });
});
