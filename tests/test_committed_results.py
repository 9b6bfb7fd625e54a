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
