"""train/scripts/lgc-v2-RL-GRPO-trainer.sh (and its other name, lgc-v2-GRPO-trainer.sh) without a
GPU: --dry-run against verl 0.9.1's real Hydra configs, every fail-fast error path (one line,
before any GPU time), run configs and overrides reaching verl, and a "real" launch whose trainer
is a stand-in that records what it was given."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from _shared import fake_site, python_with as _python_with, assert_launcher_fails as assert_fails, retired_variable_rows
from _shared import fake_checkpoint

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "train" / "scripts"
LAUNCHER = SCRIPTS / "lgc-v2-RL-GRPO-trainer.sh"
OTHER_NAME = SCRIPTS / "lgc-v2-GRPO-trainer.sh"
SECRET = "hf_veritasGrpoSecret_5b1c"
WANDB_SECRET = "wandbGrpoSecret_00112233445566"

# Variables of the caller's shell that would change what the launcher does (and every retired one,
# which would stop it).
_RETIRED = {var for _, var, _, _ in retired_variable_rows()}
_LAUNCHER_VARS = {
    "MODEL_PATH", "MODEL_ID", "MODELS_DIR", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "WANDB_API_KEY",
    "WANDB_PROJECT", "WANDB_EXP", "WANDB_DIR", "WANDB_MODE", "GPU_COUNT", "ALLOW_CPU", "RESUME",
    "NNODES", "NODE_RANK", "NPROC_PER_NODE", "TRAIN_DATA", "VAL_DATA", "CHECKPOINT_ROOT", "OUTPUT_ROOT",
    "VERL_FILE_LOGGER_PATH", "VERL_USE_EXTERNAL_MODULES", "CUDA_VISIBLE_DEVICES", "ENV_FILE", "DRY_RUN",
    "CHECK_DATA_SAMPLE", "RAY_ADDRESS", "VLLM_USE_FLASHINFER_SAMPLER", "VLLM_LOGGING_LEVEL", "DRY_RUN_GPU_COUNT", "PYTHONPATH",
    "HYDRA_FULL_ERROR", "RUN_CONFIG", "NCCL_NVLS_ENABLE", "TORCH_SYMM_MEM_DISABLE_MULTICAST", "NVSHMEM_DISABLE_NVLS",
} | _RETIRED


# the launcher composes the run config (hydra) before anything else
PYTHON = _python_with("pyarrow", "dotenv", "hydra")
VERL_PYTHON = _python_with("verl", "hydra", "pyarrow", "dotenv")
needs_python = pytest.mark.skipif(PYTHON is None, reason="no Python with pyarrow and python-dotenv")
needs_verl = pytest.mark.skipif(VERL_PYTHON is None, reason="verl is not installed")


@pytest.fixture
def model_dir(tmp_path):
    """Enough of a model directory for the launcher (config.json; nothing loads it)."""
    d = tmp_path / "models" / "TinyOrg" / "tiny-model"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return d


@pytest.fixture(scope="module")
def rl_parquet(tmp_path_factory):
    if PYTHON is None:
        pytest.skip("no Python with pyarrow")
    from veritas.envs.lgc_v2 import registry

    d = tmp_path_factory.mktemp("rl-data")
    out = {}
    for split, rows in (("train", 8), ("val", 4)):
        out[split] = d / f"{split}.parquet"
        cmd = [PYTHON, "-m", "veritas", "generate", "--format", "rl", "--task-types", registry.TASK_TYPES[0],
               "--num-samples", str(rows), "--difficulty", "1", "--language", "en", "--split", split,
               "--output", str(out[split]), "--overwrite", "--no-progress"]
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return out


def run_launcher(tmp_path, *args, script=LAUNCHER, python=None, **env_vars):
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCHER_VARS}
    env.update({
        "PYTHON": python or PYTHON or sys.executable,
        "ENV_FILE": str(tmp_path / "absent.env"),  # never the developer's real .env
        "CHECKPOINT_ROOT": str(tmp_path / "checkpoints"),
        "OUTPUT_ROOT": str(tmp_path / "outputs"),
        "WANDB_DIR": str(tmp_path / "wandb"),
        "MODELS_DIR": str(tmp_path / "models"),
        "OMP_NUM_THREADS": "1",
    })
    env.update({k: str(v) for k, v in env_vars.items()})
    env = {k: v for k, v in env.items() if v != "<unset>"}
    proc = subprocess.run(["bash", str(script), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr




def command_line(out: str) -> list[str]:
    """The printed command, without the environment assignments shown in front of it."""
    lines = [line for line in out.splitlines() if line.startswith("+ ")]
    assert len(lines) == 1, out[-2000:]
    words = shlex.split(lines[0][2:])
    while words and re.match(r"[A-Z_][A-Z0-9_]*=", words[0]):
        words.pop(0)
    return words


def shown_env(out: str) -> dict[str, str]:
    line = next(line for line in out.splitlines() if line.startswith("+ "))
    env = {}
    for word in shlex.split(line[2:]):
        if not re.match(r"[A-Z_][A-Z0-9_]*=", word):
            break
        name, _, value = word.partition("=")
        env[name] = value
    return env


_IMAGE_KERNELS: list[Path] = []


def image_kernels() -> str:
    """A site folder with the Docker image's attention kernel as the launcher's check sees it
    (flash-attn-4's distribution record and an empty flash_attn.cute): the seed config asks for it."""
    if not _IMAGE_KERNELS:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="image-kernels-"))
        atexit.register(shutil.rmtree, root, True)
        _IMAGE_KERNELS.append(fake_site(root, "flash-attn-4", "4.0.0b36", ["flash_attn", "flash_attn.cute"]))
    return str(_IMAGE_KERNELS[0])


def gpu_env(model_dir, **extra):
    """A GPU host as the Docker image makes it: 4 GPUs and flash-attn-4 (PYTHONPATH in extra wins)."""
    return {"GPU_COUNT": "4", "MODEL_PATH": model_dir, "PYTHONPATH": image_kernels(), **extra}


# ------------------------------------------------------------------ dry runs (verl's own configs)

@needs_verl
def test_dry_run_defaults_knobs_and_trailing_overrides(tmp_path, model_dir):
    """One dry run (each imports verl, ~10 s): the default run config (a 4B model) on 4 GPUs, our
    dataset and reward, data settings as ++data.lgc_v2 overrides, the Ray address, the caller's
    overrides last (so they win in the composed config), no secret in any output, nothing written."""
    knobs = ("++data.lgc_v2.task_types=[sudoku,operation]", "++data.lgc_v2.difficulty_range=[2,5]",
             "++reward.custom_reward_function.reward_kwargs.format_penalty=0.1", "++data.lgc_v2.reasoning=true",
             "++data.lgc_v2.size=5000", "++data.lgc_v2.val_size=32")
    rc, out, err = run_launcher(
        tmp_path, "--dry-run", *knobs, "trainer.save_freq=7", "actor_rollout_ref.rollout.gpu_memory_utilization=0.55",
        python=VERL_PYTHON, **gpu_env(model_dir),
        CHECKPOINT_ROOT="<unset>",  # the launcher's own default, under train/artifacts/RL
        HF_TOKEN=SECRET, WANDB_API_KEY=WANDB_SECRET, WANDB_MODE="disabled", RAY_ADDRESS="ray://10.1.2.3:10001")
    assert rc == 0, err
    assert "ok: train/config/grpo-qwen3-4b-instruct-8gpu.yaml composed and validated" in err and "dry run OK" in err
    assert SECRET not in out + err and WANDB_SECRET not in out + err
    argv = command_line(out)
    assert argv[:5] == [VERL_PYTHON, "-m", "veritas.verl_adapters.main_ppo", f"--config-path={REPO}/train/config",
                        "--config-name=grpo-qwen3-4b-instruct-8gpu"]
    args = argv[5:]
    exp = next(a.split("=", 1)[1] for a in args if a.startswith("trainer.experiment_name="))
    assert re.fullmatch(r"tiny-model-\d{8}-\d{6}-grpo-qwen3-4b-instruct-8gpu", exp)
    for expected in (
        "data.train_files=lgc_v2://train", "data.val_files=lgc_v2://val",
        f"data.custom_cls.path={REPO}/train/tools/dataset-manager.py", "data.custom_cls.name=LGCV2DynamicDataset",
        f"reward.custom_reward_function.path={REPO}/train/tools/reward-manager.py",
        "reward.custom_reward_function.name=compute_lgc_v2_score",
        f"actor_rollout_ref.model.path={model_dir}",
        "trainer.resume_mode=auto",
        f"trainer.default_local_dir={REPO}/train/artifacts/RL/checkpoints/{exp}",
        "trainer.n_gpus_per_node=4", "trainer.nnodes=1",
        "trainer.project_name=Qwen3-4B-Instruct",
        "+ray_kwargs.ray_init.address='ray://10.1.2.3:10001'",
        "+ray_kwargs.ray_init.runtime_env.env_vars.VLLM_USE_FLASHINFER_SAMPLER='0'",
        "+ray_kwargs.ray_init.runtime_env.env_vars.WANDB_MODE='disabled'",
    ):
        assert expected in args, expected
    assert any(a.startswith("hydra.run.dir=") for a in args)
    # the caller's overrides come last and win in the composed config
    assert args[-8:] == [*knobs, "trainer.save_freq=7", "actor_rollout_ref.rollout.gpu_memory_utilization=0.55"]
    assert re.search(r"^  save_freq: 7$", out, re.M)
    assert re.search(r"^    gpu_memory_utilization: 0\.55$", out, re.M)
    assert re.search(r"^  adv_estimator: grpo$", out, re.M)
    assert re.search(r"^    address: ray://10\.1\.2\.3:10001$", out, re.M)
    assert re.search(r"^    - sudoku$", out, re.M) and re.search(r"^      format_penalty: 0\.1$", out, re.M)
    assert re.search(r"^    size: 5000$", out, re.M) and "difficulty:" not in out  # unset data.lgc_v2 keys stay out
    # the run config's settings, resolved
    for pattern in (r"^    'n': 8$", r"^  train_batch_size: 64$", r"^    ppo_mini_batch_size: 16$", r"^      lr: 1\.0e-06$",
                    r"^    kl_loss_coef: 0\.001$", r"^  total_training_steps: 500$", r"^  logger:\n  - console\n  - wandb$",
                    r"^  use_kl_in_reward: false$", r"^      attn_implementation: flash_attention_4$"):
        assert re.search(pattern, out, re.M), pattern
    assert "attention: flash_attention_4 (use_remove_padding=True)" in err
    # the kernel the file asks for is checked before any GPU time: installed, verl's processes get
    # its module; missing, a dry run notes it (a real run stops there)
    missing = "dry run: actor_rollout_ref.model.override_config.attn_implementation: " in err
    assert missing == ("a real run on this host stops here" in err)
    assert missing != ("veritas.verl_ext.flash_attn4" in shown_env(out)["VERL_USE_EXTERNAL_MODULES"])
    assert shown_env(out)["VLLM_USE_FLASHINFER_SAMPLER"] == "0"
    # vLLM at its own INFO level (verl would set WARN), on the cluster's workers too
    assert shown_env(out)["VLLM_LOGGING_LEVEL"] == "INFO"
    assert "+ray_kwargs.ray_init.runtime_env.env_vars.VLLM_LOGGING_LEVEL='INFO'" in command_line(out)
    assert "Ray: joining the cluster at ray://10.1.2.3:10001" in err
    # a dry run writes nothing
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "wandb").exists()


@needs_verl
def test_dry_run_without_gpu_and_with_parquet_data(tmp_path, model_dir, rl_parquet):
    """No GPU: a dry run still composes (for 4 GPUs, with a notice); ALLOW_CPU=1 (an SFT knob)
    does not switch GRPO to CPU; RL parquets are checked and used; steps null lets epochs decide."""
    rc, out, err = run_launcher(tmp_path, "--dry-run", "trainer.total_training_steps=null", "data.train_batch_size=8",
                                "actor_rollout_ref.actor.ppo_mini_batch_size=4",
                                python=VERL_PYTHON, GPU_COUNT="0", ALLOW_CPU="1",
                                MODEL_PATH=model_dir, TRAIN_DATA=rl_parquet["train"], VAL_DATA=rl_parquet["val"])
    assert rc == 0, err
    assert "no GPU found: a real run stops here" in err and "GPU_COUNT=4" in err
    assert "training data: " in err and "validation data: " in err  # veritas check-data passed them
    args = command_line(out)[5:]
    assert f"data.train_files={rl_parquet['train']}" in args and f"data.val_files={rl_parquet['val']}" in args
    assert "trainer.n_gpus_per_node=4" in args
    assert re.search(r"^  total_training_steps: null$", out, re.M)
    # never the CPU platform; the seed config's registration module only
    assert "cpu_platform" not in out + err and "training on CPU" not in err
    # (and flash-attn-4's module where that kernel is installed)
    assert shown_env(out)["VERL_USE_EXTERNAL_MODULES"].split(",")[0] == "veritas.verl_ext.registration"
    assert not any(a.startswith("+ray_kwargs") for a in args)  # no RAY_ADDRESS: Ray starts locally


@needs_verl
def test_dry_run_for_two_nodes_joining_a_ray_cluster(tmp_path, model_dir):
    """The seed 8-GPU config on 2 nodes of an existing Ray cluster, composed on a driver without
    GPUs: verl told of 2 x 8 GPUs; the workers get this shell's settings (the verl modules, the
    NVLink multicast switches, FA4's kernel cache switch) through the runtime env; a checkpoint saved by 16 ranks resumes."""
    fake_checkpoint(tmp_path / "checkpoints" / "grpo16", 2, 16, sub="actor")
    rc, out, err = run_launcher(tmp_path, "--dry-run", python=VERL_PYTHON, GPU_COUNT="0", DRY_RUN_GPU_COUNT="8",
                                NNODES="2", RAY_ADDRESS="ray://10.0.0.1:10001", MODEL_PATH=model_dir,
                                WANDB_EXP="grpo16", WANDB_MODE="disabled", NCCL_NVLS_ENABLE="0",
                                TORCH_SYMM_MEM_DISABLE_MULTICAST="1", NVSHMEM_DISABLE_NVLS="1",
                                FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED="0", VLLM_LOGGING_LEVEL="WARNING")
    assert rc == 0, err
    args = command_line(out)[5:]
    env = "+ray_kwargs.ray_init.runtime_env.env_vars."
    for expected in ("trainer.nnodes=2", "trainer.n_gpus_per_node=8", "+ray_kwargs.ray_init.address='ray://10.0.0.1:10001'",
                     f"{env}NCCL_NVLS_ENABLE='0'", f"{env}FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED='0'",
                     f"{env}VLLM_LOGGING_LEVEL='WARNING'",  # the caller's level, not the launcher's INFO
                     f"{env}TORCH_SYMM_MEM_DISABLE_MULTICAST='1'",
                     f"{env}NVSHMEM_DISABLE_NVLS='1'", f"{env}WANDB_MODE='disabled'",
                     f"trainer.default_local_dir={tmp_path}/checkpoints/grpo16"):
        assert expected in args, expected
    # (and flash-attn-4's module where that kernel is installed)
    assert any(re.fullmatch(rf"{re.escape(env)}VERL_USE_EXTERNAL_MODULES='veritas\.verl_ext\.registration"
                            r"(,veritas\.verl_ext\.flash_attn4)?'", a) for a in args)
    assert re.search(r"^  nnodes: 2$", out, re.M) and re.search(r"^  n_gpus_per_node: 8$", out, re.M)
    assert re.search(r"^        NCCL_NVLS_ENABLE: '0'$", out, re.M)
    assert "experiment grpo16: resumes from step 2" in err


@needs_python
def test_resume_with_another_gpu_count_is_refused(tmp_path, model_dir):
    """The actor's shards (global_step_N/actor/) saved by 8 ranks, a launch on 4: one line before
    any work, dry run or not."""
    fake_checkpoint(tmp_path / "checkpoints" / "grpo8", 5, 8, sub="actor")
    line = ("error: experiment grpo8: checkpoint global_step_5 was saved by 8 ranks, this launch has 4 "
            "(NNODES=1 x 4 GPUs per node): resume with the same number of GPUs, or start a new experiment "
            "(unset WANDB_EXP / RESUME)")
    for args in (("--dry-run",), ()):
        rc, out, err = run_launcher(tmp_path, *args, **gpu_env(model_dir, WANDB_EXP="grpo8"))
        assert_fails((rc, out, err), line)
        assert err.rstrip("\n").splitlines()[-1] == line and "composed" not in err
    assert_fails(run_launcher(tmp_path, **gpu_env(model_dir, GPU_COUNT="8", NNODES="2", WANDB_EXP="grpo8")),
                 "was saved by 8 ranks, this launch has 16 (NNODES=2 x 8 GPUs per node)")


@needs_python
def test_bad_override_is_one_line(tmp_path, model_dir):
    rc, out, err = run_launcher(tmp_path, "--dry-run", "data.no_such_key=1", **gpu_env(model_dir))
    assert_fails((rc, out, err), "error: train/config/grpo-qwen3-4b-instruct-8gpu.yaml: Could not override 'data.no_such_key'")
    assert "+ " not in out  # no command printed for a config that does not compose


def stand_in_python(tmp_path):
    """A Python that runs everything but the training: our trainer entry runs its checks for real,
    and verl's main_ppo, which it hands over to, records its command line; pip records its own.
    record/veritas.verl_adapters.main_ppo: the launcher's command; record/verl.trainer.main_ppo:
    the hand-over, there only when the checks passed."""
    record = tmp_path / "record"
    record.mkdir()
    handed = tmp_path / "hand-over.py"
    handed.write_text(
        "import sys\n"
        "record = sys.argv.pop(1)\n"
        "import verl.trainer.main_ppo as verl_main\n"
        "def recorded():\n"
        "    args = ['-m', 'verl.trainer.main_ppo', *sys.argv[1:]]\n"
        "    open(record + '/verl.trainer.main_ppo', 'wb').write(''.join(a + '\\0' for a in args).encode())\n"
        "verl_main.main = recorded\n"
        "from veritas.verl_adapters.main_ppo import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'if [[ "$1 $2" == "-m veritas.verl_adapters.main_ppo" || "$1 $2" == "-m pip" ]]; then\n'
        f'  printf "%s\\0" "$@" > "{record}/$2"\n'
        f'  printf "%s" "$VLLM_USE_FLASHINFER_SAMPLER" > "{record}/sampler"\n'
        f'  printf "%s" "$VLLM_LOGGING_LEVEL" > "{record}/vllm-logging-level"\n'
        f'  [[ "$2" == pip ]] && exit 0\n'
        "  shift 2\n"
        f'  exec "{VERL_PYTHON}" "{handed}" "{record}" "$@"\n'
        "fi\n"
        f'exec "{VERL_PYTHON}" "$@"\n'
    )
    fake.chmod(0o755)
    return fake, record


@needs_verl
@pytest.mark.parametrize("overrides, knobs, message", [
    ([], {"GPU_COUNT": "6"}, "ppo_mini_batch_size x rollout.n = 128 responses per update do not split evenly over 6 GPUs"),
    (["data.train_batch_size=60"], {}, "data.train_batch_size=60 is not a multiple of actor_rollout_ref.actor.ppo_mini_batch_size=16"),
    (["actor_rollout_ref.rollout.tensor_model_parallel_size=3"], {},
     "actor_rollout_ref.rollout.tensor_model_parallel_size=3 does not divide trainer.n_gpus_per_node=4"),
    (["++data.lgc_v2.task_types=[nope]"], {}, "unknown task type 'nope'"),
])
def test_verl_and_our_checks_run_before_a_real_run(tmp_path, model_dir, overrides, knobs, message):
    """Without --dry-run too: the composed config is validated before the trainer starts."""
    fake, record = stand_in_python(tmp_path)
    cpus = "+ray_kwargs.ray_init.num_cpus=64"  # enough for 6 GPUs: the Ray check passes, the config's do not
    rc, out, err = run_launcher(tmp_path, cpus, *overrides, python=fake, **gpu_env(model_dir, **knobs))
    assert_fails((rc, out, err), message)
    assert (record / "veritas.verl_adapters.main_ppo").exists()  # checked in the trainer's own process,
    assert not (record / "verl.trainer.main_ppo").exists()  # which never reached verl's main_ppo
    assert not [p for p in (tmp_path / "outputs").rglob("*") if p.is_file()]  # and wrote nothing


# ------------------------------------------------------------------ a launch, with stand-ins

@needs_verl
def test_real_launch_execs_the_trainer(tmp_path, model_dir):
    """Without --dry-run: the trainer command composes and validates the config in its own process
    and hands the same command line to verl's main_ppo (stand-in); nothing is pip-installed, the run
    directories are made, VLLM_USE_FLASHINFER_SAMPLER=0."""
    fake, record = stand_in_python(tmp_path)
    rc, out, err = run_launcher(tmp_path, f"+ray_kwargs.ray_init.num_cpus={HOST_CPUS}", "trainer.test_freq=3", python=fake,
                                **gpu_env(model_dir), WANDB_EXP="grpo-run")
    assert rc == 0, err
    assert "ok: train/config/grpo-qwen3-4b-instruct-8gpu.yaml composed and validated" in err
    argv = (record / "veritas.verl_adapters.main_ppo").read_bytes().decode().split("\0")[:-1]
    assert argv[:4] == ["-m", "veritas.verl_adapters.main_ppo", f"--config-path={REPO}/train/config",
                        "--config-name=grpo-qwen3-4b-instruct-8gpu"] and argv[-1] == "trainer.test_freq=3"
    assert f"trainer.default_local_dir={tmp_path}/checkpoints/grpo-run" in argv
    assert command_line(out)[1:] == argv  # the printed command is the one run
    handed = (record / "verl.trainer.main_ppo").read_bytes().decode().split("\0")[:-1]
    assert handed == ["-m", "verl.trainer.main_ppo", *argv[2:]]  # verl gets the same command line
    assert not (record / "pip").exists()  # launchers never pip-install
    assert (record / "sampler").read_text() == "0"
    assert (record / "vllm-logging-level").read_text() == "INFO"
    assert (tmp_path / "checkpoints" / "grpo-run").is_dir() and (tmp_path / "outputs").is_dir()


# A 4-GPU host's Ray CPUs for the seed config: 8 TransferQueue units + controller, 3 a GPU, 1 free
HOST_CPUS = 8 + 1 + 3 * 4 + 1


@needs_verl
@pytest.mark.parametrize("cpus, units, ray_address, refused", [
    (HOST_CPUS - 1, None, None, True),  # the seed config, one CPU short
    (HOST_CPUS, None, None, False),
    (HOST_CPUS - 6, 2, None, False),  # 2 units need 6 CPUs fewer
    (4, None, "10.0.0.1:6379", False),  # a cluster started beforehand: its CPUs are not counted here
])
def test_a_real_run_needs_the_cpus_ray_actors_hold(tmp_path, model_dir, cpus, units, ray_address, refused):
    """TransferQueue's actors and verl's resource pool hold Ray CPUs for the whole run; with too few
    main_ppo would wait forever, silently (seen on CPU: verl's 8 units with 8 CPUs never reach the
    datasets), so the launcher refuses before starting it.  Dry runs do not count (another host)."""
    fake, record = stand_in_python(tmp_path)
    overrides = [f"+ray_kwargs.ray_init.num_cpus={cpus}"]
    if units is not None:
        overrides.append(f"transfer_queue.backend.SimpleStorage.num_data_storage_units={units}")
    extra = {"RAY_ADDRESS": ray_address} if ray_address else {}
    rc, out, err = run_launcher(tmp_path, *overrides, python=fake, **gpu_env(model_dir, **extra))
    if refused:
        assert_fails((rc, out, err), f"Ray would have {cpus} CPUs here and this run needs {HOST_CPUS}: 9 for TransferQueue")
        assert not (record / "verl.trainer.main_ppo").exists()
    else:
        assert rc == 0, err
        assert (record / "verl.trainer.main_ppo").exists()
    dry = run_launcher(tmp_path, "--dry-run", *overrides, python=fake, **gpu_env(model_dir, **extra))
    assert dry[0] == 0, dry[2]


# ------------------------------------------------------------------ fail fast, one line

@needs_python
@pytest.mark.parametrize("allow_cpu", ["0", "1"])
def test_no_gpu(tmp_path, model_dir, allow_cpu):
    assert_fails(run_launcher(tmp_path, **gpu_env(model_dir, GPU_COUNT="0", ALLOW_CPU=allow_cpu)),
                 "no GPU found (nvidia-smi lists none; GPU_COUNT overrides detection): GRPO needs one for the vLLM rollout")


@needs_python
def test_other_name_is_the_same_launcher(tmp_path, model_dir):
    assert_fails(run_launcher(tmp_path, script=OTHER_NAME, **gpu_env(model_dir, GPU_COUNT="0")),
                 "GRPO needs one for the vLLM rollout")
    # arguments pass through unchanged
    assert_fails(run_launcher(tmp_path, "trainer.save_freq=1", "--dry-run", script=OTHER_NAME, **gpu_env(model_dir)),
                 "--dry-run must be the first argument")


@needs_python
def test_missing_model_path(tmp_path):
    assert_fails(run_launcher(tmp_path, "--dry-run", GPU_COUNT="4", MODEL_PATH=tmp_path / "no-model"),
                 f"MODEL_PATH={tmp_path}/no-model does not exist")


@needs_python
def test_missing_token_for_download(tmp_path):
    assert_fails(run_launcher(tmp_path, "--dry-run", GPU_COUNT="4"),
                 f"HF_TOKEN is not set: it is needed to download Qwen/Qwen3-4B-Instruct-2507 into {tmp_path}/models/Qwen/Qwen3-4B-Instruct-2507")


@needs_verl
def test_dry_run_without_validation(tmp_path, model_dir, rl_parquet):
    """VAL_DATA=none: no validation files, no validation before training or every test_freq steps
    (verl 0.9.1 would validate otherwise); a directory of RL parquets as the training data, each
    file checked.  An override asking for validation again is refused, naming the keys."""
    shards = tmp_path / "shards"
    shards.mkdir()
    for name in ("a.parquet", "b.parquet"):
        (shards / name).write_bytes(rl_parquet["train"].read_bytes())
    rc, out, err = run_launcher(tmp_path, "--dry-run", "data.train_batch_size=8", "actor_rollout_ref.actor.ppo_mini_batch_size=4",
                                python=VERL_PYTHON, **gpu_env(model_dir, TRAIN_DATA=shards, VAL_DATA="none"))
    assert rc == 0, err
    args = command_line(out)[5:]
    for expected in (f"data.train_files={shards}", "data.val_files=null", "trainer.val_before_train=false",
                     "trainer.test_freq=-1"):
        assert expected in args, expected
    assert not any(a.startswith("data.val_files=") and a != "data.val_files=null" for a in args)
    for pattern in (r"^  val_files: null$", r"^  val_before_train: false$", r"^  test_freq: -1$"):
        assert re.search(pattern, out, re.M), pattern
    assert "validation: none (VAL_DATA=none)" in err
    assert err.count("training data: ") == 2 and "validation data" not in err  # check-data on a.parquet, b.parquet
    assert_fails(run_launcher(tmp_path, "--dry-run", "trainer.test_freq=10", python=VERL_PYTHON,
                              **gpu_env(model_dir, VAL_DATA="none")),
                 "data.val_files=null (no validation set) but trainer.val_before_train=False trainer.test_freq=10 ask "
                 "for validation: set trainer.val_before_train=false trainer.test_freq=-1")


@needs_verl
@pytest.mark.parametrize("knobs, overrides, message", [
    ({"TRAIN_DATA": "{tmp}/nope.parquet"}, [],
     "data.train_files={tmp}/nope.parquet: {tmp}/nope.parquet does not exist (make it with: veritas generate --format rl"),
    ({"TRAIN_DATA": "train/parquet"}, [], "data.train_files=train/parquet: "),
    ({"VAL_DATA": "{tmp}/models"}, [], "data.val_files={tmp}/models: the directory {tmp}/models holds no .parquet file"),
    ({"VAL_DATA": "lgc_v2:/val"}, [], "data.val_files=lgc_v2:/val: neither an existing .parquet file (or a directory "
                                      "of them) nor an lgc_v2:// URI"),
    ({}, ["data.train_files=my-data"], "data.train_files=my-data: neither"),  # the caller's override is checked too
])
def test_rl_data_that_is_neither_parquet_nor_lgc_v2_is_refused(tmp_path, model_dir, knobs, overrides, message):
    """Before a dry run or a real one: one line naming the Hydra key and the value (verl's default
    gsm8k paths or a typo would otherwise be replaced by guessed dynamic tasks)."""
    knobs = {k: v.format(tmp=tmp_path) for k, v in knobs.items()}
    message = message.format(tmp=tmp_path)
    assert_fails(run_launcher(tmp_path, "--dry-run", *overrides, python=VERL_PYTHON, **gpu_env(model_dir, **knobs)),
                 message)
    fake, record = stand_in_python(tmp_path)
    cpus = f"+ray_kwargs.ray_init.num_cpus={HOST_CPUS}"  # the launcher's Ray check passes; the data check does not
    assert_fails(run_launcher(tmp_path, cpus, *overrides, python=fake, **gpu_env(model_dir, **knobs)), message)
    assert not (record / "verl.trainer.main_ppo").exists()


@needs_python
def test_garbled_parquet(tmp_path, model_dir):
    bad = tmp_path / "garbled.parquet"
    bad.write_bytes(b"PAR1 this is not a parquet file")
    assert_fails(run_launcher(tmp_path, "--dry-run", **gpu_env(model_dir, TRAIN_DATA=bad)),
                 "training data is not usable: check-data:")


@needs_python
def test_garbled_validation_parquet(tmp_path, model_dir):
    bad = tmp_path / "val.parquet"
    bad.write_bytes(b"\x00" * 64)
    assert_fails(run_launcher(tmp_path, "--dry-run", **gpu_env(model_dir, VAL_DATA=bad)), "validation data is not usable")


@needs_python
@pytest.mark.parametrize("knobs,message", [
    ({"GPU_COUNT": "-1"}, "GPU_COUNT=-1"),
    ({"NNODES": "zero"}, "NNODES=zero"),
    ({"RAY_ADDRESS": "ray://x:1'"}, "RAY_ADDRESS must not contain quotes or backslashes"),
    ({"WANDB_EXP": "../escape"}, "WANDB_EXP=../escape"),
    ({"RUN_CONFIG": "sft-smollm2-135m-cpu"}, "train/config/sft-smollm2-135m-cpu.yaml is not a ppo_trainer config"),
    ({"RUN_CONFIG": "_grpo-smollm2-135m-1gpu"}, "train/config/_*.yaml are parts that run configs extend"),
])
def test_bad_settings(tmp_path, model_dir, knobs, message):
    assert_fails(run_launcher(tmp_path, "--dry-run", **gpu_env(model_dir, **knobs)), message)


@needs_python
def test_an_unknown_run_config_is_refused_naming_the_run_configs(tmp_path, model_dir):
    rc, out, err = run_launcher(tmp_path, "--dry-run", **gpu_env(model_dir, RUN_CONFIG="no-such-config"))
    assert_fails((rc, out, err), "(train/config/ has: ")
    known = err.rsplit("(train/config/ has: ", 1)[1].rstrip(")\n").split()
    assert "grpo-smollm2-135m-1gpu" in known and "grpo-qwen3-4b-instruct-8gpu" in known
    assert not [name for name in known if name.startswith("_")]  # the parts run configs extend are none


@needs_python
@pytest.mark.parametrize("knobs,message", [
    ({"ROLLOUT_N": "8"}, "ROLLOUT_N is no longer read: pass actor_rollout_ref.rollout.n=8 as a Hydra override or set "
                         "it in train/config/grpo-qwen3-4b-instruct-8gpu.yaml"),
    ({"LR": "1e-6"}, "pass actor_rollout_ref.actor.optim.lr=1e-6 as"),
    ({"DIFFICULTY_RANGE": "1-6"}, "pass ++data.lgc_v2.difficulty_range=1-6 as"),
    ({"LOG_PROB_MICRO_BATCH_SIZE_PER_GPU": "4"},
     "pass actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4 actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=4 as"),
    ({"LANGUAGE": "zh"}, "LANGUAGE is no longer read: pass ++data.lgc_v2.language=zh"),
    ({"LANGUAGE": "en_US:en", "MAX_RESPONSE_LENGTH": "512"}, "MAX_RESPONSE_LENGTH is no longer read"),
])
def test_a_retired_variable_stops_the_launcher_naming_the_key(tmp_path, model_dir, knobs, message):
    """Before any work (no GPU detection); a locale's LANGUAGE is not ours."""
    rc, out, err = run_launcher(tmp_path, "--dry-run", **gpu_env(model_dir, **knobs))
    assert_fails((rc, out, err), message)
    assert "GPUs" not in err and "LANGUAGE" not in err.replace(message, "")


@needs_python
def test_retired_values_are_never_evaluated(tmp_path, model_dir):
    marker = tmp_path / "pwned"
    assert_fails(run_launcher(tmp_path, "--dry-run", **gpu_env(model_dir, MAX_PROMPT_LENGTH=f"a[$(touch {marker})]")),
                 "MAX_PROMPT_LENGTH is no longer read")
    assert not marker.exists()


@needs_python
def test_resume_without_checkpoints(tmp_path, model_dir):
    assert_fails(run_launcher(tmp_path, **gpu_env(model_dir, RESUME="1")), "RESUME=1 but no grpo checkpoint of tiny-model")


@needs_python
def test_attention_kernel_is_recognised_by_its_distribution(tmp_path, model_dir):
    """The run config (or an override) chooses the attention; the launcher checks that the
    distribution behind it is installed for its Python (a bare `flash_attn` package, which
    flash-attn-4 installs too, is not flash-attn 2), and loads what the kernel needs in verl's
    processes.  (The run stops at a later check, on purpose: no GPU needed.)"""
    fa2 = ("actor_rollout_ref.model.override_config.attn_implementation=flash_attention_2",
           "actor_rollout_ref.model.use_remove_padding=True")
    fa4 = ("actor_rollout_ref.model.override_config.attn_implementation=flash_attention_4",
           "actor_rollout_ref.model.use_remove_padding=True")
    site = fake_site(tmp_path / "fa4", "flash-attn-4", "4.0.0b36", ["flash_attn", "flash_attn.cute"])
    rc, out, err = run_launcher(tmp_path, *fa4, **gpu_env(model_dir, PYTHONPATH=site, RESUME="1"))
    assert "attention: flash_attention_4 (use_remove_padding=True)" in err
    assert_fails((rc, out, err), "RESUME=1 but no grpo checkpoint")
    rc, out, err = run_launcher(tmp_path, "--dry-run", *fa4, **gpu_env(model_dir, PYTHONPATH=site))
    assert rc == 0, err
    # the seed config's registration module and FA4's companion, both in every verl process
    assert re.search(r"VERL_USE_EXTERNAL_MODULES=[^ ]*veritas\.verl_ext\.registration", out + err)
    assert re.search(r"VERL_USE_EXTERNAL_MODULES=[^ ]*veritas\.verl_ext\.flash_attn4", out + err)
    assert_fails(run_launcher(tmp_path, *fa2, **gpu_env(model_dir, PYTHONPATH=site)),
                 "actor_rollout_ref.model.override_config.attn_implementation: attn_implementation=flash_attention_2 "
                 "needs the flash-attn distribution")
    if importlib.util.find_spec("flash_attn") is None:  # this Python has no kernel: the seed config stops
        assert_fails(run_launcher(tmp_path, **gpu_env(model_dir, PYTHONPATH="")),
                     "actor_rollout_ref.model.override_config.attn_implementation: attn_implementation=flash_attention_4 "
                     "needs the flash-attn-4 distribution")
    site2 = fake_site(tmp_path / "fa2", "flash-attn", "2.8.3", ["flash_attn"])
    rc, out, err = run_launcher(tmp_path, *fa2, **gpu_env(model_dir, PYTHONPATH=site2, RESUME="1"))
    assert "attention: flash_attention_2 (use_remove_padding=True)" in err
    assert_fails((rc, out, err), "RESUME=1 but no grpo checkpoint")


@needs_python
def test_liger_kernel_is_checked_for_the_actor_and_reference_model(tmp_path, model_dir):
    """actor_rollout_ref.model.use_liger or its fused backend set to liger needs liger-kernel: one line
    before any GPU time, naming the key's prefix; installed, it is named in the log."""
    fa4 = fake_site(tmp_path / "fa4", "flash-attn-4", "4.0.0b36", ["flash_attn", "flash_attn.cute"])
    liger = fake_site(tmp_path / "liger", "liger-kernel", "0.8.5", ["liger_kernel"])
    ask = "actor_rollout_ref.model.fused_kernel_options.impl_backend=liger"
    if importlib.util.find_spec("liger_kernel") is None:
        assert_fails(run_launcher(tmp_path, ask, **gpu_env(model_dir, PYTHONPATH=fa4)),
                     "error: actor_rollout_ref.model: the liger-kernel distribution (docker/gpu-stack.txt), asked for "
                     "by fused_kernel_options.impl_backend=liger, is not installed")
    rc, out, err = run_launcher(tmp_path, ask, "actor_rollout_ref.model.use_liger=true",
                                **gpu_env(model_dir, PYTHONPATH=f"{fa4}:{liger}", RESUME="1"))
    assert "kernels: liger-kernel 0.8.5 (use_liger=true, fused_kernel_options.impl_backend=liger)" in err
    assert_fails((rc, out, err), "RESUME=1 but no grpo checkpoint")


@needs_python
def test_secret_on_command_line_is_refused_without_echoing_it(tmp_path, model_dir):
    rc, out, err = run_launcher(tmp_path, "--dry-run", f"+trainer.note={SECRET}", **gpu_env(model_dir, HF_TOKEN=SECRET))
    assert_fails((rc, out, err), "refusing to run: the value of HF_TOKEN appears on the command line")
    assert SECRET not in out + err


def test_launchers_never_trace_and_are_executable():
    for script in (LAUNCHER, OTHER_NAME):
        code = [line for line in script.read_text().splitlines() if not line.lstrip().startswith("#")]
        assert not [line for line in code if "set -x" in line or "xtrace" in line]
        assert os.access(script, os.X_OK)


@needs_verl
@pytest.mark.parametrize("mode, loop, estimator, loaded", [
    ("veritas_sync", "veritas_single_turn", "grpo", True), ("veritas_sync", "single_turn_agent", "grpo", True),
    ("sync", "veritas_single_turn", "grpo", True), ("sync", "single_turn_agent", "grpo", False),
    ("sync", "single_turn_agent", "veritas_positive_samples", True)])
def test_the_registration_module_is_loaded_when_the_run_config_names_our_trainer_loop_or_estimator(
        tmp_path, model_dir, mode, loop, estimator, loaded):
    """Once, and never the modules it registers from: verl's processes import those only where
    verl's trainer or agent-loop package or core_algos is imported (tests/test_registration.py)."""
    rc, out, err = run_launcher(tmp_path, "--dry-run", f"trainer.v1.trainer_mode={mode}",
                                f"actor_rollout_ref.rollout.agent.default_agent_loop={loop}",
                                f"algorithm.adv_estimator={estimator}", python=VERL_PYTHON,
                                RUN_CONFIG="grpo-smollm2-135m-1gpu", **gpu_env(model_dir, GPU_COUNT="1"))
    assert rc == 0, err[-2000:]
    modules = shown_env(out).get("VERL_USE_EXTERNAL_MODULES", "").split(",")
    assert modules.count("veritas.verl_ext.registration") == int(loaded)
    assert not {"veritas.verl_ext.type_metrics_trainer", "veritas.verl_ext.agent_loop", "veritas.verl_ext.advantage"} & set(modules)
