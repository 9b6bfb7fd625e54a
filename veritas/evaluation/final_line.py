"""Which answers a training run broke (or fixed) in the final line alone, its working unchanged.

    python -m veritas.evaluation.final_line BEFORE AFTER

BEFORE, AFTER: ``veritas eval`` results folders (or samples files) of the same tasks, e.g. the SFT
model's evaluation and the GRPO model's, or a GRPO run's validation at step 0 and at its last step
(``val/step-N``).  Tasks are paired by task id, level and language (the first sample of each).  A
task is *broken* when BEFORE answers it right and AFTER wrong, *fixed* the other way round; each is
split by how the two responses differ: **final line only** when every non-empty line but the last
is the same (the same working, another answer written from it: a copy error or a changed last
step), else **working**.  The table gives, per type, broken and fixed tasks and how many of each
changed the final line only.

Why: the positive-sample arms of issue 17 (``veritas_positive_samples``: wrong answers get no
gradient) broke held-out answers whose working was unchanged and whose final line no longer
copied it: 15-23 of their 47-64 broken tasks, most of them the dyck types' long bracket sequences
(docs/results.md, after the nineteenth run); the standard GRPO arm on the same tasks, 4 of 52.

Responses are compared as text, never evaluated; reading never raises on any response.
"""
from __future__ import annotations

import sys
from collections import Counter

from veritas.evaluation.compare import count_share, read_pair

FINAL_LINE, WORKING = "final line only", "working"


def _lines(response) -> list[str]:
    if not isinstance(response, str):  # a row without a response text has no lines to compare
        return []
    return [line.strip() for line in response.splitlines() if line.strip()]


def change(before, after) -> str:
    """FINAL_LINE when the two responses' non-empty lines are the same but the last, else WORKING."""
    a, b = _lines(before), _lines(after)
    return FINAL_LINE if a and b and len(a) == len(b) and a[:-1] == b[:-1] else WORKING


def _first_samples(rows: list[dict]) -> dict[tuple, dict]:
    return {(r.get("task_id"), r.get("difficulty"), r.get("language")): r for r in rows if r.get("sample", 0) == 0}


def tally(before: list[dict], after: list[dict]) -> dict[str, Counter]:
    """{task type: Counter(tasks, broken, broken final line only, fixed, fixed final line only)}."""
    a, b = _first_samples(before), _first_samples(after)
    counts: dict[str, Counter] = {}
    for key in a.keys() & b.keys():
        ra, rb = a[key], b[key]
        c = counts.setdefault(str(ra.get("task_type")), Counter())
        c["tasks"] += 1
        right_a, right_b = bool(ra.get("correct")), bool(rb.get("correct"))
        if right_a == right_b:
            continue
        kind = "broken" if right_a else "fixed"
        c[kind] += 1
        c[kind, FINAL_LINE] += change(ra.get("response", ""), rb.get("response", "")) == FINAL_LINE
    return counts


def report(before: str, after: str, counts: dict[str, Counter]) -> str:
    lines = [f"{before} → {after}: tasks broken and fixed, and how many changed the final line only "
             "(veritas.evaluation.final_line)", "",
             "| task type | tasks | broken | of them final line only | fixed | of them final line only |",
             "|---|---|---|---|---|---|"]
    total = Counter()
    for task_type, c in sorted(counts.items()):
        total.update(c)
        lines.append(f"| {task_type} | {c['tasks']} | {c['broken']} | {count_share(c['broken', FINAL_LINE], c['broken'])} "
                     f"| {c['fixed']} | {count_share(c['fixed', FINAL_LINE], c['fixed'])} |")
    if not counts:
        lines.append("| (no task in both runs) | | | | | |")
    lines.append(f"| all | {total['tasks']} | {total['broken']} | {count_share(total['broken', FINAL_LINE], total['broken'])} "
                 f"| {total['fixed']} | {count_share(total['fixed', FINAL_LINE], total['fixed'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    pair = read_pair("final_line", __doc__, argv,
                     ("before", "veritas eval results folder or samples file (e.g. SFT, or val/step-0)"),
                     ("after", "the same tasks after training (e.g. GRPO, or val/step-N)"))
    if pair is None:
        return 2
    (before, after), rows = pair
    print(report(str(before), str(after), tally(*rows)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
