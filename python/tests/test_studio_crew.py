"""A crew drives a studio task on a real gateway: its task start claims the
studio task, its task output submits it (signed transitions, in the log)."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
pytest.importorskip("crew_support", reason="crewai is not installed")

from crew_support import ScriptedLLM, final  # noqa: E402
from crewai import Agent, Crew, Process, Task  # noqa: E402
from test_gateway import gateway, new_agent  # noqa: E402,F401  (the module's own `serve`)

from chaoscore import verify_receipt  # noqa: E402
from chaoscore.crewai import ChaosCoreListener  # noqa: E402
from chaoscore.studio import StudioTask  # noqa: E402


def operator_step(c, operator, studio, task, transition, payload, previous):
    def send(entry):
        return c.transition(studio, transition, entry, payload, signer=operator.signer)

    return operator.record_with(
        send, f"studio.task.{transition}", payload, parents=[previous] if previous else [], studio=studio, task=task
    )


def test_a_crew_claims_and_submits_a_studio_task(gateway):  # noqa: F811
    c = gateway["client"]
    operator, worker = new_agent(gateway, "operator"), new_agent(gateway, "worker")
    c.request("POST", "/v1/studios", {
        "id": "crew-studio", "kind": "generic", "name": "Crew studio", "operator": operator.id,
        "rewardPolicy": {"kind": "fixed", "budget": "100", "amountPerSuccess": "1"}, "rules": {"attestationRequired": False},
    })
    c.request("POST", "/v1/studios/crew-studio/members", {"agent": worker.id, "roles": ["agent"]})
    created = operator_step(c, operator, "crew-studio", "t-1", "create",
                            {"title": "Find the treasury", "role": "agent", "capabilities": [], "dependsOn": [], "maxRetries": 0},
                            None)
    operator_step(c, operator, "crew-studio", "t-1", "assign", {"agent": worker.id}, created["actionId"])

    llm = ScriptedLLM(model="scripted", responses=[final("The treasury holds 100000.")])
    researcher = Agent(role="Researcher", goal="find figures", backstory="careful", llm=llm)
    crew = Crew(agents=[researcher], tasks=[Task(description="Find the treasury", expected_output="a number", agent=researcher)],
                process=Process.sequential)
    studio_task = StudioTask(c, worker, studio="crew-studio", task="t-1")
    with ChaosCoreListener(worker, studio_task=studio_task) as listener:
        crew.kickoff()
        run = listener.seal()
    assert [t for t, _ in studio_task.actions] == ["start", "submit"]
    task = c.get_task("crew-studio", "t-1")
    assert task["state"] == "submitted" and task["assignee"] == worker.id
    submit_id = studio_task.actions[1][1]
    receipt = c.receipt(submit_id)
    r = verify_receipt(receipt, gateway["log_key"])
    assert r.agent == worker.id
    assert receipt["action"]["entry"]["message"]["actionType"] == "studio.task.submit"
    assert "100000" in receipt["payload"]["result"]["text"]
    assert "task.output" in [t for t, _ in run.actions]


def test_a_crew_that_cannot_claim_reports_it_at_seal(gateway):  # noqa: F811
    c = gateway["client"]
    stranger = new_agent(gateway, "stranger")
    llm = ScriptedLLM(model="scripted", responses=[final("done")])
    a = Agent(role="R", goal="g", backstory="b", llm=llm)
    crew = Crew(agents=[a], tasks=[Task(description="d", expected_output="e", agent=a)], process=Process.sequential)
    with ChaosCoreListener(stranger, studio_task=StudioTask(c, stranger, studio="crew-studio", task="t-1")) as listener:
        crew.kickoff()
        with pytest.raises(Exception) as err:
            listener.seal()
    assert "studio.task" in str(err.value)
