"""veritas/models/resolve.py, the one implementation of "which model directory" behind the
launchers (common.sh resolve_model, merge.sh) and `veritas eval`: specs, the launchers' environment,
what counts as a finished model, and a real merge of a hand-made checkpoint that eval then reuses.
merge.sh's own error paths are in tests/test_tool_scripts.py."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _shared import tiny_llama_checkpoint

from veritas.models import resolve as rs

REPO = Path(__file__).resolve().parents[1]
SECRET = "hf_resolveSecret_31cd"


def hf_dir(path: Path, weights: str = "model.safetensors") -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    (path / weights).write_bytes(b"x")
    return path


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A launcher's environment: no model variables, models under tmp_path/models."""
    for name in ("MODEL_PATH", "MODEL_ID", "HF_TOKEN", "VERITAS_SMOLLM2_GGUF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "models"))
    return monkeypatch


def test_finished_models_only(tmp_path):
    assert rs.is_complete(hf_dir(tmp_path / "a"))
    assert rs.is_complete(hf_dir(tmp_path / "b", "pytorch_model-00001-of-00002.bin"))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text("{}")
    assert not rs.is_hf_dir(tmp_path / "c")  # no weights
    half = hf_dir(tmp_path / "download")
    marker = half / ".cache" / "huggingface" / "download" / "sub" / "model.safetensors.abc.incomplete"
    marker.parent.mkdir(parents=True)
    marker.write_bytes(b"")
    assert rs.is_hf_dir(half) and not rs.is_complete(half)
    merging = hf_dir(tmp_path / "merge")
    (merging / rs.MERGE_MARKER).write_text("")
    assert not rs.is_complete(merging)


def test_resolve_specs(tmp_path, env):
    messages = []
    # an experiment directory: its latest step, whose huggingface/ weights verl saved
    exp = tmp_path / "exp"
    hf_dir(exp / "global_step_4" / "actor" / "huggingface")
    (exp / "global_step_4" / "actor" / "model_world_size_1_rank_0.pt").write_bytes(b"")
    (exp / "latest_checkpointed_iteration.txt").write_text("4\n")
    assert rs.resolve(str(exp), log=messages.append) == exp / "global_step_4" / "actor" / "huggingface"
    assert messages == ["experiment exp: latest step 4"]
    # a finished merge beside the shards is reused; one cut short is not taken for a model
    step = exp / "global_step_6"
    (step / "actor" / "huggingface").mkdir(parents=True)
    (step / "actor" / "huggingface" / "config.json").write_text("{}")
    (step / "actor" / "fsdp_config.json").write_text("{}")
    (step / "actor" / "model_world_size_1_rank_0.pt").write_bytes(b"")
    hf_dir(step / "merged_hf")
    assert rs.resolve(str(step / "actor")) == step / "merged_hf"
    # a hub id already under MODELS_DIR
    local = hf_dir(tmp_path / "models" / "Org" / "model")
    messages.clear()
    assert rs.resolve("Org/model", log=messages.append) == local
    assert messages == [f"model: Org/model at {local}"]
    with pytest.raises(rs.ModelResolutionError, match="neither a Hugging Face model directory"):
        rs.resolve(str(tmp_path / "models"))
    with pytest.raises(rs.ModelResolutionError, match="not a hub id of the form org/name"):
        rs.resolve("no/such/thing")
    # the experiment's checks are merge.sh's
    (exp / "latest_checkpointed_iteration.txt").write_text("9")
    with pytest.raises(rs.ModelResolutionError, match=r"latest_checkpointed_iteration.txt names step 9 but .*global_step_9 is missing"):
        rs.resolve(str(exp))


def test_launcher_environment(tmp_path, env):
    """What common.sh's resolve_model gets back: (MODEL_PATH, MODEL_NAME, MODEL_ID), or one line."""
    model = tmp_path / "mine"
    model.mkdir()
    (model / "config.json").write_text("{}")  # MODEL_PATH needs no weights: nothing loads it here
    env.setenv("MODEL_PATH", str(model))
    assert rs.resolve_for_launcher("Org/default", log=lambda m: None) == (model.resolve(), "mine", "")
    env.setenv("MODEL_PATH", str(tmp_path / "nope"))
    with pytest.raises(rs.ModelResolutionError, match=f"^MODEL_PATH={tmp_path}/nope does not exist$"):
        rs.resolve_for_launcher("Org/default")
    env.setenv("MODEL_PATH", str(tmp_path))
    with pytest.raises(rs.ModelResolutionError, match=r"is not a Hugging Face model directory \(no config.json\)$"):
        rs.resolve_for_launcher("Org/default")
    env.delenv("MODEL_PATH")
    # the run config's model path may be a directory
    assert rs.resolve_for_launcher(str(model), log=lambda m: None)[0] == model.resolve()
    with pytest.raises(rs.ModelResolutionError, match="the model path nonsense of train/config/x.yaml is neither"):
        rs.resolve_for_launcher("nonsense", config_shown="train/config/x.yaml")
    env.setenv("MODEL_ID", "a/b/c")
    with pytest.raises(rs.ModelResolutionError, match="MODEL_ID=a/b/c is not a Hugging Face id of the form org/name"):
        rs.resolve_for_launcher("Org/default")
    env.setenv("MODEL_ID", "Org/present")
    present = hf_dir(tmp_path / "models" / "Org" / "present")
    assert rs.resolve_for_launcher("Org/default", log=lambda m: None) == (present, "present", "Org/present")
    env.delenv("MODEL_ID")
    with pytest.raises(rs.ModelResolutionError, match=f"HF_TOKEN is not set: it is needed to download Org/default into {tmp_path}/models/Org/default"):
        rs.resolve_for_launcher("Org/default", dry_run=True)


def test_launcher_cli_lines_and_the_token_never_shown(tmp_path):
    """`python -m veritas.models.resolve launcher` as common.sh runs it: three lines on stdout; a
    dry run with HF_TOKEN set says a real run downloads the model, never the token."""
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL_PATH", "MODEL_ID", "VERITAS_SMOLLM2_GGUF")}
    env.update({"PYTHONPATH": str(REPO), "MODELS_DIR": str(tmp_path / "models"), "HF_TOKEN": SECRET})
    cmd = [sys.executable, "-m", "veritas.models.resolve", "launcher", "--log-name", "x.sh", "--dry-run", "--", "Org/m"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{tmp_path}/models/Org/m\nm\nOrg/m\n"
    assert f"notice: dry run: Org/m is not in {tmp_path}/models/Org/m yet; a real run downloads it (HF_TOKEN is set)" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr and not (tmp_path / "models").exists()
    env.pop("HF_TOKEN")
    proc = subprocess.run(cmd[:-1] + ["Org/m"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1].startswith("error: HF_TOKEN is not set: it is needed to download Org/m")


def test_a_merged_model_that_does_not_load_is_one_line(tmp_path):
    pytest.importorskip("transformers")
    broken = hf_dir(tmp_path / "merged_hf")
    with pytest.raises(rs.ModelResolutionError, match=f"^the merged model in {broken} does not load: ") as err:
        rs.check_merged(broken)
    assert "\n" not in str(err.value)


@pytest.mark.verl
@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("verl", "torch", "transformers", "safetensors")),
                    reason="needs verl, torch, transformers, safetensors")
def test_eval_merges_a_checkpoint_once_into_the_step_and_reuses_it(tmp_path, capfd):
    """`veritas eval --model <GRPO experiment>`: verl's merger (run from resolve.py, output kept
    back) writes global_step_N/merged_hf, the load check passes, the marker is gone, the next
    resolve reuses it without merging; merge.sh refuses to merge over it."""
    from safetensors.torch import load_file

    from veritas.evaluation.models import resolve_model

    state = tiny_llama_checkpoint(tmp_path / "exp" / "global_step_2")
    target = tmp_path / "exp" / "global_step_2" / "merged_hf"
    assert resolve_model(str(tmp_path / "exp")) == target
    err = capfd.readouterr().err
    assert "eval: experiment exp: latest step 2" in err and "-m verl.model_merger merge --backend fsdp" in err
    assert f"merged model OK: {target} (llama, vocab 8, 1 weight file(s)" in err
    assert not (target / rs.MERGE_MARKER).exists() and rs.is_complete(target)
    assert set(load_file(target / "model.safetensors")) == set(state)
    assert resolve_model(str(tmp_path / "exp" / "global_step_2")) == target
    assert "verl.model_merger" not in capfd.readouterr().err  # reused, not merged again
    with pytest.raises(rs.ModelResolutionError, match="already holds a merged model"):
        rs.merge_checkpoint(rs.locate_checkpoint(tmp_path / "exp"))
