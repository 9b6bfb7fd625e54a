"""Advantage estimator ``veritas_positive_samples``: only right answers get a gradient.

Positive-sample reinforcement (Zhu et al. 2025, "The Surprising Effectiveness of Negative
Reinforcement in LLM Reasoning"): reinforcing only the rewarded samples sharpens the policy
towards them and raises pass@1, while the negative samples are what keep entropy and pass@k.
Issue 17 judges greedy (pass@1) accuracy.  GRPO on the SFT model's greedy failures
(grpo-smollm2-135m-1gpu-greedy-failures, mostly wrong answers in each group of 16) also pushed
the wrong answers down, whose tokens are mostly right steps shared with the right ones, and
greedy accuracy fell by 3.8 points.  Here a wrong answer's advantage is 0: it moves nothing.

A response's advantage is the positive part of its sequence reward, ``max(sum of
token_level_rewards, 0)``, on each of its tokens (``response_mask``); ``returns`` are the same.
With ``partial_credit`` 0.0 a right answer (1.0) gets 1, a wrong one (0.0) 0 and an unreadable
one (``-format_penalty``) 0.  With ``flawed_working_score`` a right answer whose own working is
wrong gets that score as its advantage (``unreadable_working_score``: working that cannot be read):
at 0.0 no gradient, as a wrong answer.  No group
statistics: a group of any size, all right or all wrong, is fine (an all-right group is still
reinforced, unlike GRPO's).  With ``algorithm.use_kl_in_reward`` the KL penalty is in the summed
reward, as for GRPO.

verl's trainers call every estimator other than gae and grpo as
``get_adv_estimator_fn(name)(token_level_rewards=, response_mask=, config=, index=, ...)``
(``verl.trainer.ppo.ray_trainer.compute_advantage``; the v1 trainer's
``compute_advantage_for_multi_trajectories`` hands such estimators to it with every row).
``veritas.verl_ext.registration`` imports this module in each process that imports
``verl.trainer.ppo.core_algos``: the TaskRunner, which computes advantages, and compose's check.
Select it with ``algorithm.adv_estimator: veritas_positive_samples``.
"""
from __future__ import annotations

import torch
from verl.trainer.ppo.core_algos import register_adv_est

NAME = "veritas_positive_samples"


@register_adv_est(NAME)
def compute_positive_sample_advantage(token_level_rewards: torch.Tensor, response_mask: torch.Tensor,
                                      **_ignored) -> tuple[torch.Tensor, torch.Tensor]:
    """(advantages, returns), each (batch, response_length): ``max(reward, 0)`` on the response's
    tokens, 0 elsewhere.  Other keyword arguments verl passes (``config``, ``index``...) are ignored."""
    with torch.no_grad():
        positive = token_level_rewards.sum(dim=-1).clamp(min=0.0)
        advantages = positive.unsqueeze(-1) * response_mask.to(positive.dtype)
    return advantages, advantages.clone()
