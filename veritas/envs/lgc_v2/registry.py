"""LGC-V2: the one place that maps task_id <-> (task type, seed) and dispatches to task modules.

The task types are the modules in ``TYPE_MODULES``; each exports ``TASK_TYPE`` (the contract in
``veritas.envs.base``).  task_id = id block * 100,000,000 + seed within the block; a type's
blocks come from its contract (``dyck_language2`` owns blocks 4 and 5, so its seeds run from 0
to 199,999,999).  The id range and the id -> type map are derived from ``TYPE_MODULES`` when
used, so adding a type is adding its module to that tuple; ids outside every block are an error.
"""
from __future__ import annotations

import bisect
import hashlib
import operator
import struct
from types import ModuleType
from typing import Callable, NamedTuple

from veritas.envs.base import ID_STRIDE, LEVELS, Task, TaskType, Verdict
from veritas.envs.extract import strip_think
from veritas.envs.lgc_v2 import (
    boolean_expressions,
    cryptarithm,
    dyck_language,
    dyck_language2,
    dyck_language_reasoning_errors,
    game_of_24,
    operation,
    sudoku,
)
from veritas.envs.rand import HashDraws, seeded_random

ENV_NAME = "lgc-v2"

# The task types, in the public environment's order (the order of --task-types all, of reports
# and of the dynamic dataset's default type list).
TYPE_MODULES: tuple[ModuleType, ...] = (
    dyck_language,
    game_of_24,
    operation,
    cryptarithm,
    dyck_language2,
    boolean_expressions,
    sudoku,
    dyck_language_reasoning_errors,
)

# Disjoint seed ranges per split, the same for every type: train and validation sets, the
# dynamic dataset and evaluation can never share a task.
SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 80_000_000),
    "val": (80_000_000, 90_000_000),
    "test": (90_000_000, 100_000_000),
}

# Default difficulty mix when none is asked for: mostly middle levels, some easy and hard.
DEFAULT_LEVEL_WEIGHTS = (4, 8, 10, 12, 12, 12, 12, 12, 10, 8)
_LEVEL_CUMULATIVE = [sum(DEFAULT_LEVEL_WEIGHTS[: i + 1]) / sum(DEFAULT_LEVEL_WEIGHTS) for i in range(10)]


class TaskIdError(ValueError):
    pass


class _TypeInfo(NamedTuple):
    """What generation needs of a type, derived once per process instead of once per task."""

    contract: TaskType
    module: ModuleType
    type_id: int  # its first id block: the public type id
    key_prefix: bytes  # b"lgc-v2/<type>/": a task's keys are this, the seed, then the purpose
    random_source: Callable[[bytes], object]  # what the contract's randomness asks for, made from the key


class _Derived(NamedTuple):
    """Everything derived from one value of ``TYPE_MODULES``."""

    modules: tuple[ModuleType, ...]
    by_name: dict[str, _TypeInfo]
    by_block: dict[int, tuple[str, int]]  # id block -> (type, index of the block among the type's)
    max_task_id: int


_derived: _Derived | None = None


def _registry() -> _Derived:
    """What the current ``TYPE_MODULES`` (a test may patch it) gives, checked when derived:
    every module exports a TaskType, names are unique, id blocks do not overlap."""
    global _derived
    if _derived is not None and _derived.modules is TYPE_MODULES:
        return _derived
    by_name: dict[str, _TypeInfo] = {}
    by_block: dict[int, tuple[str, int]] = {}
    for mod in TYPE_MODULES:
        contract = getattr(mod, "TASK_TYPE", None)
        if not isinstance(contract, TaskType):
            raise TypeError(f"{mod.__name__} has no TASK_TYPE (a veritas.envs.base.TaskType)")
        if contract.name in by_name:
            raise ValueError(f"two task types are named {contract.name!r}")
        for k, block in enumerate(contract.id_blocks):
            if block in by_block:
                raise ValueError(f"id block {block} is claimed by {by_block[block][0]} and {contract.name}")
            by_block[block] = (contract.name, k)
        source = HashDraws if contract.randomness == "draws" else seeded_random
        by_name[contract.name] = _TypeInfo(
            contract, mod, contract.id_blocks[0], f"{ENV_NAME}/{contract.name}/".encode(), source)
    _derived = _Derived(TYPE_MODULES, by_name, by_block, (max(by_block) + 1) * ID_STRIDE - 1)
    return _derived


def task_types() -> tuple[str, ...]:
    """The names of the registered task types, in ``TYPE_MODULES`` order."""
    return tuple(_registry().by_name)


def type_ids() -> dict[str, int]:
    """type name -> public type id (its first id block)."""
    return {name: info.type_id for name, info in _registry().by_name.items()}


def max_task_id() -> int:
    """The largest task id below the end of the highest id block."""
    return _registry().max_task_id


def __getattr__(name: str):
    # TASK_TYPES, TYPE_IDS, MAX_TASK_ID: views derived from TYPE_MODULES on every access
    if name == "TASK_TYPES":
        return task_types()
    if name == "TYPE_IDS":
        return type_ids()
    if name == "MAX_TASK_ID":
        return max_task_id()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _type_info(task_type: str) -> _TypeInfo:
    info = _registry().by_name.get(task_type)
    if info is None:
        raise ValueError(f"unknown LGC-V2 task type {task_type!r}; known: {', '.join(task_types())}")
    return info


def task_type_contract(name: str) -> TaskType:
    """The contract of task type ``name``; ValueError for an unknown name."""
    return _type_info(name).contract


def task_module(name: str) -> ModuleType:
    """The module of task type ``name``; ValueError for an unknown name."""
    return _type_info(name).module


def language_for(task_type: str, language: str | None) -> str | None:
    """The language a task of ``task_type`` gets when ``language`` is asked for: that language
    where the type has it, else the type's first (its fallback; "en" for every public type).
    None (the registry's per-type mix) stays None."""
    if language is None:
        return None
    languages = _type_info(task_type).contract.languages
    return language if language in languages else languages[0]


def split_task_id(task_id: int) -> tuple[str, int]:
    """task_id -> (task type, seed)."""
    reg = _registry()
    if isinstance(task_id, bool) or not isinstance(task_id, int) or not 0 <= task_id <= reg.max_task_id:
        raise TaskIdError(f"task_id must be an integer in 0..{reg.max_task_id}, got {task_id!r}")
    block, rest = divmod(task_id, ID_STRIDE)
    owner = reg.by_block.get(block)
    if owner is None:
        raise TaskIdError(f"task_id {task_id} is in id block {block}, which no task type owns")
    name, k = owner
    return name, k * ID_STRIDE + rest


def make_task_id(task_type: str, seed: int) -> int:
    """(task type, seed) -> task_id."""
    info = _type_info(task_type)
    k, rest = divmod(_checked_seed(info, seed), ID_STRIDE)
    return info.contract.id_blocks[k] * ID_STRIDE + rest


def split_seed_range(split: str) -> tuple[int, int]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")
    return SPLITS[split]


def _checked_seed(info: _TypeInfo, seed: int) -> int:
    try:
        if isinstance(seed, bool):
            raise TypeError
        seed = operator.index(seed)  # an int, numpy's included; never a float
    except TypeError:
        raise TaskIdError(f"seed must be an integer, got {seed!r}") from None
    if not 0 <= seed < info.contract.seeds:
        raise TaskIdError(f"seed {seed!r} out of range for {info.contract.name} (0..{info.contract.seeds - 1})")
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
    return "zh" if _draws(info, _checked_seed(info, seed))[1] < info.contract.zh_share else "en"


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
        lang = "zh" if u_language < info.contract.zh_share else "en"
    elif language in info.contract.languages:
        lang = language
    else:
        raise ValueError(f"{task_type} supports languages {info.contract.languages}, not {language!r}")
    key = b"%s%d/task/%d/%s" % (info.key_prefix, seed, level, lang.encode())
    try:
        prompt, answer, meta = info.contract.generate(info.random_source(key), level, lang)
    except StopIteration as exc:  # would end a caller's map() or loop silently
        raise RuntimeError(f"{task_type} level {level} used more random draws than it took") from exc
    # meta is a fresh dict from the module
    meta.setdefault("language", lang)
    meta.setdefault("difficulty", level)
    k, rest = divmod(seed, ID_STRIDE)
    return Task(info.contract.id_blocks[k] * ID_STRIDE + rest, task_type, seed, level, lang, prompt, answer, meta)


def verify(task_type: str, response: str, metadata: dict) -> Verdict:
    """Judge a full model response.  Never raises; an unterminated <think> means no answer."""
    if not isinstance(response, str):
        return Verdict.bad_format(f"response is {type(response).__name__}, not str")
    answer_text = strip_think(response)
    if answer_text is None:
        return Verdict.bad_format("unterminated <think>: no answer")
    try:
        return task_type_contract(task_type).verify(answer_text, metadata)
    except Exception as exc:  # a verifier bug must not crash training; tests assert this never happens
        return Verdict.bad_format(f"verifier error: {type(exc).__name__}")


def verify_task(task: Task, response: str) -> Verdict:
    return verify(task.task_type, response, task.metadata)


def worked_solution(task: Task) -> str | None:
    """A step-by-step solution ending in the required answer format, where the type has one."""
    fn = task_type_contract(task.task_type).worked_solution
    return None if fn is None else fn(task.metadata, task.language)
