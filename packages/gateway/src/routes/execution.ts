import { randomBytes } from "node:crypto";
import { agentBoundNonce, type Hex } from "@chaoscore/core";
import { executeAttested, replay } from "@chaoscore/sandbox";
import { Type } from "@sinclair/typebox";
import type { GatewayApp, GatewayContext } from "../app.js";
import { fail } from "../problem.js";
import { errors, Json, WRITE_SECURITY } from "../schemas.js";

// The sandbox enforces the server-side maxima (SecureExecutionEnvironment's
// maxLimits, default 10 s / 64 MiB / 2e9 gas): a request over them is 400
// EXECUTION_BAD_INPUT before anything runs.
const Limits = Type.Object(
  {
    memoryBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    stackBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    gas: Type.Optional(Type.Integer({ minimum: 1 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1 })),
    outputBytes: Type.Optional(Type.Integer({ minimum: 1 })),
    logBytes: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

const RunBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 1024 * 1024 }),
    input: Json,
    language: Type.Optional(Type.Union([Type.Literal("javascript"), Type.Literal("typescript")])),
    seed: Type.Optional(Type.String({ maxLength: 1024 })),
    clock: Type.Optional(Type.Integer({ minimum: 0 })),
    limits: Type.Optional(Limits),
    nonce: Type.Optional(Type.String({ pattern: "^0x([0-9a-f]{2}){1,64}$" })),
  },
  { additionalProperties: false },
);

/** Attested execution in the sandbox (QuickJS + the mock TEE), and replay. */
export function executionRoutes(app: GatewayApp, ctx: GatewayContext): void {
  const need = () => {
    if (ctx.execution === undefined) {
      fail("GATEWAY_FEATURE_DISABLED", "this gateway runs no sandbox", { feature: "execution" });
    }
    return ctx.execution;
  };

  app.post(
    "/v1/executions",
    {
      schema: {
        tags: ["execution"],
        summary:
          "Run code in the sandbox and attest it: the result, the quote (chaoscore.attestation/v1) and the execution record",
        security: WRITE_SECURITY,
        body: RunBody,
        response: errors(401, 403, 404, 422, 503),
      },
      config: { access: "ingest" },
    },
    async (request) => {
      const execution = need();
      const { code, input, nonce, ...options } = request.body;
      const run = await executeAttested(code, input, {
        provider: execution.provider,
        // an agent's run is bound to it: the nonce starts with its address (attestation.md §9)
        nonce: (nonce ??
          (request.principal.kind === "agent"
            ? agentBoundNonce(request.principal.agent)
            : `0x${randomBytes(32).toString("hex")}`)) as Hex,
        ...(execution.sandbox === undefined ? {} : { sandbox: execution.sandbox }),
        ...options,
      });
      return {
        output: run.result.output,
        outputHash: run.result.outputHash,
        inputHash: run.result.inputHash,
        measurement: run.result.measurement,
        gasUsed: run.result.gasUsed,
        quote: run.quote,
        attestationHash: run.attestationHash,
        recorded: run.recorded,
      };
    },
  );

  app.post(
    "/v1/executions/replay",
    {
      schema: {
        tags: ["execution"],
        summary: "Re-execute a recorded run and confirm its output hash (and measurement)",
        security: WRITE_SECURITY,
        body: Type.Object({}, { additionalProperties: true }),
        response: errors(401, 403, 404, 422, 503),
      },
      config: { access: "ingest" },
    },
    async (request) => {
      const execution = need();
      const result = await replay(request.body as Parameters<typeof replay>[0], {
        ...(execution.sandbox === undefined ? {} : { sandbox: execution.sandbox }),
      });
      return {
        reproduced: true,
        outputHash: result.outputHash,
        measurement: result.measurement,
        gasUsed: result.gasUsed,
      };
    },
  );
}
