"""The tasks an evaluation got wrong (or right), as rows of any dataset format:
``veritas generate --tasks-from RUN [--verdict wrong] [--right-per-wrong R]`` (R > 0: the wrong tasks, then
R times as many of those it got right); and the settings of the recipe's mine stage
(``data.lgc_v2.mine`` in a GRPO run config).

A ``veritas eval`` results folder (``results.json`` and ``samples.jsonl`` or ``samples.jsonl.gz``)
names each task it judged by task id, level and language.  :func:`tasks_from_run` reads the
verdicts and returns a :class:`TaskList` of the chosen tasks, which ``veritas generate`` serves
in place of its usual round-robin :class:`~veritas.envs.lgc_v2.selection.Selection`: every task
is generated again by the registry from (type, seed, level, language), never copied from the
samples file, and its prompt must equal the one the evaluation judged (a changed generator, or an
edited file, is refused rather than mined).

Only greedy runs are mined (one sample a task at temperature 0): "the model gets it wrong" is
then one verdict, the one greedy evaluations report.  The run's split is the rows' split; the
test split, held out from every training path, is mined only when ``--split test`` says so.
"""
from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from veritas.envs.base import Task
from veritas.envs.lgc_v2 import registry
from veritas.envs.lgc_v2.selection import EVAL_SEED_STRIDE, SelectionError, parse_level_range

VERDICTS = ("wrong", "right")


class MineError(ValueError):
    """A run that cannot be mined, or mine settings that are not valid."""


# ---------------------------------------------------------------- data.lgc_v2.mine

@dataclass(frozen=True)
class MineSpec:
    """``data.lgc_v2.mine``: which tasks the recipe's mine stage judges greedily with the SFT model
    (``tasks_per_type`` of each trained type of ``split``, levels cycled through ``levels``, from
    eval's seed offset ``seed``) before GRPO trains on the ones it gets wrong, and, with
    ``right_per_wrong`` R > 0, on ``round(R x wrong)`` of the ones it gets right besides (an anchor:
    see :func:`tasks_from_run`)."""

    split: str
    levels: tuple[int, int]
    tasks_per_type: int
    seed: int = 1
    right_per_wrong: float = 0.0

    KEYS = ("split", "levels", "tasks_per_type", "seed", "right_per_wrong")

    @classmethod
    def from_mapping(cls, raw: Any, where: str = "data.lgc_v2.mine") -> "MineSpec | None":
        """The validated settings; None when ``raw`` is None (no mining)."""
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise MineError(f"{where} must be a mapping ({', '.join(cls.KEYS)}), got {raw!r}")
        unknown = sorted(set(raw) - set(cls.KEYS))
        missing = [k for k in cls.KEYS[:3] if raw.get(k) is None]
        if unknown or missing:
            raise MineError(f"{where}: {'unknown keys ' + str(unknown) if unknown else 'missing ' + str(missing)}; "
                            f"keys: {', '.join(cls.KEYS)} (seed optional, default 1; right_per_wrong optional, default 0)")
        split = raw["split"]
        if split not in registry.SPLITS:
            raise MineError(f"{where}.split: unknown split {split!r}; known: {', '.join(registry.SPLITS)}")
        if split == "test":
            raise MineError(f"{where}.split: test is the held-out split every evaluation judges; "
                            "training rows must not come from it (train or val)")
        try:
            levels = parse_level_range(raw["levels"])
        except SelectionError as exc:
            raise MineError(f"{where}.levels: {exc}") from None
        if levels is None:
            raise MineError(f"{where}.levels: name the levels, e.g. [3, 5]")
        count, seed = raw["tasks_per_type"], raw.get("seed", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
            raise MineError(f"{where}.tasks_per_type must be a positive integer, got {count!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise MineError(f"{where}.seed must be an integer >= 0 (eval's --seed), got {seed!r}")
        try:
            right_per_wrong = check_right_per_wrong(raw.get("right_per_wrong", 0))
        except MineError as exc:
            raise MineError(f"{where}.right_per_wrong {exc}") from None
        spec = cls(split, levels, count, seed, right_per_wrong)
        lo, hi = registry.split_seed_range(split)
        if spec.first_seed() + count > hi - lo:  # eval's selection would wrap to the split's first seeds
            raise MineError(f"{where}: seed {seed} x {EVAL_SEED_STRIDE:,} + {count} tasks runs past the {split} "
                            f"split's {hi - lo:,} seeds and would wrap onto its first ones (the SFT data's); "
                            "lower seed")
        return spec

    def first_seed(self) -> int:
        """The lowest task seed of the judged tasks, relative to the split's start."""
        return self.seed * EVAL_SEED_STRIDE

    def line(self) -> str:
        """``SPLIT LO-HI TASKS_PER_TYPE SEED FIRST_SEED RIGHT_PER_WRONG``: what the recipe reads (compose
        --mine); RIGHT_PER_WRONG last (``0`` when unset), as ``veritas generate --right-per-wrong`` takes it."""
        return (f"{self.split} {self.levels[0]}-{self.levels[1]} {self.tasks_per_type} {self.seed} {self.first_seed()} "
                f"{_number(self.right_per_wrong)}")


def _number(value: float) -> str:
    """1.0 as ``1``, 0.5 as ``0.5``: a float that reads back exactly (bash tests ``0`` as unset)."""
    return str(int(value)) if value.is_integer() else repr(value)


def check_right_per_wrong(value: Any) -> float:
    """``value`` as a finite number >= 0; a :class:`MineError` saying what is wrong with it (its
    message starts with "must", for the caller to prefix with the setting's name)."""
    if isinstance(value, bool):
        raise MineError(f"must be a number >= 0 (right tasks replayed per wrong one), not a bool ({value!r})")
    if not isinstance(value, (int, float)):
        raise MineError(f"must be a number >= 0 (right tasks replayed per wrong one), got {value!r}")
    if not math.isfinite(value):
        raise MineError(f"must be a finite number >= 0, got {value!r}")
    if value < 0:
        raise MineError(f"must be >= 0 (0: only the wrong tasks), got {value!r}")
    return float(value)


# ---------------------------------------------------------------- a list of tasks

@dataclass(frozen=True)
class TaskList:
    """Given tasks as ``veritas generate``'s plan asks them of a Selection: ``locate``, ``task``,
    ``index_of``, ``types``, ``split``.  Entries are (task type, seed, level, language)."""

    entries: tuple[tuple[str, int, int, str], ...]
    split: str
    types: tuple[str, ...] = field(init=False)
    _index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        present = {entry[0] for entry in self.entries}
        object.__setattr__(self, "types", tuple(t for t in registry.task_types() if t in present))
        index = {(t, s): i for i, (t, s, _, _) in enumerate(self.entries)}
        if len(index) != len(self.entries):
            raise MineError("a task is listed twice")
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.entries)

    def locate(self, i: int) -> tuple[str, int, int]:
        task_type, seed, level, _ = self.entries[i]
        return task_type, seed, level

    def task(self, i: int) -> Task:
        task_type, seed, level, language = self.entries[i]
        return registry.generate_by_type(task_type, seed, level, language)

    def index_of(self, task_type: str, seed: int) -> int | None:
        return self._index.get((task_type, seed))


# ---------------------------------------------------------------- reading a run

@dataclass(frozen=True)
class Mined:
    tasks: TaskList
    settings: dict  # the run's settings (results.json)
    judged: Counter  # tasks judged per type
    chosen: Counter  # tasks of the verdict asked for, per type
    replayed: int = 0  # right tasks after them (right_per_wrong > 0)
    replay_wanted: int = 0  # round(right_per_wrong x wrong): more than ``replayed`` when the run had too few right


_ROW_FIELDS = {"task_id": int, "task_type": str, "difficulty": int, "language": str, "prompt": str, "correct": bool}


def replay_count(right_per_wrong: float, wrong: int, right: int) -> tuple[int, int]:
    """(right tasks to replay after ``wrong`` wrong ones, how many were wanted): ``round(right_per_wrong
    x wrong)`` (Python's round: halves to even), capped at the ``right`` the run judged right."""
    wanted = round(right_per_wrong * wrong)
    return min(wanted, right), wanted


def in_turn(entries: list, count: int) -> list:
    """``count`` of ``entries`` (``((task_type, ...), ...)`` pairs), one of each type in turn, the
    types in the order they first appear and each type's entries in their own order; a type with
    none left is passed over."""
    by_type: dict[str, list] = {}
    for entry in entries:
        by_type.setdefault(entry[0][0], []).append(entry)
    rounds = itertools.zip_longest(*by_type.values())  # one entry of each type a round, None when it has run out
    return list(itertools.islice((entry for round_ in rounds for entry in round_ if entry is not None), count))


def tasks_from_run(run: Path, verdict: str = "wrong", right_per_wrong: float = 0.0) -> Mined:
    """The tasks a greedy ``veritas eval`` run judged ``verdict``, in the run's order.

    With ``right_per_wrong`` R > 0 (``verdict`` wrong only), the wrong tasks are followed by
    :func:`replay_count` tasks the run judged right, taken in turn from each type (:func:`in_turn`;
    within a type in the run's order): an evaluation lists its tasks type by type, so its first right
    tasks would all be of its first types."""
    from veritas.evaluation.compare import CompareError, find_samples, read_rows, run_folder

    if verdict not in VERDICTS:
        raise MineError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    try:
        right_per_wrong = check_right_per_wrong(right_per_wrong)
    except MineError as exc:
        raise MineError(f"right_per_wrong {exc}") from None
    if right_per_wrong and verdict != "wrong":
        raise MineError(f"right_per_wrong replays right tasks after wrong ones: it needs verdict wrong, not {verdict!r}")
    folder = run_folder(Path(run))
    results = folder / "results.json"
    try:
        settings = json.loads(results.read_text(encoding="utf-8"))["settings"]
        samples, temperature, split = settings["samples"], settings["temperature"], settings["split"]
    except FileNotFoundError:
        raise MineError(f"{results} does not exist: not a finished veritas eval run") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise MineError(f"{results}: no settings with samples, temperature and split ({type(exc).__name__}: {exc}); "
                        "was it written by veritas eval?") from None
    if samples != 1 or temperature != 0:
        raise MineError(f"{results}: a sampled run ({samples} samples a task at temperature {temperature}); only a "
                        "greedy run (--samples 1 --temperature 0) says which tasks the model gets wrong")
    if split not in registry.SPLITS:
        raise MineError(f"{results}: unknown split {split!r}")
    try:
        path = find_samples(folder)
        rows = read_rows(path)
    except (CompareError, OSError) as exc:
        raise MineError(str(exc)) from None
    lo, hi = registry.split_seed_range(split)
    seen: set[int] = set()
    # per verdict (True: judged right), in the run's order: (entry, (where, prompt))
    by_verdict: dict[bool, list] = {False: [], True: []}
    judged, chosen = Counter(), Counter()
    for number, row in enumerate(rows, 1):
        where = f"{path}: row {number}"
        if not isinstance(row, dict) or any(not isinstance(row.get(k), t) or (t is int and isinstance(row.get(k), bool))
                                            for k, t in _ROW_FIELDS.items()):
            raise MineError(f"{where} is not a veritas eval sample (needs {', '.join(_ROW_FIELDS)} of the right types)")
        try:
            task_type, seed = registry.split_task_id(row["task_id"])
        except registry.TaskIdError as exc:
            raise MineError(f"{where}: {exc}") from None
        if task_type != row["task_type"]:
            raise MineError(f"{where}: task {row['task_id']} is a {task_type} task, the row says {row['task_type']}")
        if not lo <= seed < hi:
            raise MineError(f"{where}: task {row['task_id']} (seed {seed}) is not in the {split} split the run records")
        if row["task_id"] in seen:
            raise MineError(f"{where}: task {row['task_id']} is judged twice in a run of one sample a task")
        seen.add(row["task_id"])
        judged[task_type] += 1
        if row["correct"] is (verdict == "right"):
            chosen[task_type] += 1
        by_verdict[row["correct"]].append(((task_type, seed, row["difficulty"], row["language"]), (where, row["prompt"])))
    picked = by_verdict[verdict == "right"]
    if not picked:
        raise MineError(f"{path}: none of its {len(rows)} tasks was judged {verdict}: nothing to write")
    replayed, wanted = replay_count(right_per_wrong, len(picked), len(by_verdict[True])) if right_per_wrong else (0, 0)
    picked = picked + in_turn(by_verdict[True], replayed)
    tasks = TaskList(tuple(entry for entry, _ in picked), split)
    for i, (_, (where, prompt)) in enumerate(picked):
        try:
            task = tasks.task(i)
        except (ValueError, RuntimeError) as exc:
            raise MineError(f"{where}: the task cannot be generated again: {exc}") from None
        if task.prompt != prompt:
            raise MineError(f"{where}: task {task.task_id} generated now has another prompt than the one judged "
                            "(the generator changed since the evaluation, or the file was edited): not mined")
    return Mined(tasks, settings, judged, chosen, replayed, wanted)
