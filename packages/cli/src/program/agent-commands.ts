/**
 * `chaoscore agent …`: register, show, list, export, verify agents; operator status changes.
 * @module
 */
import { type Command, Option } from "commander";
import {
  collect,
  examples,
  gatewayFlags,
  globals,
  jsonOption,
  positiveInt,
} from "./common-options.js";

/** Registers `chaoscore agent …` on `program`. */
export function registerAgentCommands(program: Command): void {
  const agent = program
    .command("agent")
    .description("register, inspect and verify agents; operator status changes");
  gatewayFlags(agent.command("register"))
    .description("register the agent of a local key: sign its agent card and submit it")
    .option("--key <name>", "the agent's key", "default")
    .option("--name <name>", "card: display name (default: the key name)")
    .option("--description <text>", "card: what the agent does")
    .option("--capability <tag>", "card: a capability tag (repeatable)", collect)
    .option("--framework <name>", "card: the agent framework")
    .option("--card <file>", "start from this agent card JSON (the options above override it)")
    .option(
      "--no-anchor",
      "do not anchor the card hash on chain (default: anchored when a chain is configured)",
    )
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples(
        'chaoscore agent register --name "Proposal analyst" --capability governance.analyze',
        "chaoscore agent register --key evaluator --card evaluator-card.json",
      ),
    )
    .action(async (opts, cmd: Command) => {
      const { runAgentRegister } = await import("../commands/agent.js");
      await runAgentRegister(globals(cmd), opts);
    });
  agent
    .command("show [id]")
    .description("show an agent: identity, status and card (default: the agent of --key)")
    .option("--key <name>", "show the agent of this local key", "default")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore agent show", "chaoscore agent show 0x1234… --json"))
    .action(async (id: string | undefined, opts, cmd: Command) => {
      const { runAgentShow } = await import("../commands/agent.js");
      await runAgentShow(globals(cmd), id, opts);
    });
  agent
    .command("list")
    .description("list registered agents, oldest first, a page at a time")
    .option("--capability <tag>", "only agents with this capability")
    .option("--owner <address>", "only agents whose card names this owner")
    .addOption(
      new Option("--status <status>", "only agents with this status").choices([
        "active",
        "suspended",
        "revoked",
      ]),
    )
    .option("--limit <n>", "page size (1-500, default 50)", positiveInt)
    .option("--cursor <cursor>", "the next page (printed after a full page)")
    .addOption(jsonOption())
    .addHelpText(
      "after",
      examples("chaoscore agent list", "chaoscore agent list --capability governance --json"),
    )
    .action(async (opts, cmd: Command) => {
      const { runAgentList } = await import("../commands/agent.js");
      await runAgentList(globals(cmd), opts);
    });
  agent
    .command("card [id]")
    .summary("export an agent's card as an A2A AgentCard or an ERC-8004 registration file")
    .description(
      "print (or --out) the agent's card in another ecosystem's format (docs/spec/agent-card.md): an A2A AgentCard (--format a2a; --sign signs it with the agent's key, JWS ES256K) or an ERC-8004 registration file (--format erc8004) naming its IdentityRegistry token. `agent register --card FILE` reads both formats back",
    )
    .addOption(
      new Option("--format <format>", "a2a or erc8004").choices(["a2a", "erc8004"]).default("a2a"),
    )
    .option(
      "--key <name>",
      "the agent of this local key (default id), and the key --sign uses",
      "default",
    )
    .option("--sign", "sign the A2A card with the agent's key")
    .option("--url <url>", "the A2A endpoint when the card names none")
    .option("--out <file>", "write to this file instead of stdout")
    .addHelpText(
      "after",
      examples(
        "chaoscore agent card --format a2a --sign --out agent-card.json",
        "chaoscore agent card 0x1234… --format erc8004",
        "chaoscore agent register --key other --card agent-card.json   # import either format",
      ),
    )
    .action(async (id: string | undefined, opts, cmd: Command) => {
      const { runAgentCardExport } = await import("../commands/agent-card.js");
      await runAgentCardExport(globals(cmd), id, opts);
    });
  agent
    .command("verify [id]")
    .summary("prove control of an agent's key (challenge-response)")
    .description(
      "prove control of an agent's key: the registry issues a challenge, the local key signs it (ProveAgentControl), the registry checks the answer",
    )
    .option("--key <name>", "the local key that answers the challenge", "default")
    .addOption(jsonOption())
    .addHelpText("after", examples("chaoscore agent verify", "chaoscore agent verify --key alice"))
    .action(async (id: string | undefined, opts, cmd: Command) => {
      const { runAgentVerify } = await import("../commands/agent.js");
      await runAgentVerify(globals(cmd), id, opts);
    });
  for (const [name, what] of [
    ["suspend", "operator: suspend an active agent (its actions are refused until reactivated)"],
    ["reactivate", "operator: reactivate a suspended agent"],
    ["revoke", "operator: revoke an agent for good"],
  ] as const) {
    agent
      .command(`${name} <id>`)
      .description(what)
      .requiredOption("--reason <text>", "why (recorded in the agent's status history)")
      .addOption(jsonOption())
      .addHelpText("after", examples(`chaoscore agent ${name} 0x1234… --reason "…"`))
      .action(async (id: string, opts, cmd: Command) => {
        const { runAgentStatus } = await import("../commands/agent.js");
        await runAgentStatus(globals(cmd), name, id, opts);
      });
  }
}
