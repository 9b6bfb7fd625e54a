"""Evaluation metrics against hand-computed values, and the held-out task selection."""
import json

import pytest

from veritas.envs import lgc_v2
from veritas.evaluation import cli
from veritas.evaluation.metrics import ks_to_report, pass_at_k, summarize


@pytest.mark.parametrize("n,c,k,expected", [
    (5, 2, 1, 2 / 5),            # 1 - C(3,1)/C(5,1)
    (5, 2, 2, 1 - 3 / 10),       # 1 - C(3,2)/C(5,2)
    (5, 2, 4, 1.0),              # fewer than k wrong samples: any k contain a right one
    (4, 0, 2, 0.0),
    (10, 3, 3, 1 - 35 / 120),    # 1 - C(7,3)/C(10,3)
    (1, 1, 1, 1.0),
])
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


@pytest.mark.parametrize("n,c,k", [(3, 4, 1), (3, 1, 0), (3, 1, 4), (0, 0, 1)])
def test_pass_at_k_rejects_impossible_counts(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_ks_to_report():
    assert ks_to_report(1) == [1]
    assert ks_to_report(4) == [1, 2, 4]
    assert ks_to_report(6) == [1, 2, 4, 6]


def _rec(tt, tid, correct, fmt=True, chars=10, truncated=None):
    rec = {"task_type": tt, "task_id": tid, "correct": correct, "format_ok": fmt,
           "response_chars": chars, "response_tokens": chars // 2}
    if truncated is not None:  # samples written before the flag existed have none
        rec["truncated"] = truncated
    return rec


def test_summarize_hand_computed():
    samples = [
        # sudoku: task 1 has 1/2 right, task 2 has 0/2 right (one unreadable)
        _rec("sudoku", 1, True, truncated=False), _rec("sudoku", 1, False, truncated=False),
        _rec("sudoku", 2, False, truncated=False), _rec("sudoku", 2, False, fmt=False, chars=30, truncated=True),
        # operation: task 3 2/2 right; task 4 incomplete (1 of 2 samples) is left out; no truncation flags
        _rec("operation", 3, True), _rec("operation", 3, True), _rec("operation", 4, True, truncated=True),
    ]
    r = summarize(samples, n_samples=2)
    s = r["per_type"]["sudoku"]
    assert s["tasks"] == 2 and s["samples"] == 4 and s["correct"] == 1
    assert s["accuracy"] == pytest.approx(0.25)
    assert s["format_rate"] == pytest.approx(0.75)
    assert s["mean_response_chars"] == pytest.approx(15)
    assert s["pass_at_k"]["1"] == pytest.approx(0.25)
    assert s["pass_at_k"]["2"] == pytest.approx(0.5)
    assert s["truncation_rate"] == pytest.approx(0.25)
    o = r["per_type"]["operation"]
    assert o["tasks"] == 1 and o["incomplete_tasks"] == 1 and o["accuracy"] == 1.0
    assert o["truncation_rate"] is None  # unknown, not 0: the counted samples carry no flag
    assert r["overall"]["truncation_rate"] == pytest.approx(1 / 4)  # over the flagged samples counted
    assert r["overall"]["accuracy_macro"] == pytest.approx((0.25 + 1.0) / 2)
    assert r["overall"]["accuracy_micro"] == pytest.approx(3 / 6)


def test_heldout_tasks_come_from_the_test_split_and_are_stable():
    types = [t for t in lgc_v2.TASK_TYPES if t.startswith("dyck")] or list(lgc_v2.TASK_TYPES[:1])
    a = cli.heldout_tasks(types, 5, (3, 4), seed=7)
    b = cli.heldout_tasks(types, 5, (3, 4), seed=7)
    lo, hi = lgc_v2.split_seed_range("test")
    assert [t.task_id for t in a] == [t.task_id for t in b]
    assert all(lo <= t.seed < hi and t.difficulty in (3, 4) for t in a)
    assert len({t.task_id for t in a}) == len(a)


def test_heldout_tasks_in_one_language_where_the_type_has_it():
    types = ["operation", "dyck_language"]
    mixed = cli.heldout_tasks(types, 40, None, seed=0)
    assert {t.language for t in mixed if t.task_type == "operation"} == {"en", "zh"}  # the registry's mix
    for lang in ("zh", "en"):
        tasks = cli.heldout_tasks(types, 40, None, seed=0, language=lang)
        assert [t.task_id for t in tasks] == [t.task_id for t in mixed]  # the same held-out seeds
        assert {t.language for t in tasks if t.task_type == "operation"} == {lang}
        assert {t.language for t in tasks if t.task_type == "dyck_language"} == {"en"}  # its only language


def test_torn_samples_line_is_dropped(tmp_path):
    p = tmp_path / "samples.jsonl"
    p.write_text(json.dumps({"task_id": 1}) + "\n" + '{"task_id": 2, "resp')
    assert cli.read_samples(p) == [{"task_id": 1}]
    assert p.read_text() == json.dumps({"task_id": 1}) + "\n"


def test_training_curves_merge_resumed_runs_and_plot(tmp_path):
    from veritas.evaluation import curves

    first = tmp_path / "a.jsonl"
    second = tmp_path / "b.jsonl"
    first.write_text("".join(json.dumps({"step": s, "data": {"critic/score/mean": s / 10}}) + "\n" for s in (1, 2, 3))
                     + '{"step": 4, "da')  # killed mid-write
    second.write_text("".join(json.dumps({"step": s, "data": {"critic/score/mean": s / 5}}) + "\n" for s in (3, 4)))
    steps = curves.load_steps([first, second])
    assert curves.series(steps, "critic/score/mean") == ([1, 2, 3, 4], [0.1, 0.2, 0.6, 0.8])
    out = tmp_path / "r.png"
    assert curves.main([str(first), str(second), "--keys", "critic/score/mean", "--output", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert curves.main([str(first), "--keys", "nope"]) == 1


def test_training_curves_expand_per_type_wildcards(tmp_path, capsys):
    from veritas.evaluation import curves

    log = tmp_path / "m.jsonl"
    rows = [{"step": s, "data": {"train_by_type/sudoku/accuracy": s / 4, "train_by_type/dyck/accuracy": s / 8,
                                 "train_by_type/dyck/reward_mean": 1.0, "critic/score/mean": 0.5}} for s in (1, 2)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    steps = curves.load_steps([log])
    assert curves.expand_keys(steps, ["train_by_type/*/accuracy", "critic/score/mean", "never/logged"]) == [
        "train_by_type/dyck/accuracy", "train_by_type/sudoku/accuracy", "critic/score/mean", "never/logged"]
    out = tmp_path / "acc.png"
    assert curves.main([str(log), "--keys", "train_by_type/*/accuracy", "--overlay", "--output", str(out), "--table"]) == 0
    assert out.stat().st_size > 1000
    table = capsys.readouterr().out
    assert "| step | train_by_type/dyck/accuracy | train_by_type/sudoku/accuracy |" in table and "| 2 | 0.25 | 0.5 |" in table
    assert curves.main([str(log), "--keys", "train_by_type/*/level_mean"]) == 1


def test_group_shares_and_levels_with_several_samples():
    def rec(tid, level, correct):
        return {**_rec("operation", tid, correct), "difficulty": level}
    samples = [rec(1, 1, True), rec(1, 1, True),    # level 1: all right
               rec(2, 1, True), rec(2, 1, False),   # level 1: mixed, the one group with a gradient
               rec(3, 2, False), rec(3, 2, False),  # level 2: all wrong
               rec(4, 2, False)]                    # incomplete: not counted
    r = summarize(samples, n_samples=2)
    o = r["per_type"]["operation"]
    assert o["all_correct_share"] == pytest.approx(1 / 3)
    assert o["all_wrong_share"] == pytest.approx(1 / 3)
    assert o["zero_variance_share"] == pytest.approx(2 / 3)
    assert o["per_level"]["1"] == {"tasks": 2, "accuracy": pytest.approx(0.75), "all_correct_share": 0.5,
                                   "all_wrong_share": 0.0, "zero_variance_share": 0.5}
    assert o["per_level"]["2"]["zero_variance_share"] == 1.0 and o["per_level"]["2"]["tasks"] == 1
    assert r["overall"]["zero_variance_share"] == pytest.approx(2 / 3)
    # one sample a task: no groups, and results keep their earlier form
    greedy = summarize([rec(1, 1, True)], n_samples=1)
    assert "zero_variance_share" not in greedy["per_type"]["operation"]
    assert "per_level" not in greedy["per_type"]["operation"] and "zero_variance_share" not in greedy["overall"]


def test_markdown_shows_group_shares_by_level_only_with_several_samples():
    from veritas.evaluation.report import markdown_table

    def rec(tid, level, correct):
        return {**_rec("operation", tid, correct), "difficulty": level}
    r = summarize([rec(1, 1, True), rec(1, 1, True), rec(2, 3, False), rec(2, 3, True)], n_samples=2)
    r["settings"] = {"samples": 2}
    md = markdown_table(r)
    assert "| all right | all wrong |" in md and "50.0% of all tasks" in md
    assert "| operation | 100%, 100% | 50%, 0% |" in md
    greedy = summarize([rec(1, 1, True)], n_samples=1)
    assert "all right" not in markdown_table(greedy) and "level" not in markdown_table(greedy)
