"""Machine instructions per generated task, per LGC-V2 type, counted by valgrind: a figure that
does not move with the clock of a shared VM (`veritas bench`'s tasks per CPU-second on the 2-core
box varied up to 2x between runs of the same code on one day).

    python3 tests/benchmarks/bench_instructions.py [--types dyck_language,...] [--seeds 500]
        [--baseline GIT_REV]

Each type runs in two fresh processes under `valgrind --tool=cachegrind --cache-sim=no`
(PYTHONHASHSEED=0): both generate seeds 0..N-1 to warm the caches, one then also generates seeds
N..2N-1 through the registry (the default level mix); the difference over N is the count per
task.  With ``--baseline``, the same is counted for that git revision (checked out in a
temporary worktree) and the ratio baseline / this tree is printed: how many times fewer
instructions a task takes now.  Needs valgrind on PATH.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from veritas.envs.lgc_v2.registry import TASK_TYPES  # noqa: E402

_PROGRAM = """
from veritas.envs.lgc_v2 import registry
for s in range({n}):
    registry.generate_by_type({t!r}, s)
for s in range({n}, {n} + {m}):
    registry.generate_by_type({t!r}, s)
"""


def _instructions(root: str, task_type: str, warm: int, measured: int) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=root)
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           sys.executable, "-c", _PROGRAM.format(n=warm, m=measured, t=task_type)]
    # run outside any checkout so that PYTHONPATH, not the working directory, picks the tree
    out = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if out.returncode != 0 or not found:
        raise SystemExit(f"valgrind run failed for {task_type} in {root}:\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def per_task(root: str, task_type: str, seeds: int) -> float:
    return (_instructions(root, task_type, seeds, seeds) - _instructions(root, task_type, seeds, 0)) / seeds


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--types", default=",".join(TASK_TYPES))
    p.add_argument("--seeds", type=int, default=500, help="tasks counted per type (after as many warm-up tasks)")
    p.add_argument("--baseline", help="a git revision to count too, for the ratio")
    args = p.parse_args()
    if shutil.which("valgrind") is None:
        print("bench_instructions: valgrind not found (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    baseline_root = None
    if args.baseline:
        baseline_root = tempfile.mkdtemp(prefix="veritas-baseline-")
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", baseline_root, args.baseline],
                       check=True, capture_output=True)
    try:
        header = f"{'type':32} {'instructions/task':>18}"
        if baseline_root:
            header += f" {'baseline ' + args.baseline:>24} {'baseline/now':>12}"
        print(header)
        for t in types:
            now = per_task(ROOT, t, args.seeds)
            line = f"{t:32} {now:18,.0f}"
            if baseline_root:
                before = per_task(baseline_root, t, args.seeds)
                line += f" {before:24,.0f} {before / now:12.2f}"
            print(line, flush=True)
    finally:
        if baseline_root:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", baseline_root], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
