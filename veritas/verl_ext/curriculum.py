"""The adaptive per-type curriculum (``veritas.verl_adapters.curriculum``) inside verl 0.9.1's v1 trainer.

:class:`CurriculumMixin` is part of the ``veritas_*`` trainers of
``veritas.verl_ext.type_metrics_trainer`` and does nothing unless
``data.lgc_v2.curriculum.enable=true``.  Then it overrides, through subclassing only:

* ``_init_dataloader``: verl's own builds the datasets and loaders; the train loader is then
  rebuilt with the same dataset, batch size, workers and collate function as a
  :class:`CurriculumDataLoader` whose sampler is a ``CurriculumSampler`` wrapping the sampler
  verl made (``create_rl_sampler``: shuffling and ``data.seed`` unchanged).  verl 0.9.1 has no
  hook for a custom dataloader sampler (``data.sampler`` was removed with its curriculum).
* ``_load_checkpoint``: after verl's, a checkpoint without curriculum state starts the windows
  at the resumed step.
* ``step``: after verl's step (rollout, reward, update), the step's rows are read from the
  TransferQueue (``veritas.verl_ext.step_rows``: data_source, served level, the reward's ``acc``,
  the prompt's ``uid``) and given to the controller,
  whose ``curriculum/...`` metrics join the step's.  This runs before ``fit`` saves the step's
  checkpoint, so a checkpoint of step ``t`` holds the controller after step ``t``'s update.

Checkpoint: verl saves ``train_dataloader.state_dict()`` to ``global_step_<t>/data.pt`` and
loads it back with ``train_dataloader.load_state_dict``; :class:`CurriculumDataLoader` adds the
controller's state to that dict under ``veritas_curriculum`` (the sampler's position travels in
torchdata's own sampler snapshot).

Nothing per step raises: a failure is logged and the step counts as one without observations.
``tests/test_curriculum.py`` pins the verl code relied on here.
"""
from __future__ import annotations

import logging
from typing import Any

from torchdata.stateful_dataloader import StatefulDataLoader

from veritas.verl_adapters.curriculum import LevelController, CurriculumSampler, prefetch_lag_steps
from veritas.verl_adapters.dataset import DynamicEnvDataset, DynamicSpec
from veritas.verl_adapters.train_metrics import type_name
from veritas.verl_ext.rare_warning import RareWarning
from veritas.verl_ext.step_rows import StepRowsMixin, real_keys

logger = logging.getLogger(__name__)

STATE_KEY = "veritas_curriculum"

_report_failure = RareWarning(logger, "curriculum update failed")

_HANDLER_MARK = "_veritas_curriculum_handler"


def show_level_changes() -> None:
    """Give the curriculum's loggers a stderr handler of their own, at INFO, not propagating: the
    way verl isolates its "verl" logger (``configure_verl_logging``). Relying on the root logger
    lost the level changes twice: verl leaves it at WARNING, and in the fifth arm's GPU run a move
    at step 10 still left no line although the start-up line, logged earlier through the root
    handler, did (what changed the root's handling later was not found; a root logger at INFO then
    WARNING does exactly that to loggers that rely on it)."""
    for name in (__name__, LevelController.__module__):
        log = logging.getLogger(name)
        log.setLevel(logging.INFO)
        log.propagate = False
        if not any(getattr(h, _HANDLER_MARK, False) for h in log.handlers):
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s:%(asctime)s:%(message)s"))  # verl's
            setattr(handler, _HANDLER_MARK, True)
            log.addHandler(handler)


class CurriculumDataLoader(StatefulDataLoader):
    """verl's train loader plus the curriculum controller's state in its state_dict."""

    def __init__(self, *args, controller: LevelController, **kwargs):
        super().__init__(*args, **kwargs)
        self.controller = controller
        self.controller_restored = False

    def state_dict(self) -> dict[str, Any]:
        state = dict(super().state_dict())
        state[STATE_KEY] = self.controller.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        controller_state = state_dict.pop(STATE_KEY, None)
        if controller_state is None:
            logger.warning("curriculum: the checkpoint has no curriculum state; starting from the initial windows")
        else:
            try:
                self.controller.load_state_dict(controller_state)
                self.controller_restored = True
            except Exception as exc:  # a checkpoint of another configuration: start afresh, say so
                logger.warning("curriculum: checkpoint state not restored (%s: %s); starting from the initial windows",
                               type(exc).__name__, exc)
        super().load_state_dict(state_dict)


def _rows(columns: dict[str, Any]) -> list[tuple[Any, Any, Any, Any]]:
    """(task type, level served, acc, uid) per row from ``step_rows.step_columns``."""
    sources = columns["data_sources"]
    uids = columns["uids"]
    if uids is None or len(uids) != len(sources):  # no groups then (max_flat_share), the rows still count
        uids = [None] * len(sources)
    return [(type_name(source), level, acc, uid)
            for source, level, acc, uid in zip(sources, columns["levels"], columns["accs"], uids)]


class CurriculumMixin(StepRowsMixin):
    """Mixed in before a verl v1 trainer; see the module docstring."""

    curriculum: LevelController | None = None

    def _init_dataloader(self):
        super()._init_dataloader()
        self.curriculum = None
        spec = DynamicSpec.from_config(self.config.data)  # the dataset checked it already
        if not spec.curriculum.enable:
            return
        dataset = self.train_dataset
        if not isinstance(dataset, DynamicEnvDataset) or getattr(dataset, "selection", None) is None:
            logger.warning("curriculum: data.lgc_v2.curriculum.enable is set but the train data are not the dynamic "
                           "LGC-V2 tasks (lgc_v2://train); serving them as they are")
            return
        show_level_changes()
        old = self.train_dataloader
        items_per_step = int(self.config.data.train_batch_size)
        lag = spec.curriculum.lag_steps
        if lag is None:
            lag = prefetch_lag_steps(old.num_workers, old.prefetch_factor, old.batch_size, items_per_step)
        controller = LevelController(spec.curriculum, dataset.spec.task_types, lag_steps=lag)
        sampler = CurriculumSampler(old.sampler, dataset.task_type_of, controller,
                                    items_per_step=items_per_step, batch_size=old.batch_size)
        self.train_dataloader = CurriculumDataLoader(
            dataset=dataset, batch_size=old.batch_size, num_workers=old.num_workers, drop_last=old.drop_last,
            collate_fn=old.collate_fn, sampler=sampler, pin_memory=old.pin_memory,
            prefetch_factor=old.prefetch_factor, persistent_workers=old.persistent_workers, controller=controller,
        )
        self.curriculum = controller
        logger.info("curriculum on: types %s, initial windows %s, lag %d step(s) (%d loader workers, batches of %d, "
                    "%d prompts a step)", ",".join(controller.task_types), controller.windows(), lag,
                    old.num_workers, old.batch_size, items_per_step)

    def _load_checkpoint(self):
        super()._load_checkpoint()
        loader = self.train_dataloader
        if self.curriculum is None or self.global_steps == 0 or loader.controller_restored:
            return
        # a checkpoint without (usable) curriculum state, e.g. taken with it off: the initial
        # windows from here, and slots counted as if the sampler had served every step so far
        self.curriculum.last_step = self.global_steps
        loader.sampler.position = self.global_steps * loader.sampler.items_per_step

    def step(self, metrics, timing_raw):
        batch = super().step(metrics, timing_raw)
        if self.curriculum is not None:
            metrics.update(self._curriculum_update(batch))
        return batch

    def _curriculum_update(self, batch) -> dict[str, float]:
        """The controller's update for this step's rows; never raises."""
        try:  # the per-type metrics use the same read later in the step (step_rows)
            rows = _rows(self._step_columns(batch))
            if not rows and (n_real := len(real_keys(batch))):
                raise RuntimeError(f"no data_source read from the TransferQueue for the step's {n_real} rows")
        except Exception as exc:
            _report_failure(exc)
            rows = []
        try:  # a step without rows still counts: the served windows are keyed by step
            return self.curriculum.observe(int(self.global_steps), rows)
        except Exception as exc:
            _report_failure(exc)
            return {}
