"""Where a failed operation answer of the worked style first goes wrong.

    python -m veritas.evaluation.operation_steps RUN [RUN ...]

RUN: a ``veritas eval`` results folder (or its samples.jsonl[.gz]).  Each failed operation
response is read step line by step line (``- 6 ◇ 9 = ...`` / ``- since ..., 6 ◇ 9 = ...``) against
its task, regenerated from its id, level and language.  A line is right when it applies an
operator to operands the task really has at some step and ends in that application's value (a
rule written before its inner applications, ``..., 6 ◇ 9 = (6 △ 6) + 9, where``, when it is the
rule of the case that holds); the first line that is not is classified:

- (a) inner: the line belongs to a rule that uses another operator.  ``operands``: it applies the
  inner operator to operands no step has, where the next line due is an inner application or the
  rule that needs one (in the form with inner lines first, the model foresaw the wrong inner
  application, or one the case does not need); ``value``: the rule's line takes a wrong value
  for its inner application (``(1 ♢ 1) - 1 = 184 - 1``).
- (b) chain: an application of the expression itself to wrong operands; ``paired``: both are
  numbers the expression or an earlier right line has (wrong order or grouping), ``carried``: one
  is no such number (a result copied wrong), ``wrong operator``: the right operands.
- (c) arithmetic: right operands, right case and rule, one operation inside the line worked out
  wrongly: product (``negative factor`` when one is negative), power, sum, difference
  (``negative subtrahend``), absolute value, division; ``written in steps`` where the wrong text
  is the one that writes it as its smaller steps (``28 × 5 = 20 × 5 + 7 × 5``).  The line's
  working is compared with the worked solution's (arithmetic in small steps) and with one
  operation a step (the form before 2026-12-06), whichever it follows further.
- (d) case: the line writes the rule of a case that does not hold.
- (e) other: an unreadable head or value, a rule written with other numbers or shape, working
  the line does not show, or no wrong line (every line right, the boxed answer not).

Separately, whether an inner application's line was due where the answer first goes wrong: the
next line to write (in the form the answer uses) is one.

Model output is hostile input: it is bounded, read as text (numbers by ``number_value``, never
evaluated as code), and reading never raises.  Values are exact Fractions.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from veritas.envs.lgc_v2 import operation, registry
from veritas.evaluation.compare import runs_main
from veritas.evaluation.operation_conditions import number_value, read_head, split_step

_MAX_RESPONSE = 20_000
_MAX_STEPS = 60  # step lines read per response; no worked solution of ours has as many
_MAX_STAGES = 60  # " = "-parts read per line; worked lines of ours have up to 27 (levels 1-10)

CLASSES = ("a", "b", "c", "d", "e")
_NUMBER = re.compile(r"-?\d+(?:/\d+)?")
_ARITHMETIC = {"+": "sum", "-": "difference", "*": "product", "^": "power", "abs": "absolute value",
               "/": "division"}


@dataclass
class Step:
    """One application the task really has: its operator index, operands and value; whether it is
    a rule's inner application (made inside another application, not a node of the expression),
    and then the index of the step it is made inside."""

    op: int
    a: Fraction
    b: Fraction
    value: Fraction
    inner: bool
    parent: int | None = None


def true_steps(metadata: dict) -> list[Step]:
    """The task's applications in the order their values are found (operation.applications), each
    marked inner or not."""
    steps = operation._steps(metadata)[0]
    out = []
    for k, (i, a, b, v, depth) in enumerate(steps):
        parent = next((j for j in range(k + 1, len(steps)) if steps[j][4] < depth), None) if depth else None
        out.append(Step(i, Fraction(a), Fraction(b), Fraction(v), depth > 0, parent))
    return out


def _leaves(node) -> list[Fraction]:
    if not isinstance(node, list):
        return [Fraction(node)]
    return _leaves(node[1]) + _leaves(node[2])


# --------------------------------------------------------------------------- one rule's working

def _working(metadata: dict, op: int, a, b, case: int, small_steps: bool = True) -> tuple[list[str], list]:
    """The worked solution's texts after the head for one case of one application (the rule with
    its inner applications written out, then operation._stages: one stage per layer of operations,
    ending in the value), and what each step between two texts does: "inner" (the inner
    applications' values put in) or the operations it works out, as operation._reduce_step lists
    them.  small_steps=False: each operation in one step, as worked solutions before 2026-12-06 wrote
    it (arithmetic not written in its smaller steps)."""
    cases, inner = operation._as_tuple(metadata["ops"][op])
    body = cases[case][1]
    sub = {"a": a, "b": b}
    rule = operation._render(body, sub, operation._call_text_fn(inner, metadata["symbols"], sub))[0]
    plain = operation._steps(metadata)[3]
    moves: list = ["inner"]
    texts = [rule] + operation._stages(body, a, b, None if inner is None else plain[inner], small_steps, moves)
    if texts[0] == texts[1]:  # a body that is its own first stage is written once
        texts.pop(0)
        moves.pop(0)
    return texts, moves


def _agreeing(working: list[str], texts: list[str]) -> tuple[int, bool]:
    """How many texts of a line's working agree with a true working's before they differ, and
    whether the first that differs has the true one's shape."""
    k = next((k for k, (w, t) in enumerate(zip(working, texts)) if w != t), min(len(working), len(texts)))
    return k, k < min(len(working), len(texts)) and _skeleton(working[k]) == _skeleton(texts[k])


def _case_of(metadata: dict, op: int, a, b) -> int:
    cases, _ = operation._as_tuple(metadata["ops"][op])
    for k, (cond, _body) in enumerate(cases[:-1]):
        if operation._compile_condition(cond)(a, b):
            return k
    return len(cases) - 1


def _skeleton(text: str) -> str:
    return _NUMBER.sub("#", text)


def _arithmetic_kind(move: list, true_text: str, model_text: str) -> str:
    """Which operation of one stage the model worked out wrongly: the one whose true result sits
    where the model's number differs ("-105" for 110 - 5 in "-(110 - 5)"; all of the stage's kinds
    where that cannot be told)."""
    kinds = []
    true_numbers, model_numbers = _NUMBER.findall(true_text), _NUMBER.findall(model_text)
    if _skeleton(true_text) == _skeleton(model_text) and len(true_numbers) == len(model_numbers):
        for t, m in zip(true_numbers, model_numbers):
            if t != m:
                kinds += [_kind(tag, values, done) for tag, values, done in move
                          if type(done) is not tuple and abs(Fraction(t)) == abs(done)]
    if not kinds:
        kinds = [_kind(tag, values, done) for tag, values, done in move]
    return " + ".join(sorted(set(kinds)))


def _kind(tag: str, values: list, done) -> str:
    """An operation's kind; done: its value, or the smaller operations a stage writes it as
    (operation._in_steps), told apart as "(written in steps)"."""
    kind = _ARITHMETIC[tag]
    if tag == "*" and any(v < 0 for v in values):
        kind += " (negative factor)"
    elif tag == "-" and values[1] < 0:
        kind += " (negative subtrahend)"
    return kind + (" (written in steps)" if type(done) is tuple else "")


def _in_line(metadata: dict, step: Step, working: list[str]) -> tuple[str, str]:
    """Why a line with a true head ends in a wrong value: (class, detail)."""
    if not working:
        return "e", "value without working"
    case = _case_of(metadata, step.op, step.a, step.b)
    # the worked solution's working, or that of one operation a step (the form before arithmetic was
    # written in smaller steps): whichever the line follows further, then whichever its first
    # differing text has the shape of, else one operation a step ("28 × 5 = 110" did it at once)
    texts, moves = max((_working(metadata, step.op, step.a, step.b, case, small_steps)
                        for small_steps in (False, True)), key=lambda w: _agreeing(working, w[0]))
    n_cases = len(metadata["ops"][step.op][0])
    if working[0] != texts[0]:
        for other in range(n_cases):
            if other == case:
                continue
            try:  # a case that does not hold was never worked out when the task was bounded
                other_rule = _working(metadata, step.op, step.a, step.b, other)[0][0]
            except operation._Overflow:
                continue
            if working[0] == other_rule or _skeleton(working[0]) == _skeleton(other_rule):
                return "d", "wrong case"
        return "e", "rule written with other numbers" if _skeleton(working[0]) == _skeleton(texts[0]) \
            else "rule written in another shape"
    for k in range(1, min(len(working), len(texts))):
        if working[k] != texts[k]:
            move = moves[k - 1]
            if move == "inner":
                return "a", "value"
            return "c", _arithmetic_kind(move, texts[k], working[k])
    return "e", "working stops or runs on"


# --------------------------------------------------------------------------- one response

@dataclass
class Finding:
    """Where a response first goes wrong: its class and detail, its step line (from 1; 0 where no
    line is wrong), and whether the worked solution's next line there is an inner application
    written ahead of the rule that needs it (so the model had to foresee it).  With "no wrong step
    line": how many of the task's true_steps its lines wrote, of how many (a response that leaves
    steps out is not a worked solution the reader vouches for)."""

    cls: str
    detail: str
    line: int = 0
    inner_due: bool = False
    written: int = 0
    steps: int = 0


# the end of a rule written before its inner applications' lines, and the start of its result
# after them: the worked solution's own words, en and zh
_WHERE = tuple(operation.WHERE.values())
_SO = tuple(operation.SO.values())


def first_wrong(response, metadata: dict) -> Finding:
    """The first wrong step line of a response; never raises on any response text.  Both forms of
    a rule that uses another operator are read: its inner applications' lines before its own line,
    or its rule first ("x ◇ y = (x △ x) + y, where"), their lines, then "so x ◇ y = ... = value"."""
    if not isinstance(response, str):
        return Finding("e", "no response text")
    steps = true_steps(metadata)
    by_key = {(s.op, s.a, s.b): s for s in steps}
    symbols = metadata["symbols"]
    inner_of = [inner for _cases, inner in metadata["ops"]]
    available = set(_leaves(metadata["tree"]))
    lines = [line for line in response[:_MAX_RESPONSE].splitlines() if line.strip().startswith("- ")]
    rule_first = any(line.rstrip().endswith(_WHERE) for line in lines)
    done: set = set()
    announced: set = set()
    for number, raw in enumerate(lines, 1):
        pending = next((s for s in steps if (s.op, s.a, s.b) not in done), None)
        # an inner line is due when its rule's line is written (rule first: announced) or, in the
        # other form, is the next to write
        due = pending is not None and pending.inner and (not rule_first or pending.parent in announced)
        if number > _MAX_STEPS:
            return Finding("e", "too many step lines", number, due)
        _reasons, rest = split_step(raw)
        rest = rest.rstrip() if rest is not None else None
        announce = rest is not None and rest.endswith(_WHERE)
        if announce:
            rest = rest[:-len(next(w for w in _WHERE if rest.endswith(w)))]
        if rest is not None and rest.startswith(_SO):
            rest = rest[len(next(w for w in _SO if rest.startswith(w))):]
        head = read_head(rest) if rest is not None else None
        if head is None:
            return Finding("e", "unreadable step head", number, due)
        if head[0] not in symbols:
            return Finding("e", "an operator the task does not define", number, due)
        op, a, b = symbols.index(head[0]), head[1], head[2]
        parts = rest.split(" = ")[:_MAX_STAGES]
        value, bare = number_value(parts[-1]) if len(parts) > 1 else (None, False)
        step = by_key.get((op, a, b))
        if step is not None:
            working = [p.strip() for p in parts[1:]]
            rule = _working(metadata, step.op, step.a, step.b, _case_of(metadata, step.op, step.a, step.b))[0][0]
            if announce:  # the rule only: right when it is the rule of the case that holds
                if working[-1:] == [rule]:
                    announced.add(steps.index(step))
                    continue
                return Finding(*_in_line(metadata, step, working[-1:]), number, due)
            if value is not None and bare and value == step.value:
                done.add((op, a, b))
                available.add(step.value)
                continue
            if value is None or not bare:
                return Finding("e", "unreadable value", number, due)
            if steps.index(step) in announced:  # its result after its inner lines: the rule was above
                working = [rule] + working
            return Finding(*_in_line(metadata, step, working), number, due)
        if pending is None:
            return Finding("b", "an application after the last", number, due)
        if (pending.inner and pending.op == op) or (not pending.inner and inner_of[pending.op] == op != pending.op):
            return Finding("a", "operands", number, due)
        if (a, b) == (pending.a, pending.b):
            return Finding("b", "wrong operator", number, due)
        return Finding("b", "paired" if a in available and b in available else "carried", number, due)
    written = sum((s.op, s.a, s.b) in done for s in steps)
    return Finding("e", "no wrong step line", written=written, steps=len(steps))


def tally(rows: list[dict]) -> dict:
    """Failed operation responses by (level, language) and class, by class and detail, and how
    many went wrong where an inner line was due."""
    by_group, details, totals = Counter(), Counter(), Counter()
    for row in rows:
        if row.get("task_type") != "operation" or row.get("correct"):
            continue
        try:
            task = registry.generate(row["task_id"], row["difficulty"], row["language"])
        except Exception:  # noqa: BLE001 - a row whose task cannot be regenerated is not read
            task = None
        if task is None or task.task_type != "operation":  # another type's task id: not read either
            totals["not regenerated"] += 1
            continue
        found = first_wrong(row.get("response"), task.metadata)
        key = (task.difficulty, task.language)  # the task's own: a row's "3" and 3 are one level
        for column in ("all", found.cls) + (("inner due",) if found.inner_due else ()):
            by_group[key + (column,)] += 1
            totals[column] += 1
        details[(found.cls, found.detail, found.inner_due)] += 1
    return {"by_group": by_group, "details": details, "totals": totals}


_COLUMNS = ("all",) + CLASSES + ("inner due",)


def report(name: str, t: dict) -> str:
    n = t["totals"]
    groups = sorted({key[:2] for key in t["by_group"]})
    lines = [f"{name}: {n['all']} failed operation responses read"
             + (f", {n['not regenerated']} not regenerated" if n["not regenerated"] else ""), "",
             "| level | language | failed | (a) inner | (b) chain | (c) arithmetic | (d) case | (e) other "
             "| an inner line was due |",
             "|---|---|---|---|---|---|---|---|---|"]
    for level, lang in groups:
        counts = [str(t["by_group"][(level, lang, c)]) for c in _COLUMNS]
        lines.append(f"| {level} | {lang} | " + " | ".join(counts) + " |")
    lines.append("| all | | " + " | ".join(str(n[c]) for c in _COLUMNS) + " |")
    lines += ["", "| class | detail | an inner line was due | failed responses |", "|---|---|---|---|"]
    for (cls, detail, due), count in sorted(t["details"].items(), key=lambda kv: (kv[0][0], -kv[1], kv[0][1:])):
        lines.append(f"| ({cls}) | {detail} | {'yes' if due else 'no'} | {count} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return runs_main("operation_steps", __doc__, argv, lambda name, rows: report(name, tally(rows)))


if __name__ == "__main__":
    sys.exit(main())
