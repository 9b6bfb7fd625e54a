"""Rows per second of `veritas generate` for each format at --concurrency 1 and 2, and of
`veritas check-data` on what it wrote.

    PYTHONPATH=. python3 tests/benchmarks/bench_generate.py [--rows 4000] [--concurrency 1,2]

Wall-clock times include starting the worker processes, as a real run pays them (after one
warm-up run in this process).  check-data verifies every row; for sft that means regenerating
each task, hence its lower rate.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from veritas.cli import main as veritas_main  # noqa: E402
from veritas.envs import lgc_v2  # noqa: E402

EXT = {"jsonl": "jsonl", "sft": "parquet", "rl": "parquet"}


def available_types() -> list[str]:
    """Types that can make a task in this checkout; the others are named on stderr and left out."""
    out = []
    for t in lgc_v2.TASK_TYPES:
        try:
            lgc_v2.generate_by_type(t, 0)
        except Exception as exc:
            print(f"# skipping {t}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        out.append(t)
    return out


def timed(argv: list[str]) -> float:
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = veritas_main(argv)
    elapsed = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"`veritas {' '.join(argv)}` failed with exit code {rc}:\n{err.getvalue()}")
    return elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=4000)
    p.add_argument("--concurrency", default="1,2", help="comma list")
    p.add_argument("--formats", default="jsonl,sft,rl")
    p.add_argument("--task-types", default=None, help="default: every type in this checkout")
    p.add_argument("--response-style", default="worked", choices=["answer", "worked"])
    args = p.parse_args()
    types = args.task_types.split(",") if args.task_types else available_types()
    if not types:
        print("no task types available", file=sys.stderr)
        return 1
    levels = [int(c) for c in args.concurrency.split(",")]
    print(f"# veritas generate: {args.rows} rows over {len(types)} types ({', '.join(types)}), "
          f"style {args.response_style}; python {platform.python_version()}, {os.cpu_count()} cpus")
    print(f"{'format':<7} {'concurrency':>11} {'rows':>7} {'seconds':>8} {'rows/s':>9} {'check rows/s':>13}")
    with tempfile.TemporaryDirectory() as folder:
        # warm-up: the first run in a process pays the imports and the types' tables
        timed(["generate", "--task-types", ",".join(types), "--num-samples", str(4 * len(types)), "--format", "jsonl",
               "--output", os.path.join(folder, "warmup.jsonl"), "--no-progress"])
        for fmt in args.formats.split(","):
            for c in levels:
                out = os.path.join(folder, f"{fmt}.c{c}.{EXT[fmt]}")
                seconds = timed(["generate", "--task-types", ",".join(types), "--num-samples", str(args.rows),
                                 "--format", fmt, "--response-style", args.response_style,
                                 "--concurrency", str(c), "--output", out, "--no-progress"])
                check = ""
                if c == levels[0]:
                    check_s = timed(["check-data", out, "--kind", fmt])
                    check = f"{args.rows / check_s:,.0f}"
                print(f"{fmt:<7} {c:>11} {args.rows:>7} {seconds:>8.2f} {args.rows / seconds:>9,.0f} {check:>13}",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
