#!/usr/bin/env python3
"""Where a profiled step's GPU time goes: a summary of a torch profiler trace (Chrome JSON, as
verl's torch profiler writes it, gzipped or not).

    python3 tests/benchmarks/trace_summary.py TRACE.json.gz [--top 25]

Prints one JSON object: the window (first to last GPU activity), the time the GPU was busy
(the union of kernels, copies and sets over all streams) and idle, the kernel time by kind
(matrix products, attention, optimizer, elementwise, ...), the slowest kernels, the longest idle
gaps, the kernel time by the autograd node and aten op that launched it, verl's annotated ranges
(``record_function``: mini-batches, stages) and the host's waits for the GPU (synchronisations).
bench_gpu.py's ``--trace STEP`` puts it in the run's JSON.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import defaultdict
from pathlib import Path

GPU_CATEGORIES = {"kernel", "gpu_memcpy", "gpu_memset"}
# kernel name -> kind; the first pattern that matches wins (checked in this order)
KINDS = [
    ("attention", re.compile(r"flash|fmha|attention|FlashAttn|cute.*fwd|cute.*bwd", re.I)),
    ("optimizer", re.compile(r"multi_tensor|adam|_foreach|fused_adam|FusedAdam", re.I)),
    ("matmul", re.compile(r"gemm|nvjet|cutlass|xmma|cublas|sm90_|sm80_|wgmma|splitK|Kernel2", re.I)),
    ("norm", re.compile(r"rms|layer_norm|norm_kernel", re.I)),
    ("softmax / log-prob", re.compile(r"softmax|logsumexp|cross_entropy|nll|log_softmax", re.I)),
    ("reduction", re.compile(r"reduce", re.I)),
    # dtype casts are copy kernels (bfloat16_copy_kernel_cuda, direct_copy_kernel_cuda); "nocast" in
    # the names of strided elementwise kernels is no cast
    ("copy / cast", re.compile(r"copy_kernel|Memcpy|Memset|CatArray|chunk_cat|cat_kernel|index|gather|scatter|fill", re.I)),
    # liger-kernel's Triton kernels by their names (_triton_rope, _swiglu_forward_kernel, ...)
    ("elementwise", re.compile(r"elementwise|vectorized|unrolled|pointwise|triton|rope|swiglu|geglu", re.I)),
]
SYNC = re.compile(r"Synchronize|cudaMemcpy(?!Async)|cudaStreamWaitEvent", re.I)


def load_events(data: dict | list) -> list[dict]:
    """The complete events (``ph == "X"``, with a duration) of a parsed Chrome trace."""
    events = data["traceEvents"] if isinstance(data, dict) else data
    return [e for e in events if e.get("ph") == "X" and isinstance(e.get("dur"), (int, float))]


def load(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return load_events(json.load(fh))


def kind(event: dict) -> str:
    if event.get("cat") in ("gpu_memcpy", "gpu_memset"):
        return "copy / cast"
    name = event.get("name", "")
    for label, pattern in KINDS:
        if pattern.search(name):
            return label
    return "other"


def union(intervals: list[tuple[float, float]]) -> tuple[float, list[tuple[float, float]]]:
    """Total length covered by the intervals, and the gaps between them (in order)."""
    covered, gaps = 0.0, []
    end = None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            if end is not None:
                gaps.append((end, start))
            covered += stop - start
            end = stop
        elif stop > end:
            covered += stop - end
            end = stop
    return covered, gaps


def launching_ops(events: list[dict]) -> dict[int, str]:
    """Correlation id -> what launched that kernel: the autograd node being evaluated (its class,
    e.g. ``MulBackward0``; "forward" outside the backward) and the outermost aten op, read from the
    CPU ops that enclose the launch (``cuda_runtime`` or ``cuda_driver``) on its thread."""
    by_thread: dict[object, list[tuple[float, int, float, dict]]] = defaultdict(list)
    for e in events:
        if e.get("cat") == "cpu_op":
            # at equal start times the longer op encloses the shorter: it goes first
            by_thread[e.get("tid")].append((e["ts"], 0, -e["dur"], e))
        elif e.get("cat") in ("cuda_runtime", "cuda_driver") and "correlation" in e.get("args", {}):  # cuBLAS: cuLaunchKernelEx
            by_thread[e.get("tid")].append((e["ts"], 1, 0.0, e))
    launched: dict[int, str] = {}
    for items in by_thread.values():
        items.sort(key=lambda item: item[:3])
        stack: list[dict] = []
        for ts, is_launch, _, e in items:
            while stack and stack[-1]["ts"] + stack[-1]["dur"] < ts:
                stack.pop()
            if not is_launch:
                stack.append(e)
                continue
            nodes = [o["name"].rsplit(": ", 1)[-1] for o in stack if o["name"].startswith("autograd::engine::evaluate_function")]
            aten = [o["name"] for o in stack if o["name"].startswith("aten::")]
            launched[e["args"]["correlation"]] = f"{nodes[-1] if nodes else 'forward'} | {aten[0] if aten else '?'}"
    return launched


ms = 1e-3  # the trace's times are microseconds


class Tally:
    """Events counted and their durations summed, by name."""

    def __init__(self):
        self.by_name: dict[str, list] = defaultdict(lambda: [0, 0.0])

    def add(self, name: str, duration: float) -> None:
        entry = self.by_name[name]
        entry[0] += 1
        entry[1] += duration

    def largest(self, top: int | None) -> dict[str, dict]:
        """{name: {"count", "ms"}}, the longest in all first; ``top`` of them (None: every one)."""
        ranked = sorted(self.by_name.items(), key=lambda kv: -kv[1][1])[:top]
        return {name: {"count": int(count), "ms": round(total * ms, 3)} for name, (count, total) in ranked}


def summarise(events: list[dict], top: int = 25) -> dict:
    """The summary of one trace's complete events (``ph == "X"``); times in milliseconds."""
    gpu = [e for e in events if e.get("cat") in GPU_CATEGORIES]
    if not gpu:
        return {"error": "no GPU activity in the trace (was CUDA profiled?)"}
    start = min(e["ts"] for e in gpu)
    stop = max(e["ts"] + e["dur"] for e in gpu)
    busy, gaps = union([(e["ts"], e["ts"] + e["dur"]) for e in gpu])
    launched = launching_ops(events)
    by_kind: dict[str, float] = defaultdict(float)
    by_name, by_op, annotations, syncs = Tally(), Tally(), Tally(), Tally()
    for e in gpu:
        label = kind(e)
        by_kind[label] += e["dur"]
        by_name.add(e.get("name", "?")[:160], e["dur"])
        by_op.add(f"{launched.get(e.get('args', {}).get('correlation'), '? | ?')} ({label})", e["dur"])
    kernel_total = sum(by_kind.values())
    for e in events:
        if e.get("cat") == "user_annotation":
            annotations.add(e.get("name", "?"), e["dur"])
        elif e.get("cat") == "cuda_runtime" and SYNC.search(e.get("name", "")):
            syncs.add(e.get("name", "?"), e["dur"])
    return {
        "window_ms": round((stop - start) * ms, 3),
        "gpu_busy_ms": round(busy * ms, 3),
        "gpu_busy_share": round(busy / (stop - start), 4) if stop > start else 0.0,
        "gpu_idle_ms": round((stop - start - busy) * ms, 3),
        "gpu_events": len(gpu),
        # summed over streams, so it can exceed the busy time where streams overlap
        "kernel_ms_by_kind": {k: round(v * ms, 3) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        "kernel_share_by_kind": {k: round(v / kernel_total, 4) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        "top_kernels": [{"name": name, **counted, "kind": kind({"name": name})} for name, counted in by_name.largest(top).items()],
        # which autograd node ("forward" outside the backward) and aten op launched the kernels
        "kernel_ms_by_op": by_op.largest(top),
        "longest_idle_gaps_ms": sorted((round((b - a) * ms, 3) for a, b in gaps), reverse=True)[:10],
        "annotations_ms": annotations.largest(top),
        "host_syncs_ms": syncs.largest(None),
    }


def summarise_file(path: Path, top: int = 25) -> dict:
    return {"trace": str(path), **summarise(load(path), top)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", type=Path, help="a torch profiler trace (.json or .json.gz)")
    ap.add_argument("--top", type=int, default=25, help="how many kernels and annotations to list")
    args = ap.parse_args()
    print(json.dumps(summarise_file(args.trace, args.top), indent=1))


if __name__ == "__main__":
    main()
