"""veritas.verl_ext.registration: what the GRPO launcher puts in VERL_USE_EXTERNAL_MODULES.  Each
check runs in a fresh interpreter that verl loads the module into, as in verl's own processes."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MODULE = "veritas.verl_ext.registration"
needs_verl = pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed")


def python(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python *args`` with verl told to load the registration module (``env`` overrides)."""
    return subprocess.run([sys.executable, "-W", "ignore", *args], capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), "VERL_USE_EXTERNAL_MODULES": MODULE, **env})


def run_python(code: str, **env: str) -> list[str]:
    """stdout lines of ``python -c code`` (which must succeed)."""
    run = python("-c", code, **env)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.splitlines()


LOADED = "print(sorted(m for m in {names!r} if m in sys.modules))"
HEAVY = ("torch", "verl", "verl.trainer.ppo.v1", "veritas.verl_ext.type_metrics_trainer",
         "verl.experimental.agent_loop", "veritas.verl_ext.agent_loop", "verl.trainer.ppo.core_algos",
         "veritas.verl_ext.advantage")


def test_the_module_itself_imports_nothing_heavy():
    assert run_python(f"import sys, {MODULE}\n" + LOADED.format(names=HEAVY), VERL_USE_EXTERNAL_MODULES="") == ["[]"]


@needs_verl
def test_import_verl_loads_it_but_neither_our_trainers_nor_verls_packages_they_need():
    code = "import sys, verl\n" + LOADED.format(names=(MODULE, *HEAVY))
    assert run_python(code) == [repr(sorted([MODULE, "torch", "verl"]))]


# v1's __init__ imports the agent-loop package: its hook fires while v1 is still running.
_V1_FIRST = """
import verl
from verl.trainer.ppo.v1 import get_trainer_cls
from verl.experimental.agent_loop.agent_loop import _agent_loop_registry
print(get_trainer_cls("veritas_sync").__module__, get_trainer_cls("veritas_separate_async").__name__)
print(_agent_loop_registry["veritas_single_turn"]["_target_"])
"""
_AGENT_LOOP_FIRST = """
import sys, verl
import verl.experimental.agent_loop
from verl.experimental.agent_loop.agent_loop import _agent_loop_registry
print(_agent_loop_registry["veritas_single_turn"]["_target_"])
print("v1 imported:", "verl.trainer.ppo.v1" in sys.modules or "veritas.verl_ext.type_metrics_trainer" in sys.modules)
from verl.trainer.ppo.v1 import get_trainer_cls
print(get_trainer_cls("veritas_sync").__module__, get_trainer_cls("veritas_separate_async").__name__)
"""
_TRAINERS = "veritas.verl_ext.type_metrics_trainer VeritasTrainerSeparateAsync"
_LOOP = "veritas.verl_ext.agent_loop.FinalOnlySingleTurnAgentLoop"


@needs_verl
def test_registrations_land_when_verl_imports_the_packages_in_either_order():
    assert run_python(_V1_FIRST) == [_TRAINERS, _LOOP]
    assert run_python(_AGENT_LOOP_FIRST) == [_LOOP, "v1 imported: False", _TRAINERS]


# core_algos is a module, not a package: imported after the module is loaded, or before it.
_ESTIMATOR = """
import sys, verl
{first}
from verl.trainer.ppo.core_algos import get_adv_estimator_fn
print(get_adv_estimator_fn("veritas_positive_samples").__module__)
"""


@needs_verl
def test_the_estimator_lands_whether_core_algos_is_imported_after_or_before():
    assert run_python(_ESTIMATOR.format(first="import verl.trainer.ppo.utils")) == ["veritas.verl_ext.advantage"]
    already = "import verl.trainer.ppo.core_algos\nimport " + MODULE
    assert run_python(_ESTIMATOR.format(first=already), VERL_USE_EXTERNAL_MODULES="") == ["veritas.verl_ext.advantage"]


@needs_verl
def test_compose_validates_our_names_and_hints_at_this_module():
    """The launcher's check (compose --validate) in a process where verl loaded only this module."""
    from test_verl_config import GRPO

    ours = ["trainer.v1.trainer_mode=veritas_sync", "actor_rollout_ref.rollout.agent.default_agent_loop=veritas_single_turn",
            "algorithm.adv_estimator=veritas_positive_samples"]
    compose = ["-m", "veritas.verl_adapters.compose", "--config-name", "ppo_trainer", "--validate", "--", *GRPO, *ours]
    run = python(*compose)
    assert run.returncode == 0, run.stderr[-3000:]
    hint = f"need VERL_USE_EXTERNAL_MODULES={MODULE} in the environment"
    for bad in ("trainer.v1.trainer_mode=veritas_nope", "actor_rollout_ref.rollout.agent.default_agent_loop=veritas_nope",
                "algorithm.adv_estimator=veritas_nope"):
        run = python(*compose, bad)
        error = run.stderr.strip().splitlines()[-1]
        assert run.returncode == 1 and error.startswith("error: ") and "veritas_nope" in error and hint in error, run.stderr
