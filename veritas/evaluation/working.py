"""Whether a response's own working, read in the worked style of the generators' worked solutions,
is wrong: one definition per task type, for the reward (``reward_kwargs.flawed_working_score``)
and for evaluation.

    working_flaw(task_type, metadata, language, response) -> a short reason, or None
    python -m veritas.evaluation.working RUN [RUN ...]      # per type: right and wrong answers read wrong

RUN: a ``veritas eval`` results folder (or its samples.jsonl[.gz]); each task is regenerated from
its id, level and language.  The right answers whose working is read wrong are those the reward
option scores ``flawed_working_score``.

A reason when the response's worked lines can be read and are wrong; None when they are right,
and also when they cannot be read (no working, another style, too long): a style this package
cannot read is never called wrong.  What is read, per type, reuses the evaluation readers:

- boolean_expressions: a fact line whose verdict is wrong (``boolean_expressions.fact_lines_judged``:
  its ``- `` lines ending in ``→ True``/``→ 真``, one per fact), or boxed letters that are not those
  of the last ``True so far:`` (``answer_consistency``: inconsistent).
- operation: a step line that goes wrong in classes (a) inner, (b) chain, (c) arithmetic or
  (d) case of ``operation_steps.first_wrong`` (class (e), an unreadable head or value, another
  shape, or no wrong line, is not a flaw), or a boxed value that is not the last step line's
  (``answer_consistency``: inconsistent).
- dyck_language, dyck_language2, dyck_language_reasoning_errors: a final line that does not copy
  the working's result (``answer_consistency``: inconsistent).
- other types: None.

Why: GRPO runs of the SFT model reinforced right answers reached through wrong working (the
positive-samples replay run: 292 of 1,672 rewarded boolean_expressions rollouts carried a wrong
fact verdict, and wrong verdicts in the model's working rose from 2.0 % to 3.8 %).

Model output is hostile input: each reader reads at most its first 20,000 characters (answer
consistency calls a longer response unreadable), line by line, never evaluated; a response of any
size is read in bounded time, and ``working_flaw`` never raises (a reader's exception means None).
"""
from __future__ import annotations

import sys
from collections import Counter

from veritas.envs.lgc_v2.boolean_expressions import fact_lines_judged
from veritas.evaluation.answer_consistency import INCONSISTENT, consistency
from veritas.evaluation.compare import count_share, runs_main
from veritas.evaluation.operation_steps import first_wrong

# operation_steps' classes that name a wrong step; (e) is what it cannot read or finds no fault in
_WRONG_STEP_CLASSES = ("a", "b", "c", "d")
_STEP_CLASS_NAMES = {"a": "inner", "b": "chain", "c": "arithmetic", "d": "case"}
_INCONSISTENT_REASON = {
    "boolean_expressions": "boxed letters are not the last 'True so far'",
    "operation": "boxed value is not the last step line's",
    "dyck_language": "final sequence does not end in the working's closers",
    "dyck_language2": "final sequence does not begin with the working's openers",
    "dyck_language_reasoning_errors": "final step numbers are not those marked ✗",
}


def _boolean(metadata: dict, language, response: str) -> str | None:
    judged = fact_lines_judged(metadata, language, response)
    if judged:
        wrong = sorted({kind for kind, right in judged if not right})
        if wrong:
            return "wrong fact verdict: " + ", ".join(wrong)
    return None


def _operation(metadata: dict, language, response: str) -> str | None:
    found = first_wrong(response, metadata)
    if found.cls in _WRONG_STEP_CLASSES:
        return f"step line {found.line}: ({found.cls}) {_STEP_CLASS_NAMES[found.cls]}, {found.detail}"
    return None


# the type's own reading of its working, before answer consistency (which every type here has)
_READERS = {
    "boolean_expressions": _boolean,
    "operation": _operation,
    "dyck_language": None,
    "dyck_language2": None,
    "dyck_language_reasoning_errors": None,
}

TASK_TYPES = tuple(_READERS)


def _working_flaw(task_type, metadata, language, response) -> str | None:
    """working_flaw without its last line of defence: tests call this, so a reader's bug shows."""
    if not isinstance(task_type, str) or task_type not in _READERS or not isinstance(response, str) or not isinstance(metadata, dict):
        return None
    if not isinstance(language, str):
        language = metadata.get("language")
    reader = _READERS[task_type]
    reason = reader(metadata, language, response) if reader is not None else None
    if reason is None and consistency(task_type, response) == INCONSISTENT:
        reason = _INCONSISTENT_REASON[task_type]
    return reason


def working_flaw(task_type: str, metadata: dict, language: str | None, response: str) -> str | None:
    """A short reason when the response's worked lines are readable in our worked style and wrong;
    None when they are right, unreadable or in another style, or the type is not read here.
    ``language`` None: the metadata's.  Never raises."""
    try:
        return _working_flaw(task_type, metadata, language, response)
    except Exception:  # noqa: BLE001 - a reader's bug must not stop the reward; tests call _working_flaw
        return None


def tally(rows: list[dict]) -> dict:
    """{task type: Counter} of the rows of the types read here: right / wrong answers, and how many
    of each have a working read wrong; {task type: Counter(reason)} of the right ones."""
    from veritas.envs.lgc_v2 import registry

    counts: dict[str, Counter] = {}
    reasons: dict[str, Counter] = {}
    for row in rows:
        task_type = row.get("task_type")
        if task_type not in _READERS:
            continue
        task = registry.generate(row["task_id"], row["difficulty"], row["language"])
        reason = working_flaw(task_type, task.metadata, row["language"], row.get("response"))
        right = "right" if row.get("correct") else "wrong"
        c = counts.setdefault(task_type, Counter())
        c[right] += 1
        c[right, "flawed"] += reason is not None
        if reason is not None and right == "right":
            # the reason's kind, without the line number or fact kinds it names
            reasons.setdefault(task_type, Counter())[reason.split(":")[0] if reason.startswith("wrong fact")
                                                    else reason.split(": ", 1)[-1].split(",")[0]] += 1
    return {"counts": counts, "right_reasons": reasons}


def report(name: str, t: dict) -> str:
    lines = [f"{name}: answers whose own working is read wrong (veritas.evaluation.working)", "",
             "| task type | right answers | of them read wrong | wrong answers | of them read wrong | "
             "right ones read wrong, by reason |", "|---|---|---|---|---|---|"]
    total = Counter()
    for task_type in sorted(t["counts"]):
        c = t["counts"][task_type]
        total.update(c)
        why = ", ".join(f"{r} {n}" for r, n in t["right_reasons"].get(task_type, Counter()).most_common())
        lines.append(f"| {task_type} | {c['right']} | {count_share(c['right', 'flawed'], c['right'])} | {c['wrong']} "
                     f"| {count_share(c['wrong', 'flawed'], c['wrong'])} | {why} |")
    if len(t["counts"]) > 1:
        lines.append(f"| all | {total['right']} | {count_share(total['right', 'flawed'], total['right'])} "
                     f"| {total['wrong']} | {count_share(total['wrong', 'flawed'], total['wrong'])} | |")
    if not t["counts"]:
        lines.append("| (no responses of the types read here) | | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return runs_main("working", __doc__, argv, lambda name, rows: report(name, tally(rows)))


if __name__ == "__main__":
    sys.exit(main())
