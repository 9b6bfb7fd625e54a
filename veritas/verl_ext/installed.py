"""What is installed for this Python, told by the distribution and an importable module (the kernel
checks of veritas.verl_ext.attention and veritas.verl_ext.liger)."""
from __future__ import annotations

import importlib.metadata as md
import importlib.util


def installed_version(dist: str, module: str) -> str | None:
    """``dist``'s version when it is installed and ``module`` can be imported here, else None (a
    distribution's metadata alone, or a same-named package of another distribution, is not enough)."""
    try:
        version = md.version(dist)
    except md.PackageNotFoundError:
        return None
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing or broken
        found = False
    return version if found else None


def at_least(version: str, minimum: str) -> bool:
    """``version`` >= ``minimum``; a version that cannot be read is not."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version) >= Version(minimum)
    except InvalidVersion:
        return False
