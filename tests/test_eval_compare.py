"""`veritas eval --compare A B` on hand-checkable runs: Wilson intervals against known values, the
paired bootstrap (stratified by type) against cases whose answer is known, task sets that do not
match refused, and gzipped samples read."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from veritas.cli import main
from veritas.evaluation.compare import (CompareError, bootstrap_mean_differences, compare_runs, interval95, verdict,
                                        load_run, wilson_interval)


def make_run(folder, verdicts: dict[str, list[bool]], *, gz=False, language="en", samples=1, torn_tail=False,
             format_ok: float = 1.0, level_of=lambda i: 3):
    """A results folder as `veritas eval` leaves it: results.json settings and one samples row per
    verdict; task i of a type is task id f"{type}-{i}" at level ``level_of(i)`` (3), with ``samples`` rows each; the
    first ``format_ok`` share of each type's tasks has a readable answer (all correct ones do)."""
    folder.mkdir(parents=True)
    rows = []
    for task_type, per_task in verdicts.items():
        for i, correct in enumerate(per_task):
            for j in range(samples):
                rows.append({"task_id": f"{task_type}-{i}", "task_type": task_type, "sample": j, "difficulty": level_of(i),
                             "language": language, "response": "x", "correct": bool(correct),
                             "format_ok": bool(correct) or i < format_ok * len(per_task),
                             "truncated": False})
    text = "".join(json.dumps(r) + "\n" for r in rows) + ('{"task_id": "torn' if torn_tail else "")
    if gz:
        with gzip.open(folder / "samples.jsonl.gz", "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        (folder / "samples.jsonl").write_text(text)
    (folder / "results.json").write_text(json.dumps({"settings": {"model": folder.name, "samples": samples,
                                                                  "max_new_tokens": 256}}))
    return folder


def test_wilson_interval_known_values():
    assert wilson_interval(8, 10) == pytest.approx((0.490, 0.943), abs=5e-4)
    # 0 of n: the lower end is 0 and the upper is z^2 / (n + z^2)
    z2 = 1.959963984540054 ** 2
    assert wilson_interval(0, 10) == pytest.approx((0.0, z2 / (10 + z2)))
    assert wilson_interval(10, 10) == pytest.approx((1 - z2 / (10 + z2), 1.0))
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_bootstrap_matches_the_normal_approximation_for_many_tasks():
    # 200 paired tasks: 60 improved, 20 worse, 120 unchanged: mean 0.2, sd 0.6, standard error 0.6 / sqrt(200)
    diffs = np.array([1.0] * 60 + [-1.0] * 20 + [0.0] * 120)
    lo, hi = interval95(bootstrap_mean_differences({"t": diffs}, resamples=10_000, seed=0)["t"])
    se = 0.6 / np.sqrt(200)
    assert lo == pytest.approx(0.2 - 1.96 * se, abs=0.01) and hi == pytest.approx(0.2 + 1.96 * se, abs=0.01)
    again = bootstrap_mean_differences({"t": diffs}, resamples=10_000, seed=0)["t"]
    assert interval95(again) == [lo, hi]  # fixed seed: the same interval every time


def test_clear_improvement_excludes_zero_and_identical_runs_include_it(tmp_path):
    base = {"dyck_language": [i < 2 for i in range(20)]}    # 2 / 20
    better = {"dyck_language": [i < 18 for i in range(20)]}  # 18 / 20, right wherever base was
    a, b = load_run(make_run(tmp_path / "a", base)), load_run(make_run(tmp_path / "b", better, gz=True))
    up = compare_runs(a, b)["per_type"]["dyck_language"]
    assert up["a"]["accuracy"] == 0.1 and up["b"]["accuracy"] == 0.9 and up["difference"] == pytest.approx(0.8)
    assert up["difference_95"][0] > 0
    assert up["b"]["wilson_95"] == pytest.approx(list(wilson_interval(18, 20)))
    same = compare_runs(a, a)["per_type"]["dyck_language"]
    assert same["difference"] == 0 and same["difference_95"][0] <= 0 <= same["difference_95"][1]
    # as many tasks lost as won: the difference is 0 and its interval straddles it
    swapped = load_run(make_run(tmp_path / "c", {"dyck_language": [2 <= i < 4 for i in range(20)]}))
    even = compare_runs(a, swapped)["per_type"]["dyck_language"]
    assert even["difference"] == 0 and even["difference_95"][0] < 0 < even["difference_95"][1]
    # ... and the counts say so: two tasks won, two lost
    assert (even["tasks_better"], even["tasks_worse"]) == (2, 2)
    assert (up["tasks_better"], up["tasks_worse"], same["tasks_better"], same["tasks_worse"]) == (16, 0, 0, 0)


def test_macro_difference_is_stratified_by_type(tmp_path):
    # every sudoku task improves, no operation task changes: resampling within each type keeps
    # 10 of each, so every resample's macro (and micro) difference is exactly 0.5; resampling the
    # 20 tasks as one pool would not
    a = load_run(make_run(tmp_path / "a", {"sudoku": [False] * 10, "operation": [True] * 5 + [False] * 5}))
    b = load_run(make_run(tmp_path / "b", {"sudoku": [True] * 10, "operation": [True] * 5 + [False] * 5}))
    c = compare_runs(a, b)
    assert c["macro"]["difference"] == 0.5 and c["macro"]["difference_95"] == pytest.approx([0.5, 0.5])
    assert c["micro"]["difference_95"] == pytest.approx([0.5, 0.5])
    assert c["macro"]["a_accuracy"] == pytest.approx(0.25) and c["macro"]["b_accuracy"] == pytest.approx(0.75)


def test_samples_per_task_are_averaged_before_pairing(tmp_path):
    a = load_run(make_run(tmp_path / "a", {"sudoku": [False, True]}, samples=4))
    assert [t["verdicts"] for t in a["tasks"].values()] == [[False] * 4, [True] * 4]
    c = compare_runs(a, a)
    assert c["per_type"]["sudoku"]["a"]["samples"] == 8 and c["per_type"]["sudoku"]["a"]["correct"] == 4


def test_compare_cli_prints_table_and_writes_json(tmp_path, capsys):
    a = make_run(tmp_path / "base", {"dyck_language": [i < 2 for i in range(20)], "sudoku": [False] * 20})
    b = make_run(tmp_path / "sft", {"dyck_language": [i < 18 for i in range(20)], "sudoku": [False] * 20},
                 gz=True)
    out = tmp_path / "cmp" / "compare.json"
    assert main(["eval", "--compare", str(a / "results.json"), str(b), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| dyck_language | 20 | 10.0 [" in printed and "| sudoku | 20 | 0.0 [0.0, 16.1] |" in printed
    assert "| **macro** (2 types) | 40 | 5.0 | 45.0 | +40.0 [" in printed
    assert "| 100.0 → 100.0 |" in printed  # format rate of A and B
    assert "| 16 / 0 | 100.0 → 100.0 |" in printed  # dyck_language: 16 tasks right in B only, none lost
    assert "| all tasks (micro) | 40 | | | +40.0 [" in printed and "| 16 / 0 | |" in printed
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 1000  # beside the JSON
    assert not (b / "compare.png").exists()
    saved = json.loads(out.read_text())
    assert saved["b"]["samples_file"].endswith("samples.jsonl.gz")
    assert saved["macro"]["difference"] == pytest.approx(0.4)


def test_compare_prints_a_verdict_per_type_and_a_result_line(tmp_path, capsys):
    """What the CPU demo shows after the table: improved / got WORSE / no clear change per type
    (the paired interval of B − A above 0, below 0, or holding 0), the macro line, one result."""
    a = make_run(tmp_path / "a", {"dyck_language": [i < 2 for i in range(20)], "operation": [i < 15 for i in range(20)],
                                  "sudoku": [False] * 20}, format_ok=0.5)
    b = make_run(tmp_path / "b", {"dyck_language": [i < 18 for i in range(20)], "operation": [i < 2 for i in range(20)],
                                  "sudoku": [i < 3 for i in range(20)]})
    assert main(["eval", "--compare", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("dyck_language: accuracy 10.0% -> 90.0% (improved), format rate 50.0% -> 100.0%")
    assert lines[start:start + 5] == [
        "dyck_language: accuracy 10.0% -> 90.0% (improved), format rate 50.0% -> 100.0%",
        "operation: accuracy 75.0% -> 10.0% (got WORSE), format rate 75.0% -> 100.0%",
        # 3 tasks won, none lost: the interval still reaches 0
        "sudoku: accuracy 0.0% -> 15.0% (no clear change, within noise), format rate 50.0% -> 100.0%",
        "overall (macro over 3 types, 60 held-out tasks): accuracy 28.3% -> 38.3% (no clear change, within noise), "
        "format rate 58.3% -> 100.0%",
        "result: accuracy improved on 1 of 3 task types, got WORSE on 1.",
    ]


@pytest.mark.parametrize("b_verdicts, b_format, result", [
    ([i < 15 for i in range(20)], 1.0, "result: accuracy improved on 1 of 1 task types."),
    ([i < 5 for i in range(20)], 1.0, "result: accuracy did NOT improve beyond noise on any task type; only the answer format did."),
    ([i < 6 for i in range(20)], 0.5, "result: the model did NOT improve beyond noise on any task type."),
    ([False] * 20, 1.0, "result: accuracy got WORSE on 1 of 1 task types and improved on none."),
])
def test_compare_result_line_says_plainly_what_did_not_improve(tmp_path, capsys, b_verdicts, b_format, result):
    a = make_run(tmp_path / "a", {"dyck_language": [i < 6 for i in range(20)]}, format_ok=0.5)
    b = make_run(tmp_path / "b", {"dyck_language": b_verdicts}, format_ok=b_format)
    assert main(["eval", "--compare", str(a), str(b)]) == 0
    assert capsys.readouterr().out.splitlines()[-2] == result  # then "eval: wrote .../compare.png"
    assert (b / "compare.png").exists()  # no --json: the chart beside B


def test_compare_writes_its_json_before_the_chart(tmp_path, monkeypatch):
    """A reader that closes stdout early (`| head`) stops the command at its last print: the
    comparison asked for with --json is already written by then."""
    from veritas.evaluation import report

    a = make_run(tmp_path / "a", {"dyck_language": [i < 6 for i in range(20)]})
    b = make_run(tmp_path / "b", {"dyck_language": [i < 9 for i in range(20)]})
    monkeypatch.setattr(report, "bar_chart", lambda *args, **kw: (_ for _ in ()).throw(BrokenPipeError(32, "Broken pipe")))
    with pytest.raises(BrokenPipeError):
        main(["eval", "--compare", str(a), str(b), "--json", str(tmp_path / "c.json")])
    assert json.loads((tmp_path / "c.json").read_text())["per_type"]["dyck_language"]["b"]["accuracy"] == 0.45


def test_compare_refuses_runs_on_different_tasks(tmp_path, capsys):
    a = make_run(tmp_path / "a", {"sudoku": [True] * 10})
    fewer = make_run(tmp_path / "b", {"sudoku": [True] * 7})
    assert main(["eval", "--compare", str(a), str(fewer)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "3 of A's 10 are not in B and 0 of B's 7 are not in A" in err
    # the same task ids in another language are other puzzles
    zh = make_run(tmp_path / "zh", {"sudoku": [True] * 10}, language="zh")
    assert main(["eval", "--compare", str(a), str(zh)]) == 2
    assert "10 of A's 10 are not in B" in capsys.readouterr().err
    assert main(["eval", "--compare", str(a), str(tmp_path / "nowhere")]) == 2
    assert "holds no samples.jsonl" in capsys.readouterr().err


def test_torn_last_line_is_left_out_without_touching_the_file(tmp_path):
    run = make_run(tmp_path / "a", {"sudoku": [True, False]}, torn_tail=True)
    before = (run / "samples.jsonl").read_bytes()
    assert len(load_run(run)["tasks"]) == 2
    assert (run / "samples.jsonl").read_bytes() == before


def test_macro_over_selected_types_uses_only_those_types(tmp_path, capsys):
    """What the learning target is stated over (the types GRPO trained): --task-types with
    --compare adds their macro, from the same stratified draws, beside the macro over all types."""
    a = load_run(make_run(tmp_path / "a", {"sudoku": [False] * 10, "operation": [True] * 5 + [False] * 5,
                                           "dyck_language": [True] * 10}))
    b = load_run(make_run(tmp_path / "b", {"sudoku": [True] * 10, "operation": [True] * 5 + [False] * 5,
                                           "dyck_language": [False] * 10}))
    c = compare_runs(a, b, selected_types=["sudoku", "operation"])
    assert c["macro"]["difference"] == pytest.approx(0.0)  # +1, 0, -1 over three types
    sel = c["macro_selected"]
    assert sel["type_names"] == ["operation", "sudoku"] and sel["tasks"] == 20
    assert sel["difference"] == 0.5 and sel["difference_95"] == pytest.approx([0.5, 0.5])
    assert sel["a_accuracy"] == pytest.approx(0.25) and sel["verdict"] == "improved"
    assert "macro_selected" not in compare_runs(a, b)
    with pytest.raises(CompareError, match="game_of_24"):
        compare_runs(a, b, selected_types=["game_of_24"])
    # the CLI: a table row and a verdict line; a type not compared is refused with exit 2
    assert main(["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b"),
                 "--task-types", "sudoku,operation"]) == 0
    printed = capsys.readouterr().out
    assert "| **macro, selected** (operation, sudoku) | 20 | 25.0 | 75.0 | +50.0 [50.0, 50.0] | |" in printed
    assert "selected types (macro over operation, sudoku, 20 tasks): accuracy 25.0% -> 75.0% (improved)" in printed
    assert main(["eval", "--compare", str(tmp_path / "a"), str(tmp_path / "b"), "--task-types", "game_of_24"]) == 2
    assert "game_of_24" in capsys.readouterr().err


def test_per_level_figures_show_where_a_run_moved(tmp_path, capsys):
    # tasks 0-19 at level 1, 20-39 at level 4; B gets level 4 right on both types, level 1 as A
    level = lambda i: 1 if i < 20 else 4  # noqa: E731
    a_verdicts = {"dyck_language": [True] * 20 + [False] * 20, "operation": [i % 2 == 0 for i in range(20)] + [False] * 20}
    b_verdicts = {t: v[:20] + [True] * 20 for t, v in a_verdicts.items()}
    a = make_run(tmp_path / "a", a_verdicts, level_of=level)
    b = make_run(tmp_path / "b", b_verdicts, level_of=level)
    levels = compare_runs(load_run(a), load_run(b), resamples=2_000)["per_level"]
    assert list(levels) == ["1", "4"]
    assert levels["1"]["difference"] == 0.0 and levels["1"]["verdict"] == "no change"
    assert levels["4"]["difference"] == 1.0 and levels["4"]["difference_95"] == [1.0, 1.0]
    assert levels["1"]["a_accuracy"] == pytest.approx(0.75)  # macro: (1.0 + 0.5) / 2
    assert levels["4"]["per_type"]["operation"] == {"tasks": 20, "a_accuracy": 0.0, "b_accuracy": 1.0}
    assert main(["eval", "--compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "| operation | 50.0 → 50.0 (20) | 0.0 → 100.0 (20) |" in out
    # one level only (every other test here): no per-level figures
    one = make_run(tmp_path / "one", a_verdicts)
    assert "per_level" not in compare_runs(load_run(one), load_run(one), resamples=100)


def test_baselines_compare_the_two_arms_gains_task_by_task(tmp_path, capsys):
    """--baselines A0 B0: each arm's gain over its own start and the difference of the gains, per
    task (B - B0) - (A - A0), bootstrapped within each type.  Here B's start is better than A's,
    so B - A alone is +0.5; but A gained tasks 10-19 and B tasks 10-29: the gains differ by 0.25,
    every task's difference 0 or +1."""
    from veritas.evaluation.compare import compare_gains

    n = 40
    a0 = make_run(tmp_path / "a0", {"t": [False] * n})
    a = make_run(tmp_path / "a", {"t": [10 <= i < 20 for i in range(n)]})  # A: +0.25
    b0 = make_run(tmp_path / "b0", {"t": [i < 10 for i in range(n)]})
    b = make_run(tmp_path / "b", {"t": [i < 30 for i in range(n)]})  # B: +0.5 from a better start
    out = compare_gains({"a0": load_run(a0), "a": load_run(a), "b0": load_run(b0), "b": load_run(b)})
    t = out["per_type"]["t"]
    assert (t["a_gain"], t["b_gain"], t["difference"]) == pytest.approx((0.25, 0.5, 0.25))
    assert t["a_gain_95"][0] > 0 and t["difference_95"][0] > 0 and t["verdict"] == "improved"
    assert out["macro"]["difference"] == pytest.approx(0.25)
    same = compare_gains({"a0": load_run(a0), "a": load_run(a), "b0": load_run(a0), "b": load_run(a)})
    assert same["macro"]["difference_95"] == [0.0, 0.0] and same["macro"]["verdict"] == "no change"

    assert main(["eval", "--compare", str(a), str(b), "--baselines", str(a0), str(b0),
                 "--json", str(tmp_path / "gains.json")]) == 0
    printed = capsys.readouterr().out
    assert "| t | 40 | +25.0 [" in printed and "result: B's gain over its start against A's, macro: +25.0 points (B gained more)" \
        in printed
    assert json.loads((tmp_path / "gains.json").read_text())["macro"]["difference"] == pytest.approx(0.25)
    other = make_run(tmp_path / "other", {"t": [False] * (n + 1)})
    assert main(["eval", "--compare", str(a), str(b), "--baselines", str(other), str(b0)]) == 2
    err = capsys.readouterr().err
    assert "(A) judged other tasks than" in err and "other (A0)" in err
    assert main(["eval", "--compare", str(a), str(other), "--baselines", str(a0), str(b0)]) == 2
    assert "(B) judged other tasks than" in capsys.readouterr().err
    assert main(["eval", "--compare", str(a), str(b), "--baselines", str(a0), str(b0), "--task-types", "t"]) == 2
    assert "not offered with --baselines" in capsys.readouterr().err
    assert main(["eval", "--baselines", str(a0), str(b0)]) == 2
    assert "--baselines goes with --compare A B" in capsys.readouterr().err


def test_split_by_shows_where_a_sampled_gain_went(tmp_path, capsys):
    """--split-by G: B − A on the tasks G got right and on those it got wrong.  G (greedy) gets tasks
    0-19 of 40 right; A and B are 4-sample runs.  B adds one right sample on tasks 0-19 (+0.25 there)
    and none on 20-39: the whole gain lies on the G-right part."""
    from veritas.evaluation.compare import compare_split

    n, k = 40, 4

    def sampled(folder, right_per_task):
        folder.mkdir(parents=True)
        rows = [{"task_id": f"t-{i}", "task_type": "t", "sample": j, "difficulty": 3, "language": "en",
                 "correct": j < right_per_task(i), "format_ok": True} for i in range(n) for j in range(k)]
        (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        (folder / "results.json").write_text(json.dumps({"settings": {"model": folder.name, "samples": k}}))
        return folder

    g = make_run(tmp_path / "g", {"t": [i < 20 for i in range(n)]})
    a = sampled(tmp_path / "a", lambda i: 2 if i < 20 else 1)
    b = sampled(tmp_path / "b", lambda i: 3 if i < 20 else 1)
    split = compare_split(load_run(a), load_run(b), load_run(g), resamples=2_000)
    assert (split["g_right"]["tasks"], split["g_wrong"]["tasks"]) == (20, 20)
    assert split["g_right"]["a_accuracy"] == 0.5 and split["g_right"]["b_accuracy"] == 0.75
    assert split["g_right"]["micro"]["difference"] == pytest.approx(0.25)
    assert split["g_right"]["micro"]["difference_95"] == [0.25, 0.25]
    assert split["g_wrong"]["micro"]["difference"] == 0.0 and split["g_wrong"]["macro"]["verdict"] == "no change"

    assert main(["eval", "--compare", str(a), str(b), "--split-by", str(g), "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "| G right | 20 | 50.0 | 75.0 | +25.0 [25.0, 25.0] |" in out and "| G wrong | 20 | 25.0 | 25.0 | +0.0" in out
    assert json.loads((tmp_path / "c.json").read_text())["split"]["g_wrong"]["tasks"] == 20
    # G on other tasks, with --baselines, or without --compare: one clear error each
    other = make_run(tmp_path / "other", {"t": [True] * 10})
    assert main(["eval", "--compare", str(a), str(b), "--split-by", str(other)]) == 2
    assert "(--split-by) did not judge 30 of A's 40 tasks" in capsys.readouterr().err
    assert main(["eval", "--compare", str(a), str(b), "--split-by", str(g), "--baselines", str(a), str(b)]) == 2
    assert "--split-by is not offered with --baselines" in capsys.readouterr().err
    assert main(["eval", "--split-by", str(g)]) == 2
    assert "--split-by goes with --compare A B" in capsys.readouterr().err


def test_a_bound_that_is_zero_but_for_float_rounding_is_zero():
    """A macro averages per-type means in floating point: 0.3 - (0.1 + 0.2) is -5.6e-17, and an
    interval ending there must read as touching 0 (no change), not as leaving it out (worse)."""
    draws = np.array([-0.2] * 10 + [0.3 - (0.1 + 0.2)] * 990)
    lo, hi = interval95(draws)
    assert hi == 0.0 and str(hi) == "0.0"
    assert verdict([lo, hi]) == "no change"
    assert verdict(interval95(np.array([-0.2] * 10 + [-0.01] * 990))) == "worse"


def _rl_rows(path, keys):
    """A verl RL parquet whose rows are the given (task id, level, language) tasks."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    infos = [{"task_id": t, "difficulty": level, "language": language} for t, level, language in keys]
    pq.write_table(pa.table({"data_source": ["lgc-v2/t"] * len(infos), "extra_info": infos}), path)
    return path


def test_trained_splits_fixed_and_broken_by_the_rows_trained_on(tmp_path, capsys):
    """--trained ROWS: among A's tasks in ROWS and the others, each split by A's verdict, how many B
    fixed and broke.  A gets tasks 0-5 right; B breaks 4 and 5 and fixes 6 and 7; GRPO trained on
    0, 1, 4, 6 and 8."""
    from veritas.evaluation.compare import compare_trained, trained_tasks

    a = make_run(tmp_path / "a", {"t": [i < 6 for i in range(10)]})
    b = make_run(tmp_path / "b", {"t": [i < 4 or i in (6, 7) for i in range(10)]})
    rows = _rl_rows(tmp_path / "mined.parquet", [(f"t-{i}", 3, "en") for i in (0, 1, 4, 6, 8)])
    split = compare_trained(load_run(a), load_run(b), trained_tasks(rows), rows)
    counts = {name: (split[name]["tasks"], split[name]["fixed"], split[name]["broken"])
              for name in ("trained_a_wrong", "trained_a_right", "other_a_wrong", "other_a_right")}
    assert counts == {"trained_a_wrong": (2, 1, 0), "trained_a_right": (3, 0, 1),
                      "other_a_wrong": (2, 1, 0), "other_a_right": (3, 0, 1)}
    assert split["trained_tasks"] == 5 and split["trained_judged"] == 5
    assert split["trained_a_right"]["per_type"] == {"t": {"tasks": 3, "fixed": 0, "broken": 1}}

    assert main(["eval", "--compare", str(a), str(b), "--trained", str(rows), "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "| trained on, A wrong | 2 | 1 (50.0 %) |  | 1 of 2 |" in out
    assert "| not trained on, A right | 3 |  | 1 (33.3 %) | 1 of 3 |" in out
    assert json.loads((tmp_path / "c.json").read_text())["trained"]["other_a_right"]["broken"] == 1


def test_trained_rows_that_cannot_be_read_are_one_clear_error(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    a = make_run(tmp_path / "a", {"t": [True, False]})
    not_parquet = tmp_path / "rows.parquet"
    not_parquet.write_text("not a parquet")
    assert main(["eval", "--compare", str(a), str(a), "--trained", str(not_parquet)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{not_parquet} (--trained): not a parquet of RL rows" in err
    no_id = tmp_path / "no-id.parquet"
    pq.write_table(pa.table({"extra_info": [{"task_id": 1, "difficulty": 3}, {"difficulty": 3}]}), no_id)
    assert main(["eval", "--compare", str(a), str(a), "--trained", str(no_id)]) == 2
    assert f"{no_id} (--trained): row 2 has no extra_info.task_id" in capsys.readouterr().err
    assert main(["eval", "--compare", str(a), str(a), "--trained", str(no_id), "--baselines", str(a), str(a)]) == 2
    assert "--trained is not offered with --baselines" in capsys.readouterr().err
    assert main(["eval", "--trained", str(no_id)]) == 2
    assert "--trained goes with --compare A B" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["{}", "not json", "[1]", '{"settings": 3}'])
def test_a_results_json_without_settings_is_one_clear_error(tmp_path, capsys, text):
    a = make_run(tmp_path / "a", {"t": [True, False]})
    (a / "results.json").write_text(text)
    assert main(["eval", "--compare", str(a), str(a)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{a / 'results.json'}: not the results.json of `veritas eval`" in err


def test_a_run_is_read_alike_by_its_folder_its_results_json_and_its_samples_file(tmp_path):
    from veritas.evaluation.compare import read_run

    folder = make_run(tmp_path / "a", {"dyck_language": [True, False]}, gz=True)
    by_folder = read_run(folder)
    assert [r["task_id"] for r in by_folder] == ["dyck_language-0", "dyck_language-1"]
    # results.json is a file, but not a samples file: its samples lie beside it
    assert read_run(folder / "results.json") == by_folder
    assert read_run(folder / "samples.jsonl.gz") == by_folder
