import { ed25519 } from "@noble/curves/ed25519.js";
import { describe, expect, it } from "vitest";
import { generateWitnessKey, parseWitnessVerifierKey } from "./cosignature.js";
import { isChaosCoreError } from "./errors.js";
import { sha256, utf8 } from "./hash.js";
import { bytesToBase64, concatBytes } from "./hex.js";
import { generateNoteKey } from "./note.js";
import { isTrustedAnchor, parseTrustPolicy, TRUST_POLICY_FORMAT } from "./trust-policy.js";

/** A cosignature/v1 verifier key built by hand from the tlog-cosignature spec. */
function witnessKey(name: string, seedByte: number): string {
  const pub = ed25519.getPublicKey(new Uint8Array(32).fill(seedByte));
  const id = Buffer.from(
    sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, 0x04), pub)).subarray(0, 4),
  ).toString("hex");
  return `${name}+${id}+${bytesToBase64(concatBytes(Uint8Array.of(0x04), pub))}`;
}

const logKey = generateNoteKey("example.com/log", new Uint8Array(32).fill(1)).verifierKey;
const w1 = witnessKey("witness.example/w1", 2);
const w2 = witnessKey("witness.example/w2", 3);
const w3 = witnessKey("witness.example/w3", 4);
const base = () => ({
  format: TRUST_POLICY_FORMAT,
  log: { key: logKey },
  witnesses: { keys: [w1, w2, w3], quorum: 2 },
  anchors: [{ chainId: "31337", contract: `0x${"Ab".repeat(20)}` }],
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isChaosCoreError(e) ? e.code : `not coded: ${String(e)}`;
  }
  return "no error";
}

describe("the witness keys of a policy", () => {
  it("are cosignature/v1 keys, as generateWitnessKey makes them (built by hand here from the spec)", () => {
    const { verifierKey } = generateWitnessKey("witness.example/w1", new Uint8Array(32).fill(2));
    expect(verifierKey).toBe(w1);
    expect(parseWitnessVerifierKey(w1).name).toBe("witness.example/w1");
  });
});

describe("parseTrustPolicy", () => {
  it("parses a policy from JSON text, bytes or a value, lowercasing contracts", () => {
    const text = JSON.stringify(base());
    for (const input of [text, utf8(text), base()]) {
      const p = parseTrustPolicy(input);
      expect(p.log.key).toBe(logKey);
      expect(p.witnesses).toEqual({ keys: [w1, w2, w3], quorum: 2 });
      expect(p.anchors).toEqual([{ chainId: "31337", contract: `0x${"ab".repeat(20)}` }]);
      expect(p.attestation).toBeUndefined();
    }
  });

  it("defaults: no witnesses is quorum 0, no anchors is an empty list", () => {
    const p = parseTrustPolicy({ format: TRUST_POLICY_FORMAT, log: { key: logKey } });
    expect(p.witnesses).toEqual({ keys: [], quorum: 0 });
    expect(p.anchors).toEqual([]);
  });

  it("parses the attestation member (platforms, roots, measurements, TCB statuses, age)", () => {
    const attestation = {
      platforms: ["aws-nitro", "intel-tdx"],
      maxAgeSeconds: 600,
      nitro: { allowedPcrs: { "0": [`0x${"ab".repeat(48)}`] } },
      tdx: { allowedTcbStatuses: ["UpToDate", "SWHardeningNeeded"] },
      mock: { trustedRoots: [`0x${"01".repeat(32)}`] },
    };
    expect(parseTrustPolicy({ ...base(), attestation }).attestation).toEqual(attestation);
  });

  it.each([
    ["an unknown member", { trustedRoots: ["0x01"] }, "/attestation/trustedRoots"],
    ["an unknown platform", { platforms: ["sgx"] }, "/attestation/platforms/0"],
    [
      "a short PCR value",
      { nitro: { allowedPcrs: { "0": ["0x01"] } } },
      "/attestation/nitro/allowedPcrs/0/0",
    ],
    [
      "an unknown TCB status",
      { tdx: { allowedTcbStatuses: ["Fine"] } },
      "/attestation/tdx/allowedTcbStatuses/0",
    ],
  ])(
    "refuses an attestation member with %s (TRUST_POLICY_MALFORMED, its path)",
    (_, attestation, path) => {
      try {
        parseTrustPolicy({ ...base(), attestation });
        expect.unreachable();
      } catch (error) {
        expect(isChaosCoreError(error) && error.code).toBe("TRUST_POLICY_MALFORMED");
        expect(isChaosCoreError(error) && error.details?.path).toBe(path);
      }
    },
  );

  const cases: [string, unknown, string][] = [
    ["not JSON", "{", "TRUST_POLICY_MALFORMED"],
    ["bytes that are not UTF-8", Uint8Array.of(0xff, 0xfe), "TRUST_POLICY_MALFORMED"],
    ["an array", [], "TRUST_POLICY_MALFORMED"],
    ["null", null, "TRUST_POLICY_MALFORMED"],
    [
      "another format",
      { ...base(), format: "chaoscore.trust-policy/v2" },
      "TRUST_POLICY_MALFORMED",
    ],
    ["no format", { log: { key: logKey } }, "TRUST_POLICY_MALFORMED"],
    ["no log", { format: TRUST_POLICY_FORMAT }, "TRUST_POLICY_NO_KEY"],
    ["an empty log key", { ...base(), log: { key: " " } }, "TRUST_POLICY_NO_KEY"],
    ["a log without key", { ...base(), log: {} }, "TRUST_POLICY_NO_KEY"],
    ["a log key that is not a key", { ...base(), log: { key: "x+y+z" } }, "TRUST_POLICY_MALFORMED"],
    ["a witness key as log key", { ...base(), log: { key: w1 } }, "TRUST_POLICY_MALFORMED"],
    ["an unknown field", { ...base(), extra: 1 }, "TRUST_POLICY_MALFORMED"],
    [
      "a log key as witness key",
      { ...base(), witnesses: { keys: [logKey], quorum: 1 } },
      "TRUST_POLICY_MALFORMED",
    ],
    [
      "a witness listed twice",
      { ...base(), witnesses: { keys: [w1, w2, w1], quorum: 2 } },
      "TRUST_POLICY_DUPLICATE_KEY",
    ],
    [
      "one public key under two names",
      { ...base(), witnesses: { keys: [w1, witnessKey("other/name", 2)], quorum: 1 } },
      "TRUST_POLICY_DUPLICATE_KEY",
    ],
    [
      "a quorum above the keys",
      { ...base(), witnesses: { keys: [w1, w2], quorum: 3 } },
      "TRUST_POLICY_QUORUM_INVALID",
    ],
    [
      "a negative quorum",
      { ...base(), witnesses: { keys: [w1], quorum: -1 } },
      "TRUST_POLICY_MALFORMED",
    ],
    [
      "a fractional quorum",
      { ...base(), witnesses: { keys: [w1, w2], quorum: 1.5 } },
      "TRUST_POLICY_MALFORMED",
    ],
    [
      "witnesses without quorum",
      { ...base(), witnesses: { keys: [w1] } },
      "TRUST_POLICY_MALFORMED",
    ],
    [
      "a bad contract",
      { ...base(), anchors: [{ chainId: "1", contract: "0x12" }] },
      "TRUST_POLICY_MALFORMED",
    ],
    [
      "a chain id with a leading zero",
      { ...base(), anchors: [{ chainId: "01", contract: `0x${"ab".repeat(20)}` }] },
      "TRUST_POLICY_MALFORMED",
    ],
    [
      "an anchor listed twice (case differs)",
      {
        ...base(),
        anchors: [
          { chainId: "1", contract: `0x${"ab".repeat(20)}` },
          { chainId: "1", contract: `0x${"AB".repeat(20)}` },
        ],
      },
      "TRUST_POLICY_MALFORMED",
    ],
    [
      "an attestation that is not an object",
      { ...base(), attestation: [] },
      "TRUST_POLICY_MALFORMED",
    ],
    ["over 64 KiB", " ".repeat(70_000), "TRUST_POLICY_MALFORMED"],
  ];
  it.each(cases)("refuses %s", (_name, input, code) => {
    expect(codeOf(() => parseTrustPolicy(input))).toBe(code);
  });
});

describe("isTrustedAnchor", () => {
  it("matches chain id and contract (any case); any anchor when the policy names none", () => {
    const p = parseTrustPolicy(base());
    expect(isTrustedAnchor(p, { chainId: "31337", contract: `0x${"AB".repeat(20)}` })).toBe(true);
    expect(isTrustedAnchor(p, { chainId: "1", contract: `0x${"ab".repeat(20)}` })).toBe(false);
    expect(isTrustedAnchor(p, { chainId: "31337", contract: `0x${"cd".repeat(20)}` })).toBe(false);
    const open = parseTrustPolicy({ format: TRUST_POLICY_FORMAT, log: { key: logKey } });
    expect(isTrustedAnchor(open, { chainId: "1", contract: `0x${"cd".repeat(20)}` })).toBe(true);
  });
});
