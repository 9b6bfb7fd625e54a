"""verl reward function for LGC-V2: ``compute_score`` (alias ``compute_lgc_v2_score``).

verl 0.9.1 calls it once per response, in ``reward.num_workers`` Ray actors (each runs it in a
thread of its event loop's executor), as::

    compute_score(data_source=..., solution_str=<response only>, ground_truth=...,
                  extra_info=<the row's extra_info + num_turns, rollout_reward_scores>,
                  **reward.custom_reward_function.reward_kwargs)

It returns a dict with the same keys for every sample (verl stacks them into arrays):

    score         1.0 correct (flawed_working_score when its own working is wrong,
                  unreadable_working_score when it cannot be read), 0.0 wrong but
                  readable (partial_credit x the share of its parts right, for types whose answers
                  have independent parts), -format_penalty unreadable
    acc           1.0 / 0.0
    format_ok     1.0 / 0.0  (an answer could be read in the required format)
    task_type_id  registry.type_ids()[task type] (dyck_language2 -> 4); -1 when the row is unusable

The keys become validation metrics (``val-core/<data_source>/acc/...``, the others under
``val-aux/``); data_source is ``lgc-v2/<task type>``, so every metric is per task type.

The task is judged from ``extra_info["metadata"]`` (JSON text from parquet, or a dict); only when
it is absent or unreadable is the task regenerated from ``extra_info["task_id"]`` (+ difficulty
and language).  It never raises and never hangs:

* Only the answer part of a response is read: the text after the last ``</think>`` (the whole
  response when there is none; an unclosed ``<think>`` means no answer).  The reasoning part is
  skipped by one ``rfind`` whatever its length.  An answer part longer than ``max_answer_chars``
  is not cut (cutting could drop a ``<think>`` or a later, wrong answer and so turn a wrong
  response right): it is scored unreadable without verification.
* A wall-clock guard (``timeout_s``) stops a verification that runs too long, by raising an
  exception in the scoring thread from one watchdog thread per process (no thread per call).  It
  cannot interrupt one long C call; the verifiers' own linear-time contract covers that.
* Rows the reward cannot use (unknown data_source, a task type that disagrees with it, no
  metadata and no task_id, extra_info that is not a dict, a non-str response) score 0.0 with
  every other key 0 and ``task_type_id`` -1: not the model's fault, so no format penalty.  They,
  regenerated metadata, timeouts and bad reward_kwargs are counted per kind in
  :func:`bad_input_counts` and logged at the 1st, 2nd, 4th, 8th... occurrence of each kind.

reward_kwargs (``+reward.custom_reward_function.reward_kwargs.<key>=<value>``):
    format_penalty    float >= 0, default 0.0: unreadable answers score -format_penalty
    partial_credit    float in [0, 1), default 0.0: a readable wrong answer scores partial_credit x
                      the share of its independent parts that are right (``Verdict.partial``; today
                      boolean_expressions: its statements' true/false calls), so a group's answers
                      that miss one statement outscore those that miss all; a right answer keeps 1.0,
                      more than any wrong one.  Types without parts score 0.0 as before.  Only the
                      score changes: ``acc`` (accuracy, validation, curriculum) stays right/wrong
    flawed_working_score
                      float in [partial_credit, 1], default 1.0 (off): a right answer whose own
                      working is readable in our worked style and wrong
                      (``veritas.evaluation.working.read_working``'s wrong on the whole response: a
                      wrong fact verdict, a wrong step line, a final line that does not copy the working)
                      scores this instead of 1.0.  Why: GRPO of the SFT model rewarded right answers
                      reached through wrong working, and the wrong working grew (the positive-samples
                      replay run: 292 of 1,672 rewarded boolean_expressions rollouts held a wrong
                      fact verdict; such verdicts rose from 2.0 % to 3.8 %).  Not below
                      partial_credit, so a right answer never scores below a wrong one (whose partial
                      credit stays below partial_credit).  Working the package cannot read (none,
                      another style) is not penalised by this option (unreadable_working_score is
                      for it), and a check that times out counts as no flaw.  Checked only for right
                      answers and only when below 1.0.  Only the score
                      changes: ``acc`` stays 1.0 (the LGC-V2 judge scores the answer alone)
    unreadable_working_score
                      float in [partial_credit, 1], default 1.0 (off): a right answer whose own
                      working ``veritas.evaluation.working.read_working`` cannot read (fact lines that
                      do not pair with the facts, a step line it cannot read or steps left out, no
                      working or final line to compare) scores this instead of 1.0; working read
                      wrong still scores flawed_working_score.  Why: with only wrong working
                      penalised (the eighteenth run, flawed_working_score 0.0) the policy escaped the
                      check by leaving fact lines out: boolean_expressions responses whose fact lines
                      pair with the facts fell from 509 to 316 of 512 train tasks, right rollouts
                      with unpaired ones rose from 2.0 % to 16.6 %.  One reading per response, under
                      the same time guard (a timeout: no penalty), only for right answers and only
                      when either score is below 1.0; a type not read there is never penalised
    max_answer_chars  int > 0, default 200000: longer answer parts are unreadable
    timeout_s         float, default 5.0; <= 0 turns the guard off (it also bounds the working check)
An unknown key or a bad value means all defaults (counted); the dry run
(``veritas.verl_adapters.compose --validate``) refuses them through :func:`check_reward_kwargs`.
"""
from __future__ import annotations

import ctypes
import json
import logging
import os
import threading
import time
from functools import lru_cache
from typing import Any, NamedTuple

from veritas.data.formats import parse_metadata, task_type_of_data_source
from veritas.envs.base import Verdict
from veritas.envs.extract import strip_think
from veritas.envs.lgc_v2 import registry
from veritas.evaluation.working import UNREADABLE, WRONG, read_working

logger = logging.getLogger(__name__)

RESULT_KEYS = ("score", "acc", "format_ok", "task_type_id")

DEFAULT_FORMAT_PENALTY = 0.0
# Far above any answer of ours, or a full reasoning trace written without <think> tags
# (~50k tokens); verification stays linear, about 10 ms at this length.
DEFAULT_MAX_ANSWER_CHARS = 200_000
# Generous: verl runs many scoring threads per actor that share one GIL, so a 50 ms
# verification can take far longer in wall-clock time.
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_PARTIAL_CREDIT = 0.0
DEFAULT_FLAWED_WORKING_SCORE = 1.0  # off: a right answer scores 1.0 whatever its working
DEFAULT_UNREADABLE_WORKING_SCORE = 1.0  # off: working the readers cannot read is not penalised
# reward kwargs verl itself adds when a reward model is enabled: accepted and ignored.
_VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
_KNOWN_KWARGS = frozenset({"format_penalty", "max_answer_chars", "timeout_s", "partial_credit",
                           "flawed_working_score", "unreadable_working_score"}) | _VERL_KWARGS

_UNUSABLE = {"score": 0.0, "acc": 0.0, "format_ok": 0.0, "task_type_id": -1}


# ---------------------------------------------------------------- bad-input accounting

_counts_lock = threading.Lock()
_bad_input_counts: dict[str, int] = {}


def _report(kind: str, detail: str) -> None:
    """Count one bad input; log it when its count is a power of two (1, 2, 4, 8, ...)."""
    with _counts_lock:
        n = _bad_input_counts.get(kind, 0) + 1
        _bad_input_counts[kind] = n
    if n & (n - 1) == 0:
        logger.warning("lgc-v2 reward: %s (%d so far in pid %d): %s", kind, n, os.getpid(), detail[:300])


def bad_input_counts() -> dict[str, int]:
    """Bad inputs seen by this process, by kind."""
    with _counts_lock:
        return dict(_bad_input_counts)


def reset_bad_input_counts() -> None:
    with _counts_lock:
        _bad_input_counts.clear()


# ---------------------------------------------------------------- wall-clock guard

class VerifierTimeout(BaseException):
    """Raised inside a scoring thread by the watchdog.  A BaseException, so a verifier's own
    ``except Exception`` cannot swallow it."""


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> None:
    # CPython API: raise ``exc`` in that thread at its next bytecode boundary; None clears it.
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


class _Watchdog:
    """One daemon thread per process that interrupts guarded calls past their deadline."""

    POLL_S = 0.05

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, list] = {}  # thread id -> [deadline, fired]
        self._pid: int | None = None

    def _ensure_thread(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        with self._lock:
            if self._pid != pid:  # first call, or a forked child: threads do not survive fork
                self._active.clear()
                self._pid = pid
                threading.Thread(target=self._run, args=(pid,), name="lgc-v2-reward-watchdog", daemon=True).start()

    def _run(self, pid: int) -> None:
        while self._pid == pid:
            time.sleep(self.POLL_S)
            now = time.monotonic()
            with self._lock:
                for thread_id, entry in self._active.items():
                    if not entry[1] and now > entry[0]:
                        entry[1] = True  # at most one exception per guarded call
                        _set_async_exc(thread_id, VerifierTimeout)

    def call(self, timeout_s: float, fn, *args) -> tuple[bool, Any]:
        """(timed_out, fn(*args)).  The exception is injected only while this thread is
        registered (under the lock), at most once, and cleared on the way out if still pending,
        so it can never surface outside this method."""
        self._ensure_thread()
        thread_id = threading.get_ident()
        entry = [time.monotonic() + timeout_s, False]
        value, done = None, False
        try:
            try:
                with self._lock:
                    self._active[thread_id] = entry
                value = fn(*args)
                done = True
            except VerifierTimeout:
                pass
        finally:  # also when fn raises: a thread left registered would be hit later, anywhere
            while True:  # a late delivery lands here at most once; the second pass is clean
                try:
                    with self._lock:
                        self._active.pop(thread_id, None)
                    if entry[1]:
                        _set_async_exc(thread_id, None)
                    break
                except VerifierTimeout:
                    continue
        return (not done), value


_watchdog = _Watchdog()


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork() stays locked forever in the child; start afresh.
    global _counts_lock
    _counts_lock = threading.Lock()
    _watchdog._lock = threading.Lock()
    _watchdog._active = {}
    _watchdog._pid = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# ---------------------------------------------------------------- scoring

class RewardOptions(NamedTuple):
    format_penalty: float = DEFAULT_FORMAT_PENALTY
    max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS
    timeout_s: float = DEFAULT_TIMEOUT_S
    partial_credit: float = DEFAULT_PARTIAL_CREDIT
    flawed_working_score: float = DEFAULT_FLAWED_WORKING_SCORE
    unreadable_working_score: float = DEFAULT_UNREADABLE_WORKING_SCORE


def check_reward_kwargs(reward_kwargs: dict) -> RewardOptions:
    """The options in reward_kwargs; ValueError on an unknown key or a bad value (the dry run calls
    this; training falls back to defaults instead)."""
    unknown = sorted(str(k) for k in reward_kwargs if k not in _KNOWN_KWARGS)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; known: {sorted(_KNOWN_KWARGS - _VERL_KWARGS)}")
    penalty, max_chars, timeout_s = DEFAULT_FORMAT_PENALTY, DEFAULT_MAX_ANSWER_CHARS, DEFAULT_TIMEOUT_S
    partial = DEFAULT_PARTIAL_CREDIT
    working_scores = {}
    try:
        if reward_kwargs.get("format_penalty") is not None:
            penalty = float(reward_kwargs["format_penalty"])
            if not 0 <= penalty < float("inf"):
                raise ValueError(f"format_penalty must be a finite number >= 0, got {penalty}")
        if reward_kwargs.get("max_answer_chars") is not None:
            value = reward_kwargs["max_answer_chars"]
            if isinstance(value, bool) or int(value) != value or int(value) <= 0:
                raise ValueError(f"max_answer_chars must be a positive integer, got {value!r}")
            max_chars = int(value)
        if reward_kwargs.get("timeout_s") is not None:
            timeout_s = float(reward_kwargs["timeout_s"])
            if timeout_s != timeout_s:
                raise ValueError("timeout_s is NaN")
        if reward_kwargs.get("partial_credit") is not None:
            partial = float(reward_kwargs["partial_credit"])
            if not 0 <= partial < 1:  # below a right answer's 1.0, or a wrong answer could tie it
                raise ValueError(f"partial_credit must be in [0, 1), got {partial}")
        for key, what in (("flawed_working_score", "flawed"), ("unreadable_working_score", "unreadable")):
            if reward_kwargs.get(key) is not None:
                value = working_scores[key] = float(reward_kwargs[key])
                if not 0 <= value <= 1:
                    raise ValueError(f"{key} must be in [0, 1], got {value}")
                if value < partial:  # a right answer must not score below a wrong one
                    raise ValueError(f"{key} {value} is below partial_credit {partial}: "
                                     f"a right answer with {what} working would score below a wrong one")
    except (TypeError, OverflowError) as exc:
        raise ValueError(str(exc)) from exc
    return RewardOptions(penalty, max_chars, timeout_s, partial,
                         working_scores.get("flawed_working_score", DEFAULT_FLAWED_WORKING_SCORE),
                         working_scores.get("unreadable_working_score", DEFAULT_UNREADABLE_WORKING_SCORE))


_DEFAULT_OPTIONS = RewardOptions()


def _options(reward_kwargs: dict) -> RewardOptions:
    if not reward_kwargs:
        return _DEFAULT_OPTIONS
    try:
        return check_reward_kwargs(reward_kwargs)
    except ValueError as exc:
        _report("bad reward_kwargs", f"{exc}; scoring with the defaults {_DEFAULT_OPTIONS}")
        return _DEFAULT_OPTIONS


@lru_cache(maxsize=4096)
def _regenerated_metadata(task_id: int, difficulty: int | None, language: str | None) -> dict:
    # GRPO scores n responses per task: regenerate once.
    return registry.generate(task_id, difficulty, language).metadata


# GRPO scores n responses of one task in a row: parse each metadata text once.  Verifiers never
# mutate metadata (tests/test_verl_reward.py checks every type), so sharing the dict is safe.
_METADATA_CACHE: dict[str, dict] = {}
_METADATA_CACHE_MAX = 4096


def _parse_metadata(raw: Any) -> dict:
    if isinstance(raw, str):
        hit = _METADATA_CACHE.get(raw)
        if hit is None:
            hit = parse_metadata(raw)
            if len(_METADATA_CACHE) >= _METADATA_CACHE_MAX:
                _METADATA_CACHE.clear()
            _METADATA_CACHE[raw] = hit
        return hit
    return parse_metadata(raw)


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _metadata(task_type: str, info: dict) -> dict | None:
    """The task's metadata from extra_info; regenerated from task_id only when absent/unreadable."""
    raw = info.get("metadata")
    if raw is not None:
        try:
            return _parse_metadata(raw)
        except (ValueError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            _report("unreadable metadata", f"{exc}; regenerating from task_id")
    else:
        _report("metadata missing", "regenerating from task_id")
    task_id = _int_or_none(info.get("task_id"))
    if task_id is None:
        _report("no metadata and no task_id", f"extra_info keys: {sorted(map(str, info))[:20]}")
        return None
    try:
        id_type, _ = registry.split_task_id(task_id)
        if id_type != task_type:
            _report("task_id disagrees with data_source", f"task_id {task_id} is {id_type}, data_source says {task_type}")
            return None
        language = info.get("language")
        return _regenerated_metadata(task_id, _int_or_none(info.get("difficulty")), language if isinstance(language, str) else None)
    except Exception as exc:  # bad id, level or language: the row is unusable, not the response
        _report("task regeneration failed", f"task_id {task_id}: {type(exc).__name__}: {exc}")
        return None


def _verdict(task_type: str, solution: str, metadata: dict, max_chars: int, timeout_s: float) -> Verdict:
    answer = strip_think(solution)
    if answer is None:
        return Verdict.bad_format("unterminated <think>: no answer")
    if len(answer) > max_chars:
        return Verdict.bad_format(f"answer part longer than {max_chars} characters")
    if timeout_s <= 0:
        return registry.verify(task_type, answer, metadata)
    timed_out, verdict = _watchdog.call(timeout_s, registry.verify, task_type, answer, metadata)
    if timed_out:
        _report("verification timed out", f"{task_type}: over {timeout_s} s on a {len(answer)}-character answer")
        return Verdict.bad_format(f"verification timed out after {timeout_s} s")
    return verdict


def _working_verdict(task_type: str, solution: str, metadata: dict, info: dict, timeout_s: float) -> str | None:
    """read_working's verdict on a right answer's own working (it reads the whole response, each
    reader its first 20,000 characters), under the verification's time guard; None when the type is
    not read there or the check times out: only working read wrong or unreadable is penalised."""
    language = metadata.get("language")
    if not isinstance(language, str):
        language = info.get("language") if isinstance(info.get("language"), str) else None
    if timeout_s <= 0:
        found = read_working(task_type, metadata, language, solution)
    else:
        timed_out, found = _watchdog.call(timeout_s, read_working, task_type, metadata, language, solution)
        if timed_out:
            _report("working check timed out", f"{task_type}: over {timeout_s} s on a {len(solution)}-character response")
            return None
    return found.verdict if found is not None else None


def compute_score(data_source=None, solution_str=None, ground_truth=None, extra_info=None, **reward_kwargs) -> dict:
    """Score one response; see the module docstring.  ``ground_truth`` (the reference answer)
    is not used: many answers can be right, and the metadata says which."""
    try:
        penalty, max_chars, timeout_s, partial_credit, flawed_working_score, unreadable_working_score = \
            _options(reward_kwargs)
        task_type = task_type_of_data_source(data_source)
        if task_type not in registry.task_types():
            _report("unknown data_source", repr(data_source)[:200])
            return dict(_UNUSABLE)
        info = extra_info
        if isinstance(info, (str, bytes, bytearray)):
            try:
                info = json.loads(info)
            except ValueError:
                info = None
        if not isinstance(info, dict):
            _report("extra_info not a dict", f"{type(extra_info).__name__} for {data_source}")
            return dict(_UNUSABLE)
        row_type = info.get("task_type")
        if row_type is not None and row_type != task_type:
            _report("task_type disagrees with data_source", f"{row_type!r} vs {data_source!r}")
            return dict(_UNUSABLE)
        if not isinstance(solution_str, str):
            _report("solution not str", f"{type(solution_str).__name__} for {data_source}")
            return dict(_UNUSABLE)
        metadata = _metadata(task_type, info)
        if metadata is None:
            return dict(_UNUSABLE)
        verdict = _verdict(task_type, solution_str, metadata, max_chars, timeout_s)
        if verdict.reason.startswith("verifier error"):
            _report("verifier error", f"{task_type}: {verdict.reason}")
        if verdict.correct:
            score = 1.0
            if min(flawed_working_score, unreadable_working_score) < 1.0:
                working = _working_verdict(task_type, solution_str, metadata, info, timeout_s)
                score = {WRONG: flawed_working_score, UNREADABLE: unreadable_working_score}.get(working, 1.0)
        elif verdict.format_ok:
            share = verdict.partial
            # a share outside [0, 1) would let a wrong answer tie a right one: not trusted
            score = partial_credit * share if partial_credit and share is not None and 0 <= share < 1 else 0.0
        else:
            score = -penalty
        return {
            "score": score,
            "acc": 1.0 if verdict.correct else 0.0,
            "format_ok": 1.0 if verdict.format_ok else 0.0,
            "task_type_id": registry.type_ids()[task_type],
        }
    except Exception as exc:  # last line of defence: a reward bug must not stop training
        _report("internal error", f"{type(exc).__name__}: {exc}")
        return dict(_UNUSABLE)


compute_lgc_v2_score = compute_score
