"""LGC-V2: the one place that maps task_id <-> (task type, seed) and dispatches to task modules.

task_id = type_id * 100_000_000 + seed.  ``dyck_language2`` owns type ids 4 and 5, so its seeds
run from 0 to 199,999,999.  Ids outside 0..899,999,999 are an error.
"""
from __future__ import annotations

import bisect
import hashlib
import importlib
import operator
import struct
from functools import lru_cache
from types import ModuleType
from typing import Callable, NamedTuple

from veritas.envs.base import Task, Verdict
from veritas.envs.extract import strip_think
from veritas.envs.rand import HashDraws, seeded_random

ENV_NAME = "lgc-v2"
ID_STRIDE = 100_000_000
MAX_TASK_ID = 9 * ID_STRIDE - 1

# type name -> first type id; the order is the public environment's.
TYPE_IDS: dict[str, int] = {
    "dyck_language": 0,
    "game_of_24": 1,
    "operation": 2,
    "cryptarithm": 3,
    "dyck_language2": 4,  # and 5
    "boolean_expressions": 6,
    "sudoku": 7,
    "dyck_language_reasoning_errors": 8,
}
TASK_TYPES: tuple[str, ...] = tuple(TYPE_IDS)
_SEEDS_PER_TYPE = {name: (2 if name == "dyck_language2" else 1) * ID_STRIDE for name in TYPE_IDS}

# Disjoint seed ranges per split, the same for every type: train and validation sets, the
# dynamic dataset and evaluation can never share a task.
SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 80_000_000),
    "val": (80_000_000, 90_000_000),
    "test": (90_000_000, 100_000_000),
}

LEVELS = range(1, 11)
# Default difficulty mix when none is asked for: mostly middle levels, some easy and hard.
DEFAULT_LEVEL_WEIGHTS = (4, 8, 10, 12, 12, 12, 12, 12, 10, 8)
_LEVEL_CUMULATIVE = [sum(DEFAULT_LEVEL_WEIGHTS[: i + 1]) / sum(DEFAULT_LEVEL_WEIGHTS) for i in range(10)]


class TaskIdError(ValueError):
    pass


@lru_cache(maxsize=None)
def task_module(task_type: str) -> ModuleType:
    if task_type not in TYPE_IDS:
        raise ValueError(f"unknown LGC-V2 task type {task_type!r}; known: {', '.join(TASK_TYPES)}")
    return importlib.import_module(f"veritas.envs.lgc_v2.{task_type}")


def split_task_id(task_id: int) -> tuple[str, int]:
    """task_id -> (task type, seed)."""
    if isinstance(task_id, bool) or not isinstance(task_id, int) or not 0 <= task_id <= MAX_TASK_ID:
        raise TaskIdError(f"task_id must be an integer in 0..{MAX_TASK_ID}, got {task_id!r}")
    type_id, seed = divmod(task_id, ID_STRIDE)
    if type_id == 5:
        return "dyck_language2", ID_STRIDE + seed
    for name, tid in TYPE_IDS.items():
        if tid == type_id:
            return name, seed
    raise AssertionError("unreachable")


def make_task_id(task_type: str, seed: int) -> int:
    """(task type, seed) -> task_id."""
    info = _type_info(task_type)
    return info.type_id * ID_STRIDE + _checked_seed(info, seed)


def split_seed_range(split: str) -> tuple[int, int]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return SPLITS[split]


class _TypeInfo(NamedTuple):
    """What generation needs of a type, looked up once per process instead of once per task."""

    module: ModuleType
    type_id: int
    n_seeds: int
    key_prefix: bytes  # b"lgc-v2/<type>/": a task's keys are this, the seed, then the purpose
    zh_share: float  # share of default "zh" prompts; 0 where the type has no "zh"
    random_source: Callable[[bytes], object]  # what the module's RANDOMNESS asks for, made from the key


_TYPE_INFO: dict[str, _TypeInfo] = {}


def _type_info(task_type: str) -> _TypeInfo:
    info = _TYPE_INFO.get(task_type)
    if info is None:
        mod = task_module(task_type)  # the error for an unknown type
        info = _TYPE_INFO[task_type] = _TypeInfo(
            mod, TYPE_IDS[task_type], _SEEDS_PER_TYPE[task_type], f"{ENV_NAME}/{task_type}/".encode(),
            mod.ZH_SHARE if "zh" in mod.LANGUAGES else 0.0, _source_kind(mod))
    return info


def _checked_seed(info: _TypeInfo, seed: int) -> int:
    try:
        if isinstance(seed, bool):
            raise TypeError
        seed = operator.index(seed)  # an int, numpy's included; never a float
    except TypeError:
        raise TaskIdError(f"seed must be an integer, got {seed!r}") from None
    if not 0 <= seed < info.n_seeds:
        raise TaskIdError(f"seed {seed!r} out of range for {info.module.NAME} (0..{info.n_seeds - 1})")
    return seed


# Keys, as UTF-8: "lgc-v2/<type>/<seed>/defaults" for the default level and language,
# "lgc-v2/<type>/<seed>/task/<level>/<language>" for everything the task draws.
_TWO_U64 = struct.Struct(">QQ").unpack


def _draws(info: _TypeInfo, seed: int) -> tuple[float, float]:
    """Two stable uniform draws in [0, 1): the default level's and the default language's.
    One hash for both; a hash is several times cheaper than seeding an RNG."""
    a, b = _TWO_U64(hashlib.blake2b(b"%s%d/defaults" % (info.key_prefix, seed), digest_size=16).digest())
    return a / 2**64, b / 2**64


def _level_from(u: float) -> int:
    return LEVELS[bisect.bisect_right(_LEVEL_CUMULATIVE, u)]


def default_level(task_type: str, seed: int) -> int:
    info = _type_info(task_type)
    return _level_from(_draws(info, _checked_seed(info, seed))[0])


def default_language(task_type: str, seed: int) -> str:
    info = _type_info(task_type)
    return "zh" if _draws(info, _checked_seed(info, seed))[1] < info.zh_share else "en"


def _source_kind(mod: ModuleType) -> Callable[[str | bytes], object]:
    return HashDraws if mod.RANDOMNESS == "draws" else seeded_random


def random_source(mod: ModuleType, key: str | bytes):
    """The task's random source: what the type module asks for with ``RANDOMNESS``."""
    return _source_kind(mod)(key)


def generate(task_id: int, difficulty: int | None = None, language: str | None = None) -> Task:
    task_type, seed = split_task_id(task_id)
    return generate_by_type(task_type, seed, difficulty, language)


def generate_by_type(task_type: str, seed: int, difficulty: int | None = None, language: str | None = None) -> Task:
    # The per-task path of every generation: kept to a few lookups (see veritas bench).
    info = _type_info(task_type)
    seed = _checked_seed(info, seed)
    if difficulty is None or language is None:
        u_level, u_language = _draws(info, seed)
    level = _level_from(u_level) if difficulty is None else int(difficulty)
    if level not in LEVELS:
        raise ValueError(f"difficulty must be 1..10, got {difficulty!r}")
    if language is None:
        lang = "zh" if u_language < info.zh_share else "en"
    elif language in info.module.LANGUAGES:
        lang = language
    else:
        raise ValueError(f"{task_type} supports languages {info.module.LANGUAGES}, not {language!r}")
    key = b"%s%d/task/%d/%s" % (info.key_prefix, seed, level, lang.encode())
    try:
        prompt, answer, meta = info.module.generate(info.random_source(key), level, lang)
    except StopIteration as exc:  # would end a caller's map() or loop silently
        raise RuntimeError(f"{task_type} level {level} used more random draws than it took") from exc
    # meta is a fresh dict from the module
    meta.setdefault("language", lang)
    meta.setdefault("difficulty", level)
    return Task(info.type_id * ID_STRIDE + seed, task_type, seed, level, lang, prompt, answer, meta)


def verify(task_type: str, response: str, metadata: dict) -> Verdict:
    """Judge a full model response.  Never raises; an unterminated <think> means no answer."""
    if not isinstance(response, str):
        return Verdict.bad_format(f"response is {type(response).__name__}, not str")
    answer_text = strip_think(response)
    if answer_text is None:
        return Verdict.bad_format("unterminated <think>: no answer")
    try:
        return task_module(task_type).verify(answer_text, metadata)
    except Exception as exc:  # a verifier bug must not crash training; tests assert this never happens
        return Verdict.bad_format(f"verifier error: {type(exc).__name__}")


def verify_task(task: Task, response: str) -> Verdict:
    return verify(task.task_type, response, task.metadata)


def worked_solution(task: Task) -> str | None:
    """A step-by-step solution ending in the required answer format, where the type has one."""
    fn = getattr(task_module(task.task_type), "worked_solution", None)
    return None if fn is None else fn(task.metadata, task.language)
