"""Which tasks to serve: one :class:`Selection` maps an index ``i`` to a task for every front end.

``veritas generate``, the dynamic dataset, ``veritas eval`` and ``veritas bench`` each describe
their tasks as a Selection (types, weights, level windows, language, split, seed) and ask it for
task ``i``.  The three orders are the front ends' published, pinned mappings (see
tests/test_golden.py), not three ways to do one thing:

* ``round_robin`` (``veritas generate``): row ``i`` is type ``types[g % T]`` with seed
  ``split start + g // T``, where ``g = offset + i``; rows of a run are a contiguous block of
  tasks, and a resumed run can find a task's row (:meth:`Selection.index_of`).
* ``per_type`` (``veritas eval``, ``veritas bench``): ``per_type`` tasks of the first type, then
  of the next; task ``j`` of a type has seed ``split start + (offset + j) mod split size``.
* ``weighted`` (the dynamic dataset): the type is drawn by ``weights`` from a hash of
  (seed, split, i); the task seed is a fixed permutation of ``i`` inside the split, so no two
  indices share a task and every process sees the same task at the same index.

Levels: ``levels`` is one window ``(lo, hi)`` for every type, ``levels_by_type`` overrides it per
type (a curriculum moves these), and no window means the registry's default level mix.  Inside
a window, ``round_robin`` and ``per_type`` cycle through the levels by seed (the level depends on
the task alone); ``weighted`` draws it from the index's hash.  Language: None is the registry's
per-type mix; a language a type lacks falls back to the type's first (``registry.language_for``).

A Selection is a frozen dataclass of plain values: cheap to make, picklable to worker processes;
new windows are ``dataclasses.replace(selection, levels_by_type={...})`` (the tasks at other
indices and of other types stay as they were).
"""
from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from veritas.envs.base import LEVELS, Task
from veritas.envs.lgc_v2 import registry

ORDERS = ("round_robin", "per_type", "weighted")
# `veritas eval --seed S` starts each type at seed offset S x EVAL_SEED_STRIDE of its split, so that
# evaluations with different seeds share no task (the recipe's mine stage relies on it too)
EVAL_SEED_STRIDE = 1_000_003
LevelWindow = tuple[int, int]


class SelectionError(ValueError):
    """Settings that select no valid task (unknown type, bad level window, bad weights...)."""


def parse_level_range(value: Any) -> LevelWindow | None:
    """A level window from what a user writes: ``5`` or ``"5"`` -> (5, 5), ``"3-7"`` or
    ``[3, 7]`` -> (3, 7); None, ``""``, ``"mix"`` and ``"default"`` -> None (the registry's
    mix).  SelectionError for anything else, for levels outside 1..10 and for lo > hi."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "mix", "default")):
        return None
    if isinstance(value, bool):
        raise SelectionError(f"a level must be an integer 1..10, got {value!r}")
    if isinstance(value, int):
        bounds = [value, value]
    elif isinstance(value, str):
        parts = value.strip().split("-")
        if len(parts) > 2 or not all(p.strip().isdigit() for p in parts):
            raise SelectionError(f"levels must be a level like 5 or a range like 3-7, got {value!r}")
        bounds = [int(parts[0]), int(parts[-1])]
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        bounds = list(value)
    else:
        raise SelectionError(f"levels must be a level like 5 or a range like 3-7 or [3, 7], got {value!r}")
    for b in bounds:
        if isinstance(b, bool) or not isinstance(b, int) or b not in LEVELS:
            raise SelectionError(f"levels must be integers 1..10, got {value!r}")
    lo, hi = bounds
    if lo > hi:
        raise SelectionError(f"level range {lo}-{hi} has lo > hi")
    return lo, hi


def _set(obj: object, name: str, value: Any) -> None:
    """Set a field of a frozen dataclass: only its __post_init__ does, for derived fields."""
    object.__setattr__(obj, name, value)


def _u64(key: str) -> tuple[int, int]:
    h = hashlib.blake2b(key.encode(), digest_size=16).digest()
    return int.from_bytes(h[:8], "big"), int.from_bytes(h[8:], "big")


@dataclass(frozen=True)
class Selection:
    types: tuple[str, ...]
    order: str = "round_robin"
    split: str = "train"
    seed: int = 0  # weighted: which hash and permutation
    offset: int = 0  # round_robin: row 0's position g; per_type: seed offset inside the split
    per_type: int = 0  # per_type: tasks of each type
    weights: tuple[float, ...] | None = None  # weighted: aligned with types; None = equal
    levels: LevelWindow | None = None  # every type's window; None = the registry's mix
    levels_by_type: Mapping[str, LevelWindow] = field(default_factory=dict)  # per-type windows
    language: str | None = None  # None = the registry's per-type mix
    # derived in __post_init__
    _seed_lo: int = field(init=False, repr=False, compare=False)
    _seed_span: int = field(init=False, repr=False, compare=False)
    _cumulative: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _perm: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.types or len(set(self.types)) != len(self.types):
            raise SelectionError(f"task types must be a non-empty list without duplicates, got {list(self.types)}")
        known = registry.task_types()
        unknown = [t for t in self.types if t not in known]
        if unknown:
            raise SelectionError(f"unknown task type {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
        if self.order not in ORDERS:
            raise SelectionError(f"order must be one of {ORDERS}, got {self.order!r}")
        if self.per_type < 0:
            raise SelectionError(f"per_type must be >= 0, got {self.per_type}")
        lo, hi = registry.split_seed_range(self.split)
        _set(self, "_seed_lo", lo)
        _set(self, "_seed_span", hi - lo)
        if self.levels is not None:
            _set(self, "levels", parse_level_range(self.levels))
        extra = sorted(set(self.levels_by_type) - set(self.types))
        if extra:
            raise SelectionError(f"levels_by_type names types not selected: {extra}")
        _set(self, "levels_by_type", {t: parse_level_range(w) for t, w in self.levels_by_type.items()})
        if self.language is not None and self.language not in ("en", "zh"):
            raise SelectionError(f"language must be en or zh, got {self.language!r}")
        weights = self.weights if self.weights is not None else (1.0,) * len(self.types)
        if len(weights) != len(self.types):
            raise SelectionError(f"{len(weights)} weights for {len(self.types)} task types {list(self.types)}")
        if any(not (w >= 0 and w != float("inf")) for w in weights) or sum(weights) <= 0:
            raise SelectionError(f"weights must be finite, >= 0 and not all 0: {list(weights)}")
        total, acc, cumulative = sum(weights), 0.0, []
        for w in weights:
            acc += w / total
            cumulative.append(acc)
        cumulative[-1] = 1.0
        _set(self, "_cumulative", tuple(cumulative))
        _set(self, "_perm", self._permutation() if self.order == "weighted" else (1, 0))

    def _permutation(self) -> tuple[int, int]:
        # i -> (a*i + b) mod span is a bijection when gcd(a, span) == 1: distinct indices get
        # distinct seeds.  The registry hashes (type, seed), so the regular spacing of seeds does
        # not show in the tasks.
        span = self._seed_span
        ha, hb = _u64(f"lgc-v2-dynamic/perm/{self.seed}/{self.split}")
        a = ha % span or 1
        while math.gcd(a, span) != 1:
            a = a + 1 if a + 1 < span else 1
        return a, hb % span

    def window(self, task_type: str) -> LevelWindow | None:
        """The level window of ``task_type``: its own, else the common one, else None (the mix)."""
        return self.levels_by_type.get(task_type, self.levels)

    def locate(self, i: int) -> tuple[str, int, int | None]:
        """Index -> (task type, seed, level or None for the registry's default)."""
        if self.order == "round_robin":
            g = self.offset + i
            task_type, seed = self.types[g % len(self.types)], self._seed_lo + g // len(self.types)
            return task_type, seed, self._cycled_level(task_type, seed)
        if self.order == "per_type":
            k, j = divmod(i, self.per_type)
            task_type, seed = self.types[k], self._seed_lo + (self.offset + j) % self._seed_span
            return task_type, seed, self._cycled_level(task_type, seed)
        u_type, u_level = _u64(f"lgc-v2-dynamic/{self.seed}/{self.split}/{i}")
        k = min(bisect.bisect_right(self._cumulative, u_type / 18446744073709551616.0), len(self.types) - 1)
        task_type = self.types[k]
        a, b = self._perm
        seed = self._seed_lo + (a * i + b) % self._seed_span
        window = self.window(task_type)
        return task_type, seed, None if window is None else window[0] + u_level % (window[1] - window[0] + 1)

    def _cycled_level(self, task_type: str, seed: int) -> int | None:
        window = self.window(task_type)
        return None if window is None else window[0] + seed % (window[1] - window[0] + 1)

    def language_of(self, task_type: str) -> str | None:
        return registry.language_for(task_type, self.language)

    def task(self, i: int) -> Task:
        task_type, seed, level = self.locate(i)
        return registry.generate_by_type(task_type, seed, level, self.language_of(task_type))

    def __len__(self) -> int:
        """per_type: how many tasks it selects; the other orders have no end of their own."""
        if self.order != "per_type":
            raise TypeError(f"a {self.order} selection has no length of its own")
        return self.per_type * len(self.types)

    def index_of(self, task_type: str, seed: int) -> int | None:
        """round_robin: (task type, seed) -> its index, or None when no index >= 0 has it."""
        if self.order != "round_robin":
            raise TypeError("index_of is defined for round_robin selections only")
        if task_type not in self.types or not 0 <= seed - self._seed_lo < self._seed_span:
            return None
        i = (seed - self._seed_lo) * len(self.types) + self.types.index(task_type) - self.offset
        return i if i >= 0 else None
