"""veritas.evaluation.final_line: tasks broken or fixed between two runs, split by whether only the
final line changed."""
import gzip
import json
from pathlib import Path

import pytest

from veritas.evaluation.final_line import FINAL_LINE, WORKING, change, main, tally

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def test_change_is_final_line_only_when_every_other_non_empty_line_is_the_same():
    working = "Scan:\n( → open\n\n) → closes (\n"
    assert change(working + "Complete: `()`", working + "Complete: `())`") == FINAL_LINE
    assert change(working + "A", "  " + working.replace("\n\n", "\n") + "B  ") == FINAL_LINE  # blank lines, spaces
    assert change(working + "A", working.replace("closes", "opens") + "A") == WORKING
    assert change(working + "A", working + "A\nmore") == WORKING  # a line added
    assert change("A", "B") == FINAL_LINE  # a bare answer: nothing but the final line
    assert change("", "B") == WORKING and change(None, 3) == WORKING  # hostile rows never raise


def _row(task_id, task_type, correct, response, sample=0):
    return {"task_id": task_id, "task_type": task_type, "difficulty": 1, "language": "en", "sample": sample,
            "correct": correct, "response": response}


def test_tally_counts_broken_and_fixed_tasks_per_type(tmp_path, capsys):
    w = "step 1\nstep 2\n"
    before = [_row(1, "dyck_language", True, w + "`()`"), _row(2, "dyck_language", True, w + "`[]`"),
              _row(3, "dyck_language", False, w + "`(`"), _row(4, "operation", True, w + "3"),
              _row(5, "operation", True, w + "4"), _row(6, "operation", True, w + "5", sample=1)]
    after = [_row(1, "dyck_language", False, w + "`())`"),  # broken, final line only
             _row(2, "dyck_language", False, "step 1\nstep 3\n`[`"),  # broken in its working
             _row(3, "dyck_language", True, w + "`()`"),  # fixed, final line only
             _row(4, "operation", True, w + "3"),  # unchanged
             _row(5, "operation", False, "other"),  # broken, working
             _row(7, "operation", False, "a task only after")]
    counts = tally(before, after)
    assert counts["dyck_language"] == {"tasks": 3, "broken": 2, ("broken", FINAL_LINE): 1, "fixed": 1,
                                       ("fixed", FINAL_LINE): 1}
    assert counts["operation"]["tasks"] == 2 and counts["operation"]["broken"] == 1
    assert counts["operation"]["broken", FINAL_LINE] == 0
    for name, rows in (("before", before), ("after", after)):
        (tmp_path / name).mkdir()
        with gzip.open(tmp_path / name / "samples.jsonl.gz", "wt") as f:
            f.write("".join(json.dumps(r) + "\n" for r in rows))
    assert main([str(tmp_path / "before"), str(tmp_path / "after")]) == 0
    out = capsys.readouterr().out
    assert "| dyck_language | 3 | 2 | 1 (50.0 %) | 1 | 1 (100.0 %) |" in out
    assert "| all | 5 | 3 | 1 (33.3 %) | 1 | 1 (100.0 %) |" in out


def test_a_run_that_cannot_be_read_is_one_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"final_line: {tmp_path / 'empty'}") and "Traceback" not in err


STRICT = RESULTS / "2026-12-07-grpo-greedy-failures-positive-replay-strict-sft-levels-1-5-smollm2-135m-h100"


@pytest.mark.skipif(not STRICT.exists(), reason="the nineteenth run's results are not in this checkout")
def test_the_nineteenth_runs_figures(capsys):
    """The figures docs/results.md quotes for the strict arm's validation, step 0 against step 32."""
    assert main([str(STRICT / "val-step-0"), str(STRICT / "val-step-32")]) == 0
    out = capsys.readouterr().out
    assert "| all | 640 | 54 | 23 (42.6 %) | 26 | 16 (61.5 %) |" in out
    assert "| dyck_language2 | 128 | 9 | 9 (100.0 %) | 10 | 8 (80.0 %) |" in out
