"""veritas.evaluation.operation_conditions: reading the case conditions of operation answers."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veritas.envs.lgc_v2 import operation as op
from veritas.envs.lgc_v2 import registry
from veritas.evaluation import operation_conditions as oc


def _conditions_judged(metadata, a, b, symbol) -> int:
    """How many conditions the generator judges for this application: up to the first that holds."""
    cases, _ = metadata["ops"][metadata["symbols"].index(symbol)]
    judged = 0
    for cond, _body in cases[:-1]:
        judged += 1
        if op._compile_condition(op._as_tuple(cond))(a, b):
            break
    return judged


def test_worked_solutions_read_all_right_in_both_languages():
    kinds = set()
    lines = 0
    for level in (3, 4, 5, 7, 9, 10):
        for lang in ("en", "zh"):
            for seed in range(60):
                task = registry.generate(registry.make_task_id("operation", seed), level, lang)
                steps = {(s, a, b) for s, a, b, _ in op.applications(task.metadata)}
                for line in oc.case_lines(registry.worked_solution(task)):
                    assert line.conditions and line.head in steps, (task.task_id, line)
                    # each condition once: a verdict after its order is not a condition of its own
                    assert len(line.conditions) == _conditions_judged(task.metadata, *line.head[1:], line.head[0])
                    assert all(c.right and c.working_right is not False for c in line.conditions), line
                    kinds.update(c.kind for c in line.conditions)
                    lines += 1
    assert kinds == set(oc.KINDS) and lines > 500


@pytest.mark.parametrize("line, kind", [
    # the old one-step form, still read (the runs before the worked-out conditions)
    ("- since 6 > 9 is false, 6 ◇ 9 = 6 + 9 = 15", "two numbers compared"),
    ("- since (-5) > (-9), (-5) □ (-9) = 1", "two numbers compared"),
    ("- since 3 + 4 > 5, 3 △ 4 = 7", "expression compared"),
    ("- since 6 + 11 is not an even integer, 6 △ 11 = 1", "parity"),
    ("- 因为 (-3) > 0 不成立，(-3) < 0，所以 (-3) △ 10 = 11", "two numbers compared"),
    ("- 因为 (-10) 不是奇数，所以 16 ⊙ (-10) = 32", "parity"),
    ("- since 5/2 is not an integer, (5/2) ◇ 1 = 1", "integer"),
])
def test_old_form_lines_are_read(line, kind):
    (case,) = oc.case_lines(line)
    assert case.conditions and all(c.right for c in case.conditions) and case.conditions[0].kind == kind


@pytest.mark.parametrize("right, wrong", [
    ("- since 6 < 9, 6 ≥ 9 is false, 6 ◇ 9 = 1", "- since 6 < 9, 6 ≥ 9 is true, 6 ◇ 9 = 1"),  # the verdict
    ("- since 6 < 9, 6 ≥ 9 is false, 6 ◇ 9 = 1", "- since 6 > 9, 6 ≥ 9 is false, 6 ◇ 9 = 1"),  # the order
    ("- since 3 + 4 = 7 > 5, 3 △ 4 = 7", "- since 3 + 4 = 7 < 5, 3 △ 4 = 7"),
    ("- since 3 + 4 = 7 is odd, not even, 3 △ 4 = 1", "- since 3 + 4 = 7 is odd, not odd, 3 △ 4 = 1"),
    ("- since 3 + 4 = 7 is odd, not even, 3 △ 4 = 1", "- since 3 + 4 = 7 is even, 3 △ 4 = 1"),
    ("- 因为 6 < 9，6 ≥ 9 不成立，所以 6 ◇ 9 = 1", "- 因为 6 < 9，6 ≥ 9 成立，所以 6 ◇ 9 = 1"),
    ("- 因为 (-9) + 11 = 2 是偶数，所以 (-9) ⊕ 11 = 1", "- 因为 (-9) + 11 = 2 是奇数，所以 (-9) ⊕ 11 = 1"),
    ("- since 6 > 9 is false; 1 < 2, 6 ◇ 9 = 1", "- since 6 > 9 is true; 1 < 2, 6 ◇ 9 = 1"),
    ("- since 5/2 is not an integer, (5/2) ◇ 1 = 1", "- since 5/2 is an integer, (5/2) ◇ 1 = 1"),
])
def test_one_flipped_judgment_reads_wrong(right, wrong):
    (good,), (bad,) = oc.case_lines(right), oc.case_lines(wrong)
    assert all(c.right for c in good.conditions)
    assert [c.right for c in bad.conditions].count(False) == 1


@pytest.mark.parametrize("line", [
    "- since 3 + 4 = 8 > 5, 3 △ 4 = 7",
    # a side written in the steps of its arithmetic, one of them wrong (60 + 12 written 60 + 13)
    "- since 12 × (-6) = -(12 × 6) = -(10 × 6 + 2 × 6) = -(60 + 13) = -73 < 0, 12 △ (-6) = 1",
    "- 因为 12 × (-6) = -(12 × 6) = -(10 × 6 + 2 × 6) = -(60 + 12) = -73 < 0，所以 12 △ (-6) = 1",
])
def test_a_side_worked_out_wrongly_is_told_apart_from_a_wrong_judgment(line):
    (case,) = oc.case_lines(line)
    (c,) = case.conditions
    assert c.kind == "expression compared" and c.right and c.working_right is False


def test_a_side_written_in_steps_reads_right():
    (case,) = oc.case_lines("- since 12 × (-6) = -(12 × 6) = -(10 × 6 + 2 × 6) = -(60 + 12) = -72 < 0, 12 △ (-6) = 1")
    (c,) = case.conditions
    assert c.kind == "expression compared" and c.right and c.working_right is True


def test_a_side_is_one_plain_number_or_an_expression():
    # parse_number, lenient for final answers, would read "9,6" as 96: a right condition judged wrong
    assert oc.number_value("9,6") == (None, False)
    assert oc.number_value("(-3)") == (-3, True) and oc.number_value("3 + 4") == (7, False)


@pytest.mark.parametrize("text", [
    "- since", "- since ,", "- 因为，所以", "- since 1/0 > 2, 1 △ 2 = 3", "- since 9" + "9" * 5000 + " > 1, 1 △ 2",
    "- since " + "(" * 3000 + "1" + ")" * 3000 + " > 0, 1 △ 2 = 1", "- since 2 ** 9999999 > 1, 2 △ 1 = 1",
    "- since not even, 1 △ 2 = 1", "- 因为 不是偶数，所以 1 △ 2 = 1", "- since 1 > 2 is false, △",
    "- since " + " " * 10_000 + "is even, 1 △ 2", "- since " + ", " * 5000 + "1 △ 2", "- since 3 △ 4 = 7, 1 △ 2 = 3",
])
def test_hostile_lines_never_raise(text):
    for line in oc.case_lines(text):
        assert line.conditions is None or all(isinstance(c.right, bool) for c in line.conditions)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("0123456789 -+×/()<>=≥≤,，；;所以") + list(op.SYMBOLS) + [
    "\n- since ", "\n- 因为", " is ", "not ", "false", "true", "even", "odd", "an integer", "是偶数", "不是奇数",
    "不成立", "成立", " = ", "(-", "/"]), max_size=120).map("".join))
def test_garbage_never_raises(text):
    oc.case_lines(text)
    oc.case_lines("- since " + text)
    oc.tally([{"task_type": "operation", "task_id": 0, "difficulty": 3, "language": "en", "response": text}])


def test_non_text_responses_are_no_lines():
    assert oc.case_lines(None) == [] and oc.case_lines(["- since 1 > 2"]) == []


def test_tally_and_main_read_a_samples_file(tmp_path, capsys):
    task = registry.generate(registry.make_task_id("operation", 5), 4, "en")
    worked = registry.worked_solution(task)
    assert "since" in worked
    rows = [
        {"task_id": task.task_id, "task_type": "operation", "difficulty": 4, "language": "en", "response": worked,
         "correct": True},
        # the same answer with one order flipped, and failed
        {"task_id": task.task_id, "task_type": "operation", "difficulty": 4, "language": "en",
         "response": _flip_first_order(worked), "correct": False},
        {"task_id": 1, "task_type": "sudoku", "difficulty": 1, "language": "en", "response": "- since 1 > 2"},
    ]
    (tmp_path / "samples.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    t = oc.tally(rows)
    assert t["totals"]["responses"] == 2 and t["totals"]["failed"] == 1 and t["totals"]["failed with one"] == 1
    assert sum(t["wrong"].values()) == 1 and sum(t["read"].values()) >= 2
    assert t["totals"]["true heads"] == t["totals"]["heads"] > 0
    assert oc.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "2 operation responses" in out and "1 of them with a wrongly judged condition" in out
    assert oc.main([str(tmp_path / "nowhere")]) == 2


def _flip_first_order(worked: str) -> str:
    for a, b in ((" < ", " > "), (" > ", " < "), (" is odd", " is even"), (" is even", " is odd")):
        line = next((line for line in worked.splitlines() if line.startswith("- since") and a in line), None)
        if line is not None:
            return worked.replace(line, line.replace(a, b, 1))
    raise AssertionError(worked)
