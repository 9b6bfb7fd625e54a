"""Adapters that plug LGC-V2 into verl 0.9.1 (see docs/training.md, "verl adapters").

* :mod:`.dataset`: ``DynamicEnvDataset`` -- tasks generated on the fly (``data.custom_cls``).
* :mod:`.reward`: ``compute_score`` -- the reward function (``reward.custom_reward_function``).
* :mod:`.compose`: compose and validate verl's Hydra configs, the launchers' ``--dry-run``.

verl loads the thin files ``train/tools/dataset-manager.py`` and ``train/tools/reward-manager.py``,
which import from here.  Nothing is imported eagerly: the reward needs neither torch nor verl.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "DynamicEnvDataset": ".dataset",
    "LGCV2DynamicDataset": ".dataset",
    "compute_score": ".reward",
    "compute_lgc_v2_score": ".reward",
    "compose_config": ".compose",
    "validate_ppo_config": ".compose",
    "validate_sft_config": ".compose",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
