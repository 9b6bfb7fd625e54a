"""Run code on a module once some process imports it, without importing it first.

verl's processes all load our extension modules (``VERL_USE_EXTERNAL_MODULES``), but a heavy
dependency such as flash-attn-4's CuTe DSL is only used by a few of them; patching it on import
spares the others the import.  A hook finds the module through the finders after it in
``sys.meta_path``, so several hooks on one module chain (the GPU benchmark's probe and the FA4
bridge both watch ``flash_attn.cute``), and wraps the loader so the callback runs once the
module's code has run, before any ``from module import name`` reads from it.
"""
from __future__ import annotations

import importlib.abc
import sys
from typing import Callable


class _AfterExec(importlib.abc.Loader):
    def __init__(self, inner, callback: Callable):
        self.inner, self.callback = inner, callback

    def create_module(self, spec):
        return self.inner.create_module(spec)

    def exec_module(self, module):
        self.inner.exec_module(module)
        self.callback(module)


class _OnImport(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, callback: Callable):
        self.name, self.callback = name, callback

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        after = sys.meta_path[sys.meta_path.index(self) + 1:] if self in sys.meta_path else []
        for finder in after:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _AfterExec(spec.loader, self.callback)
                return spec
        return None


def call_after_import(name: str, callback: Callable) -> None:
    """``callback(module)`` for module ``name``: now if it is imported already, else right after a
    process imports it.  The same callback on the same name is hooked once."""
    if name in sys.modules:
        callback(sys.modules[name])
    elif not any(isinstance(f, _OnImport) and f.name == name and f.callback == callback for f in sys.meta_path):
        sys.meta_path.insert(0, _OnImport(name, callback))
