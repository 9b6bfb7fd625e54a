"""veritas.evaluation.near_misses: a model's greedy failures that its own samples answer right, and
its greedy successes that they answer wrong."""
import gzip
import json
from pathlib import Path

import pytest

from veritas.evaluation.compare import load_run
from veritas.evaluation.near_misses import main, tally

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def _rows(verdicts: dict, task_type: str) -> list[dict]:
    return [{"task_id": task_id, "task_type": task_type, "difficulty": 1, "language": "en", "sample": i,
             "correct": right, "format_ok": True, "response": "x"}
            for task_id, answers in verdicts.items() for i, right in enumerate(answers)]


def _write(folder: Path, rows: list[dict], samples: int) -> Path:
    folder.mkdir()
    with gzip.open(folder / "samples.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "results.json").write_text(json.dumps({"settings": {"samples": samples, "split": "test"}}))
    return folder


def test_tally_splits_greedy_failures_and_successes_by_what_the_samples_did(tmp_path, capsys):
    greedy = _rows({1: [False], 2: [False], 3: [True], 4: [True], 5: [False]}, "operation") + \
        _rows({6: [True], 7: [False]}, "dyck_language")
    sampled = _rows({1: [False, True, False], 2: [False, False, False], 3: [True, True, True],
                     4: [True, False, True], 8: [True, True, True]}, "operation") + \
        _rows({6: [False, False, False], 7: [True, True, True]}, "dyck_language")
    g = load_run(_write(tmp_path / "greedy", greedy, 1))
    s = load_run(_write(tmp_path / "sampled", sampled, 3))
    counts = tally(g, s)
    # task 5 has no samples and task 8 no greedy answer: neither is counted
    assert counts["operation"] == {"tasks": 4, "greedy_right": 2, "exposed": 1, "near_misses": 1, "never_right": 1}
    assert counts["dyck_language"] == {"tasks": 2, "greedy_right": 1, "exposed": 1, "near_misses": 1}
    assert main([str(tmp_path / "greedy"), str(tmp_path / "sampled")]) == 0
    out = capsys.readouterr().out
    assert "(3 samples a task)" in out
    assert "| operation | 4 | 2 | 2 | 1 (50.0 %) | 1 | 1 (50.0 %) | 25.0 |" in out
    assert "| dyck_language | 2 | 1 | 1 | 1 (100.0 %) | 0 | 1 (100.0 %) | 50.0 |" in out
    assert "| all | 6 | 3 | 3 | 2 (66.7 %) | 1 | 2 (66.7 %) | 33.3 |" in out
    assert "at most 37.5 macro points" in out  # the mean of 25.0 and 50.0, not the micro 33.3


def test_unreadable_or_mismatched_runs_are_one_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"near_misses: {tmp_path / 'empty'}") and "Traceback" not in err
    a = _write(tmp_path / "a", _rows({1: [True]}, "operation"), 1)
    b = _write(tmp_path / "b", _rows({1: [True, False]}, "operation"), 2)
    (b / "results.json").write_text(json.dumps({"settings": {"samples": 2, "split": "train"}}))
    assert main([str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert "different splits" in err and "Traceback" not in err


GREEDY = RESULTS / "2026-12-05-grpo-levels-1-5-fixed-smollm2-135m-h100" / "sft"
SAMPLED = RESULTS / "2026-12-06-sft-sampled-study-smollm2-135m-h200" / "t1.0"


@pytest.mark.skipif(not (GREEDY.exists() and SAMPLED.exists()), reason="the committed evaluations are not in this checkout")
def test_the_figures_results_md_quotes(capsys):
    """docs/results.md, after the nineteenth run: 55 near misses of 239 greedy failures, 142 exposed."""
    assert main([str(GREEDY), str(SAMPLED)]) == 0
    out = capsys.readouterr().out
    assert "| all | 640 | 401 | 239 | 55 (23.0 %) | 184 | 142 (35.4 %) | 8.6 |" in out
    assert "| operation | 128 | 58 | 70 | 8 (11.4 %) | 62 | 20 (34.5 %) | 6.2 |" in out
    assert "at most 8.6 macro points" in out
