"""veritas.evaluation.churn: greedy verdicts fixed and broken against a run's first evaluation, and
how many move back."""
import gzip
import json
from pathlib import Path

import pytest

from veritas.evaluation.churn import main, moves, verdict_series
from veritas.evaluation.compare import load_run

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"


def _write(folder: Path, verdicts: dict, split: str = "test", samples: int = 1) -> Path:
    """A results folder of one answer a task ({task_id: (type, right)}), or ``samples`` answers each."""
    folder.mkdir()
    rows = [{"task_id": task_id, "task_type": task_type, "difficulty": 1, "language": "en", "sample": i,
             "correct": right, "format_ok": True, "response": "x"}
            for task_id, (task_type, right) in verdicts.items() for i in range(samples)]
    with gzip.open(folder / "samples.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "results.json").write_text(json.dumps({"settings": {"samples": samples, "split": split}}))
    return folder


OP, DY = "operation", "dyck_language"
# four operation tasks, two dyck_language ones, over three evaluations in training order
STEPS = [
    {1: (OP, True), 2: (OP, True), 3: (OP, False), 4: (OP, False), 5: (DY, True), 6: (DY, False)},
    {1: (OP, False), 2: (OP, True), 3: (OP, True), 4: (OP, False), 5: (DY, True), 6: (DY, True)},
    {1: (OP, True), 2: (OP, True), 3: (OP, True), 4: (OP, False), 5: (DY, False), 6: (DY, True), 7: (OP, True)},
]


def _runs(tmp_path) -> list[Path]:
    return [_write(tmp_path / f"val-step-{12 * i}", verdicts) for i, verdicts in enumerate(STEPS)]


def test_fixed_broken_and_the_macro_change_against_the_first_run(tmp_path):
    series = verdict_series([load_run(p) for p in _runs(tmp_path)])
    assert set(series) == {(i, 1, "en") for i in range(1, 7)}  # task 7 is only in the last run
    # step 12: task 1 broken; 3 and 6 fixed.  operation 2 -> 2 of 4 right, dyck_language 1 -> 2 of 2
    assert moves(series, 1) == {"fixed": 2, "failures": 3, "broken": 1, "right": 3, "macro": pytest.approx(25.0)}
    # step 24: task 1 right again, 3 and 6 still fixed, 5 broken: operation +25 points, dyck_language +0
    assert moves(series, 2) == {"fixed": 2, "failures": 3, "broken": 1, "right": 3, "macro": pytest.approx(12.5)}


def test_the_report_follows_what_became_of_the_second_runs_moves(tmp_path, capsys):
    assert main([str(p) for p in _runs(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| val-step-12 | 2 (66.7 %) | 1 (33.3 %) | +1 | +25.0 |" in out
    assert "| val-step-24 | 2 (66.7 %) | 1 (33.3 %) | +1 | +12.5 |" in out
    assert "Of the 1 tasks broken at val-step-12, 1 are right again at val-step-24; " \
           "of the 2 fixed at val-step-12, 2 are still right there." in out
    # task 1 moved twice, tasks 3, 5 and 6 once
    assert "4 of 6 tasks changed verdict at least once over the 3 runs, 1 more than once." in out


def test_sampled_runs_other_splits_and_one_run_are_refused(tmp_path, capsys):
    first = _write(tmp_path / "a", STEPS[0])
    sampled = _write(tmp_path / "b", STEPS[1], samples=4)
    assert main([str(first), str(sampled)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"churn: {sampled}: 4 samples a task") and "Traceback" not in err
    other = _write(tmp_path / "c", STEPS[1], split="train")
    assert main([str(first), str(other)]) == 2
    assert "different splits" in capsys.readouterr().err
    assert main([str(first), str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith(f"churn: {tmp_path / 'missing'}")
    with pytest.raises(SystemExit) as exc:
        main([str(first)])
    assert exc.value.code == 2


THIRTEENTH = RESULTS / "2026-12-06-grpo-from-level-4-sft-levels-1-5-smollm2-135m-h100"


@pytest.mark.skipif(not THIRTEENTH.exists(), reason="the committed evaluations are not in this checkout")
def test_the_figures_results_md_quotes(capsys):
    """docs/results.md, after the nineteenth run: of 21 tasks broken at step 12, 10 right again at
    step 40 (of 22 fixed, 17 stayed); 81 of 640 tasks changed verdict over five validations."""
    steps = [THIRTEENTH / f"val-step-{n}" for n in (0, 12, 24, 36, 40)]
    assert main([str(p) for p in steps]) == 0
    out = capsys.readouterr().out
    assert "| val-step-40 | 29 (24.6 %) | 22 (4.2 %) | +7 | +1.1 |" in out
    assert "Of the 21 tasks broken at val-step-12, 10 are right again at val-step-40; " \
           "of the 22 fixed at val-step-12, 17 are still right there." in out
    assert "81 of 640 tasks changed verdict at least once over the 5 runs, 34 more than once." in out
