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
{input, output, score, step, ...}); --tasks PARQUET: the RL parquet it trained on.  Each rollout is
matched to its task by the user message in its chat-templated ``input`` (the text between the
first ``user\\n`` and the last ``\\nassistant``), its answer judged by the verifier, and per type and
range of N steps (default 8) the right answers read wrong and unreadable are counted; rollouts that
match no task, and lines that are no JSON object, are counted, not fatal.

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

import json
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from veritas.envs.lgc_v2.boolean_expressions import fact_line_counts, fact_lines_judged
from veritas.evaluation.answer_consistency import INCONSISTENT, UNREADABLE as _UNPAIRED, consistency
from veritas.evaluation.compare import count_share, runs_main
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


class RolloutError(Exception):
    """A rollout dump or task parquet that cannot be read (the message names the file)."""


def load_tasks(parquet: Path) -> dict[str, tuple]:
    """{the prompt's user message, stripped: (task type, metadata, language)} of an RL parquet."""
    import pyarrow.parquet as pq

    from veritas.data.formats import parse_metadata

    try:
        rows = pq.read_table(parquet, columns=["prompt", "extra_info"]).to_pylist()
        tasks = {}
        for row in rows:
            user = [m["content"] for m in row["prompt"] if m["role"] == "user"]
            info = row["extra_info"]
            tasks[user[-1].strip()] = (info["task_type"], parse_metadata(info["metadata"]), info.get("language"))
    except Exception as e:  # noqa: BLE001 - any unreadable parquet is one error naming the file
        raise RolloutError(f"{parquet}: not an RL task parquet ({type(e).__name__}: {e})") from None
    return tasks


def read_rollouts(folder: Path) -> tuple[list[tuple[int, dict]], int]:
    """([(step, rollout row)], how many lines were no JSON object) of the STEP.jsonl files in folder."""
    if not folder.is_dir():
        raise RolloutError(f"{folder}: no such folder")
    files = sorted((int(f.stem), f) for f in folder.glob("*.jsonl") if f.stem.isdigit())
    if not files:
        raise RolloutError(f"{folder}: no STEP.jsonl rollout files")
    rows, bad = [], 0
    for step, path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise RolloutError(f"{path}: {e}") from None
        for line in filter(str.strip, lines):
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if isinstance(row, dict) and isinstance(row.get("input"), str):
                rows.append((step, row))
            else:
                bad += 1
    return rows, bad


def user_message(prompt: str) -> str:
    """The user message of a chat-templated prompt ("system\n...\nuser\nMSG\nassistant\n"), stripped."""
    marker = prompt.find("\nuser\n")
    begin = len("user\n") if prompt.startswith("user\n") else marker + len("\nuser\n") if marker >= 0 else 0
    end = prompt.rfind("\nassistant")
    return prompt[begin:end if end >= begin else None].strip()


_MAX_ANSWER_CHARS = 200_000  # as the reward's default max_answer_chars: longer is not verified


def _right(task_type: str, output, metadata: dict) -> bool:
    from veritas.envs.extract import strip_think
    from veritas.envs.lgc_v2 import registry

    answer = strip_think(output) if isinstance(output, str) else None
    if answer is None or len(answer) > _MAX_ANSWER_CHARS:
        return False
    try:
        return bool(registry.verify(task_type, answer, metadata).correct)
    except Exception:  # noqa: BLE001 - a verifier's bug is no right answer
        return False


def tally_rollouts(rows: list[tuple[int, dict]], tasks: dict[str, tuple], steps_per_row: int) -> dict:
    """{(task type, first step of its range): Counter(rollouts, right, right read wrong / unreadable)}
    of the rollouts of the types read here, and how many matched no task."""
    counts: dict[tuple, Counter] = {}
    unmatched = 0
    for step, row in rows:
        task = tasks.get(user_message(row["input"]))
        if task is None:
            unmatched += 1
            continue
        task_type, metadata, language = task
        if task_type not in _READERS:
            continue
        c = counts.setdefault((task_type, (step - 1) // steps_per_row * steps_per_row + 1), Counter())
        c["rollouts"] += 1
        if _right(task_type, row.get("output"), metadata):
            found = read_working(task_type, metadata, language, row.get("output"))
            c["right"] += 1
            c[WRONG] += found is not None and found.verdict == WRONG
            c[UNREADABLE] += found is not None and found.verdict == UNREADABLE
    return {"counts": counts, "unmatched": unmatched}


def rollouts_report(name: str, t: dict, steps_per_row: int, bad_lines: int = 0) -> str:
    lines = [f"{name}: right rollouts whose own working is read wrong or unreadable (veritas.evaluation.working)", "",
             "| task type | steps | rollouts | right answers | of them read wrong | of them unreadable |",
             "|---|---|---|---|---|---|"]
    for (task_type, first), c in sorted(t["counts"].items()):
        lines.append(f"| {task_type} | {first}–{first + steps_per_row - 1} | {c['rollouts']} | {c['right']} "
                     f"| {count_share(c[WRONG], c['right'])} | {count_share(c[UNREADABLE], c['right'])} |")
    if not t["counts"]:
        lines.append("| (no rollouts of the types read here) | | | | | |")
    lines += ["", f"rollouts matching no task: {t['unmatched']}"]
    if bad_lines:
        lines.append(f"lines that are no rollout (not a JSON object with an input): {bad_lines}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    argv = sys.argv[1:] if argv is None else list(argv)
    if not any(a.split("=")[0] in ("--rollouts", "--tasks", "--steps-per-row", "-h", "--help") for a in argv):
        return runs_main("working", __doc__, argv, lambda name, rows: report(name, tally(rows)))
    ap = argparse.ArgumentParser(prog="python -m veritas.evaluation.working", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="*", type=Path, help="veritas eval results folders (not with --rollouts)")
    ap.add_argument("--rollouts", type=Path, help="a GRPO run's rollout dump folder (STEP.jsonl files)")
    ap.add_argument("--tasks", type=Path, help="the RL parquet of the tasks that run trained on")
    ap.add_argument("--steps-per-row", type=int, default=8, help="steps per table row (default 8)")
    args = ap.parse_args(argv)
    if args.runs or args.rollouts is None or args.tasks is None:
        ap.error("pass RUN folders, or --rollouts DIR with --tasks PARQUET, not both")
    if args.steps_per_row < 1:
        ap.error("--steps-per-row must be at least 1")
    try:
        rows, bad = read_rollouts(args.rollouts)
        tasks = load_tasks(args.tasks)
    except RolloutError as e:
        print(f"working: {e}", file=sys.stderr)
        return 2
    print(rollouts_report(str(args.rollouts), tally_rollouts(rows, tasks, args.steps_per_row),
                          args.steps_per_row, bad) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
