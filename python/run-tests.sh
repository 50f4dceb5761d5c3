#!/usr/bin/env bash
# Runs the Python SDK's and verifier's tests (CrewAI included, offline); creates python/.venv on demand.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.installed"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# reinstall when pyproject.toml changed since the last install
if [ ! -f "$stamp" ] || [ "$here/pyproject.toml" -nt "$stamp" ]; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$here[test,crewai]"
  touch "$stamp"
fi
cd "$here"
exec "$venv/bin/python" -m pytest -q "$@"
