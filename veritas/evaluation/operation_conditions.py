"""Which case conditions a model judges wrongly in operation answers of the worked style.

    python -m veritas.evaluation.operation_conditions RUN [RUN ...]

RUN: a ``veritas eval`` results folder (or its samples.jsonl[.gz]).  Each operation response is
read line by line: a step line that gives reasons for its case (``- since ...`` / ``- 因为 ...``)
has each of its conditions judged against the numbers written in the line itself, in the old
one-step form (``since 9 > 6 is false``, ``since 3 + 4 > 5``, ``3 + 4 is an even integer``,
zh ``因为 9 > 6 不成立``) and in the worked-out one (``since 6 < 9, 6 ≥ 9 is false``,
``since 3 + 4 = 7 > 5``, ``since 3 + 4 = 7 is odd, not even``).  A table per run gives, per
condition kind, how many conditions were read and how many hold a false order, parity or verdict;
how many expression sides were worked out wrongly (``3 + 4 = 8``); and how many failed responses
hold a wrongly judged condition.  Separately: how many of the step lines apply the operator to
operands the task really has at some step (the step's head, regenerated from the task).
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from veritas.envs import expr
from veritas.envs.extract import parse_number
from veritas.envs.lgc_v2 import operation, registry
from veritas.evaluation.compare import runs_main

KINDS = ("two numbers compared", "expression compared", "parity", "integer")

# Bounds on the work per response: model output is hostile input.  A worked solution of ours is
# under 1,300 characters (longer ones take the short form); with arithmetic written in its steps a
# condition's worked-out side reaches about 200 (levels 1-10).
_MAX_RESPONSE = 20_000
_MAX_LINE = 1_500
_MAX_PIECE = 400

_SYMBOL_CHARS = frozenset(operation.SYMBOLS)
_RELATIONS = {
    ">": lambda x, y: x > y, "<": lambda x, y: x < y, "≥": lambda x, y: x >= y, ">=": lambda x, y: x >= y,
    "≤": lambda x, y: x <= y, "<=": lambda x, y: x <= y, "=": lambda x, y: x == y,
}
_RELATION = re.compile(r"(>=|<=|≥|≤|=|<|>)")
_PIECE_SEPARATOR = re.compile(r"[;；，]|,(?=\s)")
# what follows a comparison in a piece: its verdict
_VERDICT = re.compile(r"(?:\s+is\s+(true|false)|\s+holds|\s*(不)?成立)$")
# parity / integer facts, with their subject before them ("3 + 4 = 7 is odd", "7 不是偶数")
_FACT_EN = re.compile(r"\s+is\s+(not\s+)?(?:an?\s+)?(even|odd|integer)(?:\s+integer)?$")
_FACT_ZH = re.compile(r"\s*(不)?是(偶数|奇数|整数)$")
# a parity verdict without a subject: it speaks of the value before it ("..., not even")
_BARE_PARITY = re.compile(r"^(?:not\s+(even|odd)|不是(偶数|奇数))$")
_ZH_WORD = {"偶数": "even", "奇数": "odd", "整数": "integer"}


def number_value(text: str) -> tuple[Fraction | None, bool]:
    """(exact value, whether it is a bare number) of one side as a line writes it: ``-3``,
    ``(-3)``, ``5/2``, ``(3) + (-4)``, ``(5/2) × 2``.  (None, False) when unreadable; never
    evaluated as code."""
    s = text.strip()
    if not s or len(s) > _MAX_PIECE:
        return None, False
    bare = s[1:-1].strip() if s[0] == "(" and s[-1] == ")" and "(" not in s[1:] else s
    # parse_number reads "9,6" as 96 and "5/2/3" as 15/2 (it is lenient for final answers); a
    # side is one number written plainly or an expression
    plain = "," not in bare and " " not in bare and bare.count("/") <= 1
    value = parse_number(bare) if plain else None
    if value is not None:
        return value, True
    # expr reads binary operators only: a negative number is written "(0 - n)" for it
    s = ("0" + s if s[0] in "-−" else s).replace("(-", "(0-").replace("(−", "(0-")
    return expr.evaluate(s, max_length=_MAX_PIECE).value, False


def _is(value: Fraction, word: str) -> bool:
    """Whether a value is even / odd / an integer, as the task's conditions define them (a
    non-integer is neither even nor odd)."""
    return value.denominator == 1 and (word == "integer" or value.numerator % 2 == (word == "odd"))


@dataclass
class Condition:
    """One case condition of a step line, read: its kind, whether every order, parity and verdict
    it writes is true of the numbers written, and whether its worked-out sides are right (None
    where it works none out)."""

    kind: str
    right: bool
    working_right: bool | None
    last: tuple = ()  # the values its last claim speaks of, for a verdict that follows
    has_verdict: bool = False  # it ends in "is false" / "is true" / "(不)成立"


def _comparison(piece: str) -> Condition | None:
    """A comparison chain with an optional verdict: "9 > 6 is false", "3 + 4 = 7 > 5"."""
    verdict = _VERDICT.search(piece)
    asserted = True
    if verdict:
        asserted = not (verdict.group(1) == "false" or verdict.group(2))
        piece = piece[:verdict.start()]
    parts = _RELATION.split(piece)
    if len(parts) < 3:
        return None
    sides, relations = parts[0::2], parts[1::2]
    values = [number_value(side) for side in sides]
    if any(v is None for v, _ in values):
        return None
    right, working = True, None
    for k, rel in enumerate(relations):
        (x, x_bare), (y, _) = values[k], values[k + 1]
        holds = _RELATIONS[rel](x, y)
        if rel == "=" and not x_bare and k < len(relations) - 1:  # "3 + 4 = 7" before the order
            working = (working is not False) and holds
        else:
            right = right and holds == (asserted if k == len(relations) - 1 else True)
    last = (values[-2][0], values[-1][0])
    # the side compared: in "3 + 4 = 7 > 5" the first one, in "7 > 5" a number
    kind = "two numbers compared" if values[0][1] else "expression compared"
    return Condition(kind, right, working, last, verdict is not None)


def _fact(piece: str) -> Condition | None:
    """A parity or integer fact: "3 + 4 = 7 is odd", "3 + 4 is not an even integer", "7 是奇数"."""
    m = _FACT_EN.search(piece)
    if m:
        negated, word = bool(m.group(1)), m.group(2)
    else:
        m = _FACT_ZH.search(piece)
        if not m:
            return None
        negated, word = bool(m.group(1)), _ZH_WORD[m.group(2)]
    subject = piece[:m.start()]
    sides = subject.split("=")
    values = [number_value(side) for side in sides]
    if not subject.strip() or any(v is None for v, _ in values):
        return None
    value = values[-1][0]
    working = None
    if len(values) > 1:
        working = all(v == value for v, _ in values[:-1])
    kind = "integer" if word == "integer" else "parity"
    return Condition(kind, _is(value, word) != negated, working, (value,))


def _reason_conditions(reason: str) -> list[Condition] | None:
    """The conditions of one line's reasons, None when a piece cannot be read.  A verdict piece
    ("6 ≥ 9 is false", "not even") belongs to the condition before it when it speaks of the same
    numbers; otherwise it is a condition of its own (the old form: "9 > 6 is false, 3 + 4 > 5")."""
    conditions: list[Condition] = []
    for raw in _PIECE_SEPARATOR.split(reason):
        piece = raw.strip()
        if not piece:
            continue
        if len(piece) > _MAX_PIECE:
            return None
        bare = _BARE_PARITY.match(piece)
        if bare:
            if not conditions or len(conditions[-1].last) != 1:
                return None
            word = bare.group(1) or _ZH_WORD[bare.group(2)]
            conditions[-1].kind = "parity"  # "5/2 is not an integer, not even" judges parity
            conditions[-1].right = conditions[-1].right and not _is(conditions[-1].last[0], word)
            continue
        condition = _fact(piece) or _comparison(piece)
        if condition is None:
            return None
        previous = conditions[-1] if conditions else None
        if (previous is not None and condition.has_verdict and condition.kind == "two numbers compared"
                and previous.kind in KINDS[:2] and not previous.has_verdict and previous.last == condition.last):
            previous.right = previous.right and condition.right
            previous.has_verdict = True
            continue
        conditions.append(condition)
    return conditions


@dataclass
class CaseLine:
    conditions: list[Condition] | None  # None: the reasons could not be read
    head: tuple | None                  # (symbol, a, b) of the application, None if unreadable


def split_step(line: str) -> tuple[str | None, str | None]:
    """One step line cut where its head begins: (its reasons, its head and working).  The reasons
    are None for a line that gives none (no "since" / "因为"), and then the whole line is the head
    part; the head part is None where the reasons do not end.  The line is bounded here."""
    line = line.strip()[:_MAX_LINE]
    if line.startswith("- "):
        line = line[2:].lstrip()
    if line.startswith("since "):
        body, zh = line[len("since "):], False
    elif line.startswith("因为"):
        body, zh = line[len("因为"):], True
    else:
        return None, line
    # the reasons end where the step's head begins: at zh "，所以", else at the last comma
    # before the first operator symbol (no reason holds one)
    end = body.find("，所以") if zh else -1
    if end < 0:
        at = next((k for k, ch in enumerate(body) if ch in _SYMBOL_CHARS), -1)
        end = max(body.rfind(",", 0, at), body.rfind("，", 0, at)) if at >= 0 else -1
    if end < 0:
        return body, None
    return body[:end], body[end:].lstrip(",，所以 ")


def case_lines(response) -> list[CaseLine]:
    """Every step line of a response that gives reasons for its case, read; never raises."""
    if not isinstance(response, str):
        return []
    out = []
    for line in response[:_MAX_RESPONSE].splitlines():
        reasons, rest = split_step(line)
        if reasons is None:
            continue
        if rest is None:
            out.append(CaseLine(None, None))
            continue
        out.append(CaseLine(_reason_conditions(reasons), read_head(rest)))
    return out


def read_head(text: str) -> tuple | None:
    """(symbol, a, b) from "6 ◇ 9 = ..." (a step line's head part, split_step's second)."""
    text = text.split(" = ", 1)[0].strip()
    at = next((k for k, ch in enumerate(text) if ch in _SYMBOL_CHARS), -1)
    if at < 0:
        return None
    (a, a_bare), (b, b_bare) = number_value(text[:at]), number_value(text[at + 1:])
    if a is None or b is None or not (a_bare and b_bare):
        return None
    return text[at], a, b


def tally(rows: list[dict]) -> dict:
    """Per condition kind: conditions read, wrongly judged, wrongly worked out, and failed
    responses holding a wrongly judged one; step heads read and right."""
    read, wrong, working, working_wrong, failed_with = Counter(), Counter(), Counter(), Counter(), Counter()
    totals = Counter()
    for row in rows:
        if row.get("task_type") != "operation":
            continue
        totals["responses"] += 1
        lines = case_lines(row.get("response"))
        totals["lines"] += len(lines)
        totals["unread"] += sum(line.conditions is None for line in lines)
        conditions = [c for line in lines if line.conditions for c in line.conditions]
        totals["with conditions"] += bool(conditions)
        for c in conditions:
            read[c.kind] += 1
            wrong[c.kind] += not c.right
            if c.working_right is not None:
                working[c.kind] += 1
                working_wrong[c.kind] += not c.working_right
        if not row.get("correct"):
            totals["failed"] += 1
            kinds = {c.kind for c in conditions if not c.right}
            failed_with.update(kinds or {"(no wrong judgment)"})
            totals["failed with one"] += bool(kinds)
        heads = [line.head for line in lines if line.head is not None]
        if heads:
            try:
                task = registry.generate(row["task_id"], row["difficulty"], row["language"])
                true_heads = {(s, Fraction(a), Fraction(b)) for s, a, b, _ in operation.applications(task.metadata)}
            except Exception:  # noqa: BLE001 - a row whose task cannot be regenerated is not paired
                continue
            totals["heads"] += len(heads)
            totals["true heads"] += sum(head in true_heads for head in heads)
    return {"totals": totals, "read": read, "wrong": wrong, "working": working, "working_wrong": working_wrong,
            "failed_with": failed_with}


def report(name: str, t: dict) -> str:
    n = t["totals"]
    lines = [f"{name}: {n['responses']} operation responses, {n['with conditions']} with case conditions read "
             f"({n['lines']} case lines, {n['unread']} unreadable); {n['failed']} failed, "
             f"{n['failed with one']} of them with a wrongly judged condition", "",
             "| condition kind | conditions | wrong | wrong % | sides worked out | wrongly | failed responses with one |",
             "|---|---|---|---|---|---|---|"]
    for kind in KINDS:
        if not t["read"][kind]:
            continue
        c, w = t["read"][kind], t["wrong"][kind]
        lines.append(f"| {kind} | {c} | {w} | {100 * w / c:.1f} | {t['working'][kind]} | {t['working_wrong'][kind]} "
                     f"| {t['failed_with'][kind]} |")
    if t["failed_with"]["(no wrong judgment)"]:
        lines.append(f"| (no wrong judgment) | | | | | | {t['failed_with']['(no wrong judgment)']} |")
    lines += ["", f"Step heads read: {n['heads']}, of which {n['true heads']} apply the operator to operands "
                  "the task really has at some step."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return runs_main("operation_conditions", __doc__, argv, lambda name, rows: report(name, tally(rows)))


if __name__ == "__main__":
    sys.exit(main())
