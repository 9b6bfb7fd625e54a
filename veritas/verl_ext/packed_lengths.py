"""Packed sequence lengths worked out once per forward pass, not once per decoder layer.

verl's padding-free path gives the model one packed row and ``position_ids`` that restart at
every sequence; it passes no ``cu_seqlens``.  transformers (5.10) then derives them in every
decoder layer's attention call from the same ``position_ids`` tensor:
``_is_packed_sequence`` (a ``.bool()`` of a GPU tensor) and ``prepare_fa_kwargs_from_position_ids``
(``nonzero()``, then a tensor ``max``, which FA4 needs as an int: ``.item()``).  Each of those
waits for the GPU, three times a layer (30 layers in SmolLM2): the host stops queueing kernels
until the GPU has caught up.  A profile of the 135M model's SFT put 8 % of the trainer's main
thread there; without them the step was not measurably faster (docs/performance.md, eighth
lease), but the values are the same and the waits cost nothing to skip.

This wraps both functions (module attributes that ``_flash_attention_forward`` looks up at call
time; no transformers file is edited) with a one-entry cache keyed by the ``position_ids`` tensor
itself: the same object, unchanged since (``_version``), gets the same answer, with ``max_length``
as Python ints.  A new micro-batch brings a new tensor and a fresh computation, so what FA sees
is exactly what transformers would compute, once.  ``VERITAS_PACKED_LENGTHS_CACHE=0`` leaves
transformers alone (for A/B measurements).
"""
from __future__ import annotations

import functools
import os
import weakref


def as_int(value):
    """A 0-dim tensor length as a Python int (what FA4's CuTe kernels take); ints and None as they are."""
    if value is not None and not isinstance(value, int) and hasattr(value, "item"):
        return int(value.item())
    return value


def cached_by_tensor(func, convert=lambda result: result):
    """``func(tensor, ...)`` remembered for the last tensor object seen (with the same other
    arguments) until that tensor changes in place or is freed; ``convert`` turns the result into
    what is kept."""
    if getattr(func, "_veritas_cached_by_tensor", False):
        return func
    last = [None]  # (weak reference to the tensor, its _version, rest, kept result)

    @functools.wraps(func)
    def cached(tensor, *args, **kwargs):
        rest = (args, sorted(kwargs.items()))
        entry = last[0]
        # a freed tensor's reference gives None: a call without a tensor must not match it
        if (entry is not None and tensor is not None and entry[0]() is tensor and entry[1] == tensor._version
                and entry[2] == rest):
            return entry[3]
        result = convert(func(tensor, *args, **kwargs))
        try:
            last[0] = (weakref.ref(tensor), tensor._version, rest, result)
        except TypeError:  # not a tensor (None, a list): nothing to key on, nothing kept
            last[0] = None
        return result

    cached._veritas_cached_by_tensor = True
    return cached


def _lengths_as_ints(result):
    (cu_q, cu_k), (max_q, max_k) = result
    return (cu_q, cu_k), (as_int(max_q), as_int(max_k))


def install(environ=os.environ) -> bool:
    """Wrap transformers' two per-layer functions; False (nothing done) when turned off or when
    this transformers does not have them."""
    if environ.get("VERITAS_PACKED_LENGTHS_CACHE", "1") == "0":
        return False
    try:
        from transformers import modeling_flash_attention_utils as fa_utils
    except ImportError:
        return False
    names = ("_is_packed_sequence", "prepare_fa_kwargs_from_position_ids")
    if not all(hasattr(fa_utils, name) for name in names):
        return False
    fa_utils._is_packed_sequence = cached_by_tensor(fa_utils._is_packed_sequence, bool)
    fa_utils.prepare_fa_kwargs_from_position_ids = cached_by_tensor(
        fa_utils.prepare_fa_kwargs_from_position_ids, _lengths_as_ints)
    return True
