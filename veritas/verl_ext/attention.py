"""Which attention kernels this Python has, told by the distribution that provides them.

``import flash_attn`` says little: flash-attn 2 (``flash-attn``) and flash-attn 4
(``flash-attn-4``, whose kernels live in ``flash_attn.cute``) both install a ``flash_attn``
package, and FA2's wheels even carry a ``cute`` folder. transformers tells them apart by the
distribution name, and so does this module, so the launcher's answer matches what transformers
will accept when verl loads the model.

    python -m veritas.verl_ext.attention check IMPLEMENTATION   # exit 1 + one line if unusable
    python -m veritas.verl_ext.attention list                   # what is installed
"""
from __future__ import annotations

import sys

from veritas.verl_ext.installed import at_least, installed_version

# attn_implementation -> (distribution, module that must be importable, minimum version)
KERNELS = {
    "flash_attention_4": ("flash-attn-4", "flash_attn.cute", None),
    "flash_attention_3": ("flash-attn-3", "flash_attn_interface", None),
    "flash_attention_2": ("flash-attn", "flash_attn", "2.3.3"),
}
BUILT_IN = ("sdpa", "eager", "flex_attention")
# the module verl's processes load (VERL_USE_EXTERNAL_MODULES) with each kernel, if any
COMPANION_MODULE = {"flash_attention_4": "veritas.verl_ext.flash_attn4"}


def installed() -> dict[str, str]:
    """attn_implementation -> distribution and version, for the flash kernels present."""
    found = {}
    for impl, (dist, module, minimum) in KERNELS.items():
        version = installed_version(dist, module)
        if version is None or (minimum is not None and not at_least(version, minimum)):
            continue
        found[impl] = f"{dist} {version}"
    return found


def problem(implementation: str) -> str | None:
    """None when ``implementation`` can run here, else one line saying why not and what can."""
    if implementation in BUILT_IN:
        return None
    if implementation not in KERNELS:
        known = ", ".join([*KERNELS, *BUILT_IN])
        return f"unknown attention implementation {implementation!r} (known: {known})"
    have = installed()
    if implementation in have:
        return None
    dist = KERNELS[implementation][0]
    others = ", ".join(f"{impl} ({what})" for impl, what in have.items()) or "none"
    return (f"attn_implementation={implementation} needs the {dist} distribution, which {sys.executable} "
            f"does not have; flash kernels installed: {others}; sdpa always works (padded batches)")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["list"]:
        for impl, what in installed().items():
            print(f"{impl}\t{what}")
        return 0
    if len(args) == 2 and args[0] == "check":
        why = problem(args[1])
        if why:
            print(f"error: {why}", file=sys.stderr)
            return 1
        module = COMPANION_MODULE.get(args[1])
        if module:
            print(module)  # the launcher adds it to VERL_USE_EXTERNAL_MODULES
        return 0
    print("usage: python -m veritas.verl_ext.attention check IMPLEMENTATION | list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
