"""How a training run's greedy verdicts move between its evaluations: tasks fixed and broken
against the first, and how many of them move back again.

    python -m veritas.evaluation.churn FIRST LATER [LATER ...]

FIRST, LATER: ``veritas eval`` results folders (or samples files) of the same tasks decoded
greedily, in training order, e.g. a GRPO run's validations ``val-step-0 val-step-12 ... val-step-40``
(``RECIPE_OUT/val/step-N``), or the SFT model's evaluation and then the GRPO model's.  Tasks are
paired by task id, level and language; only tasks every run answered are counted.  For each LATER
run: **fixed** (FIRST's failures it answers right), **broken** (FIRST's right answers it answers
wrong), their difference and the macro change over types.  Then what became of the tasks fixed and
broken at the second run by the last, and how many tasks changed verdict at least once, and more
than once, over all runs.

Why: every GRPO arm of issue 17 fixed 19-39 held-out tasks and broke 14-64, and +5 macro is 32
tasks net; part of both counts is a borderline set that flips either way with any update (the
thirteenth run: of 21 tasks broken at step 12, 10 right again at step 40; 81 of 640 tasks changed
verdict over five validations; docs/results.md, after the nineteenth run).  A net gain read off one
checkpoint carries that churn with it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from veritas.evaluation.compare import (CompareError, check_same_split, count_share, load_run, read_each,
                                       samples_per_task)


def verdict_series(runs: list[dict]) -> dict[tuple, tuple[str, list[bool]]]:
    """{task key: (type, [greedy verdict in each run])} over the tasks every run answered
    (``load_run`` dicts; each run's first verdict of a task)."""
    shared = set(runs[0]["tasks"]).intersection(*(run["tasks"] for run in runs[1:]))
    return {key: (str(runs[0]["tasks"][key]["type"]), [bool(run["tasks"][key]["verdicts"][0]) for run in runs])
            for key in shared}


def moves(series: dict[tuple, tuple[str, list[bool]]], later: int) -> dict:
    """Run ``later`` (an index > 0) against run 0: fixed, broken, their base counts, and the macro
    change in points (the mean over types of each type's accuracy change)."""
    fixed = sum(1 for _, v in series.values() if not v[0] and v[later])
    broken = sum(1 for _, v in series.values() if v[0] and not v[later])
    right = sum(1 for _, v in series.values() if v[0])
    by_type: dict[str, list[int]] = {}
    for task_type, v in series.values():
        n_change = by_type.setdefault(task_type, [0, 0])
        n_change[0] += 1
        n_change[1] += int(v[later]) - int(v[0])
    macro = sum(100 * change / n for n, change in by_type.values()) / len(by_type) if by_type else 0.0
    return {"fixed": fixed, "failures": len(series) - right, "broken": broken, "right": right, "macro": macro}


def report(names: list[str], series: dict[tuple, tuple[str, list[bool]]]) -> str:
    first = names[0]
    lines = [f"Greedy verdicts against {first}, on the {len(series)} tasks every run answered "
             "(veritas.evaluation.churn)", "",
             f"| run | fixed, of {first}'s failures | broken, of its right answers | net | macro change, points |",
             "|---|---|---|---|---|"]
    for i, name in enumerate(names[1:], 1):
        m = moves(series, i)
        lines.append(f"| {name} | {count_share(m['fixed'], m['failures'])} | {count_share(m['broken'], m['right'])} "
                     f"| {m['fixed'] - m['broken']:+d} | {m['macro']:+.1f} |")
    if len(names) > 2:
        second, last = names[1], names[-1]
        broken_then = [v for _, v in series.values() if v[0] and not v[1]]
        fixed_then = [v for _, v in series.values() if not v[0] and v[1]]
        lines += ["", f"Of the {len(broken_then)} tasks broken at {second}, {sum(v[-1] for v in broken_then)} "
                      f"are right again at {last}; of the {len(fixed_then)} fixed at {second}, "
                      f"{sum(v[-1] for v in fixed_then)} are still right there."]
    changes = [sum(a != b for a, b in zip(v, v[1:])) for _, v in series.values()]
    lines += ["", f"{sum(c > 0 for c in changes)} of {len(series)} tasks changed verdict at least once over the "
                  f"{len(names)} runs, {sum(c > 1 for c in changes)} more than once."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m veritas.evaluation.churn", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                    help="veritas eval results folders or samples files of the same tasks, greedy, in training order")
    args = ap.parse_args(argv)
    if len(args.runs) < 2:
        ap.error("give at least two runs: the first and one later")
    runs = read_each("churn", args.runs, reader=load_run)
    if runs is None:
        return 2
    try:
        check_same_split({str(path): run for path, run in zip(args.runs, runs)})
        for path, run in zip(args.runs, runs):
            samples = samples_per_task(run)
            if samples > 1:
                raise CompareError(f"{path}: {samples} samples a task; churn compares greedy evaluations (one answer a task)")
    except CompareError as e:
        print(f"churn: {e}", file=sys.stderr)
        return 2
    names = [p.name for p in args.runs]  # the folders' own names when they tell the runs apart
    if len(set(names)) < len(names) or not all(names):
        names = [str(p) for p in args.runs]
    else:
        print(f"churn: {', '.join(str(p) for p in args.runs)}\n")
    print(report(names, verdict_series(runs)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
