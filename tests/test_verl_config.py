"""Composing verl 0.9.1's own Hydra configs with our overrides and validating them
(veritas.verl_adapters.compose: the launchers' --dry-run).  Every test here runs verl's code."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.verl, pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed")]

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATASET_FILE = os.path.join(REPO, "train", "tools", "dataset-manager.py")
REWARD_FILE = os.path.join(REPO, "train", "tools", "reward-manager.py")

# The GRPO overrides of our launcher, minus model and GPU sizing.
GRPO = [
    "algorithm.adv_estimator=grpo",
    "data.train_files=lgc_v2://train",
    "data.val_files=lgc_v2://val",
    f"data.custom_cls.path={DATASET_FILE}",
    "data.custom_cls.name=DynamicEnvDataset",
    "data.train_batch_size=8",
    "data.max_prompt_length=1024",
    "data.max_response_length=2048",
    "+data.lgc_v2.size=5000",
    "+data.lgc_v2.difficulty_range=[1,5]",
    "+data.lgc_v2.reasoning=true",
    f"reward.custom_reward_function.path={REWARD_FILE}",
    "reward.custom_reward_function.name=compute_score",
    "+reward.custom_reward_function.reward_kwargs.format_penalty=0.1",
    "actor_rollout_ref.model.path=Qwen/Qwen2.5-0.5B-Instruct",
    "actor_rollout_ref.actor.ppo_mini_batch_size=8",
    "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2",
    "actor_rollout_ref.actor.use_kl_loss=true",
    "actor_rollout_ref.rollout.name=vllm",
    "actor_rollout_ref.rollout.n=4",
    "actor_rollout_ref.rollout.tensor_model_parallel_size=1",
    "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2",
    "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=2",
    "trainer.n_gpus_per_node=1",
]


@pytest.fixture(scope="module")
def compose():
    from veritas.verl_adapters.compose import compose_config

    return compose_config


@pytest.fixture(scope="module")
def grpo_cfg(compose):
    return compose("ppo_trainer", GRPO)


def _variant(cfg, **dotlist):
    """A copy of ``cfg`` with ``key=value`` overrides (values parsed as YAML, like Hydra's).
    Composing costs about a second each; the composition itself is tested on GRPO as a whole."""
    import copy

    import yaml
    from omegaconf import OmegaConf

    out = copy.deepcopy(cfg)
    OmegaConf.set_struct(out, False)
    for key, value in dotlist.items():
        OmegaConf.update(out, key.replace("__", "."), yaml.safe_load(value), merge=False, force_add=True)
    OmegaConf.set_struct(out, True)
    return out


def test_grpo_config_composes_from_verls_directory_and_passes_validate_config(compose, grpo_cfg):
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config

    cfg = grpo_cfg
    assert cfg.algorithm.adv_estimator == "grpo"
    assert cfg.data.custom_cls.name == "DynamicEnvDataset" and cfg.data.lgc_v2.difficulty_range == [1, 5]
    assert cfg.reward.custom_reward_function.reward_kwargs.format_penalty == 0.1
    assert cfg.trainer.use_v1 is True  # the trainer whose behaviour the adapters target
    assert validate_ppo_config(_variant(cfg)) == []
    # the GPU count is applied before the batch-size checks: 8 prompts x 4 samples over 3 GPUs fails
    with pytest.raises(ConfigError, match="32 responses per update do not split evenly over 3 GPUs"):
        validate_ppo_config(_variant(cfg), n_gpus_per_node=3)
    with pytest.raises(ConfigError, match="data.train_batch_size=12 is not a multiple of .*ppo_mini_batch_size=8"):
        validate_ppo_config(_variant(cfg, data__train_batch_size="12"))


def test_verl_trainer_entry_points_are_what_we_compose():
    """main_ppo and sft_trainer are Hydra apps on verl's config dir with these config names."""
    import verl.trainer.main_ppo as main_ppo
    import verl.trainer.sft_trainer as sft_trainer

    from veritas.verl_adapters.compose import CONFIG_ALIASES, verl_config_dir

    for module, name in ((main_ppo, "ppo_trainer"), (sft_trainer, "sft_trainer_engine")):
        source = open(module.__file__).read()
        assert f'@hydra.main(config_path="config", config_name="{name}"' in source
        assert os.path.samefile(os.path.join(os.path.dirname(module.__file__), "config"), verl_config_dir())
    assert CONFIG_ALIASES["sft_trainer"] == "sft_trainer_engine"


def test_legacy_top_level_reward_keys_are_refused(compose, grpo_cfg):
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config

    # through Hydra once: the key exists in verl's legacy_reward_impl.yaml, so it composes silently
    cfg = compose("ppo_trainer", GRPO + [f"custom_reward_function.path={REWARD_FILE}"])
    with pytest.raises(ConfigError, match="legacy top-level key .* use reward.custom_reward_function.path"):
        validate_ppo_config(cfg)
    for dotlist, words in [
        ({"custom_reward_function__name": "compute_score"}, "use reward.custom_reward_function.name"),
        ({"reward_model__enable": "true"}, "use reward.reward_model.enable"),
        ({"reward_model__reward_manager": "naive"}, "use reward.reward_manager.name"),
        ({"reward_model__model__path": "/m"}, "use reward.reward_model.model_path"),
        ({"sandbox_fusion__url": "http://x"}, "use reward.sandbox_fusion.url"),
    ]:
        with pytest.raises(ConfigError, match="legacy top-level key") as err:
            validate_ppo_config(_variant(grpo_cfg, **dotlist))
        assert words in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "dotlist, words",
    [
        ({"data__val_files": "lgc_v2://train"}, "both give the 'train' split"),
        ({"data__lgc_v2__task_types": "[nope]"}, "unknown task type 'nope'"),
        ({"data__lgc_v2__sizes": "10"}, "unknown data.lgc_v2 keys"),
        ({"reward__custom_reward_function__path": "null"}, "reward.custom_reward_function.path is not set"),
        ({"reward__custom_reward_function__reward_kwargs__format_penality": "1"}, "unknown key(s) ['format_penality']"),
        ({"reward__custom_reward_function__reward_kwargs__partial_credit": "1.0"}, "partial_credit must be in [0, 1)"),
        ({"reward__custom_reward_function__reward_kwargs__partial_credit": "0.5",
          "reward__custom_reward_function__reward_kwargs__flawed_working_score": "0.0"},
         "flawed_working_score 0.0 is below partial_credit 0.5"),
        ({"reward__custom_reward_function__reward_kwargs__partial_credit": "0.5",
          "reward__custom_reward_function__reward_kwargs__unreadable_working_score": "0.0"},
         "unreadable_working_score 0.0 is below partial_credit 0.5"),
        ({"reward__custom_reward_function__reward_kwargs__unreadable_working_score": "2"},
         "unreadable_working_score must be in [0, 1]"),
        ({"data__custom_cls__name": "NoSuchClass"}, "data.custom_cls"),
        ({"reward__custom_reward_function__path": "/nonexistent/reward.py"}, "reward.custom_reward_function"),
        ({"actor_rollout_ref__rollout__name": "???"}, "not set: actor_rollout_ref.rollout.name"),
        ({"data__train_files": "${oc.env:VERITAS_NO_SUCH_VAR}"}, "does not resolve"),
        # RL data: an lgc_v2:// URI or existing parquet(s), named by key and value
        ({"data__train_files": "/nonexistent/x.parquet"},
         "data.train_files=/nonexistent/x.parquet: /nonexistent/x.parquet does not exist"),
        ({"data__val_files": "~/data/rlhf/gsm8k/test.parquet"}, "data.val_files=~/data/rlhf/gsm8k/test.parquet: "),
        ({"data__val_files": "lgc_v2"}, "data.val_files=lgc_v2: neither an existing .parquet file"),
        ({"data__val_files": "null"}, "data.val_files=null (no validation set) but trainer.val_before_train=True"),
        ({"data__val_files": "null", "trainer__val_before_train": "false", "trainer__test_freq": "5"},
         "trainer.val_before_train=False trainer.test_freq=5 ask for validation: set trainer.val_before_train=false "
         "trainer.test_freq=-1"),
    ],
)
def test_bad_adapter_settings_are_refused_with_a_clear_message(grpo_cfg, dotlist, words):
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config

    with pytest.raises(ConfigError) as err:
        validate_ppo_config(_variant(grpo_cfg, **dotlist))
    assert words in str(err.value), str(err.value)


def test_no_validation_set_with_validation_off(grpo_cfg):
    """VAL_DATA=none: data.val_files=null passes when nothing would validate."""
    from veritas.verl_adapters.compose import validate_ppo_config

    validate_ppo_config(_variant(grpo_cfg, data__val_files="null", trainer__val_before_train="false",
                                 trainer__test_freq="-1"))


def test_bad_overrides_and_names_fail_to_compose(compose):
    from veritas.verl_adapters.compose import ConfigError

    with pytest.raises(ConfigError, match="data.nope"):
        compose("ppo_trainer", GRPO + ["data.nope=1"])
    with pytest.raises(ConfigError, match="no verl config named"):
        compose("ppo_trainerz", [])
    with pytest.raises(ConfigError):
        compose("ppo_trainer", ["algorithm.adv_estimator=[unclosed"])


def test_sft_config_composes_and_validates(compose):
    from veritas.verl_adapters.compose import ConfigError, validate_sft_config

    sft = [
        "data.train_files=/data/sft/train.parquet",
        "data.val_files=/data/sft/val.parquet",
        "data.messages_key=messages",
        "data.train_batch_size=32",
        "model.path=HuggingFaceTB/SmolLM2-135M-Instruct",
        "trainer.n_gpus_per_node=1",
    ]
    cfg = compose("sft_trainer", sft)
    assert cfg.data.messages_key == "messages" and cfg.model.path.endswith("SmolLM2-135M-Instruct")
    assert validate_sft_config(cfg) == []
    with pytest.raises(ConfigError, match="not divisible"):
        validate_sft_config(_variant(cfg), n_gpus_per_node=3)
    with pytest.raises(ConfigError, match="model.path"):
        validate_sft_config(_variant(cfg, model__path="null"))
    with pytest.raises(ConfigError, match="profile_interval"):
        validate_sft_config(_variant(cfg, trainer__profile_interval="[5, 2]"))
    # model.external_lib: verl imports it in every process that builds the model, after the GPUs are taken
    assert validate_sft_config(_variant(cfg, model__external_lib="veritas.verl_ext.compiled_layers")) == []
    with pytest.raises(ConfigError, match="model.external_lib: no module named 'veritas.verl_ext.compiled_layerz'"):
        validate_sft_config(_variant(cfg, model__external_lib="veritas.verl_ext.compiled_layerz"))
    with pytest.raises(ConfigError, match="model.external_lib: 'nope.layers' cannot be imported"):
        validate_sft_config(_variant(cfg, model__external_lib="[json, nope.layers]"))


def test_grpo_external_lib_is_found_before_any_gpu_time(grpo_cfg):
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config

    validate_ppo_config(_variant(grpo_cfg, actor_rollout_ref__model__external_lib="veritas.verl_ext.compiled_layers"))
    with pytest.raises(ConfigError, match="actor_rollout_ref.model.external_lib: no module named"):
        validate_ppo_config(_variant(grpo_cfg, actor_rollout_ref__model__external_lib="veritas.no_such_module"))


def test_cli_validate_print_and_error_lines(capsys):
    import yaml

    from veritas.verl_adapters.compose import main

    assert main(["--config-name", "ppo_trainer", "--validate", "--print", "--n-gpus-per-node", "1", "--", *GRPO]) == 0
    out, err = capsys.readouterr()
    printed = yaml.safe_load(out)  # stdout is only the YAML: verl's chatter went to stderr
    assert printed["algorithm"]["adv_estimator"] == "grpo" and printed["data"]["lgc_v2"]["size"] == 5000
    assert err.strip().splitlines()[-1] == "ok: ppo_trainer composed and validated"

    assert main(["--config-name", "ppo_trainer", "--validate", "--", *GRPO, "custom_reward_function.path=x.py"]) == 1
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "reward.custom_reward_function.path" in lines[0] and out == ""


def test_cli_as_a_process_exits_1_with_one_error_line():
    """The launchers run it as ``python -m``: a bad override must give exit 1 and one line."""
    run = subprocess.run(
        [sys.executable, "-m", "veritas.verl_adapters.compose", "--config-name", "ppo_trainer", "--", "data.nope=1"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=dict(os.environ, PYTHONPATH=REPO),
    )
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "data.nope" in lines[0], run.stderr


def test_trainer_mode_must_be_registered(grpo_cfg):
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config

    with pytest.raises(ConfigError, match=r"trainer.v1.trainer_mode: Unknown trainer 'veritas_nope'.*"
                                          r"VERL_USE_EXTERNAL_MODULES=veritas.verl_ext.registration"):
        validate_ppo_config(_variant(grpo_cfg, trainer__v1__trainer_mode="veritas_nope"))
    with pytest.raises(ConfigError, match="Unknown trainer 'nope'. Available trainers: colocate_async"):
        validate_ppo_config(_variant(grpo_cfg, trainer__v1__trainer_mode="nope"))
    assert validate_ppo_config(_variant(grpo_cfg, trainer__use_v1="false", trainer__v1__trainer_mode="nope")) == [
        "trainer.v1.trainer_mode=nope is ignored: trainer.use_v1=false runs verl's legacy trainer"]
    import veritas.verl_ext.registration  # noqa: F401  what the launcher's VERL_USE_EXTERNAL_MODULES loads

    assert validate_ppo_config(_variant(grpo_cfg, trainer__v1__trainer_mode="veritas_sync")) == []


def test_agent_loop_must_be_registered(grpo_cfg):
    """verl looks the agent loop up only in step 1, minutes into a run: compose refuses it first."""
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config

    def with_loop(name):
        return _variant(grpo_cfg, actor_rollout_ref__rollout__agent__default_agent_loop=name)

    with pytest.raises(ConfigError, match=r"default_agent_loop=veritas_nope: no such agent loop .*"
                                          r"VERL_USE_EXTERNAL_MODULES=veritas.verl_ext.registration"):
        validate_ppo_config(with_loop("veritas_nope"))
    with pytest.raises(ConfigError, match=r"default_agent_loop=single_turn_agnet: no such agent loop "
                                          r"\(registered: .*single_turn_agent"):
        validate_ppo_config(with_loop("single_turn_agnet"))
    assert validate_ppo_config(with_loop("single_turn_agent")) == []
    import veritas.verl_ext.registration  # noqa: F401  what the launcher's VERL_USE_EXTERNAL_MODULES loads

    assert validate_ppo_config(with_loop("veritas_single_turn")) == []


def test_curriculum_needs_our_v1_trainer_and_the_dynamic_train_split(grpo_cfg):
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config

    on = {"data__lgc_v2__curriculum__enable": "true"}
    with pytest.raises(ConfigError, match="curriculum.enable=true needs trainer.v1.trainer_mode=veritas_sync"):
        validate_ppo_config(_variant(grpo_cfg, **on))
    with pytest.raises(ConfigError, match="needs verl's v1 trainer"):
        validate_ppo_config(_variant(grpo_cfg, trainer__use_v1="false", **on))
    with pytest.raises(ConfigError, match=r"data\.lgc_v2\.curriculum\.band"):
        validate_ppo_config(_variant(grpo_cfg, data__lgc_v2__curriculum__band="[0.9, 0.1]"))
    import veritas.verl_ext.registration  # noqa: F401  what the launcher's VERL_USE_EXTERNAL_MODULES loads

    assert validate_ppo_config(_variant(grpo_cfg, trainer__v1__trainer_mode="veritas_sync", **on)) == []
    with pytest.raises(ConfigError, match="needs data.train_files=lgc_v2://train"):
        validate_ppo_config(_variant(grpo_cfg, trainer__v1__trainer_mode="veritas_sync",
                                     data__train_files="lgc_v2://test", **on))


def test_group_filtering_is_refused_with_the_curriculum_and_noted_with_our_metrics(grpo_cfg):
    """verl's DAPO filter drops equal-reward groups before our step hooks read the step's rows:
    the curriculum would see only the kept groups, so the two are refused together."""
    from veritas.verl_adapters.compose import ConfigError, validate_ppo_config
    import veritas.verl_ext.registration  # noqa: F401  what the launcher's VERL_USE_EXTERNAL_MODULES loads

    ours = {"trainer__v1__trainer_mode": "veritas_sync"}
    dapo = {"algorithm__filter_groups__enable": "true", "algorithm__filter_groups__metric": "acc"}
    with pytest.raises(ConfigError, match="filter_groups.enable=true with data.lgc_v2.curriculum.enable=true"):
        validate_ppo_config(_variant(grpo_cfg, data__lgc_v2__curriculum__enable="true", **ours, **dapo))
    notes = validate_ppo_config(_variant(grpo_cfg, **ours, **dapo))
    assert any("train_by_type/* metrics count the groups kept" in n for n in notes)
    assert validate_ppo_config(_variant(grpo_cfg, **dapo)) == []  # verl's own trainer: no metrics of ours
    assert validate_ppo_config(_variant(grpo_cfg, **ours)) == []


# ------------------------------------------------------------------ run configs (train/config)

CONFIG_DIR = os.path.join(REPO, "train", "config")


def _run_config(tmp_path, name, text):
    (tmp_path / f"{name}.yaml").write_text(text)
    return str(tmp_path)


_HEAD = "hydra:\n  searchpath:\n    - pkg://verl.trainer.config\n\ndefaults:\n  - {base}\n  - _self_\n\n"


def test_run_config_composes_as_verls_base_plus_the_file(compose):
    from veritas.verl_adapters.compose import trainer_kind

    cfg = compose("grpo-smollm2-135m-1gpu", ["data.train_batch_size=16"], config_path=CONFIG_DIR)
    assert trainer_kind(cfg) == "ppo" and cfg.algorithm.adv_estimator == "grpo"
    assert cfg.data.train_batch_size == 16 and cfg.data.lgc_v2.difficulty_range == [2, 3]
    # a key of verl's that the file does not set keeps verl's default
    assert cfg.actor_rollout_ref.actor.clip_ratio == compose("ppo_trainer").actor_rollout_ref.actor.clip_ratio
    sft = compose("sft-smollm2-135m-cpu", ["trainer.total_training_steps=7"], config_path=CONFIG_DIR)
    assert trainer_kind(sft) == "sft" and sft.trainer.save_freq == 7  # interpolated in the file


def test_run_config_typos_and_missing_searchpath_name_the_file(tmp_path, compose):
    from veritas.verl_adapters.compose import ConfigError

    path = _run_config(tmp_path, "typo", _HEAD.format(base="ppo_trainer") + "trainer:\n  total_trainig_steps: 5\n")
    with pytest.raises(ConfigError, match=r"typo\.yaml: trainer\.total_trainig_steps: not a key of verl's ppo_trainer"):
        compose("typo", [], config_path=path)
    # open sections take any key: verl's empty mappings and our data.lgc_v2
    ok = _HEAD.format(base="sft_trainer_engine") + "model:\n  override_config:\n    rope_theta: 1\n"
    assert compose("ok", [], config_path=_run_config(tmp_path, "ok", ok)).model.override_config.rope_theta == 1
    # and the reward function's keyword arguments, which verl reads but does not declare (our
    # reward checks them in the dry run)
    kwargs = _HEAD.format(base="ppo_trainer") + "reward:\n  custom_reward_function:\n    reward_kwargs:\n      partial_credit: 0.5\n"
    reward = compose("kwargs", [], config_path=_run_config(tmp_path, "kwargs", kwargs)).reward.custom_reward_function
    assert reward.reward_kwargs.partial_credit == 0.5
    # and what verl passes to ray.init, as far as ray.init takes it
    ray_init = _HEAD.format(base="ppo_trainer") + "ray_kwargs:\n  ray_init:\n    include_dashboard: false\n"
    cfg = compose("rayok", [], config_path=_run_config(tmp_path, "rayok", ray_init))
    assert cfg.ray_kwargs.ray_init.include_dashboard is False and cfg.ray_kwargs.ray_init.num_cpus is None
    path = _run_config(tmp_path, "raytypo", ray_init.replace("include_dashboard", "include_dashbord"))
    with pytest.raises(ConfigError, match=r"raytypo\.yaml: ray_kwargs\.ray_init\.include_dashbord \(nor a parameter of ray\.init\): "
                                          r"not a key of verl's ppo_trainer"):
        compose("raytypo", [], config_path=path)
    path = _run_config(tmp_path, "nosearch", "defaults:\n  - ppo_trainer\n  - _self_\n")
    with pytest.raises(ConfigError, match=r"nosearch\.yaml: hydra\.searchpath must list pkg://verl\.trainer\.config"):
        compose("nosearch", [], config_path=path)
    with pytest.raises(ConfigError, match=r"no run config .*absent\.yaml; known: kwargs, nosearch, ok, rayok, raytypo, typo"):
        compose("absent", [], config_path=path)
    path = _run_config(tmp_path, "badyaml", "data: [unclosed\n")
    with pytest.raises(ConfigError, match=r"badyaml\.yaml: not valid YAML"):
        compose("badyaml", [], config_path=path)
    with pytest.raises(ConfigError, match=r"grpo-smollm2-135m-1gpu\.yaml: .*data\.nope"):
        compose("grpo-smollm2-135m-1gpu", ["data.nope=1"], config_path=CONFIG_DIR)


def test_cli_get_and_expect(capsys):
    from veritas.verl_adapters.compose import main

    args = ["--config-path", CONFIG_DIR, "--config-name", "sft-smollm2-135m-cpu"]
    assert main([*args, "--expect", "sft", "--get", "optim.lr", "--get", "checkpoint.save_contents",
                 "--get", "trainer.max_ckpt_to_keep", "--", "optim.lr=1e-3"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["0.001", '["model"]', "1"] and err == ""
    assert main([*args, "--expect", "ppo", "--get", "optim.lr"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "sft-smollm2-135m-cpu.yaml is not a ppo_trainer config (its defaults must extend" in err
    assert main([*args, "--get", "data.nope"]) == 1
    assert "data.nope is not a key" in capsys.readouterr().err


def test_cli_trained_types_reads_the_weights_as_the_dataset_does(tmp_path, capsys):
    """--trained-types (the recipe's types for the GRPO macro): weight > 0, whether the weights are
    a list, a mapping or absent; weights that do not fit the types are one clear error."""
    from veritas.verl_adapters.compose import main

    def trained(lgc_v2: str, *overrides: str) -> tuple[int, str, str]:
        _run_config(tmp_path, "mix", _HEAD.format(base="ppo_trainer") + "data:\n  lgc_v2:\n" + lgc_v2)
        rc = main(["--config-path", str(tmp_path), "--config-name", "mix", "--trained-types", "--", *overrides])
        out, err = capsys.readouterr()
        return rc, out, err

    types = "    task_types: [sudoku, operation, dyck_language]\n"
    assert trained(types + "    weights: [0, 2.5, 1e-3]\n") == (0, "operation,dyck_language\n", "")
    assert trained(types + "    weights: {sudoku: 1}\n") == (0, "sudoku\n", "")
    assert trained(types) == (0, "sudoku,operation,dyck_language\n", "")
    rc, out, err = trained(types + "    weights: [1, 1]\n")
    assert rc == 1 and out == "" and "mix.yaml: data.lgc_v2.weights has 2 entries for 3 task types" in err
    assert main(["--config-path", CONFIG_DIR, "--config-name", "grpo-smollm2-135m-1gpu", "--trained-types"]) == 0
    assert capsys.readouterr().out == "boolean_expressions,operation\n"
