import { agentBoundNonce, type ErrorCode, type Hex, verifyReceipt } from "@chaoscore/core";
import { defaultSandbox, executeAttested, MockTeeProvider } from "@chaoscore/sandbox";
import { openTestEngine, snapshot, TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCode, type Harness } from "./test-support/agency-harness.js";

describe(`attested actions on ${TEST_DB_KIND}`, () => {
  let h: Harness;
  let tee: MockTeeProvider;
  const code = "export default function main(input) { return { sum: input.a + input.b }; }";
  beforeAll(async () => {
    tee = MockTeeProvider.create();
    h = await openTestEngine({ attestation: { mode: "optional", trustedRoots: tee.trustedRoots } });
  });
  afterAll(async () => {
    await h.close();
    await defaultSandbox().close();
  });

  async function attestedRun(provider: MockTeeProvider, nonce: Hex) {
    return executeAttested(code, { a: 2, b: 3 }, { provider, nonce });
  }

  it("another agent cannot present an agent's quote as its own (issue 19 item 3)", async () => {
    const owner = await h.newAgent();
    const thief = await h.newAgent();
    // the owner's run, bound to the owner: its quote is public once recorded
    const run = await attestedRun(tee, agentBoundNonce(owner.address));
    await h.engine.agency.recordAction({
      ...owner.action({ attestationHash: run.attestationHash }),
      attestation: run.quote,
    });
    const before = await snapshot(h.engine);
    await expectCode(
      h.engine.agency.recordAction({
        ...thief.action({ attestationHash: run.attestationHash }),
        attestation: run.quote,
      }),
      "AGENCY_ATTESTATION_MISMATCH",
    );
    // a quote whose nonce binds no agent at all is refused too
    const unbound = await attestedRun(tee, `0x${"01".repeat(16)}`);
    await expectCode(
      h.engine.agency.recordAction({
        ...thief.action({ attestationHash: unbound.attestationHash }),
        attestation: unbound.quote,
      }),
      "AGENCY_ATTESTATION_MISMATCH",
    );
    expect(await snapshot(h.engine)).toEqual(before);
  });

  it("records an attested action; its receipt carries the quote and verifies under the roots", async () => {
    const agent = await h.newAgent();
    const run = await attestedRun(tee, agentBoundNonce(agent.address));
    const signed = agent.action({
      attestationHash: run.attestationHash,
      payload: run.result.output,
    });
    const r = await h.engine.agency.recordAction({ ...signed, attestation: run.quote });
    const receipt = await h.engine.agency.getReceipt(r.id);
    expect(receipt.attestation).toEqual(run.quote);
    expect(verifyReceipt(receipt, h.verifierKey).attestation).toBe("bound");
    const policy = { trustedRoots: tee.trustedRoots };
    expect(verifyReceipt(receipt, h.verifierKey, { attestation: policy }).attestation).toBe(
      "verified",
    );
    const other = MockTeeProvider.create();
    expect(() =>
      verifyReceipt(receipt, h.verifierKey, { attestation: { trustedRoots: other.trustedRoots } }),
    ).toThrow(expect.objectContaining({ code: "RECEIPT_ATTESTATION_INVALID" }));
    const swapped = {
      ...receipt,
      attestation: (await attestedRun(tee, agentBoundNonce(agent.address))).quote,
    };
    expect(() => verifyReceipt(swapped, h.verifierKey)).toThrow(
      expect.objectContaining({ code: "RECEIPT_ATTESTATION_MISMATCH" }),
    );
  });

  it("rejects a missing, mismatched or untrusted attestation and writes nothing", async () => {
    const agent = await h.newAgent();
    const run = await attestedRun(tee, agentBoundNonce(agent.address));
    const foreign = await attestedRun(MockTeeProvider.create(), agentBoundNonce(agent.address));
    const cases: [ErrorCode, () => Promise<unknown>][] = [
      [
        "AGENCY_ATTESTATION_REQUIRED",
        () => h.engine.agency.recordAction(agent.action({ attestationHash: run.attestationHash })),
      ],
      [
        "AGENCY_ATTESTATION_MISMATCH",
        () =>
          h.engine.agency.recordAction({
            ...agent.action({ attestationHash: run.attestationHash }),
            attestation: foreign.quote,
          }),
      ],
      [
        "AGENCY_ATTESTATION_MISMATCH",
        () => h.engine.agency.recordAction({ ...agent.action(), attestation: run.quote }),
      ],
      [
        "AGENCY_ATTESTATION_INVALID",
        () =>
          h.engine.agency.recordAction({
            ...agent.action({ attestationHash: foreign.attestationHash }),
            attestation: foreign.quote,
          }),
      ],
      [
        "AGENCY_ATTESTATION_INVALID",
        () =>
          h.engine.agency.recordAction({
            ...agent.action({ attestationHash: run.attestationHash }),
            attestation: { ...run.quote, format: "x" },
          }),
      ],
    ];
    for (const [code, attempt] of cases) {
      const before = await snapshot(h.engine);
      await expectCode(attempt(), code);
      expect(await snapshot(h.engine)).toEqual(before);
    }
  });

  it("a log that requires attestations refuses plain actions; an allow-list refuses other code", async () => {
    const strict = await openTestEngine({
      attestation: {
        mode: "required",
        trustedRoots: tee.trustedRoots,
        allowedMeasurements: [`0x${"00".repeat(32)}`],
      },
    });
    try {
      const agent = await strict.newAgent();
      const run = await attestedRun(tee, agentBoundNonce(agent.address));
      await expectCode(
        strict.engine.agency.recordAction(agent.action()),
        "AGENCY_ATTESTATION_REQUIRED",
      );
      await expectCode(
        strict.engine.agency.recordAction({
          ...agent.action({ attestationHash: run.attestationHash }),
          attestation: run.quote,
        }),
        "AGENCY_ATTESTATION_INVALID",
      );
    } finally {
      await strict.close();
    }
  });
});
