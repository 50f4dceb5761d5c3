"""Integration: the SDK and the example crew against a real gateway (`chaoscore serve --no-chain`).

Receipts of the crew's actions are verified here (Python) and by the
TypeScript CLI (`chaoscore receipt verify`). Skipped without node, the
repository's node_modules, or a `serve` command; CHAOSCORE_SKIP_NODE_TESTS=1
skips it too.
"""

import json
import os
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import threading

import pytest

from chaoscore import ReceiptError, verify_receipt
from chaoscore.agent import ChaosCoreAgent
from chaoscore.card import make_card
from chaoscore.client import GatewayClient, GatewayError
from chaoscore.signing import LocalSigner, sign_action
from chaoscore.sink import GatewaySink

REPO = pathlib.Path(__file__).resolve().parents[2]
# the node processes get their own PGlite and no outside chain, whatever the caller's environment
ISOLATED = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CHAOSCORE_RPC_URL", "CHAOSCORE_KEYSTORE", "CHAOSCORE_HOME")}
CLI = REPO / "packages" / "cli" / "bin" / "chaoscore.js"
EXAMPLE = REPO / "examples" / "crewai-crew" / "crew.py"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None
    or not (REPO / "node_modules").is_dir()
    or not (REPO / "packages" / "gateway" / "src" / "index.ts").exists()
    or os.environ.get("CHAOSCORE_SKIP_NODE_TESTS") == "1",
    reason="needs node, node_modules and packages/gateway",
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    data = tmp_path_factory.mktemp("gateway") / "data"
    proc = subprocess.Popen(
        ["node", str(CLI), "serve", "--data-dir", str(data), "--port", "0", "--no-chain", "--log-level", "error"],
        cwd=REPO, env=ISOLATED, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    url = key = None
    try:
        while url is None:
            line = lines.get(timeout=120)
            if line.startswith("ADMIN_KEY "):
                key = line.split()[1]
            elif line.startswith("LISTENING "):
                url = line.split()[1]
        assert key is not None, "serve printed no ADMIN_KEY on first start"
        client = GatewayClient(url, api_key=key)
        yield {"url": url, "key": key, "client": client, "log_key": client.info()["log"]["verifierKey"]}
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def new_agent(gateway, name="agent"):
    agent = ChaosCoreAgent(LocalSigner.generate(), GatewaySink(gateway["client"]))
    assert agent.ensure_registered(make_card(name, framework="crewai")) is True
    return agent


def test_the_gateway_says_its_chain_id(gateway):
    assert GatewayClient(gateway["url"]).chain_id() == 31337


def test_actions_and_outcomes_with_agent_signed_requests(gateway):
    c = gateway["client"]
    agent, evaluator = new_agent(gateway), new_agent(gateway, "evaluator")
    state = c.signing_state(agent.id)
    assert state["status"] == "active" and state["actionNonce"] is None and state["nextNonce"] == "1"
    a = agent.record_action("tool.call", {"tool": "lookup", "input": {"q": "x"}})
    b = agent.record_action("tool.result", {"out": "y"}, parents=[a.id])
    assert b.leaf_index > a.leaf_index and not a.duplicate
    assert c.signing_state(agent.id)["actionNonce"] == "2"
    o = evaluator.record_outcome(b.id, "success", result={"ok": True}, metrics={"quality": 0.9})
    receipt = c.receipt(b.id)
    r = verify_receipt(receipt, gateway["log_key"])
    assert (r.action_id, r.outcome_id, r.agent) == (b.id, o.id, agent.id)
    assert receipt["payload"] == {"out": "y"}
    # a retry (same Idempotency-Key, same body) gets the first answer again
    again = c.record_action(a.entry, a.body, signer=agent.signer)
    assert (again["id"], again["leafIndex"], again["duplicate"]) == (a.id, a.leaf_index, False)
    # the same signed entry under another key: the log's first record, not a second leaf
    dup = c.record_action(a.entry, a.body, signer=agent.signer, idempotency_key="another-try")
    assert (dup["id"], dup["leafIndex"], dup["duplicate"]) == (a.id, a.leaf_index, True)


def test_a_second_session_with_the_same_key_resyncs_its_nonce(gateway):
    agent = new_agent(gateway)
    agent.record_action("x")
    twin = ChaosCoreAgent(agent.signer, GatewaySink(gateway["client"]))
    assert twin.record_action("y").entry["message"]["nonce"] == "2"
    assert agent.record_action("z").entry["message"]["nonce"] == "3"  # refused at 2, re-signed above


def test_refusals_are_coded_problems(gateway):
    c = gateway["client"]
    agent = new_agent(gateway)
    entry = sign_action(agent.signer, c.domain(), "x", 1, {"p": 1})  # for this deployment
    with pytest.raises(GatewayError) as e:
        c.record_action(entry, {"p": 2}, signer=agent.signer)
    assert (e.value.code, e.value.status) == ("AGENCY_PAYLOAD_MISMATCH", 400)
    with pytest.raises(GatewayError) as e:
        GatewayClient(gateway["url"]).record_action(entry, {"p": 1})
    assert (e.value.code, e.value.status) == ("GATEWAY_UNAUTHENTICATED", 401)
    other = new_agent(gateway)
    with pytest.raises(GatewayError) as e:
        c.record_action(entry, {"p": 1}, signer=other.signer)  # an agent writes only as itself
    assert (e.value.code, e.value.status) == ("GATEWAY_FORBIDDEN", 403)
    with pytest.raises(GatewayError) as e:
        c.record_action(sign_action(agent.signer, 5, "x", 1), signer=agent.signer)
    assert e.value.code == "AGENCY_WRONG_CHAIN"


@pytest.fixture(scope="module")
def crew_run(gateway, tmp_path_factory):
    out = tmp_path_factory.mktemp("crew-receipts")
    env = dict(ISOLATED, CREWAI_DISABLE_TELEMETRY="true", OTEL_SDK_DISABLED="true", CREWAI_TRACING_ENABLED="false")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--gateway", gateway["url"], "--api-key", gateway["key"], "--out", str(out),
         "--studio", "", "--task", ""],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    actions = [line.split() for line in proc.stdout.splitlines() if line.startswith("ACTION ")]
    return {"out": out, "stdout": proc.stdout, "actions": actions}


def test_the_example_crew_records_its_steps(crew_run):
    types = [a[2] for a in crew_run["actions"]]
    assert types[0] == "crew.kickoff" and types[-1] == "crew.complete"
    assert types.count("tool.call") == 2 and types.count("tool.result") == 2 and types.count("task.output") == 2
    assert "RESULT Approve the 25000 USDC grant" in crew_run["stdout"]
    assert f"RECEIPTS {len(types)} " in crew_run["stdout"]
    # tool results follow their calls, in the log's order
    for i, t in enumerate(types):
        if t == "tool.result":
            assert types[i - 1] == "tool.call"


def test_the_crews_receipts_verify_in_python(gateway, crew_run):
    files = sorted(crew_run["out"].glob("*.json"))
    assert len(files) == len(crew_run["actions"])
    by_id = {a[3]: a for a in crew_run["actions"]}
    for f in files:
        receipt = json.loads(f.read_text())
        r = verify_receipt(receipt, gateway["log_key"])
        assert r.action_id in by_id and receipt["action"]["entry"]["message"]["actionType"] == by_id[r.action_id][2]
    final = json.loads(files[-1].read_text())
    assert final["outcome"] is not None and final["action"]["entry"]["message"]["actionType"] == "crew.complete"
    final["payload"]["output"]["text"] = "Reject."
    with pytest.raises(ReceiptError) as e:
        verify_receipt(final, gateway["log_key"])
    assert e.value.code == "RECEIPT_PAYLOAD_MISMATCH"


@pytest.mark.parametrize("action_type", ["tool.call", "task.output", "crew.complete"])
def test_the_crews_receipts_verify_in_typescript(gateway, crew_run, action_type):
    f = sorted(crew_run["out"].glob(f"*-{action_type}.json"))[0]
    proc = subprocess.run(
        ["node", str(CLI), "receipt", "verify", str(f), "--log-key", gateway["log_key"], "--json"],
        cwd=REPO, env=ISOLATED, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    receipt = json.loads(f.read_text())
    py = verify_receipt(receipt, gateway["log_key"])
    assert py.action_id in json.dumps(result)
    if action_type == "crew.complete":
        assert py.outcome_id is not None and py.outcome_id in json.dumps(result)


def test_the_example_crew_runs_from_the_installed_wheel_with_the_crewai_extra(gateway, tmp_path):
    """The wheel, installed with `[crewai]` into a fresh venv (not the checkout), runs the example crew."""
    pytest.importorskip("build", reason="the test extra (build) is not installed")
    if os.environ.get("CHAOSCORE_SKIP_DIST_TESTS") == "1":
        pytest.skip("CHAOSCORE_SKIP_DIST_TESTS=1")
    import venv

    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO / "python")],
                   check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("chaoscore-*.whl"))
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    py = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}[crewai]"],
                   check=True, capture_output=True, timeout=900)
    env = {k: v for k, v in ISOLATED.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {"CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true", "CREWAI_TRACING_ENABLED": "false"}
    proc = subprocess.run(
        [str(py), str(EXAMPLE), "--gateway", gateway["url"], "--api-key", gateway["key"], "--out", str(tmp_path / "r"),
         "--studio", "", "--task", ""],
        capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "RESULT Approve the 25000 USDC grant" in proc.stdout and "RECEIPTS " in proc.stdout
    where = subprocess.run([str(py), "-c", "import chaoscore; print(chaoscore.__file__)"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, check=True).stdout
    assert str((tmp_path / "venv").resolve()) in str(pathlib.Path(where.strip()).resolve())
