"""Shared types of every environment.

A task-type module (one file per type, e.g. ``veritas/envs/lgc_v2/sudoku.py``) defines:

    NAME: str                      # "sudoku"
    LANGUAGES: tuple[str, ...]     # ("en", "zh") or ("en",)
    ZH_SHARE: float                # share of "zh" prompts when no language is asked for
    RANDOMNESS: str                # "mt" (a random.Random) or "draws" (veritas.envs.rand.HashDraws)
    LEVELS: dict[int, dict]        # 1..10 -> the knob settings of that difficulty level
    def generate(rng: random.Random, level: int, language: str) -> Generated
    def verify(answer_text: str, metadata: dict) -> Verdict
    def worked_solution(metadata: dict, language: str) -> str   # optional: steps + final answer

``generate`` draws every random choice from ``rng`` (keyed by the registry; see
``veritas.envs.rand``) and returns the
prompt, a reference answer that is a complete response in the required format, and
JSON-serialisable metadata that holds all ``verify`` needs.  ``verify`` receives the response
with ``<think>`` blocks already removed (see ``veritas.envs.extract.strip_think``); it must
never raise and must run in time linear in the response length.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, NamedTuple


class Generated(NamedTuple):
    prompt: str
    answer: str
    metadata: dict


@dataclass(frozen=True)
class Verdict:
    correct: bool
    format_ok: bool
    reason: str

    @classmethod
    def ok(cls) -> "Verdict":
        return cls(True, True, "correct")

    @classmethod
    def wrong(cls, reason: str) -> "Verdict":
        """Well-formed answer that is not the solution."""
        return cls(False, True, reason)

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
