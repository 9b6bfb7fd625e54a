"""veritas.evaluation.working: working_flaw -- a right worked solution reads as no flaw, the same with
one fact verdict, one step value or the final line changed reads as a flaw, an answer without working
and a style the package cannot read read as none; read_working -- worked solutions read right, lines
left out or no working read unreadable, a wrong verdict still wrong; hostile text is read in bounded
time without an exception."""
from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veritas.envs import lgc_v2
from veritas.envs.lgc_v2 import registry
from veritas.evaluation import working
from veritas.evaluation.working import (
    RIGHT,
    TASK_TYPES,
    UNREADABLE,
    WRONG,
    Reading,
    _read_working,
    _working_flaw,
    read_working,
    working_flaw,
)

LEVELS = (1, 3, 5, 8)
SEEDS = range(6)


def _tasks(task_type: str):
    for language in registry.task_type_contract(task_type).languages:
        for level in LEVELS:
            for seed in SEEDS:
                yield registry.generate_by_type(task_type, 2000 + seed, level, language)


def test_the_types_read_are_those_answer_consistency_reads():
    from veritas.evaluation.answer_consistency import READERS

    assert set(TASK_TYPES) == set(READERS) and set(TASK_TYPES) <= set(registry.task_types())


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_worked_solutions_and_bare_answers_have_no_flaw(task_type):
    for task in _tasks(task_type):
        worked = lgc_v2.worked_solution(task)
        assert registry.verify_task(task, worked).correct
        assert _working_flaw(task_type, task.metadata, task.language, worked) is None, (task.task_id, task.difficulty)
        assert _working_flaw(task_type, task.metadata, None, worked) is None  # the metadata's language
        # no working at all: nothing to read, nothing to penalise
        assert _working_flaw(task_type, task.metadata, task.language, task.answer) is None


def test_a_type_not_read_here_has_no_flaw():
    other = [t for t in registry.task_types() if t not in TASK_TYPES]
    assert other  # e.g. sudoku, game_of_24
    task = registry.generate_by_type(other[0], 2000, 1, "en")
    assert working_flaw(other[0], task.metadata, "en", "- 1 + 1 = 3 → True\n" + task.answer) is None


def _flip_verdict(line: str, language: str) -> str:
    true, false = ("True", "False") if language == "en" else ("真", "假")
    head, _, verdict = line.rpartition("→ ")
    return head + "→ " + (false if verdict.strip() == true else true)


def test_boolean_expressions_a_flipped_fact_verdict_is_a_flaw():
    flipped = 0
    for task in _tasks("boolean_expressions"):
        lines = lgc_v2.worked_solution(task).split("\n")
        facts = [i for i, line in enumerate(lines) if line.startswith("- ") and "→" in line]
        assert facts
        for i in (facts[0], facts[-1]):
            changed = lines[:i] + [_flip_verdict(lines[i], task.language)] + lines[i + 1:]
            reason = _working_flaw("boolean_expressions", task.metadata, task.language, "\n".join(changed))
            assert reason is not None and reason.startswith("wrong fact verdict: "), reason
            kind = [f[1] for s in task.metadata["statements"] for f in _facts(s)][facts.index(i)]
            assert kind in reason
            flipped += 1
    assert flipped >= 40


def _facts(node):
    from veritas.envs.lgc_v2.boolean_expressions import _facts

    return _facts(node)


def test_boolean_expressions_boxed_letters_that_do_not_copy_the_working_are_a_flaw():
    for task in _tasks("boolean_expressions"):
        worked = lgc_v2.worked_solution(task)
        letters = task.metadata["letters"]
        other = next(x for x in letters if x not in task.metadata["true_letters"]) if \
            len(task.metadata["true_letters"]) < len(letters) else None
        changed_box = "\\boxed{" + ", ".join(sorted(set(task.metadata["true_letters"]) ^ {other or letters[0]})) + "}"
        response = worked[:worked.rindex("\\boxed{")] + changed_box
        assert _working_flaw("boolean_expressions", task.metadata, task.language, response) == \
            "boxed letters are not the last 'True so far'"


def test_operation_a_changed_step_value_is_a_flaw():
    """The value at the end of a step line with its working (the short form of long chains writes
    none: its wrong value is class (e), "value without working")."""
    from veritas.envs.lgc_v2.operation import WHERE

    changed = 0
    for task in _tasks("operation"):
        lines = lgc_v2.worked_solution(task).split("\n")
        steps = [i for i, line in enumerate(lines) if line.startswith("- ")]
        for i in steps[:1] + steps[-1:]:
            head, _, value = lines[i].rpartition(" = ")
            if " = " not in head or lines[i].endswith(tuple(WHERE.values())) or not re.fullmatch(r"-?\d+", value):
                continue  # no working, a rule waiting for its inner lines, or a fraction
            wrong = lines[:i] + [f"{head} = {int(value) + 1}"] + lines[i + 1:]
            reason = _working_flaw("operation", task.metadata, task.language, "\n".join(wrong))
            assert reason is not None and re.match(rf"step line {steps.index(i) + 1}: \([abcd]\) ", reason), reason
            changed += 1
    assert changed >= 30


def test_operation_a_boxed_value_that_is_not_the_last_step_is_a_flaw():
    for task in _tasks("operation"):
        worked = lgc_v2.worked_solution(task)
        start = worked.rindex("\\boxed{") + len("\\boxed{")
        response = worked[:start] + "7" + worked[start:]
        assert _working_flaw("operation", task.metadata, task.language, response) == "boxed value is not the last step line's"


def test_operation_a_wrong_line_in_a_style_it_cannot_read_is_no_flaw():
    """Class (e): an unreadable head, or a line with no wrong step, is not called wrong."""
    task = next(t for t in _tasks("operation") if t.difficulty == 3)
    worked = lgc_v2.worked_solution(task)
    garbled = worked.replace("- ", "- ??? ", 1)
    assert _working_flaw("operation", task.metadata, task.language, garbled) is None


def _change_final_line(task_type: str, worked: str) -> str:
    lines = worked.split("\n")
    last = lines[-1]
    if task_type == "dyck_language":  # the complete sequence: its last closer dropped
        lines[-1] = last[:-1]
    elif task_type == "dyck_language2":  # `openers + suffix`: the first opener another bracket
        start = last.index("`") + 1
        lines[-1] = last[:start] + ("[" if last[start] != "[" else "(") + last[start + 1:]
    else:  # the step numbers: one more
        lines[-1] = ",".join(str(int(n) + 1) for n in re.findall(r"\d+", last))
    return "\n".join(lines)


@pytest.mark.parametrize("task_type", ["dyck_language", "dyck_language2", "dyck_language_reasoning_errors"])
def test_dyck_a_final_line_that_does_not_copy_the_working_is_a_flaw(task_type):
    n = 0
    for task in _tasks(task_type):
        worked = lgc_v2.worked_solution(task)
        changed = _change_final_line(task_type, worked)
        assert changed != worked
        assert _working_flaw(task_type, task.metadata, task.language, changed) == working._INCONSISTENT_REASON[task_type]
        n += 1
    assert n >= 24


HOSTILE = (
    "", "\x00" * 1000, "\ud800", "- " * 10, "\\boxed{" * 10_000, "- \n" * 1_000_000, "- → True\n" * 1_000_000,
    "- 1 ◇ 2 = 3\n" * 200_000, "x" * 10_000_000, "True so far: A\n" * 100_000 + "\\boxed{B}",
    "".join(chr(c) for c in range(0x20, 0x3000)) * 3, "= " * 1_000_000,
)


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_hostile_responses_are_read_in_bounded_time_without_an_exception(task_type):
    task = registry.generate_by_type(task_type, 2000, 5, "en")
    for response in HOSTILE + (None, b"\xff\xfe junk", 12345, ["- a → True"]):
        t0 = time.perf_counter()
        reason = _working_flaw(task_type, task.metadata, "en", response)
        assert reason is None or isinstance(reason, str)
        found = _read_working(task_type, task.metadata, "en", response)
        assert isinstance(found, Reading) and found.verdict in (RIGHT, WRONG, UNREADABLE)
        assert time.perf_counter() - t0 < 4.0, (task_type, repr(response)[:40])
    assert _read_working(task_type, task.metadata, "en", None) == Reading(UNREADABLE, "no response text")
    # a response that is a worked solution under junk: no flaw within the readers' caps, but too long
    # for answer consistency (20,000 characters) to vouch for
    worked = lgc_v2.worked_solution(task)
    assert _working_flaw(task_type, task.metadata, "en", worked + "\n" + "z" * 30_000) is None
    assert _read_working(task_type, task.metadata, "en", worked + "\n" + "z" * 30_000).verdict == UNREADABLE


def test_bad_arguments_and_bad_metadata_give_none():
    task = registry.generate_by_type("operation", 2000, 3, "en")
    worked = lgc_v2.worked_solution(task)
    for args in ((None, task.metadata, "en", worked), (["operation"], task.metadata, "en", worked),
                 ("operation", None, "en", worked), ("operation", {"symbols": 1}, "en", worked),
                 ("boolean_expressions", {"statements": "nonsense"}, "en", "- a → True\n\\boxed{A}"),
                 ("boolean_expressions", task.metadata, "fr", worked)):
        assert working_flaw(*args) is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("- →=0123456789ABTrueFalsoft:,\n`()[]{}<>✗✓\\boxed真假")), max_size=600),
       st.sampled_from(TASK_TYPES))
def test_fuzz_random_text_never_raises(text, task_type):
    task = _fuzz_task(task_type)
    reason = _working_flaw(task_type, task.metadata, task.language, text)
    assert reason is None or isinstance(reason, str)
    found = _read_working(task_type, task.metadata, task.language, text)
    assert found.verdict in (RIGHT, WRONG, UNREADABLE)
    assert reason == (found.reason if found.verdict == WRONG else None)  # working_flaw is read_working's wrong


_FUZZ_TASKS: dict = {}


def _fuzz_task(task_type: str):
    if task_type not in _FUZZ_TASKS:
        _FUZZ_TASKS[task_type] = registry.generate_by_type(task_type, 2000, 3, "en")
    return _FUZZ_TASKS[task_type]


def test_the_command_counts_right_and_wrong_answers_read_wrong(tmp_path, capsys):
    """python -m veritas.evaluation.working RUN: per type, the right answers whose working is read
    wrong (what flawed_working_score scores) or unreadable (unreadable_working_score), and the wrong
    ones read wrong; types not read here are left out."""
    import json

    from veritas.evaluation.working import main

    rows = []
    for i, task in enumerate(_tasks("boolean_expressions")):
        if i == 4:
            break
        worked = lgc_v2.worked_solution(task)
        lines = worked.split("\n")
        fact = next(j for j, line in enumerate(lines) if line.startswith("- ") and "→" in line)
        flipped = "\n".join(lines[:fact] + [_flip_verdict(lines[fact], task.language)] + lines[fact + 1:])
        dropped = "\n".join(lines[:fact] + lines[fact + 1:])
        # a right answer as written, the same with one wrong fact verdict, with one fact line left out,
        # and a wrong bare answer
        for response, correct in ((worked, True), (flipped, True), (dropped, True), ("\\boxed{Z}", False)):
            rows.append({"task_id": task.task_id, "task_type": task.task_type, "difficulty": task.difficulty,
                         "language": task.language, "response": response, "correct": correct})
    other = registry.generate_by_type("sudoku", 2000, 1, "en")
    rows.append({"task_id": other.task_id, "task_type": "sudoku", "difficulty": 1, "language": "en",
                 "response": other.answer, "correct": True})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main([str(samples)]) == 0
    out = capsys.readouterr().out
    assert ("| boolean_expressions | 12 | 4 (33.3 %) | 4 (33.3 %) | 4 | 0 (0.0 %) | wrong fact verdict 4 "
            "| fact lines not paired with facts 4 |") in out
    assert "sudoku" not in out


# --------------------------------------------------------------------------- read_working

@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_read_working_worked_solutions_read_right_and_bare_answers_unreadable(task_type):
    for task in _tasks(task_type):
        worked = lgc_v2.worked_solution(task)
        assert _read_working(task_type, task.metadata, task.language, worked) == Reading(RIGHT), (task.task_id, task.difficulty)
        assert _read_working(task_type, task.metadata, None, worked) == Reading(RIGHT)  # the metadata's language
        # no working at all: nothing vouches for the answer
        bare = _read_working(task_type, task.metadata, task.language, task.answer)
        assert bare.verdict == UNREADABLE and bare.reason, (task.task_id, bare)


def _fact_line_indices(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith("- ") and "→" in line]


def test_boolean_expressions_a_fact_line_left_out_is_unreadable_with_the_counts():
    n = 0
    for task in _tasks("boolean_expressions"):
        lines = lgc_v2.worked_solution(task).split("\n")
        facts = _fact_line_indices(lines)
        for i in (facts[0], facts[-1]):
            dropped = "\n".join(lines[:i] + lines[i + 1:])
            assert _read_working("boolean_expressions", task.metadata, task.language, dropped) == \
                Reading(UNREADABLE, f"{len(facts) - 1} fact lines for {len(facts)} facts")
            assert _working_flaw("boolean_expressions", task.metadata, task.language, dropped) is None
            n += 1
        doubled = "\n".join(lines[:facts[0] + 1] + lines[facts[0]:])  # one line written twice
        assert _read_working("boolean_expressions", task.metadata, task.language, doubled) == \
            Reading(UNREADABLE, f"{len(facts) + 1} fact lines for {len(facts)} facts")
    assert n >= 40


def test_boolean_expressions_wrong_takes_precedence_over_unreadable():
    """A fact line left out (its verdicts can no longer be paired) and boxed letters that are not
    the working's: wrong; and a flipped verdict with every line there is wrong, not unreadable."""
    for task in _tasks("boolean_expressions"):
        worked = lgc_v2.worked_solution(task)
        lines = worked.split("\n")
        facts = _fact_line_indices(lines)
        dropped = lines[:facts[0]] + lines[facts[0] + 1:]
        changed_box = "\\boxed{" + ("A, B" if task.metadata["true_letters"] != ["A", "B"] else "A") + "}"
        response = "\n".join(dropped[:-1] + [changed_box])
        assert _read_working("boolean_expressions", task.metadata, task.language, response) == \
            Reading(WRONG, "boxed letters are not the last 'True so far'")
        flipped = lines[:facts[0]] + [_flip_verdict(lines[facts[0]], task.language)] + lines[facts[0] + 1:]
        assert _read_working("boolean_expressions", task.metadata, task.language, "\n".join(flipped)).verdict == WRONG


def test_operation_a_step_line_left_out_is_unreadable():
    """The first plain step line (not a rule waiting for its inner lines, not the last) left out:
    every line left is right, so only the count tells (k of n steps written)."""
    from veritas.envs.lgc_v2.operation import SO, WHERE

    n = 0
    for task in _tasks("operation"):
        lines = lgc_v2.worked_solution(task).split("\n")
        steps = [i for i, line in enumerate(lines) if line.startswith("- ")]
        plain = [i for i in steps[:-1] if not lines[i].endswith(tuple(WHERE.values()))
                 and not lines[i][2:].startswith(tuple(SO.values()))]
        if not plain:
            continue
        response = "\n".join(lines[:plain[0]] + lines[plain[0] + 1:])
        found = _read_working("operation", task.metadata, task.language, response)
        assert found.verdict == UNREADABLE and re.fullmatch(r"\d+ of \d+ steps written", found.reason), (task.task_id, found)
        assert _working_flaw("operation", task.metadata, task.language, response) is None
        n += 1
    assert n >= 30


def test_operation_an_unreadable_step_line_is_unreadable():
    task = next(t for t in _tasks("operation") if t.difficulty == 3)
    garbled = lgc_v2.worked_solution(task).replace("- ", "- ??? ", 1)
    assert _read_working("operation", task.metadata, task.language, garbled) == \
        Reading(UNREADABLE, "step line 1: unreadable step head")


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_read_working_no_working_is_unreadable(task_type):
    task = registry.generate_by_type(task_type, 2000, 3, "en")
    for response in ("", "I think the answer is this.\n\\boxed{A}", task.answer):
        assert _read_working(task_type, task.metadata, "en", response).verdict == UNREADABLE


def test_read_working_a_type_not_read_here_is_none():
    for task_type in (t for t in registry.task_types() if t not in TASK_TYPES):
        task = registry.generate_by_type(task_type, 2000, 1, "en")
        assert read_working(task_type, task.metadata, "en", task.answer) is None


def test_read_working_bad_arguments_and_bad_metadata_never_raise():
    task = registry.generate_by_type("operation", 2000, 3, "en")
    worked = lgc_v2.worked_solution(task)
    assert read_working(None, task.metadata, "en", worked) is None
    assert read_working("operation", None, "en", worked) is None  # no task to read against
    assert read_working("operation", {"symbols": 1}, "en", worked) is None  # the reader fails: no verdict
    found = read_working("boolean_expressions", {"statements": "nonsense"}, "en", "- a → True\n\\boxed{A}")
    assert found == Reading(UNREADABLE, "fact lines not read")
    assert read_working("boolean_expressions", task.metadata, "fr", worked).verdict == UNREADABLE


# --------------------------------------------------------------------------- --rollouts

def _rl_parquet(path, tasks):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from veritas.data import formats

    rows = [formats.rl_row(task, index=i, split="train") for i, task in enumerate(tasks)]
    pq.write_table(pa.Table.from_pylist(rows, schema=formats.SCHEMAS["rl"]), path)


def _templated(message: str) -> str:
    return f"system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face\nuser\n{message}\nassistant\n"


def test_rollouts_counts_right_answers_read_wrong_and_unreadable_per_step_range(tmp_path, capsys):
    """--rollouts DIR --tasks PARQUET: rollouts are matched to the task whose prompt their input
    contains and counted per type and range of their step; rows matching no task, or two, are
    counted; a torn last line is left out."""
    import json

    from veritas.evaluation.working import main

    boolean = [registry.generate_by_type("boolean_expressions", 3000 + s, 3, "en") for s in range(2)]
    dyck = [registry.generate_by_type("dyck_language", 3000 + s, 3, "en") for s in range(2)]
    _rl_parquet(tmp_path / "tasks.parquet", boolean + dyck)
    # a boolean worked solution with one fact line left out: a right answer, unreadable
    lines = lgc_v2.worked_solution(boolean[0]).split("\n")
    fact = next(j for j, line in enumerate(lines) if line.startswith("- ") and "→" in line)
    dropped = "\n".join(lines[:fact] + lines[fact + 1:])
    assert registry.verify("boolean_expressions", dropped, boolean[0].metadata).correct

    def rollout(task, output, step):
        return {"input": _templated(task.prompt), "output": output, "gts": task.answer, "score": 0.0,
                "step": step, "uid": "u"}

    dump = tmp_path / "rollout"
    dump.mkdir()
    # step 1: every task's worked solution (right, read right) and a wrong bare answer per boolean task
    step1 = [rollout(t, lgc_v2.worked_solution(t), 1) for t in boolean + dyck]
    step1 += [rollout(t, "\\boxed{Z}", 1) for t in boolean]
    # step 9 (the second range): the dropped fact line, a worked dyck solution, a prompt of no task,
    # one that holds two tasks' prompts; the step is the row's, not its file's
    step9 = [rollout(boolean[0], dropped, 9), rollout(dyck[1], lgc_v2.worked_solution(dyck[1]), 9),
             {"input": _templated("a question of no task"), "output": "\\boxed{A}", "step": 9},
             {"input": _templated(boolean[0].prompt + "\n" + dyck[0].prompt), "output": "\\boxed{A}", "step": 9}]
    (dump / "1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in step1))
    (dump / "2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in step9) + '{"input": "torn')
    assert main(["--rollouts", str(dump), "--tasks", str(tmp_path / "tasks.parquet")]) == 0
    out = capsys.readouterr().out
    assert "| boolean_expressions | 1–8 | 4 | 2 | 0 (0.0 %) | 0 (0.0 %) |" in out
    assert "| boolean_expressions | 9–16 | 1 | 1 | 0 (0.0 %) | 1 (100.0 %) |" in out
    assert "| dyck_language | 1–8 | 2 | 2 | 0 (0.0 %) | 0 (0.0 %) |" in out
    assert "| dyck_language | 9–16 | 1 | 1 | 0 (0.0 %) | 0 (0.0 %) |" in out
    assert "rollouts matching no task: 1\nrollouts matching more than one task (left out): 1" in out
    # four steps per row: step 9 falls in 9-12
    assert main(["--rollouts", str(dump), "--tasks", str(tmp_path / "tasks.parquet"), "--steps-per-row", "4"]) == 0
    assert "| boolean_expressions | 9–12 | 1 | 1 |" in capsys.readouterr().out


def test_rollouts_bad_input_is_one_clear_error(tmp_path, capsys):
    import json

    from veritas.evaluation.working import main

    task = registry.generate_by_type("boolean_expressions", 3000, 1, "en")
    _rl_parquet(tmp_path / "tasks.parquet", [task])
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.parquet").write_text("not a parquet")
    cases = [(tmp_path / "missing", tmp_path / "tasks.parquet", "missing: no such folder"),
             (tmp_path / "empty", tmp_path / "tasks.parquet", "empty: no <step>.jsonl files")]
    row = {"input": _templated(task.prompt), "output": "\\boxed{A}", "step": 1}
    for name, text, message in (
            ("rollout", json.dumps(row) + "\n", "bad.parquet: not an RL parquet with extra_info"),
            # a bad line before the last is no torn line: an error naming file and line
            ("bad-line", "{not json\n" + json.dumps(row) + "\n", "bad-line/1.jsonl: line 1: Expecting property name"),
            ("no-output", json.dumps({"input": "x", "step": 1}) + "\n",
             "no-output/1.jsonl: line 1: not a row with input and output text"),
            ("no-step", json.dumps({k: v for k, v in row.items() if k != "step"}) + "\n",
             "no-step: rollouts without a step")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "1.jsonl").write_text(text)
        cases.append((tmp_path / name, tmp_path / ("bad.parquet" if name == "rollout" else "tasks.parquet"), message))
    for folder, tasks, message in cases:
        assert main(["--rollouts", str(folder), "--tasks", str(tasks)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_two_modes_are_exclusive(tmp_path, capsys):
    """One parser: RUN folders, or --rollouts with --tasks (and --steps-per-row); a rollout option
    beside a RUN, wherever it stands, is a usage error, not a RUN mode that ignores it."""
    from veritas.evaluation.working import main

    run = str(tmp_path)
    for argv in ([], ["--rollouts", run], ["--tasks", "x.parquet"], ["--steps-per-row", "4"],
                 [run, "--rollouts", run, "--tasks", "x.parquet"], ["--rollouts", run, "--tasks", "x.parquet", run],
                 [run, "--steps-per-row", "4"], ["--rollouts", run, "--tasks", "x.parquet", "--steps-per-row", "0"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("usage: python -m veritas.evaluation.working") and "Traceback" not in err, argv
        assert ("--steps-per-row must be at least 1" if argv[-1:] == ["0"] else "not both") in err, argv
    # a RUN that cannot be read: as every reader of runs says it
    assert main([str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().err.startswith(f"working: {tmp_path / 'absent'}: ")
