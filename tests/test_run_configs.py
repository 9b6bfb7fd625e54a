"""The run configs (train/config/*.yaml) as the launchers use them: each composes and validates
through its launcher's --dry-run (the 8-GPU ones for 8 GPUs, without one), the seed defaults and
the CPU demo compose to the same verl config as the launchers of before did (their overrides are
tests/fixtures/launcher_overrides_before_issue15.json, captured from those launchers' --dry-run),
verl's own entry points accept --config-path/--config-name, every file follows the rules for
extending verl's configs or a shared part (_*.yaml), the two arms of issue 18's comparison differ
only in the curriculum, and the table of retired variables (train/scripts/retired-variables.tsv)
is complete and names real keys."""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _shared import load_bench_gpu, python_with, retired_variable_rows

REPO = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "train" / "config"
SCRIPTS = REPO / "train" / "scripts"
SFT = SCRIPTS / "lgc-v2-SFT-trainer.sh"
GRPO = SCRIPTS / "lgc-v2-RL-GRPO-trainer.sh"
BEFORE = json.loads((REPO / "tests" / "fixtures" / "launcher_overrides_before_issue15.json").read_text())
PYTHON = python_with("verl", "hydra", "pyarrow", "dotenv")
pytestmark = [pytest.mark.verl, pytest.mark.skipif(PYTHON is None, reason="verl is not installed")]

# Each file, the launcher that runs it and the host it is composed for here (no GPU needed).
CONFIGS = {
    "sft-qwen3guard-gen-8b-8gpu": (SFT, {"GPU_COUNT": "8"}),
    "sft-smollm2-135m-1gpu": (SFT, {"GPU_COUNT": "1"}),
    "sft-smollm2-135m-1gpu-levels-1-5": (SFT, {"GPU_COUNT": "1"}),
    "sft-smollm2-135m-cpu": (SFT, {"GPU_COUNT": "0", "ALLOW_CPU": "1", "WANDB_PROJECT": "veritas-cpu-demo"}),
    "grpo-qwen3-4b-instruct-8gpu": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "8"}),
    "grpo-smollm2-135m-1gpu": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-fixed": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-adaptive": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-adaptive-temperature": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-fixed-dapo": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-fixed-temperature": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-adaptive-flat": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-adaptive-wide": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-4": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-5-t1.0": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-levels-adaptive-small-steps": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-greedy-failures": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-greedy-failures-positive": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-greedy-failures-positive-replay": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-greedy-failures-positive-replay-checked": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
    "grpo-smollm2-135m-1gpu-greedy-failures-positive-replay-strict": (GRPO, {"GPU_COUNT": "0", "DRY_RUN_GPU_COUNT": "1"}),
}

# Composed-config differences between today's launchers and those of before, key -> (before,
# now), per config.  None: with the same host facts the files compose to exactly what the
# environment-variable defaults composed.  (Outside the composed config: the command selects
# the file with --config-path/--config-name, the auto-named experiment ends in the config's name
# instead of batch_size-...-lr-..., and GRPO no longer switches to flash_attention_2 by itself
# when flash_attn imports: the config names the kernel, an override or another config another.)
INTENDED_DIFFERENCES: dict[str, dict[str, tuple]] = {name: {} for name in BEFORE}
# GRPO runs our registered v1 trainer: verl's sync trainer plus per-type metrics every step
INTENDED_DIFFERENCES["grpo-qwen3-4b-instruct-8gpu"] = {"trainer.v1.trainer_mode": ("sync", "veritas_sync")}
# The throughput blocks: padding-free flash-attn-4 with fused kernels and token-budget
# micro-batches instead of the seed's padded sdpa (docs/performance.md, workload (b)); nothing
# that changes what is learnt
INTENDED_DIFFERENCES["sft-qwen3guard-gen-8b-8gpu"].update({
    "model.override_config.attn_implementation": ("sdpa", "flash_attention_4"),
    "model.use_remove_padding": (False, True), "model.use_fused_kernels": (False, True),
    "data.use_dynamic_bsz": (False, True),
    # the same layers' formulas, compiled (veritas.verl_ext.compiled_layers; tests/test_compiled_layers.py)
    "model.external_lib": (None, "veritas.verl_ext.compiled_layers"),
})
INTENDED_DIFFERENCES["grpo-qwen3-4b-instruct-8gpu"].update({
    "actor_rollout_ref.model.override_config.attn_implementation": ("sdpa", "flash_attention_4"),
    **{f"actor_rollout_ref.{part}.{key}": (False, True) for part in ("model", "actor")
       for key in ("use_remove_padding", "use_fused_kernels")},
    "actor_rollout_ref.actor.use_dynamic_bsz": (False, True),
    "critic.use_dynamic_bsz": (False, True),  # verl's critic follows the actor's setting (GRPO has none)
    **{f"actor_rollout_ref.{part}.log_prob_use_dynamic_bsz": (False, True) for part in ("ref", "rollout")},
    **{f"actor_rollout_ref.{part}.log_prob_max_token_len_per_gpu": (16384, 32768) for part in ("ref", "rollout")},
    # verl's single-turn loop asking vLLM for each response once, as token ids: sampled as before
    "actor_rollout_ref.rollout.agent.default_agent_loop": ("single_turn_agent", "veritas_single_turn"),
})


def _clean_env(tmp_path):
    retired = {var for _, var, _, _ in retired_variable_rows()}
    drop = retired | {"RUN_CONFIG", "MODEL_PATH", "MODEL_ID", "HF_TOKEN", "WANDB_API_KEY", "WANDB_EXP", "GPU_COUNT",
                      "ALLOW_CPU", "RESUME", "NNODES", "NPROC_PER_NODE", "TRAIN_DATA", "VAL_DATA", "RAY_ADDRESS",
                      "CUDA_VISIBLE_DEVICES", "VERL_USE_EXTERNAL_MODULES", "WANDB_PROJECT", "DRY_RUN_GPU_COUNT"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"PYTHON": PYTHON, "ENV_FILE": str(tmp_path / "absent.env"), "CHECKPOINT_ROOT": str(tmp_path / "ckpt"),
                "OUTPUT_ROOT": str(tmp_path / "out"), "WANDB_DIR": str(tmp_path / "wandb"), "WANDB_MODE": "offline",
                "MODELS_DIR": str(tmp_path / "models"), "WANDB_EXP": "EXP", "OMP_NUM_THREADS": "1"})
    return env


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """SFT parquets (64 rows: one batch of the largest config) and a model directory."""
    d = tmp_path_factory.mktemp("run-configs")
    for split, rows in (("train", 64), ("val", 4)):
        subprocess.run([PYTHON, "-m", "veritas", "generate", "--format", "sft", "--task-types", "dyck_language",
                        "--num-samples", str(rows), "--difficulty", "1", "--language", "en", "--split", split,
                        "--output", str(d / f"{split}.parquet"), "--overwrite"],
                       cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    model = d / "models" / "TinyOrg" / "tiny-model"
    model.mkdir(parents=True)
    (model / "config.json").write_text(json.dumps({"model_type": "llama"}))
    return {"dir": d, "model": model, "train": d / "train.parquet", "val": d / "val.parquet"}


def dry_run(name, host, tmp_path, *overrides, env_extra: dict | None = None, fails: str | None = None):
    """The launcher's --dry-run for run config ``name``: (resolved config, printed argv, stderr);
    with ``fails``, the dry run must fail with that message (returns None)."""
    import shlex

    import yaml

    launcher, env_vars = CONFIGS[name]
    env = {**_clean_env(tmp_path), "RUN_CONFIG": name, "MODEL_PATH": str(host["model"]), **env_vars}
    if launcher == SFT:
        env.update(TRAIN_DATA=str(host["train"]), VAL_DATA=str(host["val"]))
    env.update(env_extra or {})
    proc = subprocess.run(["bash", str(launcher), "--dry-run", *overrides], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    if fails is not None:
        assert proc.returncode == 1 and fails in proc.stderr, proc.stderr[-3000:]
        return None
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"ok: train/config/{name}.yaml composed and validated" in proc.stderr
    lines = proc.stdout.splitlines()
    cmd = [line for line in lines if line.startswith("+ ")]
    assert len(cmd) == 1
    resolved = yaml.safe_load("\n".join(line for line in lines if not line.startswith("+ ")))
    return resolved, shlex.split(cmd[0][2:]), proc.stderr


def _flat(node, prefix=""):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            out.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_seed_defaults_compose_as_the_launchers_of_before(name, host, tmp_path):
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_config

    now, argv, _ = dry_run(name, host, tmp_path)
    model = str(host["model"])
    facts = {"{MODEL_PATH}": model, "{REPO}": str(REPO), "{CHECKPOINT_DIR}": str(tmp_path / "ckpt" / "EXP"),
             "{TRAIN_DATA}": str(host["train"]), "{VAL_DATA}": str(host["val"]), "{EXP}": "EXP"}
    overrides = []
    for override in BEFORE[name]["overrides"]:
        for placeholder, value in facts.items():
            override = override.replace(placeholder, value)
        overrides.append(override)
    before = OmegaConf.to_container(compose_config(BEFORE[name]["verl_config"], overrides), resolve=True)
    if name.startswith("grpo"):  # composed for the same GPUs, as a dry run without a GPU does
        assert now["trainer"]["n_gpus_per_node"] == before["trainer"]["n_gpus_per_node"] == 8
    flat_before, flat_now = _flat(before), _flat(now)
    differences = {k: (flat_before.get(k, "<absent>"), flat_now.get(k, "<absent>"))
                   for k in flat_before.keys() | flat_now.keys() if flat_before.get(k, "<absent>") != flat_now.get(k, "<absent>")}
    assert differences == INTENDED_DIFFERENCES[name]
    # the trainer gets the file by Hydra's own selection, then the host's overrides
    assert f"--config-path={CONFIG_DIR}" in argv and f"--config-name={name}" in argv


@pytest.mark.parametrize("name", ["sft-smollm2-135m-1gpu", "grpo-smollm2-135m-1gpu"])
def test_one_gpu_configs_compose_and_validate(name, host, tmp_path):
    now, argv, err = dry_run(name, host, tmp_path)
    assert now["trainer"]["n_gpus_per_node"] == 1
    if name.startswith("sft"):
        assert now["model"]["use_remove_padding"] is True and now["data"]["use_dynamic_bsz"] is True
        assert now["data"]["max_token_len_per_gpu"] == 32768 and now["model"]["use_fused_kernels"] is True
        assert now["model"]["enable_gradient_checkpointing"] is False and now["data"]["train_batch_size"] == 64
        # liger-kernel's log-prob kernel and layers (docs/performance.md, 2026-12-07), checked by what is installed
        assert now["model"]["use_liger"] is True and now["model"]["fused_kernel_options"]["impl_backend"] == "liger"
        if importlib.util.find_spec("liger_kernel") is None:
            assert "dry run: model: the liger-kernel distribution (docker/gpu-stack.txt), asked for by use_liger=true " \
                   "and fused_kernel_options.impl_backend=liger, is not installed" in err
            assert "a real run on this host stops here" in err
        else:
            assert "kernels: liger-kernel " in err
    else:
        assert now["trainer"]["val_before_train"] is True and now["data"]["lgc_v2"]["difficulty_range"] == [2, 3]
        # one update per step: the mini-batch is the whole batch
        assert now["actor_rollout_ref"]["actor"]["ppo_mini_batch_size"] == now["data"]["train_batch_size"] == 128
        assert now["actor_rollout_ref"]["rollout"]["gpu_memory_utilization"] == 0.5
        assert now["trainer"]["v1"]["trainer_mode"] == "veritas_sync"
        assert now["transfer_queue"]["backend"]["SimpleStorage"]["num_data_storage_units"] == 2
    assert f"--config-name={name}" in argv
    # the kernel the file asks for is checked by what is installed; a dry run only notes its absence
    assert "attention: flash_attention_4" in err


# The throughput settings the H200 benchmarks passed as overrides (docs/performance.md, 2026-12-04 and 07):
# the one-GPU run configs must carry the same values, so its figures describe these files.
MEASURED = REPO / "docs" / "performance" / "2026-12-04-h200"
THROUGHPUT_PREFIXES = ("model.", "data.use_dynamic_bsz", "data.max_token_len_per_gpu", "actor_rollout_ref.")
LEARNING_KEYS = ("actor_rollout_ref.actor.ppo_mini_batch_size", "actor_rollout_ref.rollout.n")


@pytest.mark.parametrize("name,run,least", [("sft-smollm2-135m-1gpu", "2026-12-04-h200/sft-smollm2-fa4", 4),
                                            ("grpo-smollm2-135m-1gpu", "2026-12-04-h200/grpo-smollm2-tuned", 4),
                                            # on the run config of then, what made it faster since
                                            ("sft-smollm2-135m-1gpu", "2026-12-07-h200/sft-smollm2-5-liger-ce", 2)])
def test_one_gpu_configs_carry_the_measured_throughput_settings(name, run, least):
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_config

    overrides = json.loads((MEASURED.parent / f"{run}.json").read_text())["overrides"]
    cfg = compose_config(name, [], config_path=str(CONFIG_DIR))
    checked = 0
    for override in overrides:
        key, _, value = override.lstrip("+").partition("=")
        if not key.startswith(THROUGHPUT_PREFIXES) or key in LEARNING_KEYS:
            continue  # workload and learning settings of the benchmark, not the file's business
        assert str(OmegaConf.select(cfg, key)).lower() == value.lower(), (name, key)
        checked += 1
    assert checked >= least


@pytest.mark.parametrize("name,workload", [("sft-smollm2-135m-1gpu", "SFT_WORKLOAD"),
                                           ("sft-smollm2-135m-1gpu", "SFT_WORKLOAD+QWEN3_KERNELS"),
                                           ("grpo-smollm2-135m-1gpu", "GRPO_WORKLOAD")])
def test_the_gpu_benchmark_workloads_still_compose_on_the_one_gpu_configs(name, workload, host, tmp_path):
    """bench_gpu.py overrides the one-GPU configs' learning settings with its fixed workloads: a
    change to a config (e.g. task weights for five types) must leave them composable.  The
    Qwen3-4B shape runs on the SmolLM2 config without its liger-kernel settings."""
    bench = load_bench_gpu()
    overrides = [override for part in workload.split("+") for override in getattr(bench, part)]
    now, _, _ = dry_run(name, host, tmp_path, *overrides)
    liger = (now["model"]["use_liger"], now["model"]["fused_kernel_options"]["impl_backend"]) if "model" in now else None
    assert liger == ((False, "torch") if "QWEN3_KERNELS" in workload else (True, "liger") if name.startswith("sft") else None)
    if name.startswith("grpo"):
        assert now["data"]["lgc_v2"]["task_types"] == bench.GRPO_TYPES.split(",")
        assert now["data"]["lgc_v2"]["weights"] is None and now["data"]["max_prompt_length"] == 768
    else:
        assert now["data"]["max_length"] == 2048 and now["data"]["train_batch_size"] == 64
        # the benchmark's few rows are repeated until its step budget, whatever the config's epochs
        assert now["trainer"]["total_epochs"] * bench.SFT_DATA_STEPS >= now["trainer"]["total_training_steps"]


VERL_BASE_OF = {"grpo": "ppo_trainer", "sft": "sft_trainer_engine"}


def _throughput_keys(text: str) -> set[str]:
    """Dotted paths of the keys in a file's "# --- throughput" blocks (a block ends at a blank line)."""
    keys, stack, block = set(), [], None
    for line in text.splitlines():
        indent, stripped = len(line) - len(line.lstrip(" ")), line.strip()
        if not stripped:
            block = None
        elif stripped.startswith("#"):
            block = indent if stripped.startswith("# --- throughput") else block
        elif match := re.match(r" *([A-Za-z_][\w.-]*):", line):
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match.group(1)))
            if block is not None and indent >= block:
                keys.add(".".join(key for _, key in stack))
            else:
                block = None
    return keys


def config_file_problems(config_dir: Path) -> list[str]:
    """The rules every file in ``config_dir`` follows.  A run config (a name that starts with a
    letter) lists verl's configs in hydra.searchpath and extends either verl's config for its
    trainer, with a "# --- throughput" block (the block the throughput issue rewrites), or a shared
    part: a file named _*.yaml, without `hydra:` (Hydra refuses hydra.searchpath in any config but
    the primary one, so a run config cannot be extended itself), extending verl's config or another
    part.  A file that extends a part sets none of the throughput keys of the files it extends
    (they stay in one place); every part is extended by some file."""
    import yaml

    files = {p.stem: p.read_text() for p in config_dir.glob("*.yaml")}
    problems, extended = [], set()

    def parent(name):
        match = re.search(r"^defaults:\n  - (\S+)\n  - _self_$", files[name], re.M)
        return match.group(1) if match else None

    for name, text in sorted(files.items()):
        base = VERL_BASE_OF[name.lstrip("_").split("-", 1)[0]]
        raw = yaml.safe_load(text) or {}
        searchpath = (raw.get("hydra") or {}).get("searchpath") or []
        if name.startswith("_") and "hydra" in raw:
            problems.append(f"{name}: a shared part must not set hydra (Hydra refuses it outside the primary config)")
        if not name.startswith("_") and "pkg://verl.trainer.config" not in searchpath:
            problems.append(f"{name}: hydra.searchpath must list pkg://verl.trainer.config")
        extends = parent(name)
        if extends == base:
            if "# --- throughput" not in text:
                problems.append(f"{name}: extends {base} without a '# --- throughput' block")
            continue
        if extends is None or not extends.startswith("_") or extends not in files:
            problems.append(f"{name}: defaults must be [{base}, _self_] or [<a shared part _*.yaml here>, _self_], "
                            f"not {extends!r}")
            continue
        chain, seen, ok = [], {name}, True
        while extends not in (base, None):
            if extends in seen or extends not in files:
                problems.append(f"{name}: its defaults do not lead to {base} ({extends!r})")
                ok = False
                break
            seen.add(extends)
            extended.add(extends)
            chain.append(extends)
            extends = parent(extends)
        if not ok:
            continue
        if extends is None:
            problems.append(f"{name}: its defaults do not lead to {base}")
            continue
        own = set(_flat({k: v for k, v in raw.items() if k not in ("hydra", "defaults")}))
        for part in chain:
            throughput = _throughput_keys(files[part])
            again = sorted(k for k in own if k in throughput or any(k.startswith(t + ".") for t in throughput))
            if again:
                problems.append(f"{name}: sets throughput keys of {part}: {', '.join(again)}")
    problems += [f"{name}: a shared part nothing extends" for name in sorted(files) if name.startswith("_")
                 and name not in extended]
    return problems


def test_every_config_file_is_covered():
    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yaml") if not p.name.startswith("_")) == sorted(CONFIGS)
    assert config_file_problems(CONFIG_DIR) == []
    # the parser finds the throughput keys (and only those)
    shared = _throughput_keys((CONFIG_DIR / "_grpo-smollm2-135m-1gpu.yaml").read_text())
    assert {"actor_rollout_ref.rollout.gpu_memory_utilization", "actor_rollout_ref.model.use_remove_padding",
            "actor_rollout_ref.actor.ppo_max_token_len_per_gpu"} <= shared
    assert not shared & {"actor_rollout_ref.actor.optim.lr", "actor_rollout_ref.rollout.n", "data.train_batch_size"}


def test_the_config_file_rules_refuse_what_they_should(tmp_path):
    import shutil

    shutil.copytree(CONFIG_DIR, tmp_path, dirs_exist_ok=True)
    head = "hydra:\n  searchpath:\n    - pkg://verl.trainer.config\n\n"
    cases = {
        "grpo-a": (head + "defaults:\n  - _grpo-missing\n  - _self_\n", "not '_grpo-missing'"),
        "grpo-b": (head + "defaults:\n  - grpo-smollm2-135m-1gpu\n  - _self_\n", "not 'grpo-smollm2-135m-1gpu'"),
        "grpo-c": (head + "defaults:\n  - _grpo-smollm2-135m-1gpu\n  - _self_\n\nactor_rollout_ref:\n  rollout:\n"
                   "    gpu_memory_utilization: 0.9\n",
                   "sets throughput keys of _grpo-smollm2-135m-1gpu: actor_rollout_ref.rollout.gpu_memory_utilization"),
        "_grpo-d": (head + "defaults:\n  - _grpo-smollm2-135m-1gpu\n  - _self_\n", "_grpo-d: a shared part must not set hydra"),
        "grpo-e": ("defaults:\n  - ppo_trainer\n  - _self_\n# --- throughput\n", "grpo-e: hydra.searchpath must list"),
        "grpo-f": (head + "defaults:\n  - ppo_trainer\n  - _self_\n", "grpo-f: extends ppo_trainer without a '# --- throughput'"),
    }
    for name, (text, _) in cases.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    problems = config_file_problems(tmp_path)
    for name, (_, message) in cases.items():
        assert any(p.startswith(f"{name}:") and message in p for p in problems), (name, problems)
    assert "_grpo-d: a shared part nothing extends" in problems


# Issue 18's comparison (docs/curriculum.md, "GPU comparison"): what the fixed arm changes in the
# recipe's GRPO, and the one thing the adaptive arm changes in the fixed arm.
LEVELS_ARMS = ("grpo-smollm2-135m-1gpu-levels-fixed", "grpo-smollm2-135m-1gpu-levels-adaptive")
DAPO_ARM = "grpo-smollm2-135m-1gpu-levels-fixed-dapo"
FIXED_ARM_CHANGES = {
    "data.lgc_v2.difficulty_range": ([2, 3], [1, 5]),
    "data.max_prompt_length": (1024, 1152), "actor_rollout_ref.rollout.prompt_length": (1024, 1152),
    "distillation.teacher_models.teacher_model.inference.prompt_length": (1024, 1152),
    "data.max_response_length": (640, 832), "actor_rollout_ref.rollout.response_length": (640, 832),
    "distillation.teacher_models.teacher_model.inference.response_length": (640, 832),
    "data.seed": (None, 42), "data.dataloader_num_workers": (8, 0),
    # the recipe trains the two types its SFT model has not solved; at levels 4-5 all five have room
    "data.lgc_v2.weights": ([0, 0, 0, 1, 2], [1, 1, 1, 3, 3]),
    # longer sequences at half the batch (still one update a step): an arm fits one session
    "data.train_batch_size": (128, 64), "actor_rollout_ref.actor.ppo_mini_batch_size": (128, 64),
    "trainer.total_training_steps": (20, 24),
    "critic.ppo_mini_batch_size": (128, 64),  # verl's interpolation of the actor's (no critic in GRPO)
    # the zero-variance target is about right/wrong groups
    "reward.custom_reward_function.reward_kwargs.partial_credit": (0.5, 0.0),
}


def _composed_flat(*names: str) -> list[dict]:
    """Each named run config, composed from train/config and flattened to dotted keys."""
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_config

    return [_flat(OmegaConf.to_container(compose_config(name, [], config_path=str(CONFIG_DIR)), resolve=True))
            for name in names]


def _differences(a: dict, b: dict) -> dict:
    return {k: (a.get(k, "<absent>"), b.get(k, "<absent>")) for k in a.keys() | b.keys()
            if a.get(k, "<absent>") != b.get(k, "<absent>")}


def test_the_levels_arms_differ_only_in_the_curriculum():
    base, fixed, adaptive = _composed_flat("grpo-smollm2-135m-1gpu", *LEVELS_ARMS)
    assert _differences(base, fixed) == FIXED_ARM_CHANGES
    arms = _differences(fixed, adaptive)
    assert arms and all(key.startswith("data.lgc_v2.curriculum.") for key in arms), arms
    assert arms["data.lgc_v2.curriculum.enable"] == ("<absent>", True)
    # the curriculum stays inside the levels the arms are evaluated on
    assert (adaptive["data.lgc_v2.curriculum.min_level"], adaptive["data.lgc_v2.curriculum.max_level"]) == (1, 5)
    # the same steps x prompts x group size and seed in both (the base's)
    for key in ("trainer.total_training_steps", "data.train_batch_size", "actor_rollout_ref.rollout.n", "data.seed",
                "data.lgc_v2.seed", "data.lgc_v2.weights", "trainer.v1.trainer_mode"):
        assert fixed.get(key, "<absent>") == adaptive.get(key, "<absent>"), key


def test_the_hotter_adaptive_arm_changes_only_the_temperature_the_window_width_and_how_often_it_validates():
    """The next lever after the two arms (docs/curriculum.md): the adaptive arm sampling at 1.5 with
    1-level windows, as the study of the SFT model's samples chose."""
    adaptive, hotter = _composed_flat("grpo-smollm2-135m-1gpu-levels-adaptive",
                                      "grpo-smollm2-135m-1gpu-levels-adaptive-temperature")
    assert _differences(adaptive, hotter) == {
        "actor_rollout_ref.rollout.temperature": (1.0, 1.5),
        "distillation.teacher_models.teacher_model.inference.temperature": (1.0, 1.5),  # verl's interpolation of it
        "data.lgc_v2.curriculum.initial_window": ([1, 2], [1, 1]),
        "trainer.test_freq": (5, 12),  # fewer greedy validations: nothing learnt or served changes
    }
    assert hotter["actor_rollout_ref.rollout.val_kwargs.temperature"] == 0  # validation stays greedy


def test_the_hot_fixed_arm_is_the_third_arms_control_at_its_temperature():
    """Against the fixed arm only the temperature and validation differ; against the third arm only
    the curriculum: so fixed-hot vs third arm measures what the curriculum did at 1.5."""
    fixed, fixed_hot, hot = _composed_flat("grpo-smollm2-135m-1gpu-levels-fixed",
                                           "grpo-smollm2-135m-1gpu-levels-fixed-temperature",
                                           "grpo-smollm2-135m-1gpu-levels-adaptive-temperature")
    assert _differences(fixed, fixed_hot) == {
        "actor_rollout_ref.rollout.temperature": (1.0, 1.5),
        "distillation.teacher_models.teacher_model.inference.temperature": (1.0, 1.5),
        "trainer.test_freq": (5, 12),
    }
    assert fixed_hot["actor_rollout_ref.rollout.val_kwargs.temperature"] == 0
    only_curriculum = _differences(fixed_hot, hot)
    assert only_curriculum["data.lgc_v2.curriculum.enable"] == ("<absent>", True)
    assert all(key.startswith("data.lgc_v2.curriculum.") for key in only_curriculum), sorted(only_curriculum)


def test_the_fourth_arm_is_the_third_with_the_flat_group_rule():
    """Against the third arm only max_flat_share; against the control at 1.5 only the curriculum."""
    fixed_hot, hot, flat = _composed_flat("grpo-smollm2-135m-1gpu-levels-fixed-temperature",
                                          "grpo-smollm2-135m-1gpu-levels-adaptive-temperature",
                                          "grpo-smollm2-135m-1gpu-levels-adaptive-flat")
    assert _differences(hot, flat) == {"data.lgc_v2.curriculum.max_flat_share": ("<absent>", 0.4)}
    assert all(key.startswith("data.lgc_v2.curriculum.") for key in _differences(fixed_hot, flat))


def test_the_fifth_arm_is_the_third_starting_at_level_3_with_a_wider_band():
    """Against the third arm only the initial window and the band; against the control at 1.5 only
    the curriculum."""
    fixed_hot, hot, wide = _composed_flat("grpo-smollm2-135m-1gpu-levels-fixed-temperature",
                                          "grpo-smollm2-135m-1gpu-levels-adaptive-temperature",
                                          "grpo-smollm2-135m-1gpu-levels-adaptive-wide")
    assert _differences(hot, wide) == {
        "data.lgc_v2.curriculum.initial_window": ([1, 1], [3, 3]),
        "data.lgc_v2.curriculum.band": ([0.3, 0.7], [0.15, 0.9]),
    }
    assert all(key.startswith("data.lgc_v2.curriculum.") for key in _differences(fixed_hot, wide))


def test_issue_17s_next_grpo_is_the_fifth_arm_starting_at_level_4():
    wide, from_4 = _composed_flat("grpo-smollm2-135m-1gpu-levels-adaptive-wide",
                                  "grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-4")
    assert _differences(wide, from_4) == {"data.lgc_v2.curriculum.initial_window": ([3, 3], [4, 4]),
                                          "trainer.total_training_steps": (24, 40),
                                          "data.max_response_length": (832, 960),
                                          # verl's interpolations of data.max_response_length
                                          "actor_rollout_ref.rollout.response_length": (832, 960),
                                          "distillation.teacher_models.teacher_model.inference.response_length": (832, 960)}


def test_issue_17s_arm_after_the_thirteenth_run_samples_at_1_and_starts_where_greedy_fails():
    """Only the temperature and the initial windows differ from the from-4 arm: each type starts
    at its greedy edge (docs/results.md, thirteenth run)."""
    from_4, from_5 = _composed_flat("grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-4",
                                    "grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-5-t1.0")
    differences = _differences(from_4, from_5)
    assert differences.pop("actor_rollout_ref.rollout.temperature") == (1.5, 1.0)
    assert differences.pop("data.lgc_v2.curriculum.initial_window") == ([4, 4], "<absent>")
    per_type = {key.rsplit(".", 1)[1]: differences.pop(key)[1]
                for key in [k for k in differences if k.startswith("data.lgc_v2.curriculum.initial_window.")]}
    assert per_type == {"dyck_language": [5, 5], "dyck_language2": [5, 5], "dyck_language_reasoning_errors": [5, 5],
                        "boolean_expressions": [5, 5], "operation": [3, 3]}
    # verl's interpolations of the rollout temperature, if any, follow it
    assert all(value == (1.5, 1.0) for value in differences.values()), differences
    assert from_5["data.lgc_v2.curriculum.max_level"] == 5  # trained on the levels it is judged on



def test_the_small_steps_arm_is_the_eighth_runs_adaptive_arm_with_smaller_updates():
    """Only the update's size (lr, KL coefficient, temperature), the steps, the response length and
    the starting window differ from the adaptive arm (docs/results.md, after the nineteenth run)."""
    adaptive, small = _composed_flat("grpo-smollm2-135m-1gpu-levels-adaptive",
                                     "grpo-smollm2-135m-1gpu-levels-adaptive-small-steps")
    assert _differences(adaptive, small) == {
        "actor_rollout_ref.actor.optim.lr": (2e-5, 1e-5),
        "actor_rollout_ref.actor.kl_loss_coef": (0.001, 0.01),
        "actor_rollout_ref.rollout.temperature": (1.0, 0.8),
        "trainer.test_freq": (5, 12),
        "trainer.total_training_steps": (24, 40),
        "data.max_response_length": (832, 960),
        "data.lgc_v2.curriculum.initial_window": ([1, 2], [3, 4]),
        # verl's interpolations of the response length and the temperature
        "actor_rollout_ref.rollout.response_length": (832, 960),
        "distillation.teacher_models.teacher_model.inference.response_length": (832, 960),
        "distillation.teacher_models.teacher_model.inference.temperature": (1.0, 0.8),
    }
    # validation stays greedy: the held-out accuracy is what issue 17 judges
    assert small["actor_rollout_ref.rollout.val_kwargs.do_sample"] is False
    assert small["actor_rollout_ref.actor.use_kl_loss"] is True

GREEDY_FAILURES = "grpo-smollm2-135m-1gpu-greedy-failures"


def test_the_greedy_failures_arm_is_the_from_5_arm_on_mined_rows_with_16_samples_a_prompt():
    """What differs from the from-5 arm: no curriculum (static rows), the mine settings, 16 samples
    of 32 prompts (the same 512 responses a step, one update), and epochs that never end the run."""
    from_5, failures = _composed_flat("grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-5-t1.0", GREEDY_FAILURES)
    differences = _differences(from_5, failures)
    curriculum = {k: differences.pop(k) for k in [k for k in differences if k.startswith("data.lgc_v2.curriculum.")]}
    assert curriculum and all(now == "<absent>" for _, now in curriculum.values())
    assert differences == {
        "data.lgc_v2.mine.split": ("<absent>", "train"), "data.lgc_v2.mine.levels": ("<absent>", [3, 5]),
        "data.lgc_v2.mine.tasks_per_type": ("<absent>", 512), "data.lgc_v2.mine.seed": ("<absent>", 1),
        "actor_rollout_ref.rollout.n": (8, 16), "data.train_batch_size": (64, 32),
        "actor_rollout_ref.actor.ppo_mini_batch_size": (64, 32),
        "trainer.total_epochs": (1, 40),
        # where the fourteenth run stopped the from-5 arm: the mine stage comes on top
        "trainer.total_training_steps": (40, 32),
        # verl's interpolations of rollout.n and the actor's mini-batch
        "actor_rollout_ref.actor.rollout_n": (8, 16), "actor_rollout_ref.ref.rollout_n": (8, 16),
        "critic.rollout_n": (8, 16), "critic.ppo_mini_batch_size": (64, 32),
    }
    assert failures["data.train_batch_size"] * failures["actor_rollout_ref.rollout.n"] == \
        from_5["data.train_batch_size"] * from_5["actor_rollout_ref.rollout.n"] == 512
    for key in ("actor_rollout_ref.actor.optim.lr", "actor_rollout_ref.actor.kl_loss_coef",
                "actor_rollout_ref.rollout.temperature", "data.max_response_length"):
        assert failures[key] == from_5[key]


def _rl_parquets(tmp_path, *wanted: tuple[str, str, int]) -> dict[str, Path]:
    """RL parquets of levels 3-5, each (name, split, rows), as the recipe's mine stage writes them."""
    rl = {}
    for name, split, rows in wanted:
        rl[name] = tmp_path / f"{name}.parquet"
        subprocess.run([PYTHON, "-m", "veritas", "generate", "--format", "rl", "--split", split, "--num-samples",
                        str(rows), "--difficulty", "3-5", "--output", str(rl[name]), "--no-progress"],
                       cwd=REPO, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    return rl


def test_the_greedy_failures_arm_validates_only_on_a_mined_parquet_served_by_verls_dataset(host, tmp_path):
    """Through the launcher's --dry-run as the recipe runs it: the mined RL parquet as
    data.train_files and verl's own RLHFDataset (data.custom_cls cleared); the dynamic train split in
    its place, or a file of fewer rows than one batch, is refused."""
    rl = _rl_parquets(tmp_path, ("mined", "train", 40), ("few", "train", 8), ("val", "test", 8))
    verl_dataset = ("data.custom_cls.path=null", "data.custom_cls.name=null")
    now, _, _ = dry_run(GREEDY_FAILURES, host, tmp_path, *verl_dataset,
                        env_extra={"TRAIN_DATA": str(rl["mined"]), "VAL_DATA": str(rl["val"])})
    assert now["data"]["train_files"] == str(rl["mined"]) and now["data"]["custom_cls"]["path"] is None
    assert now["actor_rollout_ref"]["rollout"]["n"] == 16 and now["data"]["lgc_v2"]["mine"]["split"] == "train"
    dry_run(GREEDY_FAILURES, host, tmp_path, *verl_dataset, env_extra={"VAL_DATA": str(rl["val"])},
            fails="data.lgc_v2.mine is set: data.train_files must be the RL parquet of the mined tasks")
    dry_run(GREEDY_FAILURES, host, tmp_path, *verl_dataset,
            env_extra={"TRAIN_DATA": str(rl["few"]), "VAL_DATA": str(rl["val"])},
            fails="data.train_files has 8 rows, fewer than data.train_batch_size=32")
    dry_run(GREEDY_FAILURES, host, tmp_path, *verl_dataset, "++data.lgc_v2.mine.split=test",
            env_extra={"TRAIN_DATA": str(rl["mined"]), "VAL_DATA": str(rl["val"])},
            fails="training rows must not come from it")


GREEDY_FAILURES_POSITIVE = "grpo-smollm2-135m-1gpu-greedy-failures-positive"


def test_the_positive_samples_arm_is_the_greedy_failures_arm_with_only_right_answers_reinforced():
    """Only the advantage estimator differs; verl still runs it without a critic (need_critic looks
    for gae) and with the reference model the KL loss needs."""
    from verl.trainer.ppo.utils import need_critic, need_reference_policy

    from veritas.verl_adapters.compose import compose_config

    failures, positive = _composed_flat(GREEDY_FAILURES, GREEDY_FAILURES_POSITIVE)
    assert _differences(failures, positive) == {"algorithm.adv_estimator": ("grpo", "veritas_positive_samples")}
    assert positive["actor_rollout_ref.rollout.n"] == 16  # groups for the zero-variance and pass@n metrics
    assert positive["reward.custom_reward_function.reward_kwargs.partial_credit"] == 0.0  # advantages 1 or 0
    cfg = compose_config(GREEDY_FAILURES_POSITIVE, [], config_path=str(CONFIG_DIR))
    with pytest.warns(UserWarning, match="Disabled critic as algorithm.adv_estimator != gae"):
        assert need_critic(cfg) is False
    assert need_reference_policy(cfg) is True
    assert positive["critic.enable"] is None and positive["actor_rollout_ref.actor.use_kl_loss"] is True


GREEDY_FAILURES_POSITIVE_REPLAY = "grpo-smollm2-135m-1gpu-greedy-failures-positive-replay"


def test_the_replay_arm_is_the_positive_samples_arm_with_as_many_right_tasks_as_wrong_ones():
    """Only data.lgc_v2.mine.right_per_wrong differs: the mine stage adds round(1.0 x wrong) tasks the
    SFT model gets right to the failures, and the estimator reinforces their right answers."""
    positive, replay = _composed_flat(GREEDY_FAILURES_POSITIVE, GREEDY_FAILURES_POSITIVE_REPLAY)
    assert _differences(positive, replay) == {"data.lgc_v2.mine.right_per_wrong": ("<absent>", 1.0)}
    assert replay["algorithm.adv_estimator"] == "veritas_positive_samples"


GREEDY_FAILURES_POSITIVE_REPLAY_CHECKED = "grpo-smollm2-135m-1gpu-greedy-failures-positive-replay-checked"


def test_the_checked_arm_is_the_replay_arm_with_flawed_working_unrewarded():
    """Only reward_kwargs.flawed_working_score differs: a right answer whose own working is read
    wrong scores 0.0, so the positive-samples estimator gives it no gradient; partial_credit stays
    0.0, so no wrong answer scores above it."""
    replay, checked = _composed_flat(GREEDY_FAILURES_POSITIVE_REPLAY, GREEDY_FAILURES_POSITIVE_REPLAY_CHECKED)
    key = "reward.custom_reward_function.reward_kwargs."
    assert _differences(replay, checked) == {key + "flawed_working_score": ("<absent>", 0.0)}
    assert checked["algorithm.adv_estimator"] == "veritas_positive_samples" and checked[key + "partial_credit"] == 0.0
    assert checked["data.lgc_v2.mine.right_per_wrong"] == 1.0


GREEDY_FAILURES_POSITIVE_REPLAY_STRICT = "grpo-smollm2-135m-1gpu-greedy-failures-positive-replay-strict"


def test_the_strict_arm_is_the_checked_arm_with_unreadable_working_unrewarded():
    """Only reward_kwargs.unreadable_working_score differs: a right answer whose own working cannot be
    read scores 0.0 as well as one read wrong; partial_credit stays 0.0."""
    checked, strict = _composed_flat(GREEDY_FAILURES_POSITIVE_REPLAY_CHECKED, GREEDY_FAILURES_POSITIVE_REPLAY_STRICT)
    key = "reward.custom_reward_function.reward_kwargs."
    assert _differences(checked, strict) == {key + "unreadable_working_score": ("<absent>", 0.0)}
    assert strict[key + "flawed_working_score"] == 0.0 and strict[key + "partial_credit"] == 0.0
    assert strict["algorithm.adv_estimator"] == "veritas_positive_samples"
    assert strict["data.lgc_v2.mine.right_per_wrong"] == 1.0


@pytest.mark.parametrize("config, key, overrides", [
    (GREEDY_FAILURES_POSITIVE_REPLAY_CHECKED, "flawed_working_score", ()),
    (GREEDY_FAILURES_POSITIVE_REPLAY_STRICT, "unreadable_working_score",
     ("reward.custom_reward_function.reward_kwargs.flawed_working_score=0.5",)),
])
def test_the_checked_arms_validate_on_a_mined_parquet_and_their_reward_kwargs_are_checked(host, tmp_path, config, key,
                                                                                          overrides):
    """The launcher's --dry-run as the recipe runs it; the dry run checks the arm's new key against
    partial_credit (a right answer must not score below a wrong one)."""
    rl = _rl_parquets(tmp_path, ("mined", "train", 40), ("val", "test", 8))
    args = ("data.custom_cls.path=null", "data.custom_cls.name=null")
    env = {"TRAIN_DATA": str(rl["mined"]), "VAL_DATA": str(rl["val"])}
    now, argv, _ = dry_run(config, host, tmp_path, *args, env_extra=env)
    assert now["reward"]["custom_reward_function"]["reward_kwargs"][key] == 0.0
    assert now["algorithm"]["adv_estimator"] == "veritas_positive_samples"
    assert f"--config-name={config}" in argv
    dry_run(config, host, tmp_path, *args, *overrides,
            "reward.custom_reward_function.reward_kwargs.partial_credit=0.5", env_extra=env,
            fails=f"{key} 0.0 is below partial_credit 0.5")


def test_the_positive_samples_arm_validates_on_a_mined_parquet_with_its_estimator_registered(host, tmp_path):
    """The launcher's --dry-run as the recipe runs it: the check finds veritas_positive_samples
    registered because the launcher loads the registration module for it."""
    rl = _rl_parquets(tmp_path, ("mined", "train", 40), ("val", "test", 8))
    now, argv, err = dry_run(GREEDY_FAILURES_POSITIVE, host, tmp_path, "data.custom_cls.path=null",
                             "data.custom_cls.name=null", env_extra={"TRAIN_DATA": str(rl["mined"]),
                                                                     "VAL_DATA": str(rl["val"])})
    assert now["algorithm"]["adv_estimator"] == "veritas_positive_samples" and now["data"]["train_files"] == str(rl["mined"])
    assert f"--config-name={GREEDY_FAILURES_POSITIVE}" in argv
    (modules,) = [arg.partition("=")[2] for arg in argv if arg.startswith("VERL_USE_EXTERNAL_MODULES=")]
    assert "veritas.verl_ext.registration" in modules.split(",")


def test_the_dapo_arm_changes_only_the_group_filter_and_how_often_it_validates():
    """Issue 17's other prepared lever: the fixed arm with verl's DAPO group filtering."""
    fixed, dapo = _composed_flat("grpo-smollm2-135m-1gpu-levels-fixed", DAPO_ARM)
    assert _differences(fixed, dapo) == {
        "algorithm.filter_groups.enable": (False, True),
        "algorithm.filter_groups.max_inflight_gen_batches": (1, 2),
        "trainer.test_freq": (5, 12),  # fewer greedy validations: nothing learnt or served changes
    }
    assert dapo["algorithm.filter_groups.metric"] == "reward"  # the canonical right/wrong reward


def test_the_dapo_arms_replay_buffer_filters_on_the_reward():
    """What verl's own trainer builds from the arm's config, in our trainer mode: its sync replay
    buffer with the filter on (single-prompt fetches, two batches in flight)."""
    from verl.trainer.ppo.v1 import get_trainer_cls

    import veritas.verl_ext.type_metrics_trainer  # noqa: F401  registers the veritas_* trainer modes
    from veritas.verl_adapters.compose import compose_run_config

    config = compose_run_config(str(CONFIG_DIR), DAPO_ARM, [])
    trainer = object.__new__(get_trainer_cls(config.trainer.v1.trainer_mode))
    trainer.config, trainer.trainer_mode = config, config.trainer.v1.trainer_mode
    buffer = trainer._build_replay_buffer()
    assert (buffer.filter_groups_metric, buffer.gen_batch_size, buffer.max_inflight_gen_batches) == ("reward", 1, 2)
    assert buffer.train_batch_size == 64


@pytest.mark.parametrize("name", (*LEVELS_ARMS, DAPO_ARM, "grpo-smollm2-135m-1gpu-levels-adaptive-temperature",
                                  "grpo-smollm2-135m-1gpu-levels-fixed-temperature", "grpo-smollm2-135m-1gpu-levels-adaptive-flat",
                                  "grpo-smollm2-135m-1gpu-levels-adaptive-wide", "grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-4",
                                  "grpo-smollm2-135m-1gpu-levels-adaptive-wide-from-5-t1.0"))
def test_the_levels_arms_compose_and_validate(name, host, tmp_path):
    """Through the launcher's --dry-run: its dynamic train split and the trainer module the
    curriculum needs (the validation refuses a curriculum without them)."""
    now, argv, _ = dry_run(name, host, tmp_path)
    assert now["data"]["lgc_v2"]["difficulty_range"] == [1, 5] and now["data"]["train_files"] == "lgc_v2://train"
    assert now["trainer"]["v1"]["trainer_mode"] == "veritas_sync" and now["trainer"]["n_gpus_per_node"] == 1
    assert now["data"]["lgc_v2"].get("curriculum", {}).get("enable", False) is ("-adaptive" in name)
    assert f"--config-name={name}" in argv


@pytest.mark.slow
def test_verl_entry_points_take_the_config_as_we_compose_it(tmp_path):
    """verl's own @hydra.main apps, given --config-path/--config-name (and --cfg job: print, do not
    run), build the config compose_config builds."""
    import yaml
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_config

    for module, name, extra in (("verl.trainer.sft_trainer", "sft-smollm2-135m-cpu", ["model.path=/m"]),
                                ("verl.trainer.main_ppo", "grpo-qwen3-4b-instruct-8gpu", ["trainer.n_gpus_per_node=2"])):
        proc = subprocess.run([PYTHON, "-m", module, f"--config-path={CONFIG_DIR}", f"--config-name={name}",
                               "--cfg", "job", "--resolve", *extra],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
        assert proc.returncode == 0, proc.stderr[-3000:]
        ours = OmegaConf.to_container(compose_config(name, extra, config_path=str(CONFIG_DIR)), resolve=True)
        assert yaml.safe_load(proc.stdout) == ours, name


def test_retired_variable_rows():
    """Well-formed; every key one of verl's (or ours, ++); no launcher reads a variable it retired."""
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_config

    rows = retired_variable_rows()
    bases = {"sft": compose_config("sft_trainer"), "demo": compose_config("sft_trainer"), "grpo": compose_config("ppo_trainer")}
    seen = set()
    for who, var, keys, pattern in rows:
        assert who in bases and re.fullmatch(r"[A-Z][A-Z0-9_]*", var) and keys, (who, var)
        assert (who, var) not in seen
        seen.add((who, var))
        for key in keys:
            if key.startswith("++"):
                assert key[2:].startswith(("data.lgc_v2.", "reward.custom_reward_function.reward_kwargs.")), key
            elif OmegaConf.select(bases[who], key, default="<absent>", throw_on_missing=False) == "<absent>":
                # or under a mapping verl leaves open (model.override_config)
                parent = OmegaConf.select(bases[who], key.rpartition(".")[0], default=None)
                assert parent is not None and len(parent) == 0, key
        if pattern:
            re.compile(pattern)
    scripts = {"sft": SFT, "grpo": GRPO, "demo": SCRIPTS / "lgc-v2-cpu-demo.sh"}
    for who, script in scripts.items():
        code = "\n".join(line for line in script.read_text().splitlines() if not line.lstrip().startswith("#"))
        for w, var, _, _ in rows:
            if w == who:
                assert not re.search(rf"\$\{{?{var}\b", code), f"{script.name} still reads {var}"
    assert "retired-variables.tsv" in (REPO / "docs" / "training.md").read_text()


def test_the_sft_of_levels_1_to_5_changes_only_the_longest_row_it_takes():
    """The recipe's SFT for RECIPE_SFT_LEVELS=1-5: level 5's dyck_language_reasoning_errors rows
    exceed the base config's 1,536 tokens; nothing else may differ (the same steps, rows and rate)."""
    base, wide = _composed_flat("sft-smollm2-135m-1gpu", "sft-smollm2-135m-1gpu-levels-1-5")
    assert _differences(base, wide) == {"data.max_length": (1536, 2048)}
    assert wide["data.max_length"] <= wide["data.max_token_len_per_gpu"]  # a row still fits one micro-batch
