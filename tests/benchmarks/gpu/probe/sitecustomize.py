"""Attention-kernel probe for GPU benchmarks: proves which kernel verl's padding-free path runs.

Put this folder on PYTHONPATH (bench_gpu.py does, with BENCH_ATTENTION_PROBE=1): Python imports
``sitecustomize`` at start in every process that inherits PYTHONPATH — torchrun's ranks, Ray's
workers — so its one line per process also shows that the import path reaches them. When
``flash_attn.cute`` gets imported (``veritas.verl_ext.import_hooks``, the FA4 bridge's hook too),
its varlen and dense entry points are wrapped; the first call
in a process prints one line on stderr (pid, entry point, sequences and tokens of the call).
Nothing else changes: the wrapped functions are called with the same arguments.
"""
import os
import sys

if os.environ.get("BENCH_ATTENTION_PROBE") == "1":
    _WATCHED = "flash_attn.cute"
    _seen = set()

    def _wrap(module, name):
        inner = getattr(module, name, None)
        if inner is None or getattr(inner, "_bench_probe", False):
            return

        def probed(*args, **kwargs):
            if name not in _seen:
                _seen.add(name)
                cu = kwargs.get("cu_seqlens_q")
                q = args[0] if args else kwargs.get("q")
                shape = tuple(getattr(q, "shape", ()))
                seqs = "" if cu is None else f", {cu.numel() - 1} sequences"
                print(f"attention-probe: pid {os.getpid()} called {_WATCHED}.{name} (q {shape}{seqs})",
                      file=sys.stderr, flush=True)
            return inner(*args, **kwargs)

        probed._bench_probe = True
        setattr(module, name, probed)

    def _wrap_all(module):
        for name in ("flash_attn_varlen_func", "flash_attn_func"):
            _wrap(module, name)

    try:  # the hook the FA4 bridge uses too (both chain on the one module)
        from veritas.verl_ext.import_hooks import call_after_import

        call_after_import(_WATCHED, _wrap_all)
    except ImportError as exc:  # veritas not on this process's path: no probe here, said so
        print(f"attention-probe: pid {os.getpid()} not armed ({exc})", file=sys.stderr, flush=True)
    else:
        print(f"attention-probe: pid {os.getpid()} armed ({os.path.basename(sys.argv[0] or 'python')})",
              file=sys.stderr, flush=True)
