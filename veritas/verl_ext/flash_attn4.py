"""flash-attn-4 inside verl's padding-free path: hand FA4 the integer lengths it requires.

verl's remove-padding path packs a micro-batch into one row with position_ids restarting per
sequence; transformers (5.10) turns those into ``cu_seqlens`` and ``max_seqlen`` and calls
``flash_attn.cute.flash_attn_varlen_func`` — passing ``max_seqlen`` as a 0-dim tensor, which
FA2's interface accepts and FA4's CuTe kernels reject ("Expected IntTuple ... but got 1005").
Loaded in every verl process through ``VERL_USE_EXTERNAL_MODULES`` (the launchers add it when
the run config selects ``flash_attention_4``), this wraps that one entry point so tensor lengths
become Python ints; every other argument passes through unchanged.
"""
from __future__ import annotations

import functools
import importlib.util

_ATTRS = ("flash_attn_varlen_func",)


def _as_int(value):
    if value is not None and not isinstance(value, int) and hasattr(value, "item"):
        return int(value.item())
    return value


def wrap_varlen(func):
    """``func`` with ``max_seqlen_q`` / ``max_seqlen_k`` given as ints (idempotent)."""
    if getattr(func, "_veritas_int_seqlens", False):
        return func

    @functools.wraps(func)
    def varlen(*args, **kwargs):
        for key in ("max_seqlen_q", "max_seqlen_k"):
            if key in kwargs:
                kwargs[key] = _as_int(kwargs[key])
        return func(*args, **kwargs)

    varlen._veritas_int_seqlens = True
    return varlen


def install() -> bool:
    """Patch ``flash_attn.cute`` when flash-attn-4 is installed; False (and nothing done) otherwise."""
    if importlib.util.find_spec("flash_attn") is None or importlib.util.find_spec("flash_attn.cute") is None:
        return False
    import flash_attn.cute as cute

    for name in _ATTRS:
        if hasattr(cute, name):
            setattr(cute, name, wrap_varlen(getattr(cute, name)))
    return True


install()
