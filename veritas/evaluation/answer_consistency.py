"""Whether each answer's final line follows from the answer's own worked lines.

    python -m veritas.evaluation.answer_consistency RUN [RUN ...] [--show N]

RUN: a ``veritas eval`` results folder (or its samples.jsonl[.gz]).  Each response of the types
below is read in the worked style the SFT model writes (the generators' worked solutions), and
its final answer is compared with what its own working ends in -- not with the truth:

- dyck_language_reasoning_errors: the step numbers of the check lines ending in ``✗``
  (``Thought 5: { → [ [ {, but the step says [ [ ✗``, zh ``步骤 12：...✗``) against the step
  numbers on the last non-empty line (``5,15``).
- boolean_expressions: the letters of the last ``True so far: A, B`` (zh ``目前为真：``; ``none`` /
  ``无`` is no letter) against those in the last ``\\boxed{}``.
- operation: the value after the last ``=`` of the last ``- `` step line against the last
  ``\\boxed{}`` (spaces and a trailing period removed).
- dyck_language: the closers of the last ``Close them from the top down: ) } ]`` must end the last
  non-empty line (backticks and spaces removed).
- dyck_language2: the openers of the last ``Openers in front: < < (`` (empty when none are needed)
  must begin the last backticked sequence on the last non-empty line.

Each response is consistent, inconsistent, or unreadable (the working or the answer not found).
Consistent and wrong means the working itself went wrong; inconsistent means the final line was
not copied from the working.  Rows are split by their ``correct`` verdict; other types are not read.

Model output is hostile input: bounded (a longer response is unreadable), read as text, never
evaluated, and reading never raises.
"""
from __future__ import annotations

import re
import sys
from collections import Counter

from veritas.envs.extract import last_boxed
from veritas.envs.lgc_v2 import boolean_expressions, dyck_language_reasoning_errors, operation
from veritas.evaluation.compare import runs_main

_MAX_RESPONSE = 20_000  # longer than any worked answer of ours at levels 1-10

CONSISTENT, INCONSISTENT, UNREADABLE = "consistent", "inconsistent", "unreadable"
VERDICTS = (CONSISTENT, INCONSISTENT, UNREADABLE)

# The worked solutions' own words.  dyck_language_reasoning_errors: its _TEXT (step word, colon)
# and _WORKED ("Wrong steps:" before the numbers); operation: WHERE (a rule line that waits for
# its inner lines).  The others are written inline in the generators' worked_solution, so they are
# copied here: boolean_expressions.worked_solution ("True so far: " / "目前为真："),
# dyck_language.worked_solution ("Close them from the top down: "), dyck_language2.worked_solution
# ("Openers in front: ").
_DYCK_ERRORS_TEXT = dyck_language_reasoning_errors._TEXT
_DYCK_ERRORS_RESULT = tuple(w["result"] for w in dyck_language_reasoning_errors._WORKED.values())
_CHECK_LINE = re.compile("^(?:%s) *(\\d+) *(?:%s)" % (
    "|".join(re.escape(t["step"]) for t in _DYCK_ERRORS_TEXT.values()),
    "|".join(re.escape(t["colon"].strip()) for t in _DYCK_ERRORS_TEXT.values())))
_WRONG_MARK, _RIGHT_MARK = "✗", "✓"
_SO_FAR = ("True so far:", "目前为真：")
_CLOSERS = "Close them from the top down:"
_OPENERS = "Openers in front:"
_WHERE = tuple(w.strip() for w in operation.WHERE.values())
_LETTER_TOKEN = re.compile(r"[A-Za-z]+")
_BACKTICKED = re.compile(r"`([^`]*)`")


def _lines(response: str) -> list[str]:
    return [line.strip() for line in response.splitlines() if line.strip()]


def _last_after(lines: list[str], labels) -> str | None:
    """What follows the label on the last line that starts with one of labels."""
    for line in reversed(lines):
        for label in (labels,) if isinstance(labels, str) else labels:
            if line.startswith(label):
                return line[len(label):].strip()
    return None


def _letters(text: str) -> set[str]:
    """The statement letters in a list such as "A, C" ("none", "无": no letter)."""
    return {t for t in _LETTER_TOKEN.findall(text) if len(t) == 1 and t in boolean_expressions.LETTERS}


def _dyck_errors(lines: list[str]) -> str:
    checks = [(m.group(1), line) for line in lines if (m := _CHECK_LINE.match(line))]
    if not checks or _CHECK_LINE.match(lines[-1]):  # no working, or it never reached an answer line
        return UNREADABLE
    marked = {int(n) for n, line in checks if line.endswith(_WRONG_MARK)}
    answer = lines[-1]
    for label in _DYCK_ERRORS_RESULT:  # "Wrong steps: 5,13" on one line
        answer = answer.removeprefix(label)
    numbers = re.findall(r"\d+", answer)
    if not numbers:
        return UNREADABLE
    return CONSISTENT if {int(n) for n in numbers} == marked else INCONSISTENT


def _boolean(lines: list[str], response: str) -> str:
    so_far, boxed = _last_after(lines, _SO_FAR), last_boxed(response)
    if so_far is None or boxed is None:
        return UNREADABLE
    return CONSISTENT if _letters(so_far) == _letters(boxed) else INCONSISTENT


def _operation(lines: list[str], response: str) -> str:
    steps = [line for line in lines if line.startswith("- ") and "=" in line]
    boxed = last_boxed(response)
    if not steps or boxed is None or steps[-1].endswith(_WHERE):  # a rule still waiting for its value
        return UNREADABLE

    def bare(text: str) -> str:
        return "".join(text.split()).removesuffix(".").removesuffix("。")

    return CONSISTENT if bare(steps[-1].rsplit("=", 1)[1]) == bare(boxed) else INCONSISTENT


def _dyck(lines: list[str]) -> str:
    closers = _last_after(lines, _CLOSERS)
    if closers is None or lines[-1].startswith(_CLOSERS):
        return UNREADABLE
    sequence = "".join(lines[-1].replace("`", "").split())
    return CONSISTENT if sequence.endswith("".join(closers.split())) else INCONSISTENT


def _dyck2(lines: list[str]) -> str:
    openers = _last_after(lines, _OPENERS)
    sequences = _BACKTICKED.findall(lines[-1])
    if openers is None or not sequences:
        return UNREADABLE
    return CONSISTENT if "".join(sequences[-1].split()).startswith("".join(openers.split())) else INCONSISTENT


READERS = {
    "dyck_language_reasoning_errors": lambda lines, response: _dyck_errors(lines),
    "boolean_expressions": _boolean,
    "operation": _operation,
    "dyck_language": lambda lines, response: _dyck(lines),
    "dyck_language2": lambda lines, response: _dyck2(lines),
}


def consistency(task_type, response) -> str | None:
    """consistent, inconsistent or unreadable for a response of a type read here; None for another
    type.  Never raises on any response."""
    reader = READERS.get(task_type) if isinstance(task_type, str) else None
    if reader is None:
        return None
    if not isinstance(response, str) or len(response) > _MAX_RESPONSE:
        return UNREADABLE
    lines = _lines(response)
    if not lines:
        return UNREADABLE
    return reader(lines, response)


def tally(rows: list[dict]) -> dict:
    """{task type: Counter((right or wrong, verdict))} and {task type: [task id of each
    inconsistent wrong answer]} for the rows of the types read here."""
    counts: dict[str, Counter] = {}
    inconsistent_wrong: dict[str, list] = {}
    for row in rows:
        task_type = row.get("task_type")
        found = consistency(task_type, row.get("response"))
        if found is None:
            continue
        right = "right" if row.get("correct") else "wrong"
        counts.setdefault(task_type, Counter())[(right, found)] += 1
        if found == INCONSISTENT and right == "wrong":
            inconsistent_wrong.setdefault(task_type, []).append(row.get("task_id"))
    return {"counts": counts, "inconsistent_wrong": inconsistent_wrong}


def report(name: str, t: dict, show: int = 5) -> str:
    lines = [f"{name}: whether each answer's final line follows from its own working"]
    if not t["counts"]:
        return "\n".join(lines + ["", "no responses of the types read here"])
    for task_type in sorted(t["counts"]):
        c = t["counts"][task_type]
        lines += ["", f"### {task_type}", "", "| verdict | " + " | ".join(VERDICTS) + " |", "|---|---|---|---|"]
        for right in ("right", "wrong"):
            lines.append(f"| {right} | " + " | ".join(str(c[(right, v)]) for v in VERDICTS) + " |")
        lines.append("| all | " + " | ".join(str(c["right", v] + c["wrong", v]) for v in VERDICTS) + " |")
        ids = t["inconsistent_wrong"].get(task_type, [])
        if ids and show > 0:
            lines += ["", f"inconsistent wrong answers ({len(ids)}), first {min(show, len(ids))}: "
                      + ", ".join(map(str, ids[:show]))]
    return "\n".join(lines)


def _add_options(parser) -> None:
    parser.add_argument("--show", type=int, default=5, metavar="N",
                        help="task ids of at most N inconsistent wrong answers per type (default 5)")


def main(argv: list[str] | None = None) -> int:
    return runs_main("answer_consistency", __doc__, argv,
                     lambda name, rows, show: report(name, tally(rows), show), _add_options)


if __name__ == "__main__":
    sys.exit(main())
