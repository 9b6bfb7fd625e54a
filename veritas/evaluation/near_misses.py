"""How much of a model's greedy accuracy gap its own samples already close: the room GRPO can reach
by sharpening what the model samples, measured before any GPU time goes to a GRPO arm.

    python -m veritas.evaluation.near_misses GREEDY SAMPLED

GREEDY: a ``veritas eval`` results folder (or samples file) of the model decoded greedily; SAMPLED:
the same model on the same tasks with ``--samples k`` at a training temperature.  Tasks are paired
by task id, level and language (GREEDY's first sample of each).  Per type: the greedy failures, how
many of them SAMPLED answers right at least once (**near misses**: a right answer GRPO can
reinforce) and how many never; the greedy successes SAMPLED answers wrong at least once (**exposed**:
right answers an update can tip over).  The last column, near misses as points of the type's
accuracy, is what greedy accuracy would gain if every near miss turned right and nothing broke;
their mean over types bounds a sharpening-only macro gain.

Why: on issue 17's held-out tasks the SFT model of levels 1-3 had 55 near misses among 239 greedy
failures (8.6 macro points) and 142 exposed right answers; every GRPO arm so far gained at most
+1.6 macro (docs/results.md, after the nineteenth run).  A run that needs more than this bound has
to teach what the model never samples.
"""
from __future__ import annotations

import sys
from collections import Counter

from veritas.evaluation.compare import (CompareError, check_same_split, count_share, load_run, read_pair,
                                       samples_per_task)


def tally(greedy: dict, sampled: dict) -> dict[str, Counter]:
    """{task type: Counter(tasks, greedy_right, near_misses, never_right, exposed)} over the tasks of
    both runs (``load_run`` dicts); GREEDY's first verdict, SAMPLED's every verdict of a task."""
    counts: dict[str, Counter] = {}
    for key in greedy["tasks"].keys() & sampled["tasks"].keys():
        g, s = greedy["tasks"][key], sampled["tasks"][key]  # load_run gives every task at least one verdict
        c = counts.setdefault(str(g["type"]), Counter())
        c["tasks"] += 1
        if g["verdicts"][0]:
            c["greedy_right"] += 1
            c["exposed"] += not all(s["verdicts"])
        else:
            c["near_misses" if any(s["verdicts"]) else "never_right"] += 1
    return counts


def _points(n: int, of: int) -> float:
    return 100 * n / of if of else 0.0


def report(greedy: str, sampled: str, samples: int | None, counts: dict[str, Counter]) -> str:
    per = f"{samples} samples" if samples else "its samples"
    lines = [f"{greedy} (greedy) against {sampled} ({per} a task): near misses, the greedy failures sampled right "
             "at least once, and exposed right answers, the greedy successes sampled wrong at least once "
             "(veritas.evaluation.near_misses)", "",
             "| task type | tasks | greedy right | greedy wrong | near misses | never right | exposed | "
             "near misses, points of accuracy |",
             "|---|---|---|---|---|---|---|---|"]
    total = Counter()
    for task_type, c in sorted(counts.items()):
        total.update(c)
        wrong = c["tasks"] - c["greedy_right"]
        lines.append(f"| {task_type} | {c['tasks']} | {c['greedy_right']} | {wrong} | {count_share(c['near_misses'], wrong)} "
                     f"| {c['never_right']} | {count_share(c['exposed'], c['greedy_right'])} "
                     f"| {_points(c['near_misses'], c['tasks']):.1f} |")
    if not counts:
        lines.append("| (no task in both runs) | | | | | | | |")
    wrong = total["tasks"] - total["greedy_right"]
    lines.append(f"| all | {total['tasks']} | {total['greedy_right']} | {wrong} | {count_share(total['near_misses'], wrong)} "
                 f"| {total['never_right']} | {count_share(total['exposed'], total['greedy_right'])} "
                 f"| {_points(total['near_misses'], total['tasks']):.1f} |")
    if counts:
        macro = sum(_points(c["near_misses"], c["tasks"]) for c in counts.values()) / len(counts)
        lines += ["", f"Sharpening alone can add at most {macro:.1f} macro points of greedy accuracy here "
                      "(every near miss fixed, nothing broken)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    pair = read_pair("near_misses", __doc__, argv,
                     ("greedy", "veritas eval results folder or samples file, greedy"),
                     ("sampled", "the same model and tasks with --samples k"), reader=load_run)
    if pair is None:
        return 2
    (greedy, sampled), runs = pair
    try:
        check_same_split({"GREEDY": runs[0], "SAMPLED": runs[1]})
    except CompareError as e:
        print(f"near_misses: {e}", file=sys.stderr)
        return 2
    print(report(str(greedy), str(sampled), samples_per_task(runs[1]), tally(*runs)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
