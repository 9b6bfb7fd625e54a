"""The evaluation samples committed under docs/results/ (issue: learning outcome) re-judge to the
verdicts they record: each task is regenerated from its task id, level and language, and the
recorded response is verified again with today's package.  A generator or verifier change that
would alter a published figure fails here (and must be a named exception with its reason)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from veritas.envs.lgc_v2 import registry

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
SAMPLES = sorted(RESULTS.glob("*/*/samples.jsonl.gz"))


def test_results_are_committed():
    assert SAMPLES, "no evaluation samples under docs/results/"


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_committed_verdict_rejudges_the_same(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    results = json.loads((path.parent / "results.json").read_text())
    assert len(rows) == results["overall"]["samples"]
    changed = []
    for row in rows:
        task = registry.generate(row["task_id"], row["difficulty"], row["language"])
        assert task.task_type == row["task_type"]
        verdict = registry.verify_task(task, row["response"])
        if (verdict.correct, verdict.format_ok) != (row["correct"], row["format_ok"]):
            changed.append((row["task_id"], row["correct"], verdict.correct, verdict.reason))
    assert not changed, changed[:5]
    # and the per-type accuracy in results.json is what these verdicts give
    for task_type, figures in results["per_type"].items():
        mine = [r["correct"] for r in rows if r["task_type"] == task_type]
        assert figures["accuracy"] == pytest.approx(sum(mine) / len(mine))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_the_training_reward_agrees_with_every_committed_verdict(path):
    """What GRPO optimises is what the evaluation measures: the reward function, given the RL row
    the dataset builds for each task, scores each committed response 1 exactly when the
    evaluation judged it correct, and the row's user prompt is the one the model was evaluated on."""
    from veritas.data.formats import rl_row
    from veritas.verl_adapters.reward import compute_score

    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    disagree = []
    for row in rows:
        rl = rl_row(registry.generate(row["task_id"], row["difficulty"], row["language"]))
        user = next(m["content"] for m in rl["prompt"] if m["role"] == "user")
        assert user.strip() in row["prompt"], row["task_id"]
        scored = compute_score(data_source=rl["data_source"], solution_str=row["response"],
                               ground_truth=rl["reward_model"]["ground_truth"], extra_info=rl["extra_info"])
        if bool(scored["acc"]) != bool(row["correct"]) or (scored["score"] == 1.0) != bool(row["correct"]):
            disagree.append((row["task_type"], row["task_id"], row["correct"], scored))
    assert not disagree, disagree[:5]
