"""Whether liger-kernel is here when a run config asks for it, asked before any GPU time.

verl 0.9.1 uses liger-kernel in two ways. ``model.use_liger`` swaps the model's RMSNorm, SwiGLU and
RoPE for liger's Triton kernels: without liger-kernel verl fails with an ImportError while it builds
the model, after the GPU is taken. ``model.fused_kernel_options.impl_backend=liger`` computes the
fused log-probs with liger's linear cross-entropy: without liger-kernel verl falls back to its torch
kernel without a word, and the run is slower for no visible reason. The launchers ask this module
first (for GRPO the keys are under ``actor_rollout_ref.model``).

    python -m veritas.verl_ext.liger check USE_LIGER IMPL_BACKEND
        # nothing asks for liger: exit 0, no output; it is installed: exit 0, prints what is used;
        # it is missing or too old: exit 1 and one line on stderr
"""
from __future__ import annotations

import sys

from veritas.verl_ext.installed import at_least, installed_version

DISTRIBUTION = "liger-kernel"
MODULE = "liger_kernel"
# what verl 0.9.1's fsdp extra asks for (liger-kernel>=0.8.2)
MINIMUM = "0.8.2"


def asked_for(use_liger: str, impl_backend: str) -> list[str]:
    """The settings, of the two the launchers read (as the composed config prints them), that need liger."""
    asks = []
    if str(use_liger).strip().lower() == "true":
        asks.append("use_liger=true")
    if str(impl_backend).strip().lower() == "liger":
        asks.append("fused_kernel_options.impl_backend=liger")
    return asks


def problem(use_liger: str, impl_backend: str) -> str | None:
    """None when the settings can run here, else one line saying why not."""
    asks = asked_for(use_liger, impl_backend)
    if not asks:
        return None
    version = installed_version(DISTRIBUTION, MODULE)
    what = " and ".join(asks)
    if version is None:
        return (f"the {DISTRIBUTION} distribution (docker/gpu-stack.txt), asked for by {what}, is not installed "
                f"for {sys.executable}; without it: use_liger=false and fused_kernel_options.impl_backend=torch "
                f"(slower)")
    if not at_least(version, MINIMUM):
        return f"{what}: {DISTRIBUTION} {version} of {sys.executable} is older than verl 0.9.1's minimum, {MINIMUM}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3 or args[0] != "check":
        print("usage: python -m veritas.verl_ext.liger check USE_LIGER IMPL_BACKEND", file=sys.stderr)
        return 2
    why = problem(args[1], args[2])
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 1
    asks = asked_for(args[1], args[2])
    if asks:
        print(f"{DISTRIBUTION} {installed_version(DISTRIBUTION, MODULE)} ({', '.join(asks)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
