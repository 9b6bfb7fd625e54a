"""The learning-outcome recipe's chain script (train/scripts/lgc-v2-recipe-1gpu.sh) on CPU: its
--dry-run prepares the model and the SFT data for real, takes the task types, levels and row
count from the run configs, composes and validates both training runs, and marks the finished
stages so that a second call skips them."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from _shared import python_with

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "train" / "scripts" / "lgc-v2-recipe-1gpu.sh"
PYTHON = python_with("verl", "hydra", "pyarrow", "dotenv", "gguf")
pytestmark = [pytest.mark.verl, pytest.mark.skipif(PYTHON is None, reason="verl or gguf is not installed")]


def _env(tmp_path: Path) -> dict:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("RECIPE_", "RUN_CONFIG", "MODEL_", "WANDB_", "GPU_COUNT", "TRAIN_DATA", "VAL_DATA"))}
    return {**keep, "PYTHON": PYTHON, "ENV_FILE": str(tmp_path / "absent.env"), "RECIPE_DIR": str(tmp_path / "recipe"),
            "OMP_NUM_THREADS": "1", "OUT": str(tmp_path / "out")}


def _config(name: str, *keys: str) -> list:
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_config

    cfg = compose_config(name, [], config_path=str(REPO / "train" / "config"))
    return [OmegaConf.to_container(OmegaConf.select(cfg, k), resolve=True) if OmegaConf.is_config(OmegaConf.select(cfg, k))
            else OmegaConf.select(cfg, k) for k in keys]


@pytest.mark.slow
def test_dry_run_prepares_the_data_the_run_configs_describe_and_composes_both_runs(tmp_path):
    import pyarrow.parquet as pq

    env = _env(tmp_path)
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "recipe: dry run OK" in proc.stderr
    recipe = tmp_path / "recipe"
    logs = (recipe / "logs" / "sft.log").read_text() + (recipe / "logs" / "grpo.log").read_text()
    assert "ok: train/config/sft-smollm2-135m-1gpu.yaml composed and validated" in logs
    assert "ok: train/config/grpo-smollm2-135m-1gpu.yaml composed and validated" in logs

    types, levels, response_length = _config("grpo-smollm2-135m-1gpu", "data.lgc_v2.task_types",
                                             "data.lgc_v2.difficulty_range", "data.max_response_length")
    steps, batch = _config("sft-smollm2-135m-1gpu", "trainer.total_training_steps", "data.train_batch_size")
    table = pq.read_table(recipe / "data" / "sft-train.parquet", columns=["task_type", "difficulty", "messages"])
    assert table.num_rows == steps * batch
    assert set(table.column("task_type").to_pylist()) == set(types)
    assert set(table.column("difficulty").to_pylist()) == set(range(levels[0], levels[1] + 1))
    assert f"max_new_tokens {response_length}" in proc.stderr
    # the GRPO run starts from the model the recipe prepared (a real run: the SFT checkpoint)
    assert f"MODEL_PATH={recipe / 'models' / 'SmolLM2-135M-Instruct'}" in proc.stderr

    stages = (tmp_path / "out" / "stages.tsv").read_text().splitlines()
    assert stages[0] == "stage\tseconds\tnote" and [row.split("\t")[0] for row in stages[1:]] == ["model", "data"]

    again = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "recipe: stage model" not in again.stderr and "recipe: stage data" not in again.stderr
    assert "recipe: stage sft" in again.stderr


def test_unknown_argument_is_refused_before_any_work(tmp_path):
    proc = subprocess.run(["bash", str(SCRIPT), "trainer.total_training_steps=3"], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unknown argument: trainer.total_training_steps=3")
    assert not (tmp_path / "recipe" / "stages").exists() or not any((tmp_path / "recipe" / "stages").iterdir())


FAKE_GRPO = """#!/usr/bin/env bash
# stands in for the GRPO launcher: saves a checkpoint 4 steps after the latest one, then hangs
dir="$CHECKPOINT_ROOT/$WANDB_EXP"; mkdir -p "$dir"
from=$(cat "$dir/latest_checkpointed_iteration.txt" 2>/dev/null || echo 0)
step=$((from + 4)); mkdir -p "$dir/global_step_$step/actor"
echo "$step" > "$dir/latest_checkpointed_iteration.txt"
echo "{\\"step\\": $step, \\"data\\": {}}" >> "$VERL_FILE_LOGGER_PATH"
echo "MODEL_PATH=$MODEL_PATH RUN_CONFIG=$RUN_CONFIG args=$*"
exec sleep 600
"""


def test_grpo_runs_over_several_calls_and_resumes_until_its_last_step(tmp_path):
    """Each call stops GRPO at RECIPE_GRPO_CAP_S; the next resumes from the latest checkpoint; the
    stage is done only when the run config's total_training_steps are saved."""
    import shutil

    root = tmp_path / "repo"
    shutil.copytree(REPO / "train" / "scripts", root / "train" / "scripts")
    shutil.copytree(REPO / "train" / "config", root / "train" / "config")
    (root / "train" / "scripts" / "lgc-v2-RL-GRPO-trainer.sh").write_text(FAKE_GRPO)
    recipe = tmp_path / "recipe"
    stages = recipe / "stages"
    stages.mkdir(parents=True)
    for stage in ("model", "data", "sft", "eval-base", "eval-sft"):
        (stages / stage).write_text("1\t\n")
    sft = recipe / "checkpoints" / "recipe-sft"
    (sft / "global_step_500" / "huggingface").mkdir(parents=True)
    (sft / "global_step_500" / "huggingface" / "config.json").write_text("{}")
    (sft / "global_step_500" / "huggingface" / "model.safetensors").write_bytes(b"weights")  # verl's hf_model
    (sft / "latest_checkpointed_iteration.txt").write_text("500")
    (total,) = _config("grpo-smollm2-135m-1gpu", "trainer.total_training_steps")
    env = {**_env(tmp_path), "RECIPE_GRPO_CAP_S": "3", "RECIPE_BUDGET_S": "60",
           "PYTHONPATH": str(REPO)}  # the package from this checkout; the scripts from the copy
    calls = -(-total // 4)
    for call in range(1, calls + 1):
        proc = subprocess.run(["bash", str(root / "train" / "scripts" / "lgc-v2-recipe-1gpu.sh")], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        saved = min(4 * call, total) if total % 4 == 0 else 4 * call
        assert f"MODEL_PATH={sft / 'global_step_500' / 'huggingface'}" in (recipe / "logs" / "grpo.log").read_text()
        if call < calls:
            assert f"GRPO saved step {saved} of {total}; run again to continue" in proc.stderr
            assert not (stages / "grpo").exists()
        else:  # done; eval-grpo (~120 s) does not fit in what is left of a 60 s call
            assert (stages / "grpo").read_text().split("\t")[1].strip() == f"{calls} call(s)"
            assert "recipe: stage eval-grpo needs" in proc.stderr and "run again to continue" in proc.stderr
        if call > 1:
            assert f"GRPO resumes from step {4 * (call - 1)} of {total}" in proc.stderr
    assert len((stages / "grpo.calls").read_text().splitlines()) == calls
    # one metrics file per call (verl's file logger truncates its file), named by the step it resumed from
    assert sorted(p.name for p in recipe.glob("metrics-grpo-from-*.jsonl")) == sorted(
        f"metrics-grpo-from-{4 * i}.jsonl" for i in range(calls))
