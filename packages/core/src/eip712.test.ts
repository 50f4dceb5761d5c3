import { TypedDataEncoder, Wallet } from "ethers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ActionMessage,
  chaosCoreDomain,
  deploymentAddress,
  EIP712_TYPES,
  hashStruct,
  parseSignature,
  privateKeyToAddress,
  recoverAddress,
  signingDomain,
  signTypedMessage,
  typedDataDigest,
  verifyTypedMessage,
  ZERO_HASH,
} from "./eip712.js";
import { isChaosCoreError } from "./errors.js";
import { bytesToHex, hexToBytes } from "./hex.js";

const runs = process.env.CI ? 200 : 30;
const KEY = hexToBytes(`0x${"42".repeat(32)}`);
const wallet = new Wallet(bytesToHex(KEY));
const agent = privateKeyToAddress(KEY);
/** An Action with every field at its smallest valid value. */
const MINIMAL_ACTION: ActionMessage = {
  agent,
  studio: "",
  task: "",
  actionType: "t",
  payloadHash: ZERO_HASH,
  parents: [],
  attestationHash: ZERO_HASH,
  timestamp: "1",
  nonce: "1",
  expiry: "2",
};

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(String);
const action = fc.record({
  agent: fc.constant(agent),
  studio: fc.string(),
  task: fc.string(),
  actionType: fc.string({ minLength: 1 }),
  payloadHash: hex32,
  parents: fc.array(hex32, { maxLength: 3 }),
  attestationHash: hex32,
  timestamp: u64,
  nonce: u64,
  expiry: u64,
}) satisfies fc.Arbitrary<ActionMessage>;

/** A deployment other than the development one. */
const DEPLOYMENT_A = deploymentAddress("deployment A");
const DEPLOYMENT_B = deploymentAddress("deployment B");
const dom = (chainId: bigint, contract = DEPLOYMENT_A) => signingDomain(chainId, contract);

function ethersDomain(chainId: bigint, contract = DEPLOYMENT_A) {
  const d = chaosCoreDomain(dom(chainId, contract));
  return {
    name: d.name,
    version: d.version,
    chainId: d.chainId,
    verifyingContract: d.verifyingContract,
  };
}

describe("typedDataDigest", () => {
  it("equals ethers' EIP-712 hash for random actions", () => {
    fc.assert(
      fc.property(action, fc.bigInt({ min: 1n, max: 1n << 40n }), (m, chainId) => {
        const ours = bytesToHex(typedDataDigest("Action", m, dom(chainId)));
        const theirs = TypedDataEncoder.hash(
          ethersDomain(chainId),
          { Action: [...EIP712_TYPES.Action] },
          m,
        );
        expect(ours).toBe(theirs);
      }),
      { numRuns: runs },
    );
  });

  it("changes with the chain id", () => {
    const m = MINIMAL_ACTION;
    expect(bytesToHex(typedDataDigest("Action", m, dom(1n)))).not.toBe(
      bytesToHex(typedDataDigest("Action", m, dom(2n))),
    );
  });

  it("changes with the deployment (verifyingContract) on the same chain", () => {
    const m = { agent, nonce: "1", expiry: "2" };
    expect(bytesToHex(typedDataDigest("RevokeAgent", m, dom(1n, DEPLOYMENT_A)))).not.toBe(
      bytesToHex(typedDataDigest("RevokeAgent", m, dom(1n, DEPLOYMENT_B))),
    );
  });

  it("rejects a malformed domain with INVALID_INPUT", () => {
    const m = { agent, nonce: "1", expiry: "2" };
    for (const bad of [
      { chainId: 1n, verifyingContract: "0x12" },
      { chainId: 1n, verifyingContract: DEPLOYMENT_A.toUpperCase().replace("0X", "0x") },
      null,
    ]) {
      expect(() => typedDataDigest("RevokeAgent", m, bad as never)).toThrow(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
    }
  });
});

describe("hashStruct", () => {
  const base = { agent, nonce: "1", expiry: "2" };
  it.each([
    ["missing field", { agent, nonce: "1" }],
    ["extra field", { ...base, extra: 1 }],
    ["uppercase address", { ...base, agent: agent.toUpperCase().replace("0X", "0x") }],
    ["number instead of decimal string", { ...base, nonce: 1 }],
    ["leading zero", { ...base, nonce: "01" }],
    ["uint64 overflow", { ...base, nonce: (1n << 64n).toString() }],
    ["not an object", null],
    ["0X prefix", { ...base, agent: agent.replace("0x", "0X") }],
    ["a non-hex digit", { ...base, agent: `${agent.slice(0, -1)}g` }],
    ["a short address", { ...base, agent: agent.slice(0, -2) }],
    ["uint64 with a sign", { ...base, nonce: "+1" }],
  ])("rejects %s with INVALID_INPUT", (_, message) => {
    try {
      hashStruct("RevokeAgent", message as never);
      expect.unreachable();
    } catch (e) {
      expect(isChaosCoreError(e, "INVALID_INPUT")).toBe(true);
    }
  });

  const action = MINIMAL_ACTION;
  it.each([
    ["a sparse parents array", new Array(2)],
    ["an uppercase parent", [`0x${"AB".repeat(32)}`]],
    ["a short parent", [`0x${"ab".repeat(31)}`]],
    ["a parent that is no string", [1]],
    ["parents that are no array", "0x"],
  ])("rejects %s with INVALID_INPUT naming the field", (_, parents) => {
    expect(() => hashStruct("Action", { ...action, parents } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        details: { kind: "Action", field: "parents" },
      }),
    );
  });

  it("does not depend on what was hashed before it, failed messages included", () => {
    // every byte of a struct's encoding set before another struct is hashed: its
    // addresses' and numbers' leading zeros must not keep the previous one's bytes
    const full = {
      ...action,
      studio: "s",
      payloadHash: `0x${"ff".repeat(32)}`,
      parents: [`0x${"ee".repeat(32)}`],
      attestationHash: `0x${"dd".repeat(32)}`,
      timestamp: String(2n ** 64n - 1n),
      nonce: String(2n ** 64n - 1n),
      expiry: String(2n ** 64n - 1n),
    } as ActionMessage;
    const revoke = { agent, nonce: "1", expiry: "2" };
    const expected = {
      action: TypedDataEncoder.hash(ethersDomain(1n), { Action: [...EIP712_TYPES.Action] }, action),
      revoke: TypedDataEncoder.hash(
        ethersDomain(1n),
        { RevokeAgent: [...EIP712_TYPES.RevokeAgent] },
        revoke,
      ),
    };
    const first = typedDataDigest("Action", action, dom(1n));
    const kept = bytesToHex(first);
    for (const before of [full, { ...full, expiry: "-1" }, { ...full, nonce: "x" }]) {
      try {
        typedDataDigest("Action", before, dom(1n)); // the malformed ones fail part-way through
      } catch (e) {
        expect(isChaosCoreError(e, "INVALID_INPUT")).toBe(true);
      }
      expect(bytesToHex(typedDataDigest("Action", action, dom(1n)))).toBe(expected.action);
      typedDataDigest("Action", full, dom(1n)); // every byte set before a shorter struct
      expect(bytesToHex(typedDataDigest("RevokeAgent", revoke, dom(1n)))).toBe(expected.revoke);
    }
    // a digest returned earlier is its own array, not a view of a buffer reused since
    expect(bytesToHex(first)).toBe(kept);
  });

  it("encodes uint64 values of every width as ethers does (both sides of 2^32, 2^53, 15 digits)", () => {
    const edges = [0n, 1n, 2n ** 32n - 1n, 2n ** 32n, 10n ** 15n - 1n, 10n ** 15n, 2n ** 53n - 1n];
    const values = [...edges, 2n ** 53n, 2n ** 53n + 1n, 10n ** 19n, 2n ** 64n - 1n].map(String);
    const small = fc.bigInt({ min: 0n, max: 10n ** 16n }).map(String);
    const check = (nonce: string, expiry: string) => {
      const m = { ...action, nonce, expiry, timestamp: nonce };
      expect(bytesToHex(typedDataDigest("Action", m, dom(1n)))).toBe(
        TypedDataEncoder.hash(ethersDomain(1n), { Action: [...EIP712_TYPES.Action] }, m),
      );
    };
    for (const v of values) check(v, v);
    fc.assert(fc.property(small, small, check), { numRuns: runs });
  });
});

describe("signTypedMessage", () => {
  it("produces the same signature as ethers and recovers the signer", async () => {
    const m = { agent, nonce: "7", expiry: "1900000000" };
    const ours = signTypedMessage("RevokeAgent", m, dom(31337n), KEY);
    const theirs = await wallet.signTypedData(
      ethersDomain(31337n),
      { RevokeAgent: [...EIP712_TYPES.RevokeAgent] },
      m,
    );
    expect(ours).toBe(theirs); // RFC 6979 deterministic nonces on both sides
    expect(recoverAddress(typedDataDigest("RevokeAgent", m, dom(31337n)), ours)).toBe(agent);
    expect(verifyTypedMessage("RevokeAgent", m, dom(31337n), ours, agent)).toHaveLength(32);
  });

  it("fails verification for another signer, another chain or another deployment", () => {
    const m = { agent, nonce: "7", expiry: "1900000000" };
    const sig = signTypedMessage("RevokeAgent", m, dom(31337n), KEY);
    const other = privateKeyToAddress(hexToBytes(`0x${"43".repeat(32)}`));
    expect(() => verifyTypedMessage("RevokeAgent", m, dom(31337n), sig, other)).toThrow(
      expect.objectContaining({ code: "SIGNATURE_INVALID" }),
    );
    expect(() => verifyTypedMessage("RevokeAgent", m, dom(1n), sig, agent)).toThrow(
      expect.objectContaining({ code: "SIGNATURE_INVALID" }),
    );
    expect(() =>
      verifyTypedMessage("RevokeAgent", m, dom(31337n, DEPLOYMENT_B), sig, agent),
    ).toThrow(expect.objectContaining({ code: "SIGNATURE_INVALID" }));
  });
});

describe("parseSignature", () => {
  const m = { agent, nonce: "7", expiry: "1900000000" };
  const sig = signTypedMessage("RevokeAgent", m, dom(31337n), KEY);
  it("accepts a canonical signature", () => {
    expect(parseSignature(sig).compact).toHaveLength(64);
  });
  it("rejects high s (malleated) signatures", () => {
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const bytes = hexToBytes(sig);
    const s = BigInt(bytesToHex(bytes.subarray(32, 64)));
    const high = hexToBytes(`0x${(n - s).toString(16).padStart(64, "0")}`);
    bytes.set(high, 32);
    bytes[64] = bytes[64] === 27 ? 28 : 27;
    expect(() => parseSignature(bytesToHex(bytes))).toThrow(
      expect.objectContaining({ code: "SIGNATURE_MALFORMED" }),
    );
  });
  it.each([
    ["v = 29", `${sig.slice(0, -2)}1d`],
    ["short", sig.slice(0, -2)],
    ["uppercase", sig.toUpperCase()],
    ["r = 0", `0x${"00".repeat(32)}${sig.slice(66)}`],
  ])("rejects %s", (_, bad) => {
    expect(() => parseSignature(bad)).toThrow(
      expect.objectContaining({ code: "SIGNATURE_MALFORMED" }),
    );
  });

  it("accepts exactly v ∈ {27, 28}, 0 < r < n, 0 < s ≤ n/2, at the bounds and between", () => {
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const word = fc.oneof(
      {
        arbitrary: fc.constantFrom(0n, 1n, n / 2n, n / 2n + 1n, n - 1n, n, n + 1n, 2n ** 256n - 1n),
        weight: 3,
      },
      { arbitrary: fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), weight: 1 },
    );
    const vs = fc.oneof(
      { arbitrary: fc.constantFrom(27, 28), weight: 3 },
      { arbitrary: fc.integer({ min: 0, max: 255 }), weight: 1 },
    );
    const hex64 = (x: bigint) => x.toString(16).padStart(64, "0");
    fc.assert(
      fc.property(word, word, vs, (r, s, v) => {
        const text = `0x${hex64(r)}${hex64(s)}${v.toString(16).padStart(2, "0")}`;
        const valid = (v === 27 || v === 28) && r > 0n && r < n && s > 0n && s <= n / 2n;
        if (!valid) {
          expect(() => parseSignature(text)).toThrow(
            expect.objectContaining({ code: "SIGNATURE_MALFORMED" }),
          );
          return;
        }
        const { compact, recovery } = parseSignature(text);
        expect(bytesToHex(compact)).toBe(`0x${hex64(r)}${hex64(s)}`);
        expect(recovery).toBe(v - 27);
      }),
      { numRuns: 1000 },
    );
  });

  it("rejects a character that is not lowercase hex anywhere in it, v included", () => {
    for (const at of [0, 1, 2, 40, 65, 66, 129, 130, 131]) {
      for (const c of ["g", "B", " ", "é"]) {
        const bad = `${sig.slice(0, at)}${c}${sig.slice(at + 1)}`;
        expect(() => parseSignature(bad)).toThrow(
          expect.objectContaining({ code: "SIGNATURE_MALFORMED" }),
        );
      }
    }
    for (const bad of [undefined, null, 42, sig.slice(2), `${sig}00`, `0X${sig.slice(2)}`]) {
      expect(() => parseSignature(bad)).toThrow(
        expect.objectContaining({ code: "SIGNATURE_MALFORMED" }),
      );
    }
  });
});
