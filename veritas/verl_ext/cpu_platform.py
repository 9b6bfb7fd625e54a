"""A verl platform for machines without an accelerator, so SFT runs (slowly) on CPU.

verl 0.9.1 has no CPU platform: on a host without a GPU its auto-detection falls back to
NVIDIA, rewrites ``trainer.device`` to ``cuda`` and asks torch.distributed for NCCL.  verl
loads the modules named in ``VERL_USE_EXTERNAL_MODULES`` at ``import verl`` (in every
torchrun worker), and its platform registry is meant to be extended, so this module only
registers a platform; no verl file is modified.  The SFT launcher switches it on, and only
when no GPU is present:

    VERL_USE_EXTERNAL_MODULES=veritas.verl_ext.cpu_platform
    VERL_ENGINE_DEVICE=cuda        # verl registers its FSDP engine for cuda/npu only
    trainer.device=cpu engine.strategy=fsdp2 data.num_workers=0
    +model.override_config.attn_implementation=sdpa

Collectives use gloo.  verl builds its backend string as ``cpu:gloo,<device>:<backend>``,
which for this platform is ``cpu:gloo,cpu:gloo``, and torch rejects a device named twice;
``init_process_group`` is therefore wrapped to drop exact duplicate ``device:backend``
pairs (any other string passes through unchanged).
"""
from __future__ import annotations

import functools
import os
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any, Optional

import torch
import torch.distributed

from verl.plugin.platform import platform_manager
from verl.plugin.platform.platform_base import PlatformBase
from verl.plugin.platform.platform_manager import PlatformRegistry

PLATFORM_NAME = "cpu"


def _host_memory() -> tuple[int, int]:
    """(available, total) bytes of host memory: what ``mem_get_info`` means on CPU."""
    try:
        import psutil

        vm = psutil.virtual_memory()
        return int(vm.available), int(vm.total)
    except ImportError:
        pages = os.sysconf("SC_PHYS_PAGES")
        avail = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
        return avail * size, pages * size


def _noop(*_args, **_kwargs) -> None:
    return None


def _zero(*_args, **_kwargs) -> int:
    return 0


# verl calls ``get_torch_device().<fn>`` for functions that torch.cuda has and torch.cpu
# lacks (empty_cache, mem_get_info, get/set_rng_state, memory statistics, ...).  This
# namespace is torch.cpu plus CPU meanings for those: the host RNG, host memory, no-ops
# where there is no device cache to manage.
_cpu = torch.cpu
cpu_device_module = SimpleNamespace(
    is_available=lambda: True,
    is_initialized=lambda: True,
    current_device=lambda: "cpu",
    device_count=lambda: 1,
    set_device=_noop,
    synchronize=_noop,
    current_stream=_cpu.current_stream,
    stream=_cpu.stream,
    Stream=_cpu.Stream,
    Event=_cpu.Event,
    empty_cache=_noop,
    ipc_collect=_noop,
    set_per_process_memory_fraction=_noop,
    mem_get_info=lambda *_a, **_k: _host_memory(),
    memory_allocated=_zero,
    memory_reserved=_zero,
    max_memory_allocated=_zero,
    max_memory_reserved=_zero,
    reset_peak_memory_stats=_noop,
    get_device_name=lambda *_a, **_k: "cpu",
    get_rng_state=lambda *_a, **_k: torch.get_rng_state(),
    set_rng_state=lambda state, *_a, **_k: torch.set_rng_state(state),
    manual_seed=torch.manual_seed,
    manual_seed_all=torch.manual_seed,
    amp=_cpu.amp,
)


@PlatformRegistry.register(platform=PLATFORM_NAME)
class PlatformCPU(PlatformBase):
    """Host CPU as the 'device': gloo collectives, no profiler, no IPC."""

    @property
    def device_name(self) -> str:
        return "cpu"

    @property
    def vendor_name(self) -> str:
        return "cpu"

    @property
    def device_module(self) -> Any:
        return cpu_device_module

    def is_available(self) -> bool:
        return True

    def is_platform_available(self, use_smi_check=False) -> bool:
        # Registered last, so auto-detection only reaches it when no accelerator answered.
        return True

    def current_device(self) -> str:
        # verl passes this straight to .to(device=...) and torch.device(); an int would mean
        # "accelerator 0", so the CPU answer is the device string (as torch.cpu gives).
        return "cpu"

    def device_count(self) -> int:
        return 1

    def set_device(self, device_index: int) -> None:
        return None

    def synchronize(self, device_index: Optional[int] = None) -> None:
        return None

    def manual_seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_allocator_settings(self, settings: str) -> None:
        return None

    def empty_cache(self) -> None:
        return None

    def get_device_capability(self, device_index: int = 0) -> tuple[Optional[int], Optional[int]]:
        return None, None

    def communication_backend_name(self) -> str:
        return "gloo"

    def visible_devices_envvar(self) -> str:
        # Nothing to hide on CPU; a name no launcher sets keeps get_device_uuid harmless.
        return "VERL_CPU_VISIBLE_DEVICES"

    @contextmanager
    def nvtx_range(self, msg: str):
        yield

    def profiler_start(self) -> None:
        return None

    def profiler_stop(self) -> None:
        return None

    def ray_resource_name(self) -> str:
        return "CPU"

    def ray_resource_options(self, num_gpus: float) -> dict[str, Any]:
        return {"num_cpus": num_gpus}

    def ray_noset_envvars(self) -> list[str]:
        return []

    def is_ipc_supported(self) -> bool:
        return False

    def cudart(self) -> Any:
        return None


def dedupe_backend(backend: Any) -> Any:
    """``'cpu:gloo,cpu:gloo'`` -> ``'cpu:gloo'``; anything else is returned unchanged."""
    if not isinstance(backend, str) or "," not in backend:
        return backend
    pairs = [p.strip() for p in backend.split(",")]
    unique = list(dict.fromkeys(pairs))  # keeps first-seen order
    return ",".join(unique) if len(unique) < len(pairs) else backend


def _install_backend_dedupe() -> None:
    original = torch.distributed.init_process_group
    if getattr(original, "_veritas_dedupe", False):
        return

    @functools.wraps(original)
    def init_process_group(*args, **kwargs):
        if "backend" in kwargs:
            kwargs["backend"] = dedupe_backend(kwargs["backend"])
        elif args:
            args = (dedupe_backend(args[0]), *args[1:])
        return original(*args, **kwargs)

    init_process_group._veritas_dedupe = True  # type: ignore[attr-defined]
    torch.distributed.init_process_group = init_process_group


def activate() -> PlatformCPU:
    """Make the CPU platform verl's platform in this process (idempotent)."""
    _install_backend_dedupe()
    current = platform_manager._current_platform
    if isinstance(current, PlatformCPU):
        return current
    platform = PlatformCPU()
    # Loading this module is the opt-in: it wins even over a platform resolved earlier.
    platform_manager.set_platform(platform)
    return platform


activate()
