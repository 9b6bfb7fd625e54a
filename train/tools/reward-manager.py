"""verl entry file for the LGC-V2 reward (thin: the code is veritas.verl_adapters.reward).

    reward.custom_reward_function.path=train/tools/reward-manager.py
    reward.custom_reward_function.name=compute_lgc_v2_score
    +reward.custom_reward_function.reward_kwargs.format_penalty=0.1   # optional

verl executes this file afresh under a generated module name in every reward worker; it only
imports.  When the ``veritas`` package is not installed, the repository this file lives in is
put on sys.path.
"""
import importlib.util
import os
import sys

if importlib.util.find_spec("veritas") is None:
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from veritas.verl_adapters.reward import compute_lgc_v2_score, compute_score  # noqa: E402

__all__ = ["compute_score", "compute_lgc_v2_score"]
