"""veritas.evaluation.operation_steps: where a failed operation answer first goes wrong."""
from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veritas.envs.lgc_v2 import operation as op
from veritas.envs.lgc_v2 import registry
from veritas.evaluation import operation_steps as ops
from veritas.evaluation.operation_conditions import split_step


def _task(level: int, lang: str, wanted):
    """The first task (by seed) of a level whose worked solution satisfies wanted(task, lines)."""
    for seed in range(400):
        task = registry.generate(registry.make_task_id("operation", seed), level, lang)
        lines = registry.worked_solution(task).splitlines()
        if wanted(task, lines):
            return task, lines
    raise AssertionError("no such task")


def _join(lines) -> str:
    return "\n".join(lines)


def _parts(line: str) -> tuple[str, list[str]]:
    """A step line as (its reasons with the "- " before them, [head, working..., value])."""
    _reasons, rest = split_step(line)
    return line[:len(line) - len(rest)], rest.split(" = ")


def _first_number_bumped(text: str) -> str:
    m = re.search(r"-?\d+", text)
    return text[:m.start()] + str(int(m.group()) + 1) + text[m.end():]


def _inner_first(worked: str) -> str:
    """A worked solution in the form before 2026-12-07: a rule that uses another operator on one
    line after its inner applications' lines ("- x △ x = ... = 8", "- x ◇ y = (x △ x) + y = 8 + y
    = ..."), not announced before them ("- x ◇ y = (x △ x) + y, where" ... "- so x ◇ y = 8 + y =
    ...")."""
    blocks: list[list[str]] = [[]]
    rules = []
    for line in worked.splitlines():
        if line.endswith((", where", "，其中")):
            rules.append(line.removesuffix(", where").removesuffix("，其中"))
            blocks.append([])
        elif line.startswith(("- so ", "- 所以 ")):
            inner = blocks.pop()
            blocks[-1] += inner + [rules.pop() + " = " + line.split(" = ", 1)[1]]
        else:
            blocks[-1].append(line)
    return _join(blocks[0])


FORMS = {"rule first": lambda worked: worked, "inner first": _inner_first}


@pytest.mark.parametrize("form", FORMS)
def test_worked_solutions_have_no_wrong_line(form):
    for level in range(1, 11):
        for lang in ("en", "zh"):
            for seed in range(25):
                task = registry.generate(registry.make_task_id("operation", seed), level, lang)
                found = ops.first_wrong(FORMS[form](registry.worked_solution(task)), task.metadata)
                assert (found.cls, found.detail, found.line) == ("e", "no wrong step line", 0), (task.task_id, level)


def test_true_steps_mark_the_inner_applications():
    task, lines = _task(5, "en", lambda t, ls: any(s.inner for s in ops.true_steps(t.metadata)))
    steps = ops.true_steps(task.metadata)
    lines = _inner_first(_join(lines)).splitlines()
    assert len(steps) == len(lines) - 2  # one line per application in the older form, between intro and answer
    symbols = task.metadata["symbols"]
    for step, line in zip(steps, lines[1:-1]):
        assert f"{symbols[step.op]} " in line
        if step.inner:  # made inside the next step of less depth: a rule that uses its operator
            parent = steps[step.parent]
            assert task.metadata["ops"][parent.op][1] == step.op and not parent.inner


def _inner_task(lang: str):
    """A level-5 task whose first step is an inner application: its lines are the intro, the rule
    that needs it, its line, the rule's result, ..."""
    return _task(5, lang, lambda t, ls: ops.true_steps(t.metadata)[0].inner)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("form, at", [("rule first", 2), ("inner first", 1)])
def test_an_inner_line_with_other_operands_is_a(lang, form, at):
    task, lines = _inner_task(lang)
    lines = FORMS[form](_join(lines)).splitlines()
    symbol = task.metadata["symbols"][ops.true_steps(task.metadata)[0].op]
    assert f" {symbol} " in lines[at]
    lines[at] = f"- 97 {symbol} 98 = 1"
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line, found.inner_due) == ("a", "operands", at, True)


def _wrong_inner_value(line: str, value_stage: int) -> str:
    """A rule's line with the first number of its stage with the inner values changed, and its
    value."""
    reasons, parts = _parts(line)
    return reasons + " = ".join(parts[:value_stage] + [_first_number_bumped(parts[value_stage])] + ["12345"])


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("form, at, value_stage", [("rule first", 3, 1), ("inner first", 2, 2)])
def test_a_rule_taking_a_wrong_inner_value_is_a(lang, form, at, value_stage):
    task, lines = _inner_task(lang)
    lines = FORMS[form](_join(lines)).splitlines()
    lines[at] = _wrong_inner_value(lines[at], value_stage)
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line, found.inner_due) == ("a", "value", at, False)


@pytest.mark.parametrize("form, at, value_stage", [("rule first", 2, 1), ("inner first", 1, 2)])
def test_a_rule_without_its_inner_line_is_due_there(form, at, value_stage):
    task, lines = _inner_task("en")
    lines = FORMS[form](_join(lines)).splitlines()
    lines[at + 1] = _wrong_inner_value(lines[at + 1], value_stage)
    del lines[at]
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line, found.inner_due) == ("a", "value", at, True)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_rule_announced_with_the_other_case_is_d(lang):
    def announced_with_two_cases(task, lines):
        s = ops.true_steps(task.metadata)
        return s[0].inner and len(task.metadata["ops"][s[s[0].parent].op][0]) == 2
    task, lines = _task(5, lang, announced_with_two_cases)
    outer = ops.true_steps(task.metadata)[ops.true_steps(task.metadata)[0].parent]
    cases, inner = op._as_tuple(task.metadata["ops"][outer.op])
    sub = {"a": outer.a, "b": outer.b}
    rules = [op._render(body, sub, op._call_text_fn(inner, task.metadata["symbols"], sub))[0] for _c, body in cases]
    reasons, parts = _parts(lines[1])
    where = ", where" if lang == "en" else "，其中"
    other = next(rule for rule in rules if rule + where != parts[1])
    lines[1] = reasons + parts[0] + " = " + other + where
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line) == ("d", "wrong case", 1)


def _other_leaf(task):
    """A number of the expression that the second application does not take as its first operand."""
    steps = ops.true_steps(task.metadata)
    last = steps[1]
    taken = {(s.op, s.a, s.b) for s in steps}
    return next((x for x in ops._leaves(task.metadata["tree"]) if (last.op, x, last.b) not in taken), None)


def test_an_application_to_a_swapped_or_invented_operand_is_b():
    task, lines = _task(2, "en", lambda t, ls: _other_leaf(t) is not None)
    last = ops.true_steps(task.metadata)[1]
    symbol, b = task.metadata["symbols"][last.op], op._operand_text(int(last.b))
    lines[2] = f"- {op._operand_text(int(_other_leaf(task)))} {symbol} {b} = 1"
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line) == ("b", "paired", 2)
    lines[2] = f"- 9999 {symbol} {b} = 1"
    assert ops.first_wrong(_join(lines), task.metadata).detail == "carried"


def test_the_other_operator_on_the_right_operands_is_b():
    task, lines = _task(4, "en", lambda t, ls: True)
    steps = ops.true_steps(task.metadata)
    last = steps[-1]
    symbols = task.metadata["symbols"]
    other = symbols[1 - last.op]
    lines[-2] = f"- {op._operand_text(int(last.a))} {other} {op._operand_text(int(last.b))} = 1"
    assert (other, last.a, last.b) not in {(symbols[s.op], s.a, s.b) for s in steps}
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line) == ("b", "wrong operator", len(lines) - 2)


def _at_once(task, line: str, k: int) -> bool:
    """Whether the worked solution works out the operations of stage k of a step line (k >= 1 in
    [head, stages...]) at once, none of them written in smaller steps."""
    step = ops.true_steps(task.metadata)[0]
    moves = ops._working(task.metadata, step.op, step.a, step.b, ops._case_of(task.metadata, step.op, step.a, step.b))[1]
    return moves[k - 1] != "inner" and all(type(done) is not tuple for _tag, _values, done in moves[k - 1])


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("stage, kind", [
    (r"\d+ × \d+ \+ \d+", "product"),  # "3 × 4 + 3 = 12 + 3 = 15": 12 written 13
    (r"\d+ \+ \d+", "sum"),             # "... = 12 + 3 = 15": 15 written 16
    (r"\d+ - \d+", "difference"),
    (r"\d+²", "power"),
])
def test_arithmetic_inside_a_right_line_is_c_and_says_which(lang, stage, kind):
    def line_with(task, lines):
        parts = _parts(lines[1])[1]
        return len(lines) == 3 and any(re.fullmatch(stage, p) and _at_once(task, lines[1], k)
                                       for k, p in enumerate(parts[:-1]) if k)
    task, lines = _task(1, lang, line_with)
    reasons, parts = _parts(lines[1])
    k = next(k for k, p in enumerate(parts) if k and re.fullmatch(stage, p) and _at_once(task, lines[1], k))
    lines[1] = reasons + " = ".join(parts[:k + 1] + [_first_number_bumped(parts[k + 1])] + ["12345"])
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line) == ("c", kind, 1)


def _product_in_steps(task, lines):
    """The first step line and its parts where a product of a one-place and a two-place number is
    worked out in steps, its partial products' sum at once ("28 × 5 = 20 × 5 + 8 × 5 = 100 + 40 =
    140"), else None."""
    for i, line in enumerate(lines):
        if line.startswith("- ") and not line.endswith((", where", "，其中")):
            reasons, parts = _parts(line)
            for k in range(1, len(parts) - 3):
                if re.fullmatch(r"\d\d × \d", parts[k]) and re.fullmatch(r"\d+ × \d \+ \d+ × \d", parts[k + 1]) \
                        and re.fullmatch(r"\d+", parts[k + 3]):
                    return i, reasons, parts, k
    return None


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("wrong, kind", [
    (1, "product (written in steps)"),  # 28 × 5 = 21 × 5 + 8 × 5: its steps written wrong
    (2, "product"),                     # 20 × 5 + 8 × 5 = 101 + 40: one partial product
    (3, "sum"),                         # 100 + 40 = 141: the partial products' sum
])
def test_arithmetic_written_in_steps_is_c_where_a_step_goes_wrong(lang, wrong, kind):
    task, lines = _task(2, lang, lambda t, ls: _product_in_steps(t, ls) is not None)
    i, reasons, parts, k = _product_in_steps(task, lines)
    lines[i] = reasons + " = ".join(parts[:k + wrong] + [_first_number_bumped(parts[k + wrong]), "12345"])
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line) == ("c", kind, i)


def test_a_step_done_at_once_is_read_against_one_operation_a_step():
    """An answer in the form before arithmetic was written in steps ("28 × 5 = 110") is read as it
    was: the product, not its steps, went wrong."""
    task, lines = _task(2, "en", lambda t, ls: _product_in_steps(t, ls) is not None)
    i, reasons, parts, k = _product_in_steps(task, lines)
    one_step = ops._working(task.metadata, *_step_of(task, parts[0]), small_steps=False)[0]
    lines[i] = reasons + " = ".join(parts[:k + 1] + [_first_number_bumped(one_step[k])])
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line) == ("c", "product", i)


def test_a_text_like_neither_working_is_read_against_one_operation_a_step():
    """A line that jumps past a stage ("3 × 37 - 2 × 3 = 105" with a wrong value), like neither
    the working in steps nor that of one operation a step, is read as the one-step form reads it:
    the operations of that stage, none of them "written in steps"."""
    def jump(task, lines):
        for i, line in enumerate(lines):
            if line.startswith("- ") and not line.endswith((", where", "，其中")):
                parts = _parts(line)[1]
                key = _step_of(task, parts[0])
                steps, one = (ops._working(task.metadata, *key, small_steps=s)[0] for s in (True, False))
                for k in range(1, min(len(steps), len(one)) - 1):
                    if steps[:k] == one[:k] == parts[1:k + 1] and steps[k] != one[k] and " " in one[k]:
                        return i, k
        return None
    task, lines = _task(2, "en", lambda t, ls: jump(t, ls) is not None)
    i, k = jump(task, lines)
    reasons, parts = _parts(lines[i])
    lines[i] = reasons + " = ".join(parts[:k + 1] + ["12345"])
    found = ops.first_wrong(_join(lines), task.metadata)
    assert found.cls == "c" and found.line == i and "written in steps" not in found.detail, found


def _step_of(task, head: str) -> tuple:
    """(operator, a, b, case) of a step line's head."""
    symbol, a, b = ops.read_head(head)
    step = next(s for s in ops.true_steps(task.metadata)
                if (s.op, s.a, s.b) == (task.metadata["symbols"].index(symbol), a, b))
    return step.op, step.a, step.b, ops._case_of(task.metadata, step.op, step.a, step.b)


def test_a_product_with_a_negative_factor_is_told():
    task, lines = _task(5, "en", lambda t, ls: re.search(r" = (\(-\d+\)|\d+) × \(-\d+\) [-+] ", ls[1]))
    reasons, parts = _parts(lines[1])
    k = next(k for k, p in enumerate(parts) if re.match(r"(\(-\d+\)|\d+) × \(-\d+\) [-+] ", p))
    parts[k + 1] = _first_number_bumped(parts[k + 1])
    lines[1] = reasons + " = ".join(parts[:k + 2] + ["12345"])
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail) == ("c", "product (negative factor)")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_rule_of_the_other_case_is_d(lang):
    def two_cases_first(task, lines):
        s = ops.true_steps(task.metadata)[0]
        return len(task.metadata["ops"][s.op][0]) == 2 and task.metadata["ops"][s.op][1] is None
    task, lines = _task(3, lang, two_cases_first)
    step = ops.true_steps(task.metadata)[0]
    cases = op._as_tuple(task.metadata["ops"][step.op][0])
    holds = 0 if op._compile_condition(cases[0][0])(step.a, step.b) else 1
    other_rule = op._render(cases[1 - holds][1], {"a": step.a, "b": step.b})[0]
    reasons, parts = _parts(lines[1])
    assert parts[1] != other_rule
    lines[1] = reasons + parts[0] + " = " + other_rule + " = 12345"
    found = ops.first_wrong(_join(lines), task.metadata)
    assert (found.cls, found.detail, found.line) == ("d", "wrong case", 1)


@pytest.mark.parametrize("response, detail", [
    (None, "no response text"),
    ("Evaluate:\n- what now = 3\nSo \\boxed{3}.", "unreadable step head"),
    ("- 1 ✓ 2 = 3", "unreadable step head"),
    ("- 1 ⊘ 2 = 3", "unreadable step head"),
    ("- 1 ※ 2", None),  # a head and no value: an unreadable value, or another operator
    ("- 1 △ 2 = ", None),
    ("\n".join(["- 1 △ 2 = 3"] * 500), None),
    ("- " + "(" * 3000 + "1 △ 2 = 3", "unreadable step head"),
    ("- 1 △ 2 = " + "9" * 50_000, None),
    ("- 1/0 △ 2 = 3", "unreadable step head"),
    ("Evaluate:\nSo the value is \\boxed{5}.", "no wrong step line"),
])
def test_hostile_and_garbled_responses_are_e_or_placed_and_never_raise(response, detail):
    task, _lines = _inner_task("en")
    found = ops.first_wrong(response, task.metadata)
    assert found.cls in ops.CLASSES and isinstance(found.detail, str)
    if detail is not None:
        assert (found.cls, found.detail) == ("e", detail)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("0123456789 -+×/()|²=,，") + list(op.SYMBOLS) + [
    "\n- ", "\n- since ", "\n- 因为", "，所以 ", " = ", "(-", "/", " is false", "不成立",
    ", where", "，其中", "\n- so ", "\n- 所以 ",
]), max_size=120).map("".join))
def test_garbage_never_raises(text):
    task, lines = _inner_task("zh")
    ops.first_wrong(text, task.metadata)
    ops.first_wrong(_join(lines[:2]) + text, task.metadata)  # after a right line
    ops.tally([{"task_type": "operation", "task_id": task.task_id, "difficulty": 5, "language": "zh",
                "response": text, "correct": False}])


def test_tally_report_and_main(tmp_path, capsys):
    task, lines = _inner_task("en")
    symbol = task.metadata["symbols"][ops.true_steps(task.metadata)[0].op]
    wrong = list(lines)
    wrong[2] = f"- 97 {symbol} 98 = 1"  # the inner line after its rule
    base = {"task_id": task.task_id, "task_type": "operation", "difficulty": 5, "language": "en"}
    rows = [
        dict(base, response=_join(lines), correct=True),  # right: not read
        dict(base, response=_join(wrong), correct=False),
        dict(base, response="nothing", correct=False),
        dict(base, task_id="not an id", response="nothing", correct=False),
        {"task_id": 1, "task_type": "sudoku", "difficulty": 1, "language": "en", "response": "- 1 △ 2 = 3"},
    ]
    t = ops.tally(rows)
    assert t["totals"]["all"] == 2 and t["totals"]["a"] == 1 and t["totals"]["e"] == 1
    assert t["totals"]["inner due"] == 1 and t["totals"]["not regenerated"] == 1
    assert t["by_group"][(5, "en", "a")] == 1 and t["details"][("a", "operands", True)] == 1
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    assert ops.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 failed operation responses read, 1 not regenerated" in out
    assert "| 5 | en | 2 | 1 | 0 | 0 | 0 | 1 | 1 |" in out and "| (a) | operands | yes | 1 |" in out


def test_rows_the_reader_cannot_trust_are_skipped_or_refused_never_raised(tmp_path, capsys):
    """A row labelled operation whose task id is another type's, a level written as text, a line
    that is not a JSON object, and a file that is not UTF-8: skipped or one error, never a crash."""
    task, lines = _inner_task("en")
    base = {"task_id": task.task_id, "task_type": "operation", "language": "en", "correct": False,
            "response": "nothing"}
    rows = [dict(base, difficulty=5), dict(base, difficulty="5"),
            dict(base, task_id=1, difficulty=1)]  # task id 1: a dyck_language task, labelled operation
    t = ops.tally(rows)
    assert t["totals"]["all"] == 2 and t["by_group"][(5, "en", "all")] == 2  # "5" and 5: one level
    assert t["totals"]["not regenerated"] == 1
    (tmp_path / "samples.jsonl").write_text("[1, 2]\n" + "".join(json.dumps(r) + "\n" for r in rows))
    assert ops.main([str(tmp_path)]) == 0
    assert "2 failed operation responses read, 1 not regenerated" in capsys.readouterr().out
    bad = tmp_path / "latin1"
    bad.mkdir()
    (bad / "samples.jsonl").write_bytes(b'{"response": "\xe9"}\n')
    assert ops.main([str(bad)]) == 2
    assert "operation_steps: " in capsys.readouterr().err
