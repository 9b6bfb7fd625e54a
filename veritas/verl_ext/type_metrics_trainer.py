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
rows from the TransferQueue (before verl clears them) and adds
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
import os
from typing import Any

import transfer_queue as tq

from verl.trainer.ppo.v1.trainer_base import PPOTrainer, register_trainer
from verl.trainer.ppo.v1.trainer_colocate_async import PPOTrainerColocateAsync
from verl.trainer.ppo.v1.trainer_separate_async import PPOTrainerSeparateAsync
from verl.trainer.ppo.v1.trainer_sync import PPOTrainerSync

from veritas.verl_adapters.train_metrics import per_type_metrics
from veritas.verl_ext.curriculum import CurriculumMixin

logger = logging.getLogger(__name__)

TRAINER_MODES = {  # our registry name -> the verl trainer mode it extends
    "veritas_sync": "sync",
    "veritas_colocate_async": "colocate_async",
    "veritas_separate_async": "separate_async",
}
ACC_KEY = "acc"
FORMAT_KEY = "format_ok"
LEVEL_KEY = "difficulty"  # in the row's extra_info (veritas.data.formats.rl_row)
# Row fields of the TransferQueue read here; verl's AgentLoopWorkerTQ stores the dataset row's
# keys plus the agent loop's output under these names.
FIELDS = ("data_source", "uid", "extra_info", "extra_fields", "rm_scores", "responses")

_failures = 0


def _report_failure(exc: BaseException) -> None:
    """Log a failed metrics computation at its 1st, 2nd, 4th, 8th... occurrence."""
    global _failures
    _failures += 1
    if _failures & (_failures - 1) == 0:
        logger.warning(
            "per-type training metrics skipped (%d time(s) so far in pid %d): %s: %s",
            _failures, os.getpid(), type(exc).__name__, exc,
        )


def _as_list(value: Any) -> list | None:
    """A TransferQueue column (NonTensorStack, tensor, numpy array, list) as a list."""
    if value is None:
        return None
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return list(tolist())
    return list(value)


def _row_tensors(value: Any) -> list:
    """A jagged (nested) or regular 2-D tensor as one 1-D tensor per row."""
    if getattr(value, "is_nested", False):
        return list(value.unbind())
    return list(value)


def _fetch(keys: list[str], partition_id: str) -> dict[str, Any]:
    """The FIELDS of these rows; a field the queue does not hold is left out."""
    try:
        data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=list(FIELDS))
        return {name: data[name] for name in FIELDS if name in data.keys()}
    except Exception:  # one missing field fails the whole get: ask field by field
        out = {}
        for name in FIELDS:
            try:
                out[name] = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=[name])[name]
            except Exception:
                continue
        return out


def _per_row(tensor: Any, fn) -> list | None:
    """fn of each row of a tensor field; None (that metric left out) when the field is missing or
    not the tensor verl stores, so one odd field does not cost the other metrics."""
    if tensor is None:
        return None
    try:
        return [fn(row) for row in _row_tensors(tensor)]
    except Exception as exc:
        _report_failure(exc)
        return None


def _dict_get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else None


def step_columns(fields: dict[str, Any]) -> dict[str, list]:
    """per_type_metrics' arrays from the rows' TransferQueue fields (missing ones: None)."""
    data_sources = _as_list(fields.get("data_source"))
    n = len(data_sources) if data_sources is not None else 0
    extra_fields = _as_list(fields.get("extra_fields")) or [None] * n
    reward_info = [_dict_get(row, "reward_extra_info") for row in extra_fields]
    extra_info = _as_list(fields.get("extra_info")) or [None] * n
    scores = _per_row(fields.get("rm_scores"), lambda row: float(row.sum()))
    lengths = _per_row(fields.get("responses"), lambda row: int(row.shape[0]))
    # the token ids themselves, hashed: equal responses of a group give equal keys
    response_keys = _per_row(fields.get("responses"), lambda row: hash(tuple(row.tolist())))
    return {
        "data_sources": data_sources or [],
        "scores": scores,
        "accs": [_dict_get(info, ACC_KEY) for info in reward_info],
        "format_oks": [_dict_get(info, FORMAT_KEY) for info in reward_info],
        "response_lengths": lengths,
        "uids": _as_list(fields.get("uid")),
        "levels": [_dict_get(info, LEVEL_KEY) for info in extra_info],
        "response_keys": response_keys,
    }


def _max_response_length(config: Any) -> float:
    try:
        return float(config.actor_rollout_ref.rollout.response_length)
    except Exception:
        return math.nan


class PerTypeMetricsMixin:
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

    def _per_type_metrics(self, batch) -> dict[str, float]:
        real = [i for i, tag in enumerate(batch.tags) if not (isinstance(tag, dict) and tag.get("is_padding", False))]
        keys = [batch.keys[i] for i in real]
        if not keys:
            return {}
        columns = step_columns(_fetch(keys, batch.partition_id))
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
