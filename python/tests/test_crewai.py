"""The CrewAI adapter against a real crewai install, offline (scripted LLM, no network)."""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
crew_support = pytest.importorskip("crew_support", reason="crewai is not installed")

from crew_support import NetworkGuard, ScriptedLLM, final, native_tool_call, react_tool_call  # noqa: E402
from crewai import Agent, Crew, Process, Task  # noqa: E402
from crewai.events import crewai_event_bus  # noqa: E402
from crewai.tools import tool  # noqa: E402

from chaoscore import eip712  # noqa: E402
from chaoscore.agent import ChaosCoreAgent  # noqa: E402
from chaoscore.card import make_card  # noqa: E402
from chaoscore.client import GatewayError  # noqa: E402
from chaoscore.crewai import HAS_TOOL_HOOKS, ChaosCoreListener, RecordingError  # noqa: E402
from chaoscore.signing import LocalSigner, entry_id, hash_json  # noqa: E402
from chaoscore.sink import MemorySink  # noqa: E402
from chaoscore.util import hex_bytes  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_bus():
    """CrewAI's bus is global: each test gets its own handlers, and no network."""
    with crewai_event_bus.scoped_handlers(), NetworkGuard() as guard:
        yield
        crewai_event_bus.flush()
    assert guard.attempts == [], f"a test tried the network: {guard.attempts}"


class World:
    """A local log, and registered keys for the crew, two roles and an evaluator."""

    def __init__(self, sink=None):
        self.sink = sink or MemorySink(31337)
        self.crew = self._agent("crew")
        self.researcher = self._agent("researcher")
        self.writer = self._agent("writer")
        self.evaluator = self._agent("evaluator")
        self.tool_runs: list[dict] = []

    def _agent(self, name):
        a = ChaosCoreAgent(LocalSigner.generate(), self.sink)
        a.ensure_registered(make_card(name, framework="crewai"))
        return a

    def lookup_tool(self):
        world = self

        @tool("lookup")
        def lookup(query: str) -> str:
            """Looks a figure up."""
            recorded = [r for r in world.sink.entries if r.kind == "action"]
            world.tool_runs.append({"query": query, "last_action": recorded[-1] if recorded else None})
            return f"{query}: 100000"

        return lookup


def one_task_crew(world, responses, *, native=False):
    llm = ScriptedLLM(model="scripted", responses=responses, native=native)
    researcher = Agent(role="Researcher", goal="find figures", backstory="careful", llm=llm, tools=[world.lookup_tool()])
    task = Task(description="Find the treasury balance", expected_output="a number", agent=researcher, name="treasury")
    return Crew(agents=[researcher], tasks=[task], process=Process.sequential), llm


def types(run):
    return [t for t, _ in run.actions]


def assert_log_invariants(world, run):
    entries = world.sink.entries
    assert [r.leaf_index for r in entries] == list(range(len(entries)))
    last: dict[str, int] = {}
    for r in entries:
        m = r.entry["message"]
        # signed by the agent it names (checked with the independent verifier code)
        assert eip712.recover(hex_bytes(entry_id(r.entry)), hex_bytes(r.entry["signature"])) == m["agent"]
        n = int(m["nonce"])
        assert n > last.get(m["agent"], 0)  # one strictly increasing sequence per agent, in log order
        last[m["agent"]] = n
        if r.kind == "action":
            assert m["studio"] == "governance" and m["task"] == "task-7"
            assert m["payloadHash"] == hash_json(r.body)
    ids = [r.id for r in entries]
    for i, r in enumerate(entries):
        if r.kind == "action":
            assert all(p in ids[:i] for p in r.entry["message"]["parents"])  # parents come first


@pytest.mark.parametrize("native", [False, True], ids=["react", "native-tools"])
def test_a_run_becomes_signed_actions(native):
    world = World()
    call = native_tool_call("call_1", "lookup", '{"query": "treasury"}') if native else react_tool_call("lookup", '{"query": "treasury"}')
    crew, llm = one_task_crew(world, [call, final("The treasury holds 100000.")], native=native)
    with ChaosCoreListener(world.crew, agents={"Researcher": world.researcher}, studio="governance", task="task-7") as listener:
        out = crew.kickoff()
        run = listener.seal(evaluator=world.evaluator, metrics={"quality": 1})
    assert "100000" in str(out) and llm.calls == 2
    expected = ["crew.kickoff", "task.start", "tool.call", "tool.result"]
    expected += ["agent.step", "agent.step"] if not native else ["agent.step"]
    expected += ["task.output", "crew.complete"]
    assert types(run) == expected
    assert_log_invariants(world, run)

    by = {t: r for t, r in reversed(run.actions)}
    # the tool ran after its signed action was accepted by the log
    assert HAS_TOOL_HOOKS
    assert len(world.tool_runs) == 1 and world.tool_runs[0]["query"] == "treasury"
    assert world.tool_runs[0]["last_action"].id == by["tool.call"].id
    call_p = by["tool.call"].body
    assert call_p["tool"] == "lookup" and call_p["input"] == {"query": "treasury"} and call_p["agentRole"] == "Researcher"
    assert by["tool.result"].body["output"]["text"] == "treasury: 100000"
    assert by["tool.result"].entry["message"]["parents"] == [by["tool.call"].id]
    assert by["tool.call"].entry["message"]["parents"] == [by["task.start"].id]
    assert by["task.start"].entry["message"]["parents"] == [by["crew.kickoff"].id]
    assert by["task.output"].entry["message"]["parents"] == [by["task.start"].id]
    assert by["crew.complete"].entry["message"]["parents"] == [by["task.output"].id]
    assert "100000" in by["task.output"].body["output"]["text"]
    # who signed what
    crew_id, res_id = world.crew.id, world.researcher.id
    signers = {t: r.entry["message"]["agent"] for t, r in run.actions}
    assert signers["crew.kickoff"] == signers["crew.complete"] == crew_id
    assert {signers[t] for t in ("task.start", "tool.call", "tool.result", "agent.step", "task.output")} == {res_id}
    # CrewAI's emission order is kept in the payloads
    seqs = [r.body["crewai"]["emissionSequence"] for t, r in run.actions if "crewai" in r.body]
    assert seqs == sorted(seqs)
    # the evaluator's outcome of the run's final action
    assert run.outcome is not None and run.outcome.entry["message"]["action"] == by["crew.complete"].id
    assert run.outcome.entry["message"]["agent"] == world.evaluator.id
    assert world.sink.entries[-1].id == run.outcome.id


def test_model_calls_are_recorded_and_chained():
    world = World()
    crew, llm = one_task_crew(world, [react_tool_call("lookup", '{"query": "treasury"}'), final("100000.")])
    llm.emit_events = True
    with ChaosCoreListener(world.crew, agents={"Researcher": world.researcher}, studio="governance", task="task-7") as listener:
        crew.kickoff()
        run = listener.seal()
    got = types(run)
    assert got.count("model.call") == 2 and got.count("model.result") == 2
    assert got.index("model.call") < got.index("model.result") < got.index("tool.call")
    assert_log_invariants(world, run)
    calls, results = run.of_type("model.call"), run.of_type("model.result")
    by_id = {r.id: t for t, r in run.actions}
    for call, result in zip(calls, results, strict=True):
        assert result.entry["message"]["parents"] == [call.id]
        assert by_id[call.entry["message"]["parents"][0]] == "task.start"
        assert call.body["model"] == "scripted" and call.body["framework"] == "crewai"
        assert call.body["promptHash"].startswith("0x") and "prompt" not in call.body
        assert result.body["usage"] == {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18}
        assert result.body["finishReason"] == "stop" and result.body["latencyMs"] >= 0
        assert call.entry["message"]["agent"] == world.researcher.id


def test_model_calls_can_be_left_out():
    world = World()
    crew, llm = one_task_crew(world, [final("100000.")])
    llm.emit_events = True
    with ChaosCoreListener(world.crew, agents={"Researcher": world.researcher}, record_models=False) as listener:
        crew.kickoff()
        run = listener.seal()
    assert "model.call" not in types(run) and "task.output" in types(run)


def test_two_agents_sign_their_own_steps():
    world = World()
    r_llm = ScriptedLLM(model="r", responses=[react_tool_call("lookup", '{"query": "grants"}'), final("Grants: 25000.")])
    w_llm = ScriptedLLM(model="w", responses=[final("Recommend: approve.")])
    researcher = Agent(role="Researcher", goal="g", backstory="b", llm=r_llm, tools=[world.lookup_tool()])
    writer = Agent(role="Writer", goal="g", backstory="b", llm=w_llm)
    t1 = Task(description="Find the grants", expected_output="a number", agent=researcher)
    t2 = Task(description="Write a recommendation", expected_output="one line", agent=writer, context=[t1])
    crew = Crew(agents=[researcher, writer], tasks=[t1, t2], process=Process.sequential)
    agents = {"Researcher": world.researcher, "Writer": world.writer}
    with ChaosCoreListener(world.crew, agents=agents, studio="governance", task="task-7") as listener:
        crew.kickoff()
        run = listener.seal()
    assert_log_invariants(world, run)
    starts = run.of_type("task.start")
    outputs = run.of_type("task.output")
    assert [s.entry["message"]["agent"] for s in starts] == [world.researcher.id, world.writer.id]
    assert [o.entry["message"]["agent"] for o in outputs] == [world.researcher.id, world.writer.id]
    assert [o.entry["message"]["parents"] for o in outputs] == [[starts[0].id], [starts[1].id]]
    assert outputs[1].body["output"]["text"] == "Recommend: approve."
    assert run.final.entry["message"]["parents"] == [o.id for o in outputs]
    writer_steps = [r for r in run.of_type("agent.step") if r.entry["message"]["agent"] == world.writer.id]
    assert len(writer_steps) == 1 and writer_steps[0].entry["message"]["parents"] == [starts[1].id]
    assert run.outcome is None


class RefusingSink(MemorySink):
    """A log that refuses tool calls (as a gateway policy or an outage would)."""

    def append_action(self, entry, payload, attestation, signer):
        if entry["message"]["actionType"] == "tool.call":
            raise GatewayError("GATEWAY_FORBIDDEN", "tool calls are not allowed", status=403)
        return super().append_action(entry, payload, attestation, signer)


@pytest.mark.parametrize("fail_closed", [True, False])
def test_a_refused_tool_call_blocks_the_tool(fail_closed):
    world = World(RefusingSink(31337))
    crew, _ = one_task_crew(world, [react_tool_call("lookup", '{"query": "treasury"}'), final("I could not look it up.")])
    with ChaosCoreListener(world.crew, agents={"Researcher": world.researcher}, studio="governance", task="task-7",
                           fail_closed=fail_closed) as listener:
        crew.kickoff()
        with pytest.raises(RecordingError) as err:
            listener.seal()
    assert [t for t, _ in err.value.errors] == ["tool.call"]
    assert err.value.errors[0][1].code == "GATEWAY_FORBIDDEN"
    if fail_closed:
        assert world.tool_runs == [] and listener.blocked_tools == ["lookup"]
    else:
        assert len(world.tool_runs) == 1 and listener.blocked_tools == []
    # everything else was recorded; no tool.result without its tool.call
    assert "tool.result" not in types(listener.run) and types(listener.run)[-1] == "crew.complete"
    run = listener.seal(strict=False)
    assert_log_invariants(world, run)


def test_without_tool_hooks_tool_events_are_recorded_after_the_fact():
    world = World()
    crew, _ = one_task_crew(world, [react_tool_call("lookup", '{"query": "treasury"}'), final("100000")])
    with ChaosCoreListener(world.crew, agents={"Researcher": world.researcher}, studio="governance", task="task-7",
                           use_tool_hooks=False) as listener:
        crew.kickoff()
        run = listener.seal()
    assert_log_invariants(world, run)
    assert "tool.call" in types(run) and "tool.result" in types(run)
    # after the fact: the tool had run before anything about it was signed
    assert world.tool_runs[0]["last_action"] is None or world.tool_runs[0]["last_action"].entry["message"]["actionType"] != "tool.call"
    call = run.of_type("tool.call")[0]
    assert call.body["tool"] == "lookup" and call.body["crewai"]["event"] == "tool_usage_started"
    assert run.of_type("tool.result")[0].body["output"]["text"] == "treasury: 100000"


def test_records_follow_emission_sequence_not_handler_arrival():
    """CrewAI runs handlers on a thread pool: deliver them out of order, get the log in order."""
    from crewai.events import CrewKickoffCompletedEvent, CrewKickoffStartedEvent, TaskCompletedEvent, TaskStartedEvent
    from crewai.tasks.task_output import TaskOutput

    world = World()
    listener = ChaosCoreListener(world.crew, agents={"Researcher": world.researcher}, studio="governance", task="task-7")
    handlers = {t.__name__: h for t, h in listener._handlers}

    researcher = Agent(role="Researcher", goal="g", backstory="b", llm=ScriptedLLM(model="unused"))
    task = Task(description="Find the treasury balance", expected_output="a number", agent=researcher, name="treasury")

    events = [
        CrewKickoffStartedEvent(crew_name="c", inputs={"topic": "grants"}),
        TaskStartedEvent(context=None, task=task),
        TaskCompletedEvent(output=TaskOutput(description="d", raw="100000", agent="Researcher"), task=task),
        CrewKickoffCompletedEvent(crew_name="c", output="100000"),
    ]
    for seq, e in enumerate(events, start=1):
        e.emission_sequence = seq
    for e in (events[3], events[1], events[2], events[0]):  # arrival order
        handlers[type(e).__name__](None, e)
    run = listener.seal()
    listener.close()
    assert types(run) == ["crew.kickoff", "task.start", "task.output", "crew.complete"]
    assert [r.body["crewai"]["emissionSequence"] for _, r in run.actions] == [1, 2, 3, 4]
    assert run.of_type("task.output")[0].entry["message"]["parents"] == [run.of_type("task.start")[0].id]
    assert run.of_type("crew.kickoff")[0].body["inputs"] == {"topic": "grants"}
    assert run.of_type("task.start")[0].body["taskId"] == str(task.id)
    assert_log_invariants(world, run)


def test_long_text_is_cut_with_its_hash():
    world = World()
    listener = ChaosCoreListener(world.crew, max_text=10)
    try:
        t = listener._text("x" * 25)
        assert t == {"text": "x" * 10, "sha256": "0x" + __import__("hashlib").sha256(b"x" * 25).hexdigest(),
                     "truncated": True, "length": 25}
        assert listener._text({"b": 1}) ["text"] == '{"b": 1}'
    finally:
        listener.close()


def test_close_unregisters_handlers_and_hooks():
    from crewai.hooks import get_after_tool_call_hooks, get_before_tool_call_hooks

    world = World()
    before = (len(get_before_tool_call_hooks()), len(get_after_tool_call_hooks()))
    listener = ChaosCoreListener(world.crew)
    assert (len(get_before_tool_call_hooks()), len(get_after_tool_call_hooks())) == (before[0] + 1, before[1] + 1)
    listener.close()
    assert (len(get_before_tool_call_hooks()), len(get_after_tool_call_hooks())) == before
    crew, _ = one_task_crew(world, [final("done")])
    crew.kickoff()
    assert listener.seal().actions == [] and world.sink.entries == []
