"""veritas.verl_ext.advantage: the estimator veritas_positive_samples on small padded batches, through
verl's own advantage code as the v1 trainer calls it, and registered in a fresh verl process by the
registration module (tests/test_registration.py checks the hooks' other cases)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.verl, pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed")]

if importlib.util.find_spec("verl") is not None:
    import numpy as np
    import torch

    from veritas.verl_ext.advantage import NAME, compute_positive_sample_advantage

REPO = Path(__file__).resolve().parents[1]
LENGTH = 6


def _batch(rewards: list[float], lengths: list[int], where: str = "last"):
    """token_level_rewards and response_mask as verl pads them: each response's reward on its last
    token (``where="last"``) or spread over its tokens (``"spread"``), 0 after its length."""
    mask = torch.zeros(len(rewards), LENGTH, dtype=torch.int64)
    tokens = torch.zeros(len(rewards), LENGTH)
    for i, (reward, length) in enumerate(zip(rewards, lengths)):
        mask[i, :length] = 1
        if where == "last":
            tokens[i, length - 1] = reward
        else:
            tokens[i, :length] = reward / length
    return tokens, mask


def _expected(values: list[float], lengths: list[int]):
    return torch.tensor([[v if t < length else 0.0 for t in range(LENGTH)] for v, length in zip(values, lengths)])


# right, wrong, unreadable (-format_penalty), partial credit (boolean_expressions' share of statements)
REWARDS, LENGTHS = [1.0, 0.0, -0.1, 0.5], [3, 6, 2, 4]
POSITIVE = [1.0, 0.0, 0.0, 0.5]


@pytest.mark.parametrize("where", ["last", "spread"])
def test_only_a_positive_reward_gives_an_advantage_on_the_responses_tokens(where):
    tokens, mask = _batch(REWARDS, LENGTHS, where)
    advantages, returns = compute_positive_sample_advantage(token_level_rewards=tokens, response_mask=mask)
    assert advantages.shape == returns.shape == (4, LENGTH)
    torch.testing.assert_close(advantages, _expected(POSITIVE, LENGTHS))
    torch.testing.assert_close(returns, advantages)
    assert advantages.dtype == tokens.dtype


def test_the_mask_decides_which_tokens_carry_it():
    """A reward counted, masked positions 0: verl's mask (e.g. rollout correction's rejected tokens)
    wins over the padding the rewards imply."""
    tokens, mask = _batch([1.0, 1.0], [6, 6])
    mask[0, 1] = 0
    mask[1, :] = 0
    advantages, returns = compute_positive_sample_advantage(token_level_rewards=tokens, response_mask=mask.bool())
    assert advantages[0].tolist() == [1.0, 0.0, 1.0, 1.0, 1.0, 1.0] and advantages[1].tolist() == [0.0] * LENGTH
    torch.testing.assert_close(returns, advantages)


def test_groups_do_not_matter_all_wrong_all_right_or_one_response():
    """No group statistics: an all-wrong group is all 0 (no division by a zero spread), an all-right
    one is still reinforced (GRPO gives it 0), and the other keyword arguments verl passes are ignored."""
    tokens, mask = _batch([0.0, 0.0, 0.0, 1.0, 1.0, -0.1], [2, 3, 4, 5, 6, 1])
    index = np.array(["wrong", "wrong", "wrong", "right", "right", "alone"], dtype=object)
    advantages, returns = compute_positive_sample_advantage(
        token_level_rewards=tokens, response_mask=mask, index=index, config=None, reward_baselines=torch.zeros(6))
    torch.testing.assert_close(advantages, _expected([0, 0, 0, 1, 1, 0], [2, 3, 4, 5, 6, 1]))
    assert torch.isfinite(advantages).all()
    torch.testing.assert_close(returns, advantages)


def test_verls_v1_advantage_step_calls_it_by_name():
    """What the v1 trainer's _compute_advantage does with the step: verl's
    compute_advantage_for_multi_trajectories hands a non-grpo estimator every row (keys
    uid_session_index) with the uid as index; the advantages are ours."""
    from omegaconf import OmegaConf
    from verl import DataProto
    from verl.trainer.ppo.core_algos import get_adv_estimator_fn
    from verl.trainer.ppo.v1.utils import compute_advantage_for_multi_trajectories

    assert get_adv_estimator_fn(NAME) is compute_positive_sample_advantage
    tokens, mask = _batch(REWARDS, LENGTHS)
    uids = np.array(["a", "a", "b", "b"], dtype=object)
    data = DataProto.from_dict(tensors={"token_level_rewards": tokens, "response_mask": mask}, non_tensors={"uid": uids})
    config = OmegaConf.create({"adv_estimator": NAME, "norm_adv_by_std_in_grpo": True})
    out = compute_advantage_for_multi_trajectories(data, batch_keys=[f"{u}_{i}_0" for i, u in enumerate(uids)],
                                                   adv_estimator=NAME, num_repeat=2, config=config)
    torch.testing.assert_close(out.batch["advantages"], _expected(POSITIVE, LENGTHS))
    torch.testing.assert_close(out.batch["returns"], out.batch["advantages"])


def _fresh(code: str, modules: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "VERL_USE_EXTERNAL_MODULES": modules,
                                         "OMP_NUM_THREADS": "1"})


LOOK_UP = """
import sys, verl
print("before:", "veritas.verl_ext.advantage" in sys.modules)
from verl.trainer.ppo.core_algos import get_adv_estimator_fn
fn = get_adv_estimator_fn("veritas_positive_samples")
print(fn.__module__, fn.__name__)
"""


def test_verl_finds_it_by_name_once_the_registration_module_is_loaded():
    """A fresh verl process that loads veritas.verl_ext.registration (as the GRPO launcher has them
    do) finds the estimator as soon as it imports core_algos, not before; without it, verl does not."""
    run = _fresh(LOOK_UP, "veritas.verl_ext.registration")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.splitlines()[-2:] == ["before: False", "veritas.verl_ext.advantage compute_positive_sample_advantage"]
    run = _fresh(LOOK_UP, "")
    assert run.returncode != 0 and "Unknown advantage estimator simply: veritas_positive_samples" in run.stderr
