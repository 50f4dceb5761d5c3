import { agentBoundNonce, type Hex, verifyReceipt } from "@chaoscore/core";
import { executeAttested, MockTeeProvider } from "@chaoscore/sandbox";
import { TEST_DB_KIND } from "@chaoscore/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Task, TaskPayloads } from "./model.js";
import type { Studios } from "./studios.js";
import {
  type Actor,
  CODE,
  type Harness,
  OTHER_CODE,
  studioHarness,
} from "./test-support/studio-harness.js";

describe(`studio framework: attestation required (${TEST_DB_KIND})`, () => {
  const t = studioHarness();
  const { tee, rejects, newStudio, sign, create, step } = t;
  let h: Harness;
  let s: Studios;
  let operator: Actor;
  let worker: Actor;
  let measurement: Hex;

  beforeAll(async () => {
    ({ h, s, operator, worker, measurement } = await t.open());
  });
  afterAll(async () => t.close());

  describe("attestation required", () => {
    it("accepts only an attested submission of the task's input, with an allowed measurement", async () => {
      const studio = await newStudio({
        id: "attested",
        rules: { attestationRequired: true, allowedMeasurements: [measurement] },
      });
      await create(studio.id, "run", { input: { n: 21 } });
      await step(operator, studio.id, "run", "assign", { agent: worker.address });
      await step(worker, studio.id, "run", "start", {});
      const task: Task = await s.tasks.getTask(studio.id, "run");
      // bound to the worker that submits (attestation.md §9)
      const nonce = agentBoundNonce(worker.address);
      const run = await executeAttested(CODE, task.input, {
        provider: tee,
        nonce,
        seed: "s",
        clock: 0,
      });
      const execution = {
        inputHash: run.result.inputHash,
        outputHash: run.result.outputHash,
        nonce,
        seed: "s",
        clock: 0,
      };
      const submit = (payload: TaskPayloads["submit"], attestation?: typeof run.quote) =>
        s.tasks.submit(
          studio.id,
          sign(
            worker,
            studio.id,
            "run",
            "submit",
            payload,
            task.lastAction,
            attestation === undefined ? {} : { attestation },
          ),
        );
      await rejects(() => submit({ result: run.result.output }), "STUDIO_ATTESTATION_REQUIRED");
      await rejects(
        () => submit({ result: { doubled: 43 }, execution }, run.quote),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      await rejects(
        () => submit({ result: run.result.output }, run.quote),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      const other = await executeAttested(OTHER_CODE, task.input, {
        provider: tee,
        nonce,
        seed: "s",
        clock: 0,
      });
      await rejects(
        () =>
          submit(
            {
              result: other.result.output,
              execution: { ...execution, outputHash: other.result.outputHash },
            },
            other.quote,
          ),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      const wrongInput = await executeAttested(
        CODE,
        { n: 5 },
        { provider: tee, nonce, seed: "s", clock: 0 },
      );
      await rejects(
        () =>
          submit(
            {
              result: wrongInput.result.output,
              execution: {
                ...execution,
                inputHash: wrongInput.result.inputHash,
                outputHash: wrongInput.result.outputHash,
              },
            },
            wrongInput.quote,
          ),
        "STUDIO_ATTESTATION_REQUIRED",
      );
      // an untrusted TEE: the log refuses the quote
      const rogue = MockTeeProvider.create();
      const forged = await executeAttested(CODE, task.input, {
        provider: rogue,
        nonce,
        seed: "s",
        clock: 0,
      });
      await rejects(
        () => submit({ result: forged.result.output, execution }, forged.quote),
        "AGENCY_ATTESTATION_INVALID",
      );
      const ok = await submit({ result: run.result.output, execution }, run.quote);
      expect(ok.task.state).toBe("submitted");
      const receipt = await h.engine.agency.getReceipt(ok.actionId);
      expect(receipt.attestation).toEqual(run.quote);
      expect(
        verifyReceipt(receipt, h.verifierKey, {
          attestation: { trustedRoots: [tee.rootPublicKey], allowedMeasurements: [measurement] },
        }).actionId,
      ).toBe(ok.actionId);
    });
  });
});
