"""Compose a verl 0.9.1 Hydra config, a run config of ours or one of verl's own, and validate it.

A run config (``train/config/<name>.yaml``) extends verl's config (``defaults: [ppo_trainer, _self_]``
or ``[sft_trainer_engine, _self_]``, with ``hydra.searchpath: [pkg://verl.trainer.config]``); the
launchers run it as ``-m verl.trainer.main_ppo --config-path=<dir> --config-name=<name> OVERRIDE...``
(GRPO through ``veritas.verl_adapters.main_ppo``, which runs this module's checks first) and compose
it here with the same three things.  The only difference: verl's config package is
searched as the directory it is (``file://``), so that composing does not import verl (~5 s).
Hydra merges keys a run config adds without complaint, so every key the file sets must also be a
key of verl's config (a typo fails), except under a section verl leaves open (an empty mapping
such as ``model.override_config``), one of ours (``data.lgc_v2``), or one verl passes on as
keyword arguments (``ray_kwargs.ray_init``: a parameter of ``ray.init``).

Without ``--config-path`` the name is one of verl's own configs, as the trainers' entry points
compose them:

    verl.trainer.main_ppo     @hydra.main(config_path="config", config_name="ppo_trainer")
    verl.trainer.sft_trainer  @hydra.main(config_path="config", config_name="sft_trainer_engine")

(``sft_trainer`` is accepted as a name for ``sft_trainer_engine``; verl 0.9.1 has no
``sft_trainer.yaml``.)  ``validate_ppo_config`` runs what ``main_ppo.main`` runs before training
(``auto_set_device`` and ``verl.utils.config.validate_config``) plus checks of our own: legacy
top-level reward keys that verl 0.9.1 silently ignores, interpolations that do not resolve, the
custom dataset class and reward function (loaded through verl's own loaders, settings checked),
and a validation set that would be the training split.

CLI (the launchers, before every run and for ``--dry-run``)::

    python -m veritas.verl_adapters.compose [--config-path DIR] --config-name NAME [--expect ppo|sft] \\
        [--validate] [--print | --get KEY ... | --trained-types] [--mine] [--n-gpus-per-node N] -- OVERRIDE...

Exit 0 when it composes (and validates); otherwise one line ``error: ...`` on stderr and exit 1.
``--print`` writes the resolved config as YAML to stdout, ``--get`` the resolved value of each KEY
(one line each, lists and mappings as JSON), ``--mine`` the recipe's mine settings
(``data.lgc_v2.mine``) as one line; verl's own chatter goes to stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import warnings
from typing import Any, Sequence

CONFIG_ALIASES = {"sft_trainer": "sft_trainer_engine"}
# What a run config extends, by trainer: main_ppo's and sft_trainer's own config names.
VERL_BASES = {"ppo": "ppo_trainer", "sft": "sft_trainer_engine"}
VERL_SEARCHPATH = "pkg://verl.trainer.config"
# Sections verl's configs do not declare: ours (read by our dataset class), and the keyword
# arguments verl 0.9.1 passes to the custom reward function (verl/trainer/ppo/reward.py reads
# reward_kwargs with .get; our reward function checks them: check_reward_kwargs below).
OPEN_SECTIONS = ("data.lgc_v2", "reward.custom_reward_function.reward_kwargs")
# Sections verl hands on as keyword arguments (verl/trainer/main_ppo.py: ray.init(**ray_kwargs.ray_init)):
# a key verl's config lacks must be a parameter of the callee.
KWARG_SECTIONS = {"ray_kwargs.ray_init": "ray.init"}

# Top-level sections of verl's legacy_reward_impl.yaml: composed into every ppo_trainer config,
# but verl 0.9.1's trainers never read them (only fully_async_policy migrates them).
_LEGACY_REWARD_SECTIONS = ("custom_reward_function", "reward_model", "sandbox_fusion")


class ConfigError(ValueError):
    """A config that composes badly or would fail (or silently misbehave) in training."""


def one_line(exc: BaseException) -> str:
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or type(exc).__name__


def verl_config_dir() -> str:
    """verl's ``verl/trainer/config`` directory, found without importing verl (slow)."""
    spec = importlib.util.find_spec("verl")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("verl is not installed in this Python environment")
    path = os.path.join(list(spec.submodule_search_locations)[0], "trainer", "config")
    if not os.path.isdir(path):
        raise ConfigError(f"verl's config directory {path} is missing")
    return path


def _compose(config_dir: str, name: str, overrides: Sequence[str]):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.initialize import get_gh_backup, restore_gh_from_backup

    backup = get_gh_backup()  # e.g. inside a Hydra app: compose in a clean instance, then restore
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=config_dir, version_base=None):
            return compose(config_name=name, overrides=list(overrides))
    finally:
        restore_gh_from_backup(backup)


def compose_config(config_name: str, overrides: Sequence[str] = (), config_path: str | None = None):
    """The DictConfig that ``@hydra.main`` builds for ``--config-path=config_path
    --config-name=config_name OVERRIDE...``; without ``config_path``, one of verl's own configs
    (``config_name`` ppo_trainer, sft_trainer_engine, ...) as verl's entry points compose it."""
    if config_path is not None:
        return compose_run_config(config_path, config_name, overrides)
    name = CONFIG_ALIASES.get(config_name, config_name)
    config_dir = verl_config_dir()
    if not os.path.isfile(os.path.join(config_dir, f"{name}.yaml")):
        known = sorted(f[:-5] for f in os.listdir(config_dir) if f.endswith(".yaml") and not f.startswith("_"))
        raise ConfigError(f"no verl config named {config_name!r}; known: {', '.join(known + sorted(CONFIG_ALIASES))}")
    try:
        return _compose(config_dir, name, overrides)
    except Exception as exc:  # hydra/omegaconf errors: a bad override or config
        raise ConfigError(one_line(exc)) from exc


def _shown(path: str) -> str:
    """A file path as the user would type it: relative to the working directory when inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _load_yaml(path: str):
    from omegaconf import DictConfig, OmegaConf

    try:
        raw = OmegaConf.load(path)
    except Exception as exc:
        raise ConfigError(f"{_shown(path)}: not valid YAML: {one_line(exc)}") from exc
    if not isinstance(raw, DictConfig):
        raise ConfigError(f"{_shown(path)}: not a mapping of config keys")
    return raw


def _run_config_files(config_dir: str, name: str) -> tuple[list[tuple[str, Any]], str | None]:
    """The run config file and those of ours it extends (``defaults`` entries that are files in
    ``config_dir``), each loaded as plain YAML, and the verl config at the root of the chain."""
    files, base, todo, seen = [], None, [name], set()
    while todo:
        current = todo.pop()
        path = os.path.join(config_dir, f"{current}.yaml")
        if current in seen or not os.path.isfile(path):
            continue
        seen.add(current)
        raw = _load_yaml(path)
        files.append((path, raw))
        for entry in raw.get("defaults") or []:
            if not isinstance(entry, str) or entry == "_self_":
                continue
            if entry in VERL_BASES.values():
                base = entry
            else:
                todo.append(entry)
    return files, base


def _parameters(dotted: str) -> set[str] | None:
    """The parameter names of a function named ``module.name``; None when it cannot be imported."""
    module, name = dotted.rsplit(".", 1)
    try:
        return set(inspect.signature(getattr(importlib.import_module(module), name)).parameters)
    except Exception:  # not installed here: the call itself will tell
        return None


def _unknown_keys(node: Any, base: Any, prefix: str = "") -> list[str]:
    """Keys set in ``node`` (plain YAML) that ``base`` (verl's composed config) does not have."""
    from omegaconf import DictConfig

    out: list[str] = []
    for key in node.keys():
        path = f"{prefix}.{key}" if prefix else str(key)
        if not prefix and key in ("defaults", "hydra"):
            continue
        if path in OPEN_SECTIONS:
            continue
        if key not in base.keys() and prefix in KWARG_SECTIONS:
            parameters = _parameters(KWARG_SECTIONS[prefix])
            if parameters is not None and key not in parameters:
                out.append(f"{path} (nor a parameter of {KWARG_SECTIONS[prefix]})")
            continue
        if key not in base.keys():
            # an empty mapping in verl's config is a free-form section (override_config, ...)
            if len(base) != 0:
                out.append(path)
            continue
        child, base_child = node._get_node(key), base._get_node(key)  # unresolved: no ??? or ${} errors
        if isinstance(child, DictConfig) and isinstance(base_child, DictConfig) and len(base_child):
            out += _unknown_keys(child, base_child, path)
    return out


def compose_run_config(config_path: str, config_name: str, overrides: Sequence[str] = ()):
    """Compose ``config_path/config_name.yaml`` (a run config extending verl's) with ``overrides``,
    as ``-m verl.trainer.main_ppo --config-path=... --config-name=...`` does; refuse keys verl
    does not know.  Every error names the file."""
    config_dir = os.path.abspath(config_path)
    name = config_name[:-5] if config_name.endswith(".yaml") else config_name
    path = os.path.join(config_dir, f"{name}.yaml")
    if not os.path.isfile(path):
        known = sorted(f[:-5] for f in os.listdir(config_dir) if f.endswith(".yaml")) if os.path.isdir(config_dir) else []
        raise ConfigError(f"no run config {_shown(path)}" + (f"; known: {', '.join(known)}" if known else ""))
    files, base = _run_config_files(config_dir, name)
    searchpath = list((files[0][1].get("hydra") or {}).get("searchpath") or [])
    if VERL_SEARCHPATH not in searchpath:
        raise ConfigError(f"{_shown(path)}: hydra.searchpath must list {VERL_SEARCHPATH} (where verl's configs are)")
    # The same search path, verl's entry as a directory: composing need not import verl.
    verl_dir = "file://" + verl_config_dir()
    listed = ",".join("'" + (verl_dir if entry == VERL_SEARCHPATH else str(entry)) + "'" for entry in searchpath)
    try:
        cfg = _compose(config_dir, name, [f"hydra.searchpath=[{listed}]", *overrides])
    except Exception as exc:
        raise ConfigError(f"{_shown(path)}: {one_line(exc)}") from exc
    if base is not None:
        verl_cfg = compose_config(base)
        for file, raw in files:
            unknown = _unknown_keys(raw, verl_cfg)
            if unknown:
                raise ConfigError(
                    f"{_shown(file)}: {', '.join(unknown)}: not a key of verl's {base} config (a typo?)"
                )
    return cfg


def trainer_kind(cfg) -> str:
    """``ppo`` for a composed ppo_trainer config, ``sft`` for sft_trainer_engine."""
    return "ppo" if "actor_rollout_ref" in cfg else "sft"


def _leaves(node: Any, prefix: str):
    from omegaconf import DictConfig, OmegaConf

    if isinstance(node, DictConfig):
        for key in node.keys():
            if not OmegaConf.is_missing(node, key):
                yield from _leaves(node[key], f"{prefix}.{key}")
    else:
        yield prefix, node


def _legacy_replacement(key: str) -> str:
    """Where ``migrate_legacy_reward_impl`` (fully_async only) would have moved a legacy key."""
    head, _, rest = key.partition(".")
    if head != "reward_model":
        return f"reward.{key}"
    if rest in ("num_workers", "reward_kwargs"):
        return f"reward.{rest}"
    if rest == "reward_manager":
        return "reward.reward_manager.name"
    if rest in ("reward_loop_source", "reward_loop_module_path", "reward_loop_class_name"):
        return "reward.reward_manager.source / reward.reward_manager.module.{path,name}"
    if rest == "model.path":
        return "reward.reward_model.model_path"
    return f"reward.reward_model.{rest}"


def check_legacy_reward_keys(cfg) -> None:
    """Refuse set values under the legacy top-level reward sections, which 0.9.1 ignores."""
    for section in _LEGACY_REWARD_SECTIONS:
        if section not in cfg:
            continue
        for key, value in _leaves(cfg[section], section):
            if value is not None:
                raise ConfigError(
                    f"{key}={value} is a legacy top-level key that verl 0.9.1's trainer silently ignores; "
                    f"use {_legacy_replacement(key)} instead"
                )


def _missing_keys(node: Any, prefix: str = "") -> list[str]:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    out: list[str] = []
    if isinstance(node, DictConfig):
        for key in node.keys():
            path = f"{prefix}.{key}" if prefix else str(key)
            if OmegaConf.is_missing(node, key):
                out.append(path)
            elif not OmegaConf.is_interpolation(node, key):
                out += _missing_keys(node[key], path)
    elif isinstance(node, ListConfig):
        for i, item in enumerate(node):
            out += _missing_keys(item, f"{prefix}[{i}]")
    return out


def _check_resolves(cfg, unused_sections: Sequence[str] = ()) -> None:
    """Every interpolation resolves and no mandatory value (``???``) is left unset, except in
    sections the run does not use."""
    from omegaconf import OmegaConf

    try:
        OmegaConf.to_container(cfg, resolve=True, throw_on_missing=False)
    except Exception as exc:
        raise ConfigError(f"config does not resolve: {one_line(exc)}") from exc
    missing = [k for k in _missing_keys(cfg) if not any(k.startswith(s + ".") for s in unused_sections)]
    if missing:
        raise ConfigError(f"mandatory value(s) not set: {', '.join(missing)}")


def _check_external_libs(cfg, keys: Sequence[str]) -> None:
    """Each module named in ``<key>`` (``model.external_lib``: verl imports it in every process that
    builds a model, e.g. veritas.verl_ext.compiled_layers) can be found, without running it."""
    import importlib.util

    from omegaconf import OmegaConf

    for key in keys:
        value = OmegaConf.select(cfg, key, default=None)
        names = [value] if isinstance(value, str) else list(value or [])
        for name in names:
            try:
                found = importlib.util.find_spec(str(name)) is not None
            except (ImportError, ValueError) as exc:
                raise ConfigError(f"{key}: {name!r} cannot be imported: {one_line(exc)}") from exc
            if not found:
                raise ConfigError(f"{key}: no module named {name!r} (verl imports it before it builds the model)")


def _check_adapters(cfg) -> list[str]:
    """Load the custom dataset class and reward function the way verl will; check our settings."""
    notes: list[str] = []
    data_cls = None
    if cfg.data.get("custom_cls") is not None and cfg.data.custom_cls.get("path"):
        from verl.utils.dataset.rl_dataset import get_dataset_class

        try:
            with contextlib.redirect_stdout(sys.stderr):
                data_cls = get_dataset_class(cfg.data)
        except Exception as exc:
            raise ConfigError(f"data.custom_cls ({cfg.data.custom_cls.path}:{cfg.data.custom_cls.name}): {one_line(exc)}") from exc
    from veritas.verl_adapters import dataset as dyn

    ours = isinstance(data_cls, type) and issubclass(data_cls, dyn.DynamicEnvDataset)
    if ours:
        try:
            dyn.check_data_files("data.train_files", cfg.data.train_files)
            if cfg.data.val_files is not None:
                dyn.check_data_files("data.val_files", cfg.data.val_files)
        except dyn.DatasetConfigError as exc:
            raise ConfigError(str(exc)) from exc
        if cfg.data.val_files is None and (cfg.trainer.get("val_before_train", True) or cfg.trainer.test_freq > 0):
            raise ConfigError(
                f"data.val_files=null (no validation set) but trainer.val_before_train={cfg.trainer.get('val_before_train', True)} "
                f"trainer.test_freq={cfg.trainer.test_freq} ask for validation: set trainer.val_before_train=false "
                "trainer.test_freq=-1 (the GRPO launcher does with VAL_DATA=none)"
            )
        try:
            dyn.DynamicEnvDataset.check_config(cfg.data)
            train_split, _, train_how = dyn._split_of(cfg.data.train_files)
            val_split, _, val_how = dyn._split_of(cfg.data.val_files)
        except dyn.DatasetConfigError as exc:
            raise ConfigError(f"data: {exc}") from exc
        if train_split and train_split == val_split:
            raise ConfigError(
                f"data.train_files and data.val_files both give the {train_split!r} split "
                f"({train_how}; {val_how}): set data.train_files=lgc_v2://train data.val_files=lgc_v2://val"
            )
        for how in (train_how, val_how):
            if how.startswith("guessed"):
                notes.append(f"split {how}")

    reward_cfg = cfg.reward.get("custom_reward_function") or {}
    if reward_cfg.get("path"):
        from verl.trainer.ppo.reward import get_custom_reward_fn

        try:
            fn = get_custom_reward_fn(cfg)
        except Exception as exc:
            raise ConfigError(f"reward.custom_reward_function ({reward_cfg.get('path')}:{reward_cfg.get('name')}): {one_line(exc)}") from exc
        from veritas.verl_adapters import reward as rew

        raw = getattr(fn, "args", (None,))[0]  # get_custom_reward_fn wraps it in a partial
        if raw is rew.compute_score:
            try:
                rew.check_reward_kwargs(dict(reward_cfg.get("reward_kwargs") or {}))
            except ValueError as exc:
                raise ConfigError(f"reward.custom_reward_function.reward_kwargs: {exc}") from exc
    elif ours:
        raise ConfigError(
            "the data are LGC-V2 tasks but reward.custom_reward_function.path is not set: verl's default "
            "reward does not know data_source lgc-v2/*; set reward.custom_reward_function.path="
            "train/tools/reward-manager.py reward.custom_reward_function.name=compute_lgc_v2_score"
        )
    return notes


VERL_TRAINER_MODES = ("sync", "colocate_async", "separate_async")
REGISTRATION_MODULE = "veritas.verl_ext.registration"  # registers our trainers, agent loop and estimator


def _registration_hint(name: str, what: str) -> str:
    """For a veritas_* name missing from a verl registry: where our registrations come from."""
    if not name.startswith("veritas_"):
        return ""
    return f"; the veritas_* {what} need VERL_USE_EXTERNAL_MODULES={REGISTRATION_MODULE} in the environment"


def _not_registered(key: str, name: str, what: str, registered) -> ConfigError:
    """The error for ``key=name`` that names no entry of a verl registry (``what``: plural noun)."""
    return ConfigError(f"{key}={name}: no such {what[:-1]} (registered: {', '.join(sorted(registered))})"
                       + _registration_hint(name, what))


def _check_trainer_mode(cfg) -> list[str]:
    """trainer.v1.trainer_mode must name a registered v1 trainer.  main_ppo looks it up in its
    TaskRunner actor, which imports the modules in VERL_USE_EXTERNAL_MODULES at ``import verl``
    as this process did, so a name missing here will be missing there."""
    mode = str((cfg.trainer.get("v1") or {}).get("trainer_mode", "sync"))
    if mode in VERL_TRAINER_MODES:
        return []
    if not cfg.trainer.get("use_v1", True):
        return [f"trainer.v1.trainer_mode={mode} is ignored: trainer.use_v1=false runs verl's legacy trainer"]
    from verl.trainer.ppo.v1 import get_trainer_cls

    try:
        get_trainer_cls(mode)
    except ValueError as exc:
        raise ConfigError(f"trainer.v1.trainer_mode: {one_line(exc)}{_registration_hint(mode, 'trainers')}") from exc
    return []


def _check_adv_estimator(cfg) -> None:
    """algorithm.adv_estimator must name a registered estimator: verl computes gae and grpo itself
    and looks any other name up (``get_adv_estimator_fn``) only when step 1's advantages are due,
    minutes into a run, in its TaskRunner, which imports the modules in VERL_USE_EXTERNAL_MODULES
    as this process did."""
    name = str(cfg.algorithm.adv_estimator)
    from verl.trainer.ppo.core_algos import ADV_ESTIMATOR_REGISTRY, AdvantageEstimator

    if name not in (AdvantageEstimator.GAE.value, AdvantageEstimator.GRPO.value) and name not in ADV_ESTIMATOR_REGISTRY:
        raise _not_registered("algorithm.adv_estimator", name, "advantage estimators", ADV_ESTIMATOR_REGISTRY)


def _check_agent_loop(cfg) -> None:
    """actor_rollout_ref.rollout.agent.default_agent_loop must name a registered agent loop: verl
    looks it up in its agent-loop workers only in step 1, minutes into a run.  Those workers import
    the modules in VERL_USE_EXTERNAL_MODULES at ``import verl``, as this process did.  Names from an
    agent_loop_config_path file are registered from that file, in the workers: not checked here."""
    agent = cfg.actor_rollout_ref.rollout.get("agent") or {}
    name = str(agent.get("default_agent_loop") or "single_turn_agent")
    if agent.get("agent_loop_config_path"):
        return
    import verl.experimental.agent_loop  # noqa: F401  (registers verl's own loops)
    from verl.experimental.agent_loop.agent_loop import _agent_loop_registry

    if name not in _agent_loop_registry:
        raise _not_registered("actor_rollout_ref.rollout.agent.default_agent_loop", name, "agent loops",
                              _agent_loop_registry)


def _check_curriculum(cfg) -> None:
    """data.lgc_v2.curriculum.enable=true works only in our v1 trainers on the dynamic train split:
    verl's own trainers would serve fixed levels without a word."""
    curriculum = (cfg.data.get("lgc_v2") or {}).get("curriculum") or {}
    if curriculum.get("enable") is not True:
        return
    from veritas.verl_adapters import dataset as dyn

    key = "data.lgc_v2.curriculum.enable=true"
    if not cfg.trainer.get("use_v1", True):
        raise ConfigError(f"{key} needs verl's v1 trainer: trainer.use_v1=false runs the legacy one")
    mode = str((cfg.trainer.get("v1") or {}).get("trainer_mode", "sync"))
    from verl.trainer.ppo.v1 import get_trainer_cls

    from veritas.verl_ext.curriculum import CurriculumMixin

    if not issubclass(get_trainer_cls(mode), CurriculumMixin):
        raise ConfigError(
            f"{key} needs trainer.v1.trainer_mode=veritas_sync (or veritas_colocate_async, veritas_separate_async) "
            f"and VERL_USE_EXTERNAL_MODULES={REGISTRATION_MODULE}; trainer mode {mode!r} serves fixed levels"
        )
    split, parquet, _ = dyn._split_of(cfg.data.train_files)
    if parquet or split != "train":
        raise ConfigError(f"{key} needs data.train_files=lgc_v2://train (tasks generated at the levels it picks)")


def data_spec(cfg, where: str = "data"):
    """``data.lgc_v2`` as the dataset reads it (``veritas.verl_adapters.dataset.DynamicSpec``, its
    ``mine`` included): our trainers read it whatever serves the rows.  Errors name ``where``."""
    from veritas.verl_adapters.dataset import DatasetConfigError, DynamicSpec

    try:
        return DynamicSpec.from_config(cfg.data)
    except DatasetConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_mine(cfg) -> None:
    """data.lgc_v2.mine: GRPO trains on the RL parquet of the tasks the SFT model got wrong (the
    recipe's mine stage writes it and passes it as data.train_files).  Generated tasks in its place
    would be another arm under this config's name, and a file of fewer rows than one batch trains
    nothing (verl drops the last partial batch)."""
    if data_spec(cfg).mine is None:
        return
    from veritas.verl_adapters import dataset as dyn

    try:
        split, _, _ = dyn._split_of(cfg.data.train_files)
    except dyn.DatasetConfigError as exc:
        raise ConfigError(f"data: {exc}") from exc
    if split:
        raise ConfigError(f"data.lgc_v2.mine is set: data.train_files must be the RL parquet of the mined tasks "
                          f"(veritas generate --format rl --tasks-from RUN), not {cfg.data.train_files}")
    rows = _parquet_rows(cfg.data.train_files)
    if rows is not None and rows < int(cfg.data.train_batch_size):
        raise ConfigError(f"data.train_files has {rows} rows, fewer than data.train_batch_size="
                          f"{cfg.data.train_batch_size}: not one step would run")


def _check_group_filtering(cfg) -> list[str]:
    """verl's DAPO group filtering (algorithm.filter_groups) evicts the groups whose rewards are all
    equal and clears them from the TransferQueue; our per-step hooks read the rows of the batch
    it kept.  The curriculum would then see only mixed groups (accuracy held near the band's
    middle, so it never moves), and the per-type metrics would count the kept groups only."""
    if not (cfg.algorithm.get("filter_groups") or {}).get("enable", False):
        return []
    if ((cfg.data.get("lgc_v2") or {}).get("curriculum") or {}).get("enable") is True:
        raise ConfigError(
            "algorithm.filter_groups.enable=true with data.lgc_v2.curriculum.enable=true: verl drops the groups "
            "whose rewards are all equal before the curriculum reads the step, so it would see only the groups "
            "kept and not move; turn one of them off")
    mode = str((cfg.trainer.get("v1") or {}).get("trainer_mode", "sync"))
    if not mode.startswith("veritas_"):
        return []
    return ["algorithm.filter_groups.enable=true: train_by_type/* metrics count the groups kept for the update "
            "(zero_variance_group_share ~0); verl's training/filter_groups/evicted_samples counts the ones it dropped"]


def _check_batch_split(cfg) -> None:
    """How the batch splits over updates and GPUs, which verl 0.9.1's validate_config leaves to a
    failure (or a silently uneven last mini-batch) in training."""
    try:
        batch, n = int(cfg.data.train_batch_size), int(cfg.actor_rollout_ref.rollout.n)
        mini = int(cfg.actor_rollout_ref.actor.ppo_mini_batch_size)
        per_node, nodes = int(cfg.trainer.n_gpus_per_node), int(cfg.trainer.nnodes)
        tp = int(cfg.actor_rollout_ref.rollout.tensor_model_parallel_size)
    except Exception:  # missing or not numbers: verl's own checks say so
        return
    if mini > 0 and batch % mini:
        raise ConfigError(f"data.train_batch_size={batch} is not a multiple of actor_rollout_ref.actor.ppo_mini_batch_size={mini}")
    if per_node * nodes > 0 and mini * n % (per_node * nodes):
        raise ConfigError(
            f"ppo_mini_batch_size x rollout.n = {mini * n} responses per update do not split evenly over "
            f"{per_node * nodes} GPUs (trainer.n_gpus_per_node x trainer.nnodes)"
        )
    if tp > 0 and per_node % tp:
        raise ConfigError(f"actor_rollout_ref.rollout.tensor_model_parallel_size={tp} does not divide trainer.n_gpus_per_node={per_node}")


def validate_ppo_config(cfg, n_gpus_per_node: int | None = None) -> list[str]:
    """Raise ConfigError unless ``cfg`` (a composed ppo_trainer config) would start training.
    Returns warnings worth showing.  ``n_gpus_per_node`` overrides trainer.n_gpus_per_node."""
    from omegaconf import open_dict

    notes: list[str] = []
    if n_gpus_per_node is not None:
        with open_dict(cfg):
            cfg.trainer.n_gpus_per_node = int(n_gpus_per_node)
    check_legacy_reward_keys(cfg)
    _check_batch_split(cfg)
    # the reward model's rollout.name is ??? by default and only read when a reward model is on
    _check_resolves(cfg, () if cfg.reward.reward_model.get("enable") else ("reward.reward_model",))
    try:
        from verl.trainer.ppo.utils import need_critic, need_reference_policy
        from verl.utils.config import validate_config
        from verl.utils.device import auto_set_device

        with contextlib.redirect_stdout(sys.stderr), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # need_critic warns that GRPO has no critic
            auto_set_device(cfg)
            validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"verl validate_config: {one_line(exc)}") from exc
    if str(cfg.algorithm.adv_estimator) == "grpo" and int(cfg.actor_rollout_ref.rollout.n) < 2:
        notes.append("GRPO with actor_rollout_ref.rollout.n < 2 has all-zero advantages: nothing is learned")
    notes += _check_trainer_mode(cfg)
    notes += _check_adapters(cfg)
    _check_external_libs(cfg, ("actor_rollout_ref.model.external_lib", "critic.model.external_lib"))
    _check_adv_estimator(cfg)
    _check_agent_loop(cfg)
    _check_curriculum(cfg)
    _check_mine(cfg)
    notes += _check_group_filtering(cfg)
    return notes


def validate_sft_config(cfg, n_gpus_per_node: int | None = None) -> list[str]:
    """Raise ConfigError unless ``cfg`` (a composed sft_trainer_engine config) passes the checks
    SFTTrainer makes before it touches a model: its config dataclasses build, the profiler
    interval is sane, the global batch splits over the GPUs."""
    from omegaconf import open_dict

    if n_gpus_per_node is not None:
        with open_dict(cfg):
            cfg.trainer.n_gpus_per_node = int(n_gpus_per_node)
    _check_resolves(cfg)
    try:
        from verl.utils.config import omega_conf_to_dataclass

        with contextlib.redirect_stdout(sys.stderr):
            for key in ("engine", "optim", "checkpoint", "profiler"):
                omega_conf_to_dataclass(cfg[key])
    except Exception as exc:
        raise ConfigError(f"verl SFT config: {one_line(exc)}") from exc
    start, end = list(cfg.trainer.profile_interval)
    if end < start or (start < 0 and end >= 0):
        raise ConfigError(f"trainer.profile_interval {[start, end]} is invalid")
    n_gpus = int(cfg.trainer.n_gpus_per_node) * int(cfg.trainer.nnodes)
    if n_gpus <= 0 or int(cfg.data.train_batch_size) % n_gpus:
        raise ConfigError(f"data.train_batch_size={cfg.data.train_batch_size} is not divisible by the {n_gpus} GPUs")
    if not cfg.model.get("path"):
        raise ConfigError("model.path is not set")
    _check_external_libs(cfg, ("model.external_lib",))
    rows = _parquet_rows(cfg.data.train_files)
    # verl drops the last partial batch: fewer rows than one batch would train nothing.
    if rows is not None and rows < int(cfg.data.train_batch_size):
        raise ConfigError(
            f"data.train_files has {rows} rows, fewer than data.train_batch_size={cfg.data.train_batch_size}: "
            "not one step would run"
        )
    return []


def _parquet_rows(files: Any) -> int | None:
    """Rows of local parquet file(s) from their footers; None when any is not a local file."""
    from omegaconf import ListConfig

    paths = list(files) if isinstance(files, (list, tuple, ListConfig)) else [files]
    if not paths or not all(isinstance(p, str) and os.path.isfile(p) for p in paths):
        return None
    try:
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    except Exception:  # unreadable: the launcher's check-data says why, verl would fail on it
        return None


def _value_line(cfg, key: str) -> str:
    import json

    from omegaconf import Container, OmegaConf

    try:
        value = OmegaConf.select(cfg, key, throw_on_missing=True, default=ConfigError)
    except Exception as exc:
        raise ConfigError(f"{key}: {one_line(exc)}") from exc
    if value is ConfigError:
        raise ConfigError(f"{key} is not a key of the composed config")
    if isinstance(value, Container):
        return json.dumps(OmegaConf.to_container(value, resolve=True))
    return "null" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m veritas.verl_adapters.compose",
        description="Compose (and validate) a verl 0.9.1 config: a run config of ours, or one of verl's own.",
    )
    parser.add_argument("--config-path", default=None,
                        help="directory of the run config (as Hydra's --config-path); default: verl's own configs")
    parser.add_argument("--config-name", required=True,
                        help="run config name (train/config/<name>.yaml), or verl's ppo_trainer / sft_trainer")
    parser.add_argument("--expect", choices=sorted(VERL_BASES), default=None,
                        help="fail unless the config is for this trainer (ppo: main_ppo, sft: sft_trainer)")
    parser.add_argument("--validate", action="store_true", help="run verl's checks and ours (imports verl: ~10 s)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--print", action="store_true", dest="print_cfg", help="print the resolved config as YAML")
    out.add_argument("--get", action="append", default=[], metavar="KEY", help="print KEY's resolved value (repeatable)")
    out.add_argument("--trained-types", action="store_true",
                     help="print the task types our dynamic dataset draws for training (data.lgc_v2: weight > 0), "
                          "comma-separated")
    parser.add_argument("--mine", action="store_true",
                        help="print data.lgc_v2.mine as 'SPLIT LO-HI TASKS_PER_TYPE SEED FIRST_SEED RIGHT_PER_WRONG' (an empty line "
                             "when unset), after any --get values")
    parser.add_argument("--n-gpus-per-node", type=int, default=None, help="override trainer.n_gpus_per_node")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, after --")
    args = parser.parse_args(argv)
    shown = args.config_name if args.config_path is None else _shown(
        os.path.join(os.path.abspath(args.config_path), args.config_name.removesuffix(".yaml") + ".yaml"))
    try:
        cfg = compose_config(args.config_name, args.overrides, config_path=args.config_path)
        kind = trainer_kind(cfg)
        if args.config_path is None and CONFIG_ALIASES.get(args.config_name, args.config_name) not in VERL_BASES.values():
            kind = None  # another of verl's configs: composes, but --validate knows only these two
        if args.expect and kind != args.expect:
            raise ConfigError(f"{shown} is not a {VERL_BASES[args.expect]} config (its defaults must extend {VERL_BASES[args.expect]})")
        notes: list[str] = []
        if args.validate:
            if kind == "ppo":
                notes = validate_ppo_config(cfg, args.n_gpus_per_node)
            elif kind == "sft":
                notes = validate_sft_config(cfg, args.n_gpus_per_node)
            else:
                raise ConfigError(f"--validate knows ppo_trainer and sft_trainer configs, not {args.config_name!r}")
        elif args.n_gpus_per_node is not None:
            from omegaconf import open_dict

            with open_dict(cfg):
                cfg.trainer.n_gpus_per_node = args.n_gpus_per_node
        if args.print_cfg:
            from omegaconf import OmegaConf

            try:
                text = OmegaConf.to_yaml(cfg, resolve=True)
            except Exception as exc:
                raise ConfigError(f"config does not resolve: {one_line(exc)}") from exc
            sys.stdout.write(text)
        if args.get:
            sys.stdout.write("".join(_value_line(cfg, key) + "\n" for key in args.get))
        if args.mine:
            mine = data_spec(cfg).mine
            print(mine.line() if mine else "")
        if args.trained_types:
            spec = data_spec(cfg, shown)  # the dataset's own reading of task_types and weights (a list, a mapping or none)
            print(",".join(t for t, w in zip(spec.task_types, spec.weights) if w > 0))
    except ConfigError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything unexpected still gets one clear line
        print(f"error: {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
        return 1
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)
    if not args.get and not args.trained_types and not args.mine:  # their output is for a program: values only
        print(f"ok: {shown} composed{' and validated' if args.validate else ''}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
