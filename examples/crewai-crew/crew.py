#!/usr/bin/env python3
"""An example CrewAI crew whose steps are recorded as signed ChaosCore actions.

Two CrewAI agents — a Researcher with a treasury look-up tool and an Analyst
who writes a recommendation — each hold their own ChaosCore key; a third key
signs the crew-level actions and an evaluator signs the run's outcome. Every
tool call is signed and accepted by the gateway before the tool runs. At the
end the example fetches each action's receipt and verifies it offline.

Offline by default: the agents' LLM is scripted (fixed answers), so the run
needs no model and no network beyond the gateway. Pass `--llm MODEL` (e.g.
`openai/gpt-4o-mini`, with its API key in the environment) to use a real one.

    node packages/cli/bin/chaoscore.js serve --data-dir /tmp/cc --port 0 --no-chain   # prints LISTENING, ADMIN_KEY
    pip install './python[crewai]'
    python examples/crewai-crew/crew.py --gateway http://127.0.0.1:PORT --api-key cck_… --out /tmp/receipts

Prints one line per recorded action, then `RECEIPTS <n> <dir>` and `LOG_KEY <key>`.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
from typing import Any

for _k, _v in {"CREWAI_DISABLE_TELEMETRY": "true", "CREWAI_TRACING_ENABLED": "false", "OTEL_SDK_DISABLED": "true"}.items():
    os.environ.setdefault(_k, _v)

from crewai import Agent, Crew, Process, Task  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from crewai.tools import tool  # noqa: E402

from chaoscore import verify_receipt  # noqa: E402
from chaoscore.agent import ChaosCoreAgent  # noqa: E402
from chaoscore.card import make_card  # noqa: E402
from chaoscore.client import GatewayClient  # noqa: E402
from chaoscore.crewai import ChaosCoreListener  # noqa: E402
from chaoscore.signing import LocalSigner  # noqa: E402
from chaoscore.sink import GatewaySink  # noqa: E402

TREASURY = {"balance": 100_000, "monthlyBurn": 3_000, "currency": "USDC"}


class ScriptedLLM(BaseLLM):
    """A stand-in LLM with fixed answers (ReAct text), so the example runs offline."""

    responses: list[Any] = []
    calls: int = 0

    def call(self, messages, tools=None, callbacks=None, available_functions=None, from_task=None,
             from_agent=None, response_model=None):
        answer = self.responses[min(self.calls, len(self.responses) - 1)]
        self.calls += 1
        return answer

    def supports_function_calling(self) -> bool:
        return False


@tool("treasury_lookup")
def treasury_lookup(field: str) -> str:
    """Returns one figure of the DAO treasury: balance, monthlyBurn or currency."""
    return json.dumps({field: TREASURY.get(field)})


def build_crew(llm: str | None) -> Crew:
    if llm is None:
        researcher_llm = ScriptedLLM(model="scripted-researcher", responses=[
            'Thought: I need the treasury balance.\nAction: treasury_lookup\nAction Input: {"field": "balance"}',
            'Thought: And the monthly burn.\nAction: treasury_lookup\nAction Input: {"field": "monthlyBurn"}',
            "Thought: I have both figures.\nFinal Answer: The treasury holds 100000 USDC and burns 3000 USDC a month.",
        ])
        analyst_llm = ScriptedLLM(model="scripted-analyst", responses=[
            "Thought: A 25000 grant leaves 75000, 25 months of runway.\n"
            "Final Answer: Approve the 25000 USDC grant: 25 months of runway remain.",
        ])
    else:
        researcher_llm = analyst_llm = llm  # CrewAI resolves a model name
    researcher = Agent(
        role="Researcher", goal="Report the DAO treasury's figures", backstory="A careful on-chain analyst.",
        llm=researcher_llm, tools=[treasury_lookup],
    )
    analyst = Agent(
        role="Analyst", goal="Recommend a vote on grant proposals", backstory="A prudent DAO delegate.",
        llm=analyst_llm,
    )
    research = Task(
        name="treasury", description="Find the treasury's balance and monthly burn.",
        expected_output="The balance and the monthly burn, in USDC.", agent=researcher,
    )
    recommend = Task(
        name="recommendation", description="Should the DAO grant 25000 USDC? Recommend a vote.",
        expected_output="One sentence: approve or reject, and why.", agent=analyst, context=[research],
    )
    return Crew(agents=[researcher, analyst], tasks=[research, recommend], process=Process.sequential)


def load_or_create_keys(path: pathlib.Path | None) -> dict[str, LocalSigner]:
    names = ("crew", "researcher", "analyst", "evaluator")
    if path is not None and path.exists():
        raw = json.loads(path.read_text())
        return {n: LocalSigner(raw[n]) for n in names}
    keys = {n: LocalSigner.generate() for n in names}
    if path is not None:
        # development keys in a plain file; use a keystore or a KMS for anything real
        path.write_text(json.dumps({n: "0x" + k._account.key.hex().removeprefix("0x") for n, k in keys.items()}))
        path.chmod(0o600)
    return keys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the example crew and record its steps in ChaosCore.")
    ap.add_argument("--gateway", required=True, help="gateway base URL (LISTENING line of chaoscore serve)")
    ap.add_argument("--api-key", default=os.environ.get("CHAOSCORE_API_KEY"),
                    help="an operator key (optional: the agents register themselves and sign their requests)")
    ap.add_argument("--studio", default="", help="studio context of the actions")
    ap.add_argument("--task", default="", help="studio task context of the actions")
    ap.add_argument("--keys", type=pathlib.Path, help="JSON file of the four keys (created if absent)")
    ap.add_argument("--out", type=pathlib.Path, default=pathlib.Path("receipts"), help="where receipts are written")
    ap.add_argument("--llm", help="a real model for CrewAI instead of the scripted one")
    args = ap.parse_args(argv)

    client = GatewayClient(args.gateway, api_key=args.api_key)
    sink = GatewaySink(client)
    keys = load_or_create_keys(args.keys)
    agents = {n: ChaosCoreAgent(k, sink) for n, k in keys.items()}
    cards = {
        "crew": make_card("Treasury crew", description="A CrewAI crew that reviews grant proposals.",
                          capabilities=["crewai.crew"], framework="crewai", version="0.1.0"),
        "researcher": make_card("Researcher", capabilities=["treasury.lookup"], framework="crewai", version="0.1.0"),
        "analyst": make_card("Analyst", capabilities=["governance.analyse"], framework="crewai", version="0.1.0"),
        "evaluator": make_card("Evaluator", capabilities=["evaluation"], framework="crewai", version="0.1.0"),
    }
    for name, agent in agents.items():
        agent.ensure_registered(cards[name])

    crew = build_crew(args.llm)
    with ChaosCoreListener(
        agents["crew"], agents={"Researcher": agents["researcher"], "Analyst": agents["analyst"]},
        studio=args.studio, task=args.task,
    ) as listener:
        result = crew.kickoff()
        run = listener.seal(evaluator=agents["evaluator"], metrics={"tasks": len(crew.tasks)}, result=str(result))
    print(f"RESULT {result}")

    log_key = client.info()["log"]["verifierKey"]  # for the demo; a verifier gets it out of band
    args.out.mkdir(parents=True, exist_ok=True)
    for action_type, rec in run.actions:
        receipt = client.receipt(rec.id)
        verified = verify_receipt(receipt, log_key)
        assert verified.action_id == rec.id
        (args.out / f"{rec.leaf_index:04d}-{action_type}.json").write_text(json.dumps(receipt, indent=2) + "\n")
        outcome = f" outcome {verified.outcome_id}" if verified.outcome_id else ""
        print(f"ACTION {rec.leaf_index} {action_type} {rec.id} by {rec.entry['message']['agent']}{outcome}")
    print(f"RECEIPTS {len(run.actions)} {args.out}")
    print(f"LOG_KEY {log_key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
