"""The shell tools around training: shellcheck on every script in train/, train/scripts/merge.sh
(FSDP checkpoint -> Hugging Face model; its error paths, the verl command it builds, and one real
merge of a tiny hand-made checkpoint) and train/scripts/wandb-sync.sh (against a `wandb` stand-in
that records its arguments: no network, and the API key never printed)."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _shared import python_with as _python_with, assert_launcher_fails as assert_fails, tiny_llama_checkpoint

REPO = Path(__file__).resolve().parents[1]
TRAIN = REPO / "train"
MERGE = TRAIN / "scripts" / "merge.sh"
WANDB_SYNC = TRAIN / "scripts" / "wandb-sync.sh"
ALL_SCRIPTS = sorted(p for p in TRAIN.rglob("*.sh") if "artifacts" not in p.parts and "models" not in p.parts)
WANDB_KEY = "wandbKey_0123456789abcdef0123456789abcdef"
_CALLER_VARS = ("WANDB_API_KEY", "WANDB_MODE", "WANDB_ROOT", "WANDB_BIN", "INCLUDE_SYNCED", "TARGET_DIR",
                "OVERWRITE", "ENV_FILE", "DRY_RUN", "PYTHON", "PYTHONPATH", "RUN_CONFIG")




PYTHON = _python_with("dotenv")
MERGE_PYTHON = _python_with("dotenv", "verl", "torch", "transformers", "safetensors")
needs_python = pytest.mark.skipif(PYTHON is None, reason="no Python with python-dotenv (the launchers read .env with it)")


def run(script, tmp_path, *args, path_prefix=None, **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in _CALLER_VARS}
    env.update({"PYTHON": PYTHON or sys.executable, "ENV_FILE": str(tmp_path / "absent.env"), "OMP_NUM_THREADS": "1"})
    if path_prefix:
        env["PATH"] = f"{path_prefix}:{env['PATH']}"
    env.update({k: str(v) for k, v in env_vars.items()})
    proc = subprocess.run(["bash", str(script), *map(str, args)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr




def printed_command(out: str) -> list[str]:
    """The one `+ ...` line, without the environment assignments shown in front of it."""
    lines = [line for line in out.splitlines() if line.startswith("+ ")]
    assert len(lines) == 1, out
    words = shlex.split(lines[0][2:])
    while words and "=" in words[0] and words[0].split("=", 1)[0].isupper():
        words.pop(0)
    return words


# ------------------------------------------------------------------ every script in train/

def test_scripts_are_found():
    names = {p.name for p in ALL_SCRIPTS}
    assert {"common.sh", "merge.sh", "wandb-sync.sh", "lgc-v2-RL-GRPO-trainer.sh", "lgc-v2-GRPO-trainer.sh",
            "docker_run_verl.sh"} <= names


@pytest.mark.parametrize("script", ALL_SCRIPTS, ids=lambda p: str(p.relative_to(TRAIN)))
def test_script_parses_never_traces_and_is_executable(script):
    subprocess.run(["bash", "-n", str(script)], check=True)
    code = [line for line in script.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "set -x" in line or "xtrace" in line]
    if script.name != "common.sh":  # sourced, not run
        assert os.access(script, os.X_OK), f"{script} is not executable"


@pytest.mark.parametrize("script", ALL_SCRIPTS, ids=lambda p: str(p.relative_to(TRAIN)))
def test_no_python_in_bash(script):
    """Python the scripts need is a module of the package run with `python -m`: no heredoc or
    inline program fed to an interpreter."""
    code = [line for line in script.read_text().splitlines() if not line.lstrip().startswith("#")]
    feeds = [line for line in code if re.search(r"(?<!<)<<(?!<)", line) or re.search(r"(python3?|PYTHON|PY)\b\"?\s+-c\b", line)]
    # setup-env.sh's last line prints the versions it installed, after the environment exists
    assert [line for line in feeds if "import torch, verl; print(" not in line] == []


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck binary not installed (apt-get install shellcheck; setup-env.sh does)")
@pytest.mark.parametrize("script", ALL_SCRIPTS, ids=lambda p: str(p.relative_to(TRAIN)))
def test_shellcheck_clean(script):
    proc = subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR", str(script)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------ merge.sh

def fsdp_checkpoint(step_dir: Path, *, grpo: bool) -> Path:
    """The files merge.sh looks for (contents are not read by these tests)."""
    shards = step_dir / "actor" if grpo else step_dir
    (shards / "huggingface").mkdir(parents=True)
    (shards / "huggingface" / "config.json").write_text("{}")
    (shards / "fsdp_config.json").write_text(json.dumps({"world_size": 2}))
    for rank in (0, 1):
        (shards / f"model_world_size_2_rank_{rank}.pt").write_bytes(b"x")
    return shards


def experiment(tmp_path, name="exp", step=5, grpo=True) -> Path:
    exp = tmp_path / name
    fsdp_checkpoint(exp / f"global_step_{step}", grpo=grpo)
    fsdp_checkpoint(exp / "global_step_2", grpo=grpo)  # an older step, never picked
    (exp / "latest_checkpointed_iteration.txt").write_text(f"{step}\n")
    return exp


@needs_python
def test_merge_usage(tmp_path):
    assert_fails(run(MERGE, tmp_path), "usage: merge.sh [--dry-run] CHECKPOINT [TARGET_DIR]")
    assert_fails(run(MERGE, tmp_path, "a", "b", "c"), "usage: merge.sh")


@needs_python
def test_merge_error_paths(tmp_path):
    assert_fails(run(MERGE, tmp_path, tmp_path / "nope"), f"checkpoint {tmp_path}/nope does not exist")
    (tmp_path / "file").write_text("x")
    assert_fails(run(MERGE, tmp_path, tmp_path / "file"), "is not a directory")
    (tmp_path / "empty").mkdir()
    assert_fails(run(MERGE, tmp_path, tmp_path / "empty"),
                 f"{tmp_path}/empty is not a verl FSDP checkpoint: no fsdp_config.json in it or in its actor/")
    # experiment directories
    exp = experiment(tmp_path, "dangling")
    (exp / "latest_checkpointed_iteration.txt").write_text("9")
    assert_fails(run(MERGE, tmp_path, exp), "latest_checkpointed_iteration.txt names step 9 but")
    (exp / "latest_checkpointed_iteration.txt").write_text("nine")
    assert_fails(run(MERGE, tmp_path, exp), "does not hold a step number")
    (exp / "latest_checkpointed_iteration.txt").unlink()
    assert_fails(run(MERGE, tmp_path, exp), "has no latest_checkpointed_iteration.txt (no save finished there)")
    # incomplete step directories
    step = tmp_path / "noshards" / "global_step_1"
    fsdp_checkpoint(step, grpo=True)
    for shard in (step / "actor").glob("*.pt"):
        shard.unlink()
    assert_fails(run(MERGE, tmp_path, step), "has fsdp_config.json but no model_world_size_*_rank_0.pt shard")
    step = tmp_path / "nohf" / "global_step_1"
    shutil.rmtree(fsdp_checkpoint(step, grpo=False) / "huggingface")
    assert_fails(run(MERGE, tmp_path, step), "huggingface/config.json is missing")
    # an existing merge is kept
    exp = experiment(tmp_path, "merged")
    (exp / "global_step_5" / "merged_hf").mkdir()
    (exp / "global_step_5" / "merged_hf" / "config.json").write_text("{}")
    assert_fails(run(MERGE, tmp_path, exp), "already holds a merged model (OVERWRITE=1 merges again into it)")
    rc, out, err = run(MERGE, tmp_path, "--dry-run", exp, OVERWRITE=1)
    assert rc == 0, err


@needs_python
@pytest.mark.parametrize("layout", ["grpo-experiment", "grpo-step", "grpo-actor", "sft-experiment", "sft-step"])
def test_merge_command(tmp_path, layout):
    """Each accepted checkpoint form gives verl's merger the shard directory and the default target."""
    grpo = layout.startswith("grpo")
    exp = experiment(tmp_path, grpo=grpo)
    step = exp / "global_step_5"
    given = {"experiment": exp, "step": step, "actor": step / "actor"}[layout.split("-")[1]]
    rc, out, err = run(MERGE, tmp_path, "--dry-run", given)
    assert rc == 0, err
    shards = step / "actor" if grpo else step
    assert printed_command(out) == [PYTHON, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
                                    "--local_dir", str(shards), "--target_dir", str(step / "merged_hf")]
    assert "dry run OK: nothing was merged" in err
    if layout.endswith("experiment"):
        assert "latest step 5" in err
    assert not (step / "merged_hf").exists()


@needs_python
def test_merge_target_dir(tmp_path):
    exp = experiment(tmp_path)
    rc, out, _ = run(MERGE, tmp_path, "--dry-run", exp, tmp_path / "out-arg", TARGET_DIR=tmp_path / "out-env")
    assert printed_command(out)[-1] == str(tmp_path / "out-arg")
    rc, out, _ = run(MERGE, tmp_path, "--dry-run", exp, TARGET_DIR=tmp_path / "out-env")
    assert printed_command(out)[-1] == str(tmp_path / "out-env")


@pytest.mark.verl
@pytest.mark.skipif(MERGE_PYTHON is None, reason="needs a Python with verl, torch, transformers, safetensors")
def test_merge_end_to_end(tmp_path):
    """verl's real model merger on a hand-made checkpoint: the weights come out unchanged, the
    config and tokenizer load, the load check reports it."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not importable in the test process")
    state = tiny_llama_checkpoint(tmp_path / "exp" / "global_step_3")
    rc, out, err = run(MERGE, tmp_path, tmp_path / "exp", PYTHON=MERGE_PYTHON)
    assert rc == 0, err
    target = tmp_path / "exp" / "global_step_3" / "merged_hf"
    assert f"merged model OK: {target} (llama, vocab 8, 1 weight file(s)" in out
    from safetensors.torch import load_file

    merged = load_file(target / "model.safetensors")
    assert set(merged) == set(state)
    for key, tensor in state.items():
        assert merged[key].equal(tensor), key
    # a second merge into the same place is refused (the first is kept)
    assert_fails(run(MERGE, tmp_path, tmp_path / "exp", PYTHON=MERGE_PYTHON), "already holds a merged model")


# ------------------------------------------------------------------ wandb-sync.sh

@pytest.fixture
def fake_wandb(tmp_path):
    """A `wandb` on PATH that records its arguments (NUL-separated), whether it saw the key and
    which WANDB_MODE it ran under."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "wandb-calls"
    (bindir / "wandb").write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%s\\0" "$@" >> "{record}"\n'
        f'printf "key=%s mode=%s\\n" "${{WANDB_API_KEY:+set}}" "${{WANDB_MODE-unset}}" >> "{record}.env"\n'
        'echo "Syncing: done"\n'
    )
    (bindir / "wandb").chmod(0o755)

    def calls():
        if not record.exists():
            return None
        return record.read_bytes().decode().split("\0")[:-1], (Path(f"{record}.env").read_text())

    return bindir, calls


def offline_run(parent: Path, stamp: str, synced: bool = False, name: str | None = None) -> Path:
    run_id = f"id{stamp[-4:]}"
    d = parent / (name or f"offline-run-{stamp}-{run_id}")
    d.mkdir(parents=True)
    (d / f"run-{run_id}.wandb").write_bytes(b"w")
    if synced:
        (d / f"run-{run_id}.wandb.synced").write_bytes(b"")
    return d


@pytest.fixture
def wandb_root(tmp_path):
    root = tmp_path / "artifacts-wandb"
    runs = {
        "a": offline_run(root / "proj-grpo-2026-01-01" / "wandb", "20260101_100000"),
        "b": offline_run(root / "proj-sft-2026-01-02" / "wandb", "20260102_100000"),
        "synced": offline_run(root / "proj-sft-2026-01-02" / "wandb", "20260102_120000", synced=True),
        "online": offline_run(root / "proj-sft-2026-01-02" / "wandb", "x", name="run-20260102_130000-onl1"),
    }
    (root / "proj-sft-2026-01-02" / "wandb" / "latest-run").symlink_to(runs["b"])
    (root / "proj-sft-2026-01-02" / "wandb" / "offline-run-incomplete").mkdir()  # no .wandb file
    return root, runs


@needs_python
def test_wandb_sync_all_offline_runs(tmp_path, fake_wandb, wandb_root):
    bindir, calls = fake_wandb
    root, runs = wandb_root
    rc, out, err = run(WANDB_SYNC, tmp_path, path_prefix=bindir, WANDB_ROOT=root, WANDB_API_KEY=WANDB_KEY,
                       WANDB_MODE="offline")
    assert rc == 0, err
    argv, env = calls()
    assert argv == ["sync", str(runs["a"]), str(runs["b"])]  # sorted; synced, online, incomplete left out
    assert env == "key=set mode=unset\n"  # the key reached wandb; offline mode did not
    assert "skipping 1 run(s) already synced" in err and "runs to sync: 2" in err
    assert printed_command(out) == [str(bindir / "wandb"), "sync", str(runs["a"]), str(runs["b"])]
    assert WANDB_KEY not in out + err


@needs_python
def test_wandb_sync_one_run_and_include_synced(tmp_path, fake_wandb, wandb_root):
    bindir, calls = fake_wandb
    root, runs = wandb_root
    rc, out, err = run(WANDB_SYNC, tmp_path, runs["synced"], path_prefix=bindir, WANDB_API_KEY=WANDB_KEY,
                       INCLUDE_SYNCED=1)
    assert rc == 0, err
    assert calls()[0] == ["sync", "--include-synced", str(runs["synced"])]
    assert WANDB_KEY not in out + err


@needs_python
def test_wandb_sync_one_folder_key_from_dotenv(tmp_path, fake_wandb, wandb_root):
    bindir, calls = fake_wandb
    root, runs = wandb_root
    env_file = tmp_path / "test.env"
    env_file.write_text(f'WANDB_API_KEY="{WANDB_KEY}"\nWANDB_MODE=offline\n')
    rc, out, err = run(WANDB_SYNC, tmp_path, root / "proj-grpo-2026-01-01", path_prefix=bindir, ENV_FILE=env_file)
    assert rc == 0, err
    argv, env = calls()
    assert argv == ["sync", str(runs["a"])] and env == "key=set mode=unset\n"
    assert WANDB_KEY not in out + err


@needs_python
def test_wandb_sync_errors(tmp_path, fake_wandb, wandb_root):
    bindir, calls = fake_wandb
    root, runs = wandb_root
    assert_fails(run(WANDB_SYNC, tmp_path, path_prefix=bindir, WANDB_ROOT=root),
                 "WANDB_API_KEY is not set: put it in .env (or the environment) to upload runs")
    key = {"WANDB_API_KEY": WANDB_KEY}
    assert_fails(run(WANDB_SYNC, tmp_path, tmp_path / "nope", path_prefix=bindir, **key),
                 f"{tmp_path}/nope is not a directory")
    (tmp_path / "empty").mkdir()
    assert_fails(run(WANDB_SYNC, tmp_path, tmp_path / "empty", path_prefix=bindir, **key),
                 f"no offline wandb runs under {tmp_path}/empty")
    incomplete = root / "proj-sft-2026-01-02" / "wandb" / "offline-run-incomplete"
    assert_fails(run(WANDB_SYNC, tmp_path, incomplete, path_prefix=bindir, **key),
                 "has no run-*.wandb file: not a complete offline wandb run")
    assert_fails(run(WANDB_SYNC, tmp_path, runs["a"], path_prefix=bindir, WANDB_BIN=tmp_path / "no-wandb", **key),
                 f"WANDB_BIN={tmp_path}/no-wandb is not an executable")
    assert calls() is None  # wandb itself never ran


@needs_python
def test_wandb_sync_nothing_left_and_dry_run(tmp_path, fake_wandb, wandb_root):
    bindir, calls = fake_wandb
    root, runs = wandb_root
    rc, out, err = run(WANDB_SYNC, tmp_path, runs["synced"], path_prefix=bindir, WANDB_API_KEY=WANDB_KEY)
    assert rc == 0 and "nothing to sync" in err
    rc, out, err = run(WANDB_SYNC, tmp_path, "--dry-run", path_prefix=bindir, WANDB_ROOT=root)
    assert rc == 0, err
    assert "WANDB_API_KEY is not set: a real sync stops here" in err and "dry run OK" in err
    assert printed_command(out)[1:] == ["sync", str(runs["a"]), str(runs["b"])]
    assert calls() is None


# ------------------------------------------------------------------ the CPU demo's knobs
DEMO = TRAIN / "scripts" / "lgc-v2-cpu-demo.sh"


@pytest.mark.parametrize("knob, value, message", [
    ("DEMO_STYLE", "prose", "DEMO_STYLE=prose must be worked or answer"),
    ("DEMO_DIFFICULTY", "1-x", "DEMO_DIFFICULTY=1-x must be a level"),
    ("DEMO_TYPES", "dyck language", "DEMO_TYPES=dyck language must be comma-separated task types"),
    ("DEMO_N_EVAL", "0", "DEMO_N_EVAL=0 must be at least 1"),
    ("RUN_CONFIG", "nope", "RUN_CONFIG=nope: no such file"),
    # the training settings are the run config's: the old knobs name the key to use instead
    ("DEMO_STEPS", "80", "DEMO_STEPS is no longer read: pass trainer.total_training_steps=80 as a Hydra override "
                         "or set it in train/config/sft-smollm2-135m-cpu.yaml"),
    ("DEMO_LR", "5e-4", "DEMO_LR is no longer read: pass optim.lr=5e-4"),
    ("DEMO_BATCH", "16", "pass data.train_batch_size=16"),
    ("LR", "1e-5", "LR is no longer read: pass optim.lr=1e-5"),
])
def test_cpu_demo_rejects_a_bad_knob_before_any_work(tmp_path, knob, value, message):
    # a setup step would print "1/7 setup"; a bad knob must stop the demo before it
    rc, out, err = run(DEMO, tmp_path, **{knob: value, "DEMO_DIR": tmp_path / "demo"})
    assert_fails((rc, out, err), message)
    assert "1/7" not in err and not (tmp_path / "demo").exists()
