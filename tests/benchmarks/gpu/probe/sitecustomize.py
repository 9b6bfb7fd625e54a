"""Attention-kernel probe for GPU benchmarks: proves which kernel verl's padding-free path runs.

Put this folder on PYTHONPATH (bench_gpu.py does, with BENCH_ATTENTION_PROBE=1): Python imports
``sitecustomize`` at start in every process that inherits PYTHONPATH — torchrun's ranks, Ray's
workers — so its one line per process also shows that the import path reaches them. When
``flash_attn.cute`` gets imported, its varlen and dense entry points are wrapped; the first call
in a process prints one line on stderr (pid, entry point, sequences and tokens of the call).
Nothing else changes: the wrapped functions are called with the same arguments.
"""
import importlib.abc
import importlib.machinery
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

    class _Loader(importlib.abc.Loader):
        def __init__(self, inner):
            self.inner = inner

        def create_module(self, spec):
            return self.inner.create_module(spec)

        def exec_module(self, module):
            self.inner.exec_module(module)
            for name in ("flash_attn_varlen_func", "flash_attn_func"):
                _wrap(module, name)

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname != _WATCHED:
                return None
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader)
            return spec

    sys.meta_path.insert(0, _Finder())
    print(f"attention-probe: pid {os.getpid()} armed ({os.path.basename(sys.argv[0] or 'python')})",
          file=sys.stderr, flush=True)
