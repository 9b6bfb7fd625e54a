"""Whether a response's own working, read in the worked style of the generators' worked solutions,
is right, wrong or unreadable: one definition per task type, for the reward
(``reward_kwargs.flawed_working_score``, ``reward_kwargs.unreadable_working_score``) and for evaluation.

    read_working(task_type, metadata, language, response) -> Reading(verdict, reason), or None
    working_flaw(task_type, metadata, language, response) -> a short reason, or None
    python -m veritas.evaluation.working RUN [RUN ...]      # per type: answers read wrong, unreadable
    python -m veritas.evaluation.working --rollouts DIR --tasks PARQUET [--steps-per-row N]
        # per type and N steps: right rollouts read wrong, unreadable

RUN: a ``veritas eval`` results folder (or its samples.jsonl[.gz]); each task is regenerated from
its id, level and language.  The right answers whose working is read wrong are those the reward
scores ``flawed_working_score``; those read unreadable, ``unreadable_working_score``.

--rollouts DIR: a GRPO run's rollout dump (verl's ``trainer.rollout_data_dir``: STEP.jsonl files of
{input, output, score, step, ...}); --tasks PARQUET: the RL parquet it trained on.  The dump is
read, the parquet's tasks rebuilt, each rollout matched to its task and its answer judged by
``veritas.verl_adapters.generations`` (``read_dump``, ``parquet_tasks``, ``match``, ``judge``): a
rollout belongs to the one task whose prompt its ``input`` contains, and its answer is judged as
``veritas eval`` judges it.  Per type and range of N steps (by each row's ``step``; default 8) the
right answers read wrong and unreadable are counted; rollouts that match no task, or more than
one, are counted and left out.  A torn last line (a file verl was still writing) is left out; any
other bad line (no JSON object with input and output text, or a step that is no whole number) is
an error naming its file and line, and rows without a step one naming the folder.

``read_working``: RIGHT, WRONG (with a reason) or UNREADABLE (with what could not be read: no
working, another style, lines left out, too long); wrong takes precedence over unreadable; None
for a type not read here.  ``working_flaw``: the reason when WRONG, else None -- it never calls
unreadable working wrong.  What is read, per type, reuses the evaluation readers:

- boolean_expressions: wrong, a fact line whose verdict is wrong (``boolean_expressions.fact_lines_judged``:
  its ``- `` lines ending in ``→ True``/``→ 真``, one per fact), or boxed letters that are not those
  of the last ``True so far:`` (``answer_consistency``: inconsistent); unreadable, fact lines that
  do not pair one to one with the facts (the reason gives both counts), or no ``True so far:`` or
  no boxed letters (``answer_consistency``: unreadable).
- operation: wrong, a step line that goes wrong in classes (a) inner, (b) chain, (c) arithmetic or
  (d) case of ``operation_steps.first_wrong``, or a boxed value that is not the last step line's;
  unreadable, its class (e) (an unreadable head or value, another shape), no wrong line while
  steps of the task were left out ("k of n steps written"), or no step line value or boxed value.
- dyck_language, dyck_language2, dyck_language_reasoning_errors: wrong, a final line that does not
  copy the working's result; unreadable, no working result or no final line to compare.
- other types: None.

Why wrong: GRPO runs of the SFT model reinforced right answers reached through wrong working (the
positive-samples replay run: 292 of 1,672 rewarded boolean_expressions rollouts carried a wrong
fact verdict, and wrong verdicts in the model's working rose from 2.0 % to 3.8 %).  Why
unreadable: with only wrong working penalised (the eighteenth run, ``flawed_working_score`` 0.0)
the policy learned to escape the check by leaving fact lines out -- boolean_expressions responses
whose fact lines pair with the facts fell from 509 to 316 of 512 train tasks (the replay arm
without the check: 501), the unpaired ones right 56 % of the time (paired 84.5 %), and right
rollouts with unpaired fact lines rose from 2.0 % (steps 1-8) to 16.6 % (steps 25-32).  The SFT
model writes the worked style: its right answers read unreadable are few (boolean_expressions
1-2 in ~120, operation 0-3 in 90-260, the dyck types none, in the seventeenth and eighteenth
runs' evaluations).

Model output is hostile input: each reader reads at most its first 20,000 characters (answer
consistency calls a longer response unreadable), line by line, never evaluated; a response of any
size is read in bounded time, and neither function raises (a reader's exception means None).
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from veritas.envs.lgc_v2.boolean_expressions import fact_line_counts, fact_lines_judged
from veritas.evaluation.answer_consistency import INCONSISTENT, UNREADABLE as _UNPAIRED, consistency
from veritas.evaluation.compare import count_share, print_runs, runs_parser
from veritas.evaluation.operation_steps import first_wrong

RIGHT, WRONG, UNREADABLE = "right", "wrong", "unreadable"
VERDICTS = (RIGHT, WRONG, UNREADABLE)


class Reading(NamedTuple):
    """What read_working found: RIGHT (reason None), WRONG or UNREADABLE, with a short reason."""

    verdict: str
    reason: str | None = None


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
# answer_consistency's unreadable: what it did not find
_UNPAIRED_REASON = {
    "boolean_expressions": "no 'True so far' line or no boxed letters",
    "operation": "no step line value or no boxed value",
    "dyck_language": "no closers line, or the final line is one",
    "dyck_language2": "no openers line or no backticked final sequence",
    "dyck_language_reasoning_errors": "no check lines or no final step numbers",
}


def _boolean(metadata: dict, language, response: str) -> Reading | None:
    judged = fact_lines_judged(metadata, language, response)
    if judged is None:
        counts = fact_line_counts(metadata, language, response)
        return Reading(UNREADABLE, "fact lines not read" if counts is None
                       else f"{counts[0]} fact lines for {counts[1]} facts")
    wrong = sorted({kind for kind, right in judged if not right})
    if wrong:
        return Reading(WRONG, "wrong fact verdict: " + ", ".join(wrong))
    return None


def _operation(metadata: dict, language, response: str) -> Reading | None:
    found = first_wrong(response, metadata)
    if found.cls in _WRONG_STEP_CLASSES:
        return Reading(WRONG, f"step line {found.line}: ({found.cls}) {_STEP_CLASS_NAMES[found.cls]}, {found.detail}")
    if found.detail != "no wrong step line":
        return Reading(UNREADABLE, f"step line {found.line}: {found.detail}")
    if found.written < found.steps:  # right as far as it goes, but steps left out
        return Reading(UNREADABLE, f"{found.written} of {found.steps} steps written")
    return None


# the type's own reading of its working, before answer consistency (which every type here has):
# None where it has no objection
_READERS = {
    "boolean_expressions": _boolean,
    "operation": _operation,
    "dyck_language": None,
    "dyck_language2": None,
    "dyck_language_reasoning_errors": None,
}

TASK_TYPES = tuple(_READERS)


def _read_working(task_type, metadata, language, response) -> Reading | None:
    """read_working without its last line of defence: tests call this, so a reader's bug shows."""
    if not isinstance(task_type, str) or task_type not in _READERS or not isinstance(metadata, dict):
        return None
    if not isinstance(response, str):
        return Reading(UNREADABLE, "no response text")
    if not isinstance(language, str):
        language = metadata.get("language")
    reader = _READERS[task_type]
    found = reader(metadata, language, response) if reader is not None else None
    if found is not None and found.verdict == WRONG:
        return found
    paired = consistency(task_type, response)
    if paired == INCONSISTENT:  # wrong takes precedence over unreadable
        return Reading(WRONG, _INCONSISTENT_REASON[task_type])
    if found is not None:
        return found
    if paired == _UNPAIRED:
        return Reading(UNREADABLE, _UNPAIRED_REASON[task_type])
    return Reading(RIGHT)


def read_working(task_type: str, metadata: dict, language: str | None, response: str) -> Reading | None:
    """Whether the response's working, read in our worked style, is right, wrong or unreadable
    (with a short reason); None for a type not read here, metadata that is not a dict, or a reader
    that failed (its bug is no verdict on the response).  ``language`` None: the metadata's.
    Never raises."""
    try:
        return _read_working(task_type, metadata, language, response)
    except Exception:  # noqa: BLE001 - a reader's bug must not stop the reward; tests call _read_working
        return None


def _reason_if_wrong(found: Reading | None) -> str | None:
    return found.reason if found is not None and found.verdict == WRONG else None


def _working_flaw(task_type, metadata, language, response) -> str | None:
    """working_flaw without its last line of defence."""
    return _reason_if_wrong(_read_working(task_type, metadata, language, response))


def working_flaw(task_type: str, metadata: dict, language: str | None, response: str) -> str | None:
    """A short reason when the response's worked lines are readable in our worked style and wrong;
    None when they are right, unreadable or in another style, or the type is not read here.
    ``language`` None: the metadata's.  Never raises."""
    return _reason_if_wrong(read_working(task_type, metadata, language, response))


def _reason_kind(found: Reading) -> str:
    """A reason without the line number, counts or fact kinds it names, so that reasons group."""
    reason = found.reason or ""
    if reason.startswith("wrong fact"):
        return "wrong fact verdict"
    if reason.endswith(" facts") and " fact lines for " in reason:
        return "fact lines not paired with facts"
    if reason.endswith(" steps written"):
        return "steps left out"
    return reason.split(": ", 1)[-1].split(",")[0] if reason.startswith("step line ") else reason


def tally(rows: list[dict]) -> dict:
    """{task type: Counter} of the rows of the types read here: right / wrong answers, and how many
    of each have a working read wrong or unreadable; {task type: Counter(reason kind)} of the right
    ones read wrong, and of those read unreadable."""
    from veritas.envs.lgc_v2 import registry

    counts: dict[str, Counter] = {}
    reasons: dict[str, Counter] = {}
    unreadable: dict[str, Counter] = {}
    for row in rows:
        task_type = row.get("task_type")
        if task_type not in _READERS:
            continue
        task = registry.generate(row["task_id"], row["difficulty"], row["language"])
        found = read_working(task_type, task.metadata, row["language"], row.get("response"))
        verdict = found.verdict if found is not None else None
        right = "right" if row.get("correct") else "wrong"
        c = counts.setdefault(task_type, Counter())
        c[right] += 1
        c[right, "flawed"] += verdict == WRONG
        c[right, UNREADABLE] += verdict == UNREADABLE
        if right == "right" and verdict in (WRONG, UNREADABLE):
            by_kind = reasons if verdict == WRONG else unreadable
            by_kind.setdefault(task_type, Counter())[_reason_kind(found)] += 1
    return {"counts": counts, "right_reasons": reasons, "right_unreadable": unreadable}


def report(name: str, t: dict) -> str:
    lines = [f"{name}: answers whose own working is read wrong or unreadable (veritas.evaluation.working)", "",
             "| task type | right answers | of them read wrong | of them unreadable | wrong answers | of them read wrong | "
             "right ones read wrong, by reason | right ones unreadable, by reason |", "|---|---|---|---|---|---|---|---|"]
    total = Counter()
    for task_type in sorted(t["counts"]):
        c = t["counts"][task_type]
        total.update(c)
        why, unread = (", ".join(f"{r} {n}" for r, n in t[key].get(task_type, Counter()).most_common())
                       for key in ("right_reasons", "right_unreadable"))
        lines.append(f"| {task_type} | {c['right']} | {count_share(c['right', 'flawed'], c['right'])} "
                     f"| {count_share(c['right', UNREADABLE], c['right'])} | {c['wrong']} "
                     f"| {count_share(c['wrong', 'flawed'], c['wrong'])} | {why} | {unread} |")
    if len(t["counts"]) > 1:
        lines.append(f"| all | {total['right']} | {count_share(total['right', 'flawed'], total['right'])} "
                     f"| {count_share(total['right', UNREADABLE], total['right'])} "
                     f"| {total['wrong']} | {count_share(total['wrong', 'flawed'], total['wrong'])} | | |")
    if not t["counts"]:
        lines.append("| (no responses of the types read here) | | | | | | | |")
    return "\n".join(lines)


def tally_rollouts(pairs: list[tuple[dict, object]], steps_per_row: int) -> dict[tuple, Counter]:
    """{(task type, first step of its range): Counter(rollouts, right, right read wrong / unreadable)}
    of the (rollout, task) pairs of the types read here (``generations.match``'s pairs); each answer
    is judged as ``veritas eval`` judges it (``generations.judge``)."""
    from veritas.verl_adapters.generations import judge

    pairs = [(row, task) for row, task in pairs if task.task_type in _READERS]
    counts: dict[tuple, Counter] = {}
    for (row, task), judged in zip(pairs, judge(pairs)):
        c = counts.setdefault((task.task_type, (row["step"] - 1) // steps_per_row * steps_per_row + 1), Counter())
        c["rollouts"] += 1
        if judged["correct"]:
            found = read_working(task.task_type, task.metadata, task.language, row["output"])
            c["right"] += 1
            c[WRONG] += found is not None and found.verdict == WRONG
            c[UNREADABLE] += found is not None and found.verdict == UNREADABLE
    return counts


def rollouts_report(name: str, counts: dict[tuple, Counter], steps_per_row: int, unmatched: int,
                    ambiguous: int = 0) -> str:
    lines = [f"{name}: right rollouts whose own working is read wrong or unreadable (veritas.evaluation.working)", "",
             "| task type | steps | rollouts | right answers | of them read wrong | of them unreadable |",
             "|---|---|---|---|---|---|"]
    for (task_type, first), c in sorted(counts.items()):
        lines.append(f"| {task_type} | {first}–{first + steps_per_row - 1} | {c['rollouts']} | {c['right']} "
                     f"| {count_share(c[WRONG], c['right'])} | {count_share(c[UNREADABLE], c['right'])} |")
    if not counts:
        lines.append("| (no rollouts of the types read here) | | | | | |")
    lines += ["", f"rollouts matching no task: {unmatched}"]
    if ambiguous:
        lines.append(f"rollouts matching more than one task (left out): {ambiguous}")
    return "\n".join(lines)


def _rollouts(folder: Path, parquet: Path, steps_per_row: int) -> str:
    """The --rollouts table: verl's rollout dump matched to the RL parquet's tasks and counted."""
    from veritas.verl_adapters.generations import DumpError, match, parquet_tasks, read_dump

    rows = read_dump(folder)
    if any(row.get("step") is None for row in rows):
        raise DumpError(f"{folder}: rollouts without a step (verl writes it in every row)")
    pairs, unmatched, ambiguous = match(rows, parquet_tasks(parquet))
    return rollouts_report(str(folder), tally_rollouts(pairs, steps_per_row), steps_per_row, unmatched, ambiguous)


def main(argv: list[str] | None = None) -> int:
    from veritas.verl_adapters.generations import DumpError

    ap = runs_parser("working", __doc__, nargs="*")
    ap.add_argument("--rollouts", type=Path, help="a GRPO run's rollout dump folder (STEP.jsonl files), not with RUN")
    ap.add_argument("--tasks", type=Path, help="with --rollouts: the RL parquet of the tasks that run trained on")
    ap.add_argument("--steps-per-row", type=int, help="with --rollouts: steps per table row (default 8)")
    args = ap.parse_intermixed_args(argv)
    if args.runs and (args.rollouts, args.tasks, args.steps_per_row) == (None, None, None):
        return print_runs("working", args.runs, lambda name, rows: report(name, tally(rows)))
    if args.runs or args.rollouts is None or args.tasks is None:
        ap.error("pass RUN folders, or --rollouts DIR with --tasks PARQUET, not both")
    steps_per_row = 8 if args.steps_per_row is None else args.steps_per_row
    if steps_per_row < 1:
        ap.error("--steps-per-row must be at least 1")
    try:
        table = _rollouts(args.rollouts, args.tasks, steps_per_row)
    except DumpError as e:
        print(f"working: {e}", file=sys.stderr)
        return 2
    print(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
