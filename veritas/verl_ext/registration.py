"""Register our v1 trainers, agent loop and advantage estimator in the verl processes that import
verl's registries.

verl imports every module named in ``VERL_USE_EXTERNAL_MODULES`` at ``import verl``, in each of
its processes: driver, TaskRunner, FSDP workers, vLLM server, agent-loop and reward workers.
Naming ``type_metrics_trainer`` there had each of them import verl's v1 trainer package (5 of
``import verl``'s 14 s on an H100 host), though only the TaskRunner (and compose's check) looks our
trainers up.  This module is what the GRPO launcher names instead.  It imports neither verl nor
torch; it hooks (``import_hooks.call_after_import``) the verl packages holding the registries:

* ``verl.trainer.ppo.v1`` -> ``veritas.verl_ext.type_metrics_trainer`` registers veritas_sync,
  veritas_colocate_async and veritas_separate_async for its ``get_trainer_cls``;
* ``verl.experimental.agent_loop`` -> ``veritas.verl_ext.agent_loop`` registers veritas_single_turn
  in its ``_agent_loop_registry``;
* ``verl.trainer.ppo.core_algos`` (a module, hooked the same way) -> ``veritas.verl_ext.advantage``
  registers veritas_positive_samples in its ``ADV_ESTIMATOR_REGISTRY``.

A process that imports the package (the TaskRunner; the agent-loop workers, whose class lives in
v1) registers right after the package's ``__init__`` has run, before it reads from it, or at once
where the package is already imported; the others (FSDP, reward workers...) import neither.  v1's
``__init__`` imports the agent-loop package: that loop is registered first, while v1 still runs.
``core_algos`` is imported by v1's trainer (through ``ray_trainer``), by compose's check (through
``verl.trainer.ppo.utils``) and by the FSDP workers' loss code (``verl.workers.utils.losses``): the
estimator is registered in each (one small module; torch is loaded there already).  ``import
verl`` alone imports none of the three hooked names.
"""
from __future__ import annotations

import importlib

from veritas.verl_ext.import_hooks import call_after_import

REGISTERS_INTO = {  # verl package -> our module that registers into its registry
    "verl.trainer.ppo.v1": "veritas.verl_ext.type_metrics_trainer",
    "verl.experimental.agent_loop": "veritas.verl_ext.agent_loop",
    "verl.trainer.ppo.core_algos": "veritas.verl_ext.advantage",
}


def register(package) -> None:
    """Import the module of ours that registers into the just-imported verl ``package`` (or module)."""
    importlib.import_module(REGISTERS_INTO[package.__name__])


for _package in REGISTERS_INTO:
    call_after_import(_package, register)
