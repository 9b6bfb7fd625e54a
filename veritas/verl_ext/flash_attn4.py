"""flash-attn-4 inside verl's padding-free path: hand FA4 the integer lengths it requires.

verl's remove-padding path packs a micro-batch into one row with position_ids restarting per
sequence; transformers (5.10) turns those into ``cu_seqlens`` and ``max_seqlen`` and calls
``flash_attn.cute.flash_attn_varlen_func`` — passing ``max_seqlen`` as a 0-dim tensor, which
FA2's interface accepts and FA4's CuTe kernels reject ("Expected IntTuple ... but got 1005").
Loaded in every verl process through ``VERL_USE_EXTERNAL_MODULES`` (the launchers add it when
the run config selects ``flash_attention_4``), this wraps that one entry point so tensor lengths
become Python ints; every other argument passes through unchanged.  It does so when a process
imports ``flash_attn.cute`` (an import hook), so processes that never run FA4 never import it.

It also turns on FA4's persistent kernel cache (``flash_attn/cute/cache_utils.py``, off by
default) before FA4 is imported, since FA4 reads the setting then. Otherwise every process
compiles its own CuTe kernels on first use: SFT's trainer, then GRPO's actor and reference, again
at each restart (~8.5 s of a GRPO step 1 on an H100, with the same log-probs: docs/performance.md).
``FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED=0`` turns it off; ``FLASH_ATTENTION_CUTE_DSL_CACHE_DIR``
moves it (default: ``cache_dir``).

And it loads ``veritas.verl_ext.packed_lengths``: transformers' per-layer derivation of the packed
lengths (three GPU waits a layer) done once per forward pass.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import sys

from veritas.verl_ext import packed_lengths
from veritas.verl_ext.import_hooks import call_after_import

_MODULE = "flash_attn.cute"
_ATTRS = ("flash_attn_varlen_func",)


def wrap_varlen(func):
    """``func`` with ``max_seqlen_q`` / ``max_seqlen_k`` given as ints (idempotent)."""
    if getattr(func, "_veritas_int_seqlens", False):
        return func

    @functools.wraps(func)
    def varlen(*args, **kwargs):
        for key in ("max_seqlen_q", "max_seqlen_k"):
            if key in kwargs:
                kwargs[key] = packed_lengths.as_int(kwargs[key])
        return func(*args, **kwargs)

    varlen._veritas_int_seqlens = True
    return varlen


def cache_dir(environ=os.environ) -> str:
    """Where FA4 keeps compiled kernels unless told: the user's cache folder (XDG), not FA4's own
    default under /tmp/$USER, which needs a user name that containers run by a bare UID lack."""
    home = environ.get("HOME") or os.path.expanduser("~")  # the user database's when HOME is unset
    base = environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(base, "flash_attention_cute_dsl")


def enable_kernel_cache(environ=os.environ) -> bool:
    """FA4's persistent kernel cache on, unless the environment already says otherwise; True when
    it is on.  FA4 creates the folder and raises if it cannot, so a folder this process cannot
    write (a read-only or unknown home) leaves the cache off: kernels are then compiled as before."""
    environ.setdefault("FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED", "1")
    if environ["FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED"] != "1":
        return False
    folder = environ.get("FLASH_ATTENTION_CUTE_DSL_CACHE_DIR") or cache_dir(environ)
    writable = False
    if os.path.isabs(folder):  # a relative one (no home known) would land wherever the process runs
        try:
            os.makedirs(folder, exist_ok=True)
            writable = os.access(folder, os.W_OK | os.X_OK)
        except OSError:
            pass
    if not writable:
        environ["FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED"] = "0"
        print(f"veritas.verl_ext.flash_attn4: FA4's kernel cache stays off: cannot write {folder!r} "
              "(FLASH_ATTENTION_CUTE_DSL_CACHE_DIR moves it)", file=sys.stderr)
        return False
    environ["FLASH_ATTENTION_CUTE_DSL_CACHE_DIR"] = folder
    return True


def patch(cute) -> None:
    """Wrap the imported ``flash_attn.cute`` module's entry points, and have transformers work out
    the lengths those ints come from once a forward pass instead of once a layer."""
    for name in _ATTRS:
        if hasattr(cute, name):
            setattr(cute, name, wrap_varlen(getattr(cute, name)))
    packed_lengths.install()


def install() -> bool:
    """Patch ``flash_attn.cute`` when flash-attn-4 is installed; False (and nothing done) otherwise.

    The module is patched where something imports it, not imported here: this module comes in with
    every ``import verl`` (the launcher's checks, main_ppo's driver, the task runner, vLLM's server,
    engine and GPU worker, the agent-loop and reward workers), and only the trainer or the actor
    calls FA4.  Importing its CuTe DSL in all of them cost each one that import at start-up."""
    if importlib.util.find_spec("flash_attn") is None or importlib.util.find_spec(_MODULE) is None:
        return False
    enable_kernel_cache()  # before FA4's import, whenever that comes: it reads the settings then
    call_after_import(_MODULE, patch)
    return True


install()
