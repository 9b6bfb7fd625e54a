"""Adaptive per-type difficulty for GRPO training: :class:`LevelController` and :class:`CurriculumSampler`.

Each task type has a level window ``[lo, hi]``.  After every training step the controller takes
the step's responses (type, level served, accuracy) and, per type, moves the window up by
``step_size`` when the accuracy over its recent steps is above ``band[1]`` and down when below
``band[0]``.  Configuration: ``data.lgc_v2.curriculum`` (see :data:`DEFAULTS` and docs/curriculum.md).

Accuracy alone cannot tell a level where every group is mixed from one where half the groups are
all right and half all wrong: both sit in the band, and the second gives GRPO no gradient.  With
``max_flat_share`` set, a type in the band whose window has more than that share of *flat* groups
(every response of the prompt scored alike) tries the next level up, and goes back unless that
level's groups are less often flat; the share last measured at each window is kept, so a level
found flatter is not tried again until the type's own share rises past it.

Where levels are chosen: in the main process, by the sampler.  Dataloader workers are forked
copies of the dataset and never see the controller; the sampler yields
:class:`CurriculumItem` ``(index, task_type, level_lo, level_hi)`` and the dataset serves index
``index`` with that window.  The level inside the window still comes from the index's hash.

Lag (deterministic, in training steps): the sampler's items are grouped in *slots* of
``items_per_step`` (= ``data.train_batch_size``) items by their position in the run (slot ``s``
is what step ``s + 1`` trains on when every step fetches one batch).  Slot ``s`` is served the
windows as they stood after step ``s - lag_steps``: an update after step ``t`` reaches the
prompts of step ``t + 1 + lag_steps``.  The loader draws indices ahead of use (``num_workers *
prefetch_factor`` batches); as long as ``lag_steps`` covers that, every slot's windows are known
when it is drawn and the served sequence does not depend on ``num_workers`` or worker timing.  A
slot drawn before its step's update exists ("early") gets the newest windows and that choice is
recorded, so a resumed run redraws it identically.

State: the controller's state goes into verl's ``data.pt`` through the train dataloader's
``state_dict`` (``veritas.verl_ext.curriculum.CurriculumDataLoader``); the sampler's own position
goes through torchdata's sampler snapshot.  Nothing here imports torch or verl.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from veritas.envs.base import LEVELS

logger = logging.getLogger(__name__)

CONFIG_KEY = "curriculum"  # under data.lgc_v2
METRIC_PREFIX = "curriculum"
DEFAULTS: dict[str, Any] = {
    "enable": False,
    "band": [0.3, 0.7],  # [lo, hi]: move down below lo, up above hi
    "window_steps": 4,  # accuracy over this many recent steps (since the last move)
    "min_samples": 32,  # responses in that window before any move
    "cooldown_steps": 2,  # steps after a move during which the type does not move again
    "min_level": 1,
    "max_level": 10,
    "initial_window": [1, 2],  # [lo, hi] for every type, or {type: [lo, hi]}
    "step_size": 1,  # levels per move; the window keeps its width
    "lag_steps": None,  # None: the smallest lag the train loader's prefetch allows
    # None: off.  In the band, above this share of flat groups: try the next level up (see above)
    "max_flat_share": None,
}
# Early-draw records kept: far more slots than any loader has in flight.
_MAX_EARLY_RECORDS = 4096


class CurriculumConfigError(ValueError):
    pass


class CurriculumItem(NamedTuple):
    """What the curriculum sampler yields for one prompt: dataset index and its type's level window."""

    index: int
    task_type: str
    level_lo: int
    level_hi: int


def _int(raw: dict, key: str, minimum: int) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise CurriculumConfigError(f"curriculum.{key} must be an integer >= {minimum}, got {value!r}")
    return value


def _window(value: Any, what: str) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise CurriculumConfigError(f"curriculum.{what} must be [lo, hi] levels, got {value!r}")
    lo, hi = value
    if lo > hi or lo not in LEVELS or hi not in LEVELS:
        raise CurriculumConfigError(f"curriculum.{what} must be levels 1..10 with lo <= hi, got {value!r}")
    return lo, hi


@dataclasses.dataclass(frozen=True)
class CurriculumConfig:
    enable: bool
    band: tuple[float, float]
    window_steps: int
    min_samples: int
    cooldown_steps: int
    min_level: int
    max_level: int
    initial_window: Any  # (lo, hi) or {type: (lo, hi)}
    step_size: int
    lag_steps: int | None
    max_flat_share: float | None = None

    @classmethod
    def from_mapping(cls, raw: Any) -> "CurriculumConfig":
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise CurriculumConfigError(f"curriculum must be a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(DEFAULTS))
        if unknown:
            raise CurriculumConfigError(f"curriculum: unknown keys {unknown}; known: {sorted(DEFAULTS)}")
        raw = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None or k in ("lag_steps", "max_flat_share")}}
        if not isinstance(raw["enable"], bool):
            raise CurriculumConfigError(f"curriculum.enable must be true or false, got {raw['enable']!r}")
        band = raw["band"]
        try:
            band = tuple(float(b) for b in band)
        except (TypeError, ValueError):
            band = ()
        if len(band) != 2 or not 0.0 <= band[0] <= band[1] <= 1.0:
            raise CurriculumConfigError(f"curriculum.band must be [lo, hi] with 0 <= lo <= hi <= 1, got {raw['band']!r}")
        min_level, max_level = _window([raw["min_level"], raw["max_level"]], "min_level/max_level")
        initial = raw["initial_window"]
        if isinstance(initial, Mapping):
            initial = {str(t): _window(w, f"initial_window.{t}") for t, w in initial.items()}
            windows = list(initial.values())
        else:
            initial = _window(initial, "initial_window")
            windows = [initial]
        for lo, hi in windows:
            if lo < min_level or hi > max_level:
                raise CurriculumConfigError(
                    f"curriculum.initial_window {[lo, hi]} is outside min_level..max_level {min_level}..{max_level}"
                )
        lag = raw["lag_steps"]
        if lag is not None and (isinstance(lag, bool) or not isinstance(lag, int) or lag < 0):
            raise CurriculumConfigError(f"curriculum.lag_steps must be null or an integer >= 0, got {lag!r}")
        flat = raw["max_flat_share"]
        if flat is not None:
            if isinstance(flat, bool) or not isinstance(flat, (int, float)) or not 0.0 <= flat < 1.0:
                raise CurriculumConfigError(f"curriculum.max_flat_share must be null or a share in [0, 1), got {flat!r}")
            flat = float(flat)
        return cls(
            enable=raw["enable"],
            band=band,
            window_steps=_int(raw, "window_steps", 1),
            min_samples=_int(raw, "min_samples", 1),
            cooldown_steps=_int(raw, "cooldown_steps", 0),
            min_level=min_level,
            max_level=max_level,
            initial_window=initial,
            step_size=_int(raw, "step_size", 1),
            lag_steps=lag,
            max_flat_share=flat,
        )

    def initial_window_of(self, task_type: str) -> tuple[int, int]:
        if isinstance(self.initial_window, dict):
            return self.initial_window.get(task_type, (self.min_level, self.min_level))
        return self.initial_window

    def check_types(self, task_types: Iterable[str]) -> None:
        if isinstance(self.initial_window, dict):
            extra = sorted(set(self.initial_window) - set(task_types))
            if extra:
                raise CurriculumConfigError(f"curriculum.initial_window names types not in task_types: {extra}")


def prefetch_lag_steps(num_workers: int, prefetch_factor: int | None, batch_size: int, items_per_step: int) -> int:
    """The smallest lag_steps for which no slot is drawn before its update: the loader has at most
    ``num_workers * prefetch_factor`` batches of ``batch_size`` drawn ahead of the one in use."""
    if num_workers <= 0:
        return 0
    ahead = num_workers * (prefetch_factor or 2) * batch_size
    return math.ceil(ahead / max(1, items_per_step))


@dataclasses.dataclass
class _TypeState:
    lo: int
    hi: int
    history: list  # [responses, correct, groups, flat groups] per recent step, since the last move
    cooldown: int = 0
    held_at: str = ""  # "min"/"max" while accuracy asks for a move past that limit
    flat_seen: dict = dataclasses.field(default_factory=dict)  # window lo -> flat share last measured there
    probe_from: int | None = None  # window lo the type left to try this one (max_flat_share)


class LevelController:
    """Per-type level windows moved by training accuracy; see the module docstring."""

    def __init__(self, config: CurriculumConfig, task_types: Iterable[str], lag_steps: int = 0):
        self.config = config
        self.task_types = tuple(task_types)
        config.check_types(self.task_types)
        self.lag_steps = int(lag_steps)
        self.last_step = 0  # the last training step observed
        self.states = {t: _TypeState(*config.initial_window_of(t), history=[]) for t in self.task_types}
        # (step, windows after it): one entry per step that moved a window, first the initial ones
        self.changes: list[tuple[int, dict[str, tuple[int, int]]]] = [(0, self.windows())]
        self.early_slots: dict[int, int] = {}  # slot -> step whose windows it was served (early draws)
        self.early_draws = 0

    def windows(self) -> dict[str, tuple[int, int]]:
        return {t: (s.lo, s.hi) for t, s in self.states.items()}

    def windows_after(self, step: int) -> dict[str, tuple[int, int]]:
        for changed_at, windows in reversed(self.changes):
            if changed_at <= step:
                return windows
        return self.changes[0][1]

    def windows_for_slot(self, slot: int) -> dict[str, tuple[int, int]]:
        """The windows served to sampler slot ``slot`` (see the module docstring)."""
        if slot in self.early_slots:
            return self.windows_after(self.early_slots[slot])
        step = slot - self.lag_steps
        if step <= self.last_step:
            return self.windows_after(max(step, 0))
        # drawn before step `step` is trained: the newest windows, recorded for a resumed run
        if self.early_draws == 0:
            logger.warning(
                "curriculum: slot %d drawn before step %d's update (lag_steps=%d is less than the loader's "
                "prefetch): serving the windows after step %d; the served levels now depend on num_workers",
                slot, step, self.lag_steps, self.last_step,
            )
        self.early_draws += 1
        self.early_slots[slot] = self.last_step
        if len(self.early_slots) > _MAX_EARLY_RECORDS:
            for old in sorted(self.early_slots)[: len(self.early_slots) - _MAX_EARLY_RECORDS]:
                del self.early_slots[old]
        return self.windows_after(self.last_step)

    def observe(self, step: int, rows: Iterable[tuple]) -> dict[str, float]:
        """Take training step ``step``'s responses as (task type, level served, accuracy[, group])
        and move windows; returns the step's ``curriculum/...`` metrics.  ``group`` (verl's ``uid``:
        the responses of one prompt) is what ``max_flat_share`` counts; rows without one join no
        group.  Rows of other types, with a level outside the type's current window (served before
        its last move) or without a numeric accuracy are left out.  A step not after the last
        observed one changes nothing."""
        if step <= self.last_step:
            logger.warning("curriculum: step %d observed again (last %d); ignored", step, self.last_step)
            return {}
        counts = {t: [0, 0.0] for t in self.task_types}
        groups: dict[tuple, list[float]] = {}  # (type, group) -> accuracies
        for row in rows:
            task_type, level, acc = row[:3]
            state = self.states.get(task_type)
            try:
                level, acc = int(level), float(acc)
            except (TypeError, ValueError, OverflowError):
                continue
            if state is None or not state.lo <= level <= state.hi or not math.isfinite(acc):
                continue
            counts[task_type][0] += 1
            counts[task_type][1] += acc
            group = row[3] if len(row) > 3 else None
            try:
                if group is not None:
                    groups.setdefault((task_type, group), []).append(acc)
            except TypeError:  # an unhashable group id joins no group
                pass
        flat = {t: [0, 0] for t in self.task_types}  # [groups of 2 or more, flat ones]
        for (task_type, _), accs in groups.items():
            if len(accs) > 1:
                flat[task_type][0] += 1
                flat[task_type][1] += len(set(accs)) == 1
        cfg = self.config
        metrics: dict[str, float] = {}
        moved = False
        for task_type, state in self.states.items():
            state.history.append(counts[task_type] + flat[task_type])
            del state.history[: -cfg.window_steps]
            responses = sum(h[0] for h in state.history)
            accuracy = sum(h[1] for h in state.history) / responses if responses else math.nan
            n_groups = sum(h[2] for h in state.history)
            flat_share = sum(h[3] for h in state.history) / n_groups if n_groups else math.nan
            move, reason = 0, ""
            if state.cooldown > 0:
                state.cooldown -= 1
            elif responses >= cfg.min_samples:
                if accuracy > cfg.band[1]:
                    move = min(cfg.step_size, cfg.max_level - state.hi)
                    limit = "max"
                elif accuracy < cfg.band[0]:
                    move = -min(cfg.step_size, state.lo - cfg.min_level)
                    limit = "min"
                else:
                    limit = ""
                    if cfg.max_flat_share is not None and n_groups:
                        move, reason = self._flat_move(state, flat_share)
                if limit and move == 0:
                    if state.held_at != limit:
                        logger.info(
                            "curriculum: %s stays at levels %d-%d (%s_level): accuracy %.3f over %d responses "
                            "is %s the band %s", task_type, state.lo, state.hi, limit, accuracy, responses,
                            "above" if limit == "max" else "below", list(cfg.band),
                        )
                    state.held_at = limit
                else:
                    state.held_at = ""
                if n_groups:  # what this window's groups looked like, for later probes (max_flat_share)
                    state.flat_seen[state.lo] = flat_share
                if limit:
                    state.probe_from = None
            if move:
                old = (state.lo, state.hi)
                state.lo += move
                state.hi += move
                state.history = []
                state.cooldown = cfg.cooldown_steps
                moved = True
                why = (f"{reason}: {flat_share:.3f} of {n_groups} groups flat, accuracy {accuracy:.3f}" if reason
                       else f"accuracy {accuracy:.3f} over {responses} responses, band {list(cfg.band)}")
                logger.info("curriculum: step %d: %s levels %d-%d -> %d-%d (%s); served from step %d",
                            step, task_type, *old, state.lo, state.hi, why, step + 1 + self.lag_steps)
            key = f"{METRIC_PREFIX}/{task_type}/"
            metrics[key + "level_lo"] = float(state.lo)
            metrics[key + "level_hi"] = float(state.hi)
            metrics[key + "move"] = float(move)
            metrics[key + "held_at_limit"] = float(bool(state.held_at))
            metrics[key + "window_responses"] = float(responses)
            if not math.isnan(accuracy):
                metrics[key + "window_accuracy"] = accuracy
            if cfg.max_flat_share is not None:
                metrics[key + "flat_move"] = float(move if reason else 0)
                if not math.isnan(flat_share):
                    metrics[key + "window_flat_share"] = flat_share
        self.last_step = step
        if moved:
            self.changes.append((step, self.windows()))
        metrics[f"{METRIC_PREFIX}/early_draws"] = float(self.early_draws)
        return metrics

    def _flat_move(self, state: _TypeState, share: float) -> tuple[int, str]:
        """In the band with ``max_flat_share`` on: (levels to move, why) by the window's flat share."""
        cfg = self.config
        if state.probe_from is not None:  # trying this window: keep it only if it is less flat
            origin, state.probe_from = state.probe_from, None
            before = state.flat_seen.get(origin)
            if before is not None and share >= before:
                return origin - state.lo, f"back: no fewer flat groups than at level {origin} ({before:.3f})"
            return 0, ""
        step = min(cfg.step_size, cfg.max_level - state.hi)
        above = state.flat_seen.get(state.lo + step)
        if share > cfg.max_flat_share and step and (above is None or above < share):
            state.probe_from = state.lo
            return step, f"trying the level above, max_flat_share {cfg.max_flat_share}"
        return 0, ""

    # ------------------------------------------------------------ checkpoint

    def state_dict(self) -> dict:
        return {
            "version": 2,
            "last_step": self.last_step,
            "lag_steps": self.lag_steps,
            "states": {t: dataclasses.asdict(s) for t, s in self.states.items()},
            "changes": [[step, {t: list(w) for t, w in windows.items()}] for step, windows in self.changes],
            "early_slots": dict(self.early_slots),
            "early_draws": self.early_draws,
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("version") not in (1, 2):  # 1: before max_flat_share, [responses, correct] a step
            raise ValueError(f"unknown curriculum state version {state.get('version')!r}")
        if sorted(state["states"]) != sorted(self.task_types):
            raise ValueError(f"checkpoint has curriculum types {sorted(state['states'])}, this run {sorted(self.task_types)}")
        if state["lag_steps"] != self.lag_steps:
            logger.warning("curriculum: checkpoint lag_steps %s, this run %s: the served levels differ from an "
                           "uninterrupted run", state["lag_steps"], self.lag_steps)
        self.last_step = int(state["last_step"])
        self.states = {t: _TypeState(**{
            **s, "history": [[*h, 0, 0][:4] for h in s["history"]],
            "flat_seen": {int(lo): float(v) for lo, v in s.get("flat_seen", {}).items()},
        }) for t, s in state["states"].items()}
        self.changes = [(int(step), {t: tuple(w) for t, w in windows.items()}) for step, windows in state["changes"]]
        self.early_slots = {int(k): int(v) for k, v in state["early_slots"].items()}
        self.early_draws = int(state["early_draws"])


class CurriculumSampler:
    """Main-process sampler: the base sampler's indices as :class:`CurriculumItem` with the
    controller's window for the item's slot.  Yields whole batches only (``len(base) //
    batch_size * batch_size`` items an epoch) so positions never include items the loader drops.

    ``state_dict`` (the run-wide position) and its iterator's (the base iterator's state and the
    items of this epoch) are what torchdata snapshots when it draws a batch."""

    def __init__(self, base, task_type_of: Callable[[int], str], controller: LevelController,
                 items_per_step: int, batch_size: int):
        self.base = base
        self.task_type_of = task_type_of
        self.controller = controller
        self.items_per_step = int(items_per_step)
        self.items_per_epoch = len(base) // batch_size * batch_size
        self.position = 0  # items yielded in the run

    def __len__(self) -> int:
        return self.items_per_epoch

    def __iter__(self) -> Iterator[CurriculumItem]:
        return _CurriculumSamplerIterator(self)

    def item(self, index: int) -> CurriculumItem:
        index = int(index)
        task_type = self.task_type_of(index)
        windows = self.controller.windows_for_slot(self.position // self.items_per_step)
        lo, hi = windows[task_type]
        self.position += 1
        return CurriculumItem(index, task_type, lo, hi)

    def state_dict(self) -> dict:
        return {"position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.position = int(state["position"])


class _CurriculumSamplerIterator:
    # The base iterator is made at the first item, not here: torch's multi-worker loader makes
    # and drops one sampler iterator before the one it uses, and a RandomSampler iterator draws
    # its permutation when made; lazily, the order is the same for every num_workers.
    def __init__(self, sampler: CurriculumSampler):
        self.sampler = sampler
        self.base_iter = None
        self.yielded = 0

    def __iter__(self):
        return self

    def __next__(self) -> CurriculumItem:
        if self.yielded >= self.sampler.items_per_epoch:
            raise StopIteration
        if self.base_iter is None:
            self.base_iter = iter(self.sampler.base)
        index = next(self.base_iter)
        self.yielded += 1
        return self.sampler.item(index)

    def state_dict(self) -> dict:
        base_state = getattr(self.base_iter, "state_dict", lambda: None)()
        return {"yielded": self.yielded, "base": base_state}

    def load_state_dict(self, state: dict) -> None:
        if "base" not in state:  # a checkpoint of verl's own sampler: its iterator's state
            state = {"yielded": state.get("yielded", 0), "base": state}
        self.yielded = int(state["yielded"])
        if state["base"] is None and self.yielded == 0:
            self.base_iter = None  # nothing drawn yet: as fresh
            return
        self.base_iter = iter(self.sampler.base)
        if state["base"] is not None and hasattr(self.base_iter, "load_state_dict"):
            self.base_iter.load_state_dict(state["base"])
        else:  # a sampler without state (SequentialSampler): skip what was yielded
            for _ in range(self.yielded):
                next(self.base_iter)
