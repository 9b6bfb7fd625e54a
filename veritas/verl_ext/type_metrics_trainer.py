"""verl v1 trainers that add per-task-type metrics to every training step.

verl 0.9.1's v1 trainer (``main_ppo``'s default) logs one pooled reward per step; its metric code
never looks at ``data_source`` or the reward's extra keys.  This module subclasses verl's three
v1 trainers and registers them with verl's own registry::

    veritas_sync            = verl's "sync" trainer            + per-type metrics
    veritas_colocate_async  = verl's "colocate_async" trainer  + per-type metrics
    veritas_separate_async  = verl's "separate_async" trainer  + per-type metrics

Switch it on with (both are needed)::

    VERL_USE_EXTERNAL_MODULES=veritas.verl_ext.registration   # env of the launching shell
    trainer.v1.trainer_mode=veritas_sync                       # Hydra override

``main_ppo`` picks the trainer class with ``get_trainer_cls(config.trainer.v1.trainer_mode)`` in
its ``TaskRunnerV1`` Ray actor.  verl imports the modules named in ``VERL_USE_EXTERNAL_MODULES``
at ``import verl``, and that actor imports verl when it unpickles ``TaskRunnerV1``; the
registration module imports this one when the actor imports ``verl.trainer.ppo.v1`` for the
look-up, so the registration below runs in that process before it.  (Ray workers of a cluster that
``main_ppo`` starts itself inherit the launching shell's environment; for a cluster started
beforehand, pass the variable through ``ray_kwargs.ray_init.runtime_env.env_vars``.)

For the metrics, the only overridden method is ``PPOTrainer._compute_metrics`` (besides the ``trainer_mode``
property, see below): it runs verl's own, then reads
``data_source``, ``uid``, ``extra_info`` (level: ``difficulty``), ``extra_fields``
(``reward_extra_info``: ``acc``, ``format_ok``), ``rm_scores`` and ``responses`` of the step's
rows from the TransferQueue before verl clears them (``veritas.verl_ext.step_rows``: one read a
step, shared with the curriculum, which reads first) and adds
:func:`veritas.verl_adapters.train_metrics.per_type_metrics`.  Anything failing there is logged
(1st, 2nd, 4th... time) and skipped: the step's other metrics and the training go on.

The sync and colocate-async trainers also check every 0.1 s, instead of verl's 2 s, whether a
step's rollouts are done (``ReplayBufferPollMixin``).

The same trainers carry the adaptive curriculum (``veritas.verl_ext.curriculum``: overrides
``_init_dataloader`` and ``step``), inert unless ``data.lgc_v2.curriculum.enable=true``.

``tests/test_type_metrics_trainer.py`` pins the source of the verl code this relies on; when verl
changes it, that test names what to re-check.
"""
from __future__ import annotations

import logging
import math
from typing import Any

from verl.trainer.ppo.v1.trainer_base import PPOTrainer, register_trainer
from verl.trainer.ppo.v1.trainer_colocate_async import PPOTrainerColocateAsync
from verl.trainer.ppo.v1.trainer_separate_async import PPOTrainerSeparateAsync
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

from veritas.verl_adapters.train_metrics import per_type_metrics
from veritas.verl_ext.curriculum import CurriculumMixin
from veritas.verl_ext.rare_warning import RareWarning
from veritas.verl_ext.step_rows import StepRowsMixin

logger = logging.getLogger(__name__)

TRAINER_MODES = {  # our registry name -> the verl trainer mode it extends
    "veritas_sync": "sync",
    "veritas_colocate_async": "colocate_async",
    "veritas_separate_async": "separate_async",
}

_report_failure = RareWarning(logger, "per-type training metrics skipped")


def _max_response_length(config: Any) -> float:
    try:
        return float(config.actor_rollout_ref.rollout.response_length)
    except Exception:
        return math.nan


class PerTypeMetricsMixin(StepRowsMixin):
    """Adds per-type metrics to ``PPOTrainer._compute_metrics``; mixed in before a verl trainer."""

    VERL_TRAINER_MODE = "sync"

    # PPOTrainer.__init__ stores config.trainer.v1.trainer_mode (our registry name) here, and verl
    # compares it with "sync" (replay buffer kind, refills) and reads trainer.v1.<mode> settings
    # with it; those must see the verl mode this class extends, so the assignment is ignored.
    @property
    def trainer_mode(self) -> str:
        return self.VERL_TRAINER_MODE

    @trainer_mode.setter
    def trainer_mode(self, _registry_name: str) -> None:
        pass

    def _compute_metrics(self, batch, metrics, timing_raw, global_steps, epoch):
        super()._compute_metrics(batch, metrics, timing_raw, global_steps=global_steps, epoch=epoch)
        try:
            metrics.update(self._per_type_metrics(batch))
        except Exception as exc:  # metrics must never stop training
            _report_failure(exc)
        finally:
            self._forget_step_columns()  # the step's last reader

    def _per_type_metrics(self, batch) -> dict[str, float]:
        columns = self._step_columns(batch)  # read already where the curriculum is on
        return per_type_metrics(max_response_length=_max_response_length(self.config), **columns)


class ReplayBufferPollMixin:
    """Polls the replay buffer every ``REPLAY_POLL_INTERVAL_S`` instead of verl's fixed 2 s.

    verl 0.9.1's ``ReplayBuffer.sample`` waits for a step's groups by sleeping ``poll_interval``
    (2 s, no config key) between checks, so generation and every validation end on a 2-s tick:
    the sixth run's ``timing_s/gen`` took only the values 12.1, 14.1, 16.1, 18.1 and 20.1 s,
    about 1 s a step lost on average.  A check is one metadata read from the TransferQueue.
    The separate-async trainer also compares its wait with the interval to adapt its rollout
    switch, so it keeps verl's.
    """

    REPLAY_POLL_INTERVAL_S = 0.1

    def _build_replay_buffer(self):
        buffer = super()._build_replay_buffer()
        buffer.poll_interval = self.REPLAY_POLL_INTERVAL_S
        return buffer


@register_trainer("veritas_sync")
class VeritasTrainerSync(CurriculumMixin, PerTypeMetricsMixin, ReplayBufferPollMixin, PPOTrainerSync):
    VERL_TRAINER_MODE = "sync"


@register_trainer("veritas_colocate_async")
class VeritasTrainerColocateAsync(CurriculumMixin, PerTypeMetricsMixin, ReplayBufferPollMixin, PPOTrainerColocateAsync):
    VERL_TRAINER_MODE = "colocate_async"


@register_trainer("veritas_separate_async")
class VeritasTrainerSeparateAsync(CurriculumMixin, PerTypeMetricsMixin, PPOTrainerSeparateAsync):
    VERL_TRAINER_MODE = "separate_async"
