"""The package as a user gets it: a wheel and an sdist built with `python -m build`,
checked by `twine check`, installed into a fresh virtual environment (no
repository on the path), where `python -m chaoscore verify` checks a receipt
vector and the type hints ship (`py.typed`). CHAOSCORE_SKIP_DIST_TESTS=1 skips it."""

import os
import pathlib
import subprocess
import sys
import venv
import zipfile

import pytest

HERE = pathlib.Path(__file__).resolve().parents[1]
VECTORS = HERE.parent / "vectors" / "receipts"

pytestmark = pytest.mark.skipif(
    os.environ.get("CHAOSCORE_SKIP_DIST_TESTS") == "1", reason="CHAOSCORE_SKIP_DIST_TESTS=1"
)


def run(*args, cwd=None, env=None):
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    pytest.importorskip("build", reason="the test extra (build, twine) is not installed")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", out, HERE)
    wheels, sdists = list(out.glob("chaoscore-*.whl")), list(out.glob("chaoscore-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    return wheels[0], sdists[0]


def test_the_wheel_and_sdist_pass_twine_check(dist):
    out = run(sys.executable, "-m", "twine", "check", "--strict", *dist)
    assert out.count("PASSED") == 2


def test_the_wheel_ships_the_type_hints_and_only_the_package(dist):
    names = zipfile.ZipFile(dist[0]).namelist()
    assert "chaoscore/py.typed" in names
    assert "chaoscore/verify.py" in names and "chaoscore/crewai.py" in names
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n]


def test_a_fresh_environment_installs_the_wheel_and_verifies_a_receipt(dist, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    run(py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", dist[0])
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    key = (VECTORS / "log-key.txt").read_text().strip()
    out = run(py, "-m", "chaoscore", "verify", VECTORS / "valid-action-outcome.json", "--log-key", key, cwd=tmp_path, env=clean)
    assert "✓" in out or "valid" in out.lower()
    tampered = subprocess.run(
        [str(py), "-m", "chaoscore", "verify", str(VECTORS / "tampered-action-signature.json"), "--log-key", key],
        cwd=tmp_path, env=clean, capture_output=True, text=True,
    )
    assert tampered.returncode != 0 and "RECEIPT_SIGNATURE_INVALID" in tampered.stdout + tampered.stderr
    # installed from the wheel, not from the repository
    where = run(py, "-c", "import chaoscore, pathlib; print(pathlib.Path(chaoscore.__file__).resolve())", cwd=tmp_path, env=clean)
    assert str(env_dir.resolve()) in where
    # without the crewai extra, the adapter says what to install instead of a deep stack trace
    missing = subprocess.run([str(py), "-c", "import chaoscore.crewai"], cwd=tmp_path, env=clean, capture_output=True, text=True)
    assert missing.returncode != 0 and "pip install 'chaoscore[crewai]'" in missing.stderr
