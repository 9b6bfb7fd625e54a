"""Per-task-type training metrics of one GRPO step: :func:`per_type_metrics`.

One pure function over per-response arrays, so the numbers are tested without verl; the trainer
wrappers in ``veritas.verl_ext.type_metrics_trainer`` only gather the arrays from verl's batch.
Keys (``<type>`` is the data_source without its ``lgc-v2/`` prefix)::

    train_by_type/<type>/response_count             responses of that type in the step
    train_by_type/<type>/reward_mean                mean reward (the score verl trains on)
    train_by_type/<type>/accuracy                   mean of the reward's ``acc``
    train_by_type/<type>/format_rate                mean of the reward's ``format_ok``
    train_by_type/<type>/response_length_mean       tokens
    train_by_type/<type>/truncation_rate            share with length >= the rollout's response_length
    train_by_type/<type>/zero_variance_group_share  share of its GRPO groups whose rewards are all equal
    train_by_type/<type>/identical_response_group_share  share of its groups whose responses are all
                                                    one token sequence (the policy sampled one answer)
    train_by_type/<type>/pass_at_n                  share of its groups with at least one right answer
    train_by_type/<type>/majority_right_share       share of its groups with more than half right
    train_by_type/<type>/level_mean, level_min, level_max   difficulty levels served
    train_by_type/all/zero_variance_group_share     the same over every group of the step
    train_by_type/all/identical_response_group_share  the same over every group of the step

A GRPO group is the responses sharing one ``uid``; only groups of two or more scored responses
count (a lone response has no spread to lose).  ``pass_at_n`` and ``majority_right_share`` count
right answers (``acc``, not the reward, which partial credit shapes): among the prompts with some
right answers, GRPO moves greedy accuracy only where it turns a minority of right answers into a
majority, so a ``majority_right_share`` that rises towards ``pass_at_n`` is learning, and prompts
outside ``pass_at_n`` give no signal at all.  ``identical_response_group_share`` tells a
zero-variance group of a peaked policy (one answer sampled again and again, at any level) from one of
a task too easy or too hard (different answers, all right or all wrong).  Values that are missing or not numbers are left out
of their metric, and a metric with nothing to average is left out: the function never raises on
bad per-row values, because it runs inside the training loop.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

PREFIX = "train_by_type"
ALL_TYPES = "all"
DATA_SOURCE_PREFIX = "lgc-v2/"
# Rewards this close count as equal: verl's GRPO then sees (almost) zero spread in the group.
EQUAL_REWARD_TOLERANCE = 1e-6


def type_name(data_source: Any) -> str:
    """Metric-key segment of a data_source: ``lgc-v2/dyck_language2`` -> ``dyck_language2``;
    another source keeps its name with ``/`` as ``_`` (one key segment); a missing one is ``unknown``."""
    if not isinstance(data_source, str) or not data_source:
        return "unknown"
    if data_source.startswith(DATA_SOURCE_PREFIX) and len(data_source) > len(DATA_SOURCE_PREFIX):
        data_source = data_source[len(DATA_SOURCE_PREFIX):]
    return data_source.replace("/", "_")


def _number(value: Any) -> float:
    """float(value); NaN for None, text, infinities and anything else that is not a number."""
    if value is None or isinstance(value, str):
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _column(values: Iterable[Any] | None, n: int) -> list[float]:
    """``n`` floats (NaN where unknown); a column of the wrong length is unknown throughout."""
    if values is None:
        return [math.nan] * n
    try:
        values = list(values)
    except TypeError:
        return [math.nan] * n
    if len(values) != n:
        return [math.nan] * n
    return [_number(v) for v in values]


def _mean(values: Iterable[float]) -> float | None:
    known = [v for v in values if not math.isnan(v)]
    return sum(known) / len(known) if known else None


def _groups(uids: list[Any], names: list[str], values: list,
            known=lambda v: not math.isnan(v)) -> list[tuple[str, list]]:
    """(type of its first row, its values) per GRPO group of two or more rows with a known value
    (``known``: not NaN); rows without a uid (or with an unhashable one) or a value join no group."""
    groups: dict[Any, tuple[str, list]] = {}
    for i, uid in enumerate(uids):
        if uid is None or not known(values[i]):
            continue
        try:
            entry = groups.setdefault(uid, (names[i], []))
        except TypeError:
            continue
        entry[1].append(values[i])
    return [group for group in groups.values() if len(group[1]) >= 2]


def _hashable_column(values: Iterable[Any] | None, n: int) -> list:
    """``n`` values, None where one is missing or unhashable; a column of the wrong length (or none)
    is unknown throughout."""
    try:
        values = list(values) if values is not None else []
    except TypeError:
        values = []
    if len(values) != n:
        return [None] * n
    out = []
    for value in values:
        try:
            hash(value)
        except TypeError:
            value = None
        out.append(value)
    return out


def per_type_metrics(
    data_sources: Sequence[Any],
    scores: Iterable[Any] | None,
    accs: Iterable[Any] | None,
    format_oks: Iterable[Any] | None,
    response_lengths: Iterable[Any] | None,
    max_response_length: Any,
    uids: Iterable[Any] | None,
    levels: Iterable[Any] | None,
    prefix: str = PREFIX,
    response_keys: Iterable[Any] | None = None,
) -> dict[str, float]:
    """The step's per-type metrics (see the module docstring); one row per response.

    ``data_sources`` sets the row count; any other column may be None or hold None/NaN rows.
    ``response_keys``: one hashable per response, equal for equal responses (None: unknown).
    """
    sources = list(data_sources) if data_sources is not None else []
    n = len(sources)
    if n == 0:
        return {}
    names = [type_name(s) for s in sources]
    score = _column(scores, n)
    acc = _column(accs, n)
    fmt = _column(format_oks, n)
    length = _column(response_lengths, n)
    level = _column(levels, n)
    max_len = _number(max_response_length)
    if not max_len > 0:
        max_len = math.nan
    uid_list = list(uids) if uids is not None else []
    if len(uid_list) != n:
        uid_list = [None] * n

    rows_of: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        rows_of.setdefault(name, []).append(i)

    flat_groups: dict[str, list[bool]] = {}  # type -> per group: are its rewards all equal
    for name, group_scores in _groups(uid_list, names, score):
        flat_groups.setdefault(name, []).append(max(group_scores) - min(group_scores) <= EQUAL_REWARD_TOLERANCE)
    identical_groups: dict[str, list[bool]] = {}  # type -> per group: are its responses all one
    keys = _hashable_column(response_keys, n)
    for name, group_keys in _groups(uid_list, names, keys, known=lambda k: k is not None):
        identical_groups.setdefault(name, []).append(len(set(group_keys)) == 1)
    right_groups: dict[str, list[tuple[int, int]]] = {}  # type -> per group: (right answers, answers)
    for name, group_accs in _groups(uid_list, names, acc):
        right_groups.setdefault(name, []).append((sum(a >= 0.5 for a in group_accs), len(group_accs)))

    out: dict[str, float] = {}
    for name in sorted(rows_of):
        rows = rows_of[name]
        key = f"{prefix}/{name}/"
        out[key + "response_count"] = float(len(rows))
        for metric, column in (("reward_mean", score), ("accuracy", acc), ("format_rate", fmt), ("response_length_mean", length)):
            value = _mean(column[i] for i in rows)
            if value is not None:
                out[key + metric] = value
        if not math.isnan(max_len):
            value = _mean(math.nan if math.isnan(length[i]) else float(length[i] >= max_len) for i in rows)
            if value is not None:
                out[key + "truncation_rate"] = value
        flat = flat_groups.get(name)
        if flat:
            out[key + "zero_variance_group_share"] = sum(flat) / len(flat)
        same = identical_groups.get(name)
        if same:
            out[key + "identical_response_group_share"] = sum(same) / len(same)
        counts = right_groups.get(name)
        if counts:
            out[key + "pass_at_n"] = sum(right > 0 for right, _ in counts) / len(counts)
            out[key + "majority_right_share"] = sum(2 * right > size for right, size in counts) / len(counts)
        served = [level[i] for i in rows if not math.isnan(level[i])]
        if served:
            out[key + "level_mean"] = sum(served) / len(served)
            out[key + "level_min"] = min(served)
            out[key + "level_max"] = max(served)
    for metric, flags_of in (("zero_variance_group_share", flat_groups), ("identical_response_group_share", identical_groups)):
        every = [f for flags in flags_of.values() for f in flags]
        if every:
            out[f"{prefix}/{ALL_TYPES}/{metric}"] = sum(every) / len(every)
    return out
