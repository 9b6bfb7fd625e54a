"""veritas.evaluation.answer_consistency: whether an answer's final line follows from its own working."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from veritas.envs.lgc_v2 import registry
from veritas.evaluation import answer_consistency as ac

RUN = (Path(__file__).resolve().parents[1]
       / "docs/results/2026-12-07-grpo-greedy-failures-positive-sft-levels-1-5-smollm2-135m-h100")

CASES = [("dyck_language_reasoning_errors", "en"), ("dyck_language_reasoning_errors", "zh"),
         ("boolean_expressions", "en"), ("boolean_expressions", "zh"),
         ("operation", "en"), ("operation", "zh"),
         ("dyck_language", "en"), ("dyck_language2", "en")]


def _worked(task_type: str, lang: str, seed: int = 0, level: int = 3) -> str:
    task = registry.generate(registry.make_task_id(task_type, seed), level, lang)
    return registry.worked_solution(task)


def _with_last_line(text: str, last: str) -> str:
    return text.rsplit("\n", 1)[0] + "\n" + last


def _corrupted(task_type: str, text: str) -> str:
    """The worked solution with a final line that its working does not give."""
    last = text.rsplit("\n", 1)[1]
    if task_type == "dyck_language_reasoning_errors":
        return _with_last_line(text, last + ",99")
    if task_type == "boolean_expressions":
        return _with_last_line(text, "\\boxed{H}")
    if task_type == "operation":
        return text.replace("\\boxed{", "\\boxed{1", 1) if "\\boxed{1" not in text else text.replace("\\boxed{", "\\boxed{2", 1)
    if task_type == "dyck_language":
        return _with_last_line(text, last[:-1] + ("(" if last[-1] != "(" else "["))
    # dyck_language2: a front its openers line does not have
    return text.replace("Complete sequence: `", "Complete sequence: `]")


@pytest.mark.parametrize("task_type,lang", CASES)
def test_worked_solutions_are_consistent(task_type, lang):
    for seed in range(5):
        assert ac.consistency(task_type, _worked(task_type, lang, seed)) == ac.CONSISTENT


@pytest.mark.parametrize("task_type,lang", CASES)
def test_corrupted_final_line_is_inconsistent(task_type, lang):
    for seed in range(5):
        assert ac.consistency(task_type, _corrupted(task_type, _worked(task_type, lang, seed))) == ac.INCONSISTENT


def test_written_examples():
    en = ("Thought 3: [ → [ ✓\nThought 5: { → [ [ {, but the step says [ [ ✗\n"
          "Thought 15: ( → [ [ (, but the step says [ [ ✗\nWrong steps:\n")
    assert ac.consistency("dyck_language_reasoning_errors", en + "5,15") == ac.CONSISTENT
    assert ac.consistency("dyck_language_reasoning_errors", en + "15, 5\n\n") == ac.CONSISTENT
    assert ac.consistency("dyck_language_reasoning_errors", en + "5,13") == ac.INCONSISTENT
    zh = ("步骤 3：[ → [ ✓\n步骤 12：] → [ ( <，但该步写的是 [ ( < { ✗\n"
          "步骤 13：( → [ ( < (，但该步写的是 [ ✗\n错误的步骤：\n")
    assert ac.consistency("dyck_language_reasoning_errors", zh + "12，13") == ac.CONSISTENT
    assert ac.consistency("dyck_language_reasoning_errors", zh + "12") == ac.INCONSISTENT
    assert ac.consistency("boolean_expressions", "目前为真：无\n目前为真：B\n\n\\boxed{B}") == ac.CONSISTENT
    assert ac.consistency("boolean_expressions", "True so far: A, B\n\\boxed{A}") == ac.INCONSISTENT
    assert ac.consistency("operation", "- 3 □ 9 = 3 + 9 + 3 = 12 + 3 = 15\nSo the value is \\boxed{ 15. }") == ac.CONSISTENT
    assert ac.consistency("operation", "- 3 □ 9 = 3 + 9 = 12\n所以结果是 \\boxed{13}。") == ac.INCONSISTENT
    assert ac.consistency("dyck_language", "Close them from the top down: ) )\nComplete sequence:\n((()))()") \
        == ac.INCONSISTENT
    assert ac.consistency("dyck_language", "Close them from the top down: ] ]\nComplete sequence:\n`[][[[]]]`") \
        == ac.CONSISTENT
    # no openers needed: the line ends after its colon, and any sequence starts with nothing
    assert ac.consistency("dyck_language2", "Openers in front: \nComplete sequence: `()[]`") == ac.CONSISTENT
    assert ac.consistency("dyck_language2", "Openers in front: [\nComplete sequence: `([]`") == ac.INCONSISTENT


@pytest.mark.parametrize("task_type", sorted(ac.READERS))
@pytest.mark.parametrize("response", [None, "", "\n\n  \n", 12, "garbage ✗ \\boxed{", "x" * 1_000_000,
                                      "Thought 3: ✗\n" * 50_000,
                                      "Thought 3: ✗\n" * 1_000 + "7", "- 1 = 2 =\n" * 1_000 + "\\boxed{\\boxed{}",
                                      "- = \\boxed{}", "`" * 999, "\x00\ud800"])
def test_hostile_responses_never_raise(task_type, response):
    assert ac.consistency(task_type, response) in ac.VERDICTS


def test_unreadable():
    assert ac.consistency("operation", "no steps here \\boxed{3}") == ac.UNREADABLE
    assert ac.consistency("operation", "- 5 ⊙ 3 = (5 ⊗ 3) - 5 × 3, where\n\\boxed{3}") == ac.UNREADABLE
    assert ac.consistency("boolean_expressions", "True so far: A") == ac.UNREADABLE  # no box
    assert ac.consistency("dyck_language_reasoning_errors", "Thought 3: [ → [ ✓\nThought 4: ( → [ ( ✓") == ac.UNREADABLE
    assert ac.consistency("dyck_language_reasoning_errors", "Thought 3: [ → [ ✓\nWrong steps:") == ac.UNREADABLE
    assert ac.consistency("dyck_language2", "Openers in front: (\nComplete sequence: (()") == ac.UNREADABLE
    assert ac.consistency("game_of_24", "anything") is None


def test_cli_prints_the_table(tmp_path, capsys):
    worked = _worked("boolean_expressions", "en")
    rows = [{"task_id": 1, "task_type": "boolean_expressions", "response": worked, "correct": True},
            {"task_id": 2, "task_type": "boolean_expressions", "response": _corrupted("boolean_expressions", worked),
             "correct": False},
            {"task_id": 3, "task_type": "boolean_expressions", "response": "", "correct": False},
            {"task_id": 4, "task_type": "sudoku", "response": "x", "correct": False}]
    path = tmp_path / "samples.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n[1]\n")
    assert ac.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "### boolean_expressions" in out and "sudoku" not in out
    assert "| right | 1 | 0 | 0 |" in out and "| wrong | 0 | 1 | 1 |" in out
    assert "inconsistent wrong answers (1), first 1: 2" in out
    assert ac.main([str(path), "--show", "0"]) == 0
    assert "inconsistent wrong answers" not in capsys.readouterr().out


def _counts(run: str) -> dict:
    with gzip.open(RUN / run / "samples.jsonl.gz", "rt") as f:
        return ac.tally([json.loads(line) for line in f])["counts"]


def test_committed_run_counts():
    """The SFT and GRPO runs of 2026-12-07: reasoning_errors answers whose final line is not the ✗
    steps, 0 and 11 (as a scratch regex counted); every other count as read on 2026-12-07."""
    sft, grpo = _counts("sft"), _counts("grpo")
    inconsistent = {run: {t: c["right", ac.INCONSISTENT] + c["wrong", ac.INCONSISTENT] for t, c in counts.items()}
                    for run, counts in (("sft", sft), ("grpo", grpo))}
    assert inconsistent["sft"]["dyck_language_reasoning_errors"] == 0
    assert inconsistent["grpo"]["dyck_language_reasoning_errors"] == 11
    assert inconsistent == {
        "sft": {"boolean_expressions": 0, "dyck_language": 8, "dyck_language2": 7,
                "dyck_language_reasoning_errors": 0, "operation": 0},
        "grpo": {"boolean_expressions": 1, "dyck_language": 10, "dyck_language2": 4,
                 "dyck_language_reasoning_errors": 11, "operation": 0}}
    for counts in (sft, grpo):  # every right answer is consistent, and none is unreadable
        assert all(c["right", ac.INCONSISTENT] == 0 and c["right", ac.UNREADABLE] + c["wrong", ac.UNREADABLE] == 0
                   for c in counts.values())
