"""Which kinds of fact a model gets wrong in boolean_expressions answers of the worked style.

    python -m veritas.evaluation.boolean_facts RUN [RUN ...]

RUN: a ``veritas eval`` results folder (or its samples.jsonl[.gz]).  Each boolean_expressions
response is paired line by line with the facts of its task, regenerated from (task id, level,
language); a table per run gives, per fact kind, how many verdicts were read and how many are
wrong, and how many failed responses hold a wrong verdict of that kind.  Responses whose lines do
not pair one to one with the facts are counted, not read.  How the fraction facts' working was
chosen: docs/results.md, "SFT at levels 1-5".
"""
from __future__ import annotations

import sys
from collections import Counter

from veritas.envs.lgc_v2 import registry
from veritas.envs.lgc_v2.boolean_expressions import fact_lines_judged
from veritas.evaluation.compare import runs_main


def tally(rows: list[dict]) -> dict:
    """Per fact kind: verdicts read and wrong; failed responses per kind of their wrong verdicts."""
    read, wrong, failed_with = Counter(), Counter(), Counter()
    responses = paired = 0
    for row in rows:
        if row.get("task_type") != "boolean_expressions":
            continue
        responses += 1
        task = registry.generate(row["task_id"], row["difficulty"], row["language"])
        judged = fact_lines_judged(task.metadata, row["language"], row.get("response"))
        if judged is None:
            continue
        paired += 1
        for kind, right in judged:
            read[kind] += 1
            wrong[kind] += not right
        if not row.get("correct"):
            kinds = {kind for kind, right in judged if not right} or {"(no wrong verdict)"}
            failed_with.update(kinds)
    return {"responses": responses, "paired": paired, "read": read, "wrong": wrong, "failed_with": failed_with}


def report(name: str, t: dict) -> str:
    lines = [f"{name}: {t['responses']} boolean_expressions responses, {t['paired']} with one line per fact", "",
             "| fact kind | verdicts | wrong | wrong % | failed responses with one |", "|---|---|---|---|---|"]
    for kind in sorted(t["read"], key=lambda k: (-t["wrong"][k] / t["read"][k], k)):
        n, w = t["read"][kind], t["wrong"][kind]
        lines.append(f"| {kind} | {n} | {w} | {100 * w / n:.1f} | {t['failed_with'][kind]} |")
    if t["failed_with"]["(no wrong verdict)"]:
        lines.append(f"| (no wrong verdict) | | | | {t['failed_with']['(no wrong verdict)']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return runs_main("boolean_facts", __doc__, argv, lambda name, rows: report(name, tally(rows)))


if __name__ == "__main__":
    sys.exit(main())
