"""Shared types of every environment, and the contract a task type meets.

A task-type module (one file per type, e.g. ``veritas/envs/lgc_v2/sudoku.py``) exports
``TASK_TYPE``, a :class:`TaskType` that names everything the registry and the front ends use of
it (name, public task-id blocks, languages, levels and their knobs, generate, verify, worked
solution, the answer-format sentences of its prompts).  ``TaskType`` checks itself when it is
made, that is when the module is imported; the registry checks that id blocks do not overlap.

``generate(rng, level, language) -> Generated`` draws every random choice from ``rng`` (keyed by
the registry; see ``veritas.envs.rand``) and returns the prompt, a reference answer that is a
complete response in the required format, and JSON-serialisable metadata that holds all
``verify`` needs.  ``verify(answer_text, metadata) -> Verdict`` receives the response with
``<think>`` blocks already removed (see ``veritas.envs.extract.strip_think``); it must never
raise, never evaluate the text as code, and run in time linear in the response length.
``worked_solution(metadata, language) -> str`` (optional) gives steps ending in the answer.
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple

LANGUAGES = ("en", "zh")
LEVELS = range(1, 11)
RANDOMNESS_KINDS = ("mt", "draws")  # a random.Random, or veritas.envs.rand.HashDraws
ID_STRIDE = 100_000_000  # task_id = id block * ID_STRIDE + seed within the block


class Generated(NamedTuple):
    prompt: str
    answer: str
    metadata: dict


@dataclass(frozen=True)
class Verdict:
    correct: bool
    format_ok: bool
    reason: str
    # For a wrong answer made of independent parts (boolean_expressions: one true/false call per
    # statement), the share of parts it got right, in [0, 1); None where a type has no such parts.
    # Only the training reward may use it (reward_kwargs.partial_credit); accuracy is `correct`.
    partial: float | None = None

    @classmethod
    def ok(cls) -> "Verdict":
        return cls(True, True, "correct")

    @classmethod
    def wrong(cls, reason: str, partial: float | None = None) -> "Verdict":
        """Well-formed answer that is not the solution (``partial``: see the field)."""
        return cls(False, True, reason, partial)

    @classmethod
    def bad_format(cls, reason: str) -> "Verdict":
        """No answer could be read in the required format."""
        return cls(False, False, reason)


class Task(NamedTuple):
    """One generated task.  A named tuple: built for every task, it costs a third of a frozen
    dataclass (a measurable share of the bracket types' ~20 µs)."""

    task_id: int
    task_type: str
    seed: int
    difficulty: int
    language: str
    prompt: str
    answer: str
    metadata: dict

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        d["metadata"] = copy.deepcopy(self.metadata)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Task":
        return cls(**{k: d[k] for k in cls._fields})


class ContractError(TypeError):
    """A task-type module does not meet the contract (raised at its import)."""


@dataclass(frozen=True)
class TaskType:
    """What a task-type module exports as ``TASK_TYPE``; see the module docstring."""

    name: str  # "sudoku": the data_source suffix, the key prefix of its random draws
    # Public task-id blocks: task ids block * 100,000,000 + 0..99,999,999.  A type with two
    # blocks (dyck_language2) has seeds 0..199,999,999, the second block continuing the first.
    id_blocks: tuple[int, ...]
    languages: tuple[str, ...]  # the first is the fallback for a language the type lacks
    zh_share: float  # share of "zh" prompts when no language is asked for; 0 without "zh"
    randomness: str  # one of RANDOMNESS_KINDS: what ``generate`` gets as ``rng``
    # level 1..10 -> its knobs: instances of one frozen dataclass of the type's
    levels: Mapping[int, Any]
    generate: Callable[[Any, int, str], Generated]
    verify: Callable[[str, dict], Verdict]
    # language -> the sentence(s) telling the model how to write its answer; every prompt in
    # that language holds one of them
    answer_formats: Mapping[str, tuple[str, ...]]
    worked_solution: Callable[[dict, str], str] | None = None

    def __post_init__(self) -> None:
        def fail(why: str) -> None:
            raise ContractError(f"task type {self.name!r}: {why}")

        if not isinstance(self.name, str) or not self.name.isidentifier():
            fail("name must be an identifier")
        if (not isinstance(self.id_blocks, tuple) or not self.id_blocks
                or any(isinstance(b, bool) or not isinstance(b, int) or b < 0 for b in self.id_blocks)
                or len(set(self.id_blocks)) != len(self.id_blocks)):
            fail(f"id_blocks must be a non-empty tuple of distinct ints >= 0, got {self.id_blocks!r}")
        if not isinstance(self.languages, tuple) or not self.languages or not set(self.languages) <= set(LANGUAGES):
            fail(f"languages must be a non-empty tuple drawn from {LANGUAGES}, got {self.languages!r}")
        if not 0.0 <= self.zh_share <= 1.0 or ("zh" not in self.languages and self.zh_share != 0.0):
            fail(f"zh_share must be in [0, 1], and 0 without zh; got {self.zh_share!r}")
        if self.randomness not in RANDOMNESS_KINDS:
            fail(f"randomness must be one of {RANDOMNESS_KINDS}, got {self.randomness!r}")
        if set(self.levels) != set(LEVELS):
            fail(f"levels must be exactly {LEVELS.start}..{LEVELS.stop - 1}, got {sorted(self.levels)}")
        knob_types = {type(knobs) for knobs in self.levels.values()}
        knob_type = knob_types.pop() if len(knob_types) == 1 else None
        if knob_type is None or not dataclasses.is_dataclass(knob_type) or not knob_type.__dataclass_params__.frozen:
            fail("every level's knobs must be an instance of one frozen dataclass")
        for what in ("generate", "verify"):
            if not callable(getattr(self, what)):
                fail(f"{what} must be callable")
        if self.worked_solution is not None and not callable(self.worked_solution):
            fail("worked_solution must be callable or None")
        if set(self.answer_formats) != set(self.languages) or not all(
                isinstance(f, tuple) and f and all(isinstance(s, str) and s.strip() for s in f)
                for f in self.answer_formats.values()):
            fail("answer_formats must give each of its languages a non-empty tuple of sentences")
        # read-only views: the contract is shared by every caller in the process
        object.__setattr__(self, "levels", MappingProxyType(dict(sorted(self.levels.items()))))
        object.__setattr__(self, "answer_formats", MappingProxyType(dict(self.answer_formats)))

    @property
    def seeds(self) -> int:
        """How many seeds the type has: one id block's worth per block."""
        return len(self.id_blocks) * ID_STRIDE
