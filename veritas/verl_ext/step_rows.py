"""A GRPO step's rows, read once from verl 0.9.1's TransferQueue for our trainers' two readers.

The per-type metrics (``type_metrics_trainer``) and the curriculum (``curriculum``) both need the
step's ``data_source``, ``uid``, level and ``acc``; the metrics also need ``rm_scores`` and
``responses``.  :class:`StepRowsMixin` reads those fields of the step's non-padding rows with one
``tq.kv_batch_get``, turns them into per-row columns (:func:`step_columns`) and keeps them until
the step's metrics are computed: verl's ``fit`` calls ``step`` (the curriculum reads there), saves
the checkpoint, validates, then ``_compute_metrics`` (the metrics read there), and clears the
step's rows from the queue only after that.

Nothing here raises on what the queue holds: a field that cannot be read is left out (logged at
its 1st, 2nd, 4th... failure), and a column that cannot be built is None.
"""
from __future__ import annotations

import logging
from typing import Any

import transfer_queue as tq

from veritas.verl_ext.rare_warning import RareWarning

logger = logging.getLogger(__name__)

ACC_KEY = "acc"  # in extra_fields["reward_extra_info"] (veritas.verl_adapters.reward)
FORMAT_KEY = "format_ok"
LEVEL_KEY = "difficulty"  # in the row's extra_info (veritas.data.formats.rl_row)
# Row fields of the TransferQueue read here; verl's AgentLoopWorkerTQ stores the dataset row's
# keys plus the agent loop's output under these names.
FIELDS = ("data_source", "uid", "extra_info", "extra_fields", "rm_scores", "responses")

_report_failure = RareWarning(logger, "step rows")


def _as_list(value: Any) -> list | None:
    """A TransferQueue column (NonTensorStack, tensor, numpy array, list) as a list."""
    if value is None:
        return None
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return list(tolist())
    return list(value)


def _row_tensors(value: Any) -> list:
    """A jagged (nested) or regular 2-D tensor as one 1-D tensor per row."""
    if getattr(value, "is_nested", False):
        return list(value.unbind())
    return list(value)


def real_keys(batch) -> list[str]:
    """The keys of a step's KVBatchMeta without verl's padding rows."""
    return [key for key, tag in zip(batch.keys, batch.tags)
            if not (isinstance(tag, dict) and tag.get("is_padding", False))]


def fetch(keys: list[str], partition_id: str) -> dict[str, Any]:
    """The FIELDS of these rows; a field the queue does not hold is left out."""
    try:
        data = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=list(FIELDS))
        return {name: data[name] for name in FIELDS if name in data.keys()}
    except Exception:  # one missing field fails the whole get: ask field by field
        out = {}
        for name in FIELDS:
            try:
                out[name] = tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=[name])[name]
            except Exception as exc:
                _report_failure(exc, f"step rows: field {name!r} not read")
        return out


def _per_row(tensor: Any, fn) -> list | None:
    """fn of each row of a tensor field; None (that column left out) when the field is missing or
    not the tensor verl stores, so one odd field does not cost the other columns."""
    if tensor is None:
        return None
    try:
        return [fn(row) for row in _row_tensors(tensor)]
    except Exception as exc:
        _report_failure(exc, "step rows: a tensor field not usable")
        return None


def _dict_get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else None


def step_columns(fields: dict[str, Any]) -> dict[str, list]:
    """Per-row columns (``per_type_metrics``' arguments) from the rows' TransferQueue fields;
    a missing field gives None, or Nones per row where the row count is known."""
    data_sources = _as_list(fields.get("data_source"))
    n = len(data_sources) if data_sources is not None else 0
    extra_fields = _as_list(fields.get("extra_fields")) or [None] * n
    reward_info = [_dict_get(row, "reward_extra_info") for row in extra_fields]
    extra_info = _as_list(fields.get("extra_info")) or [None] * n
    scores = _per_row(fields.get("rm_scores"), lambda row: float(row.sum()))
    lengths = _per_row(fields.get("responses"), lambda row: int(row.shape[0]))
    # the token ids themselves, hashed: equal responses of a group give equal keys
    response_keys = _per_row(fields.get("responses"), lambda row: hash(tuple(row.tolist())))
    return {
        "data_sources": data_sources or [],
        "scores": scores,
        "accs": [_dict_get(info, ACC_KEY) for info in reward_info],
        "format_oks": [_dict_get(info, FORMAT_KEY) for info in reward_info],
        "response_lengths": lengths,
        "uids": _as_list(fields.get("uid")),
        "levels": [_dict_get(info, LEVEL_KEY) for info in extra_info],
        "response_keys": response_keys,
    }


class StepRowsMixin:
    """``_step_columns(batch)``: the step's columns, read from the queue once per step."""

    _step_columns_cache: tuple[tuple, dict[str, list]] | None = None

    def _step_columns(self, batch) -> dict[str, list]:
        ident = (batch.partition_id, tuple(batch.keys))
        cached = self._step_columns_cache
        if cached is not None and cached[0] == ident:
            return cached[1]
        keys = real_keys(batch)
        columns = step_columns(fetch(keys, batch.partition_id) if keys else {})
        self._step_columns_cache = (ident, columns)
        return columns

    def _forget_step_columns(self) -> None:
        """After the step's last reader: the next step's rows are new."""
        self._step_columns_cache = None
