"""verl dataset of LGC-V2 tasks generated on the fly: ``DynamicEnvDataset`` (alias
``LGCV2DynamicDataset``).

verl 0.9.1 builds it twice with the same data config, through ``data.custom_cls.{path,name}``::

    cls(data_files=data.train_files, tokenizer=, processor=, config=data, max_samples=data.train_max_samples)
    cls(data_files=data.val_files,   tokenizer=, processor=, config=data, max_samples=data.val_max_samples)

so ``data_files`` is the only thing that tells the training set from the validation set.  Rules:

* ``lgc_v2://train`` / ``lgc_v2://val`` / ``lgc_v2://test`` (or ``lgc-v2://...``): tasks drawn
  on the fly from that split of the registry's disjoint seed ranges.  The recommended setup is
  ``data.train_files=lgc_v2://train data.val_files=lgc_v2://val``.
* existing ``.parquet`` files, or directories of them (their ``*.parquet``, sorted): served as
  they are, which must be our RL parquet (``veritas generate --format rl``); the same item schema
  either way.
* None (``data.val_files=null``, the launchers' ``VAL_DATA=none``): the val split.  verl 0.9.1
  builds a validation set even then; with ``trainer.val_before_train=false`` and
  ``trainer.test_freq=-1`` it is never served.
* anything else (e.g. verl's default ``~/data/rlhf/gsm8k/test.parquet``, a missing path):
  dynamic, with the split guessed from the file name: ``val``/``valid``/``test``/``eval`` in it
  means the val split, otherwise train; logged as a warning.  The launchers refuse such paths
  before they start (:func:`check_data_files`, run by ``veritas.verl_adapters.compose``).

Items are what ``RLHFDataset.__getitem__`` returns for a row of our RL parquet: the row of
``veritas.data.formats.rl_row`` (``data_source``, ``prompt``, ``ability``, ``reward_model``,
``extra_info``) plus ``raw_prompt``, ``dummy_tensor``, ``index``, ``tools_kwargs``,
``interaction_kwargs``; prompts are not tokenized (verl 0.9.1's agent loop applies the chat
template to ``raw_prompt``).

Item ``i`` depends only on (config, split, i): the task type and level come from a hash of
(seed, split, i), the task seed from a fixed permutation of ``i`` inside the split's seed range,
so every dataloader worker, process and restart sees the same task at the same index (verl
checkpoints the sampler position), and no two indices share a task.

Configuration, all optional, under the data config (``+data.lgc_v2.<key>=<value>``):

    task_types        list of type names; default: every registered type
    weights           list aligned with task_types, or {type: weight}; default: equal
    difficulty        one level 1..10 for every task; default: the registry's level mix
    difficulty_range  [lo, hi]: a level uniform in lo..hi per task (not with difficulty)
    language          en | zh: types without it use en; default: the registry's mix per type
    seed              int, default 0: which tasks (the sampler's order is data.seed's business)
    size              virtual length of the train split, default 100000
    val_size          virtual length of the val/test split, default 256
    system_prompt     text of a system message; default none
    prompt_template   text with ``{prompt}`` where the task goes; default the task alone
    reasoning         true: ask for reasoning in <think>...</think> before the answer; default false
    curriculum        adaptive per-type levels for the train split (veritas.verl_adapters.curriculum,
                      docs/curriculum.md); default off
    mine              not read here: the recipe's mine stage (veritas.data.mine.MineSpec), which trains
                      on an RL parquet of the tasks the SFT model gets wrong; validated with the rest

Besides plain indices, ``__getitem__`` takes a :class:`~veritas.verl_adapters.curriculum.CurriculumItem`
``(index, task_type, level_lo, level_hi)`` from the curriculum sampler: item ``index`` with its
type's level window replaced by ``[level_lo, level_hi]`` (the level inside it still from the
index's hash).  Plain indices are served exactly as without a curriculum.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
from typing import Any

from veritas.data import formats
from veritas.data.mine import MineError, MineSpec
from veritas.envs.lgc_v2 import registry
from veritas.envs.lgc_v2.selection import Selection, SelectionError, parse_level_range
from veritas.verl_adapters.curriculum import CurriculumConfig, CurriculumConfigError, CurriculumItem

try:
    import torch
    from torch.utils.data import Dataset as _Dataset
except ModuleNotFoundError:  # verl always has torch; the planner and rows work without it
    torch = None
    _Dataset = object

logger = logging.getLogger(__name__)

CONFIG_KEY = "lgc_v2"
URI_SCHEMES = ("lgc_v2://", "lgc-v2://")
DEFAULTS: dict[str, Any] = {
    "task_types": None,
    "weights": None,
    "difficulty": None,
    "difficulty_range": None,
    "language": None,
    "seed": 0,
    "size": 100_000,
    "val_size": 256,
    "system_prompt": None,
    "prompt_template": None,
    "reasoning": False,
    "curriculum": None,
    "mine": None,
}
# keys of every item, in RLHFDataset's order of adding them
ITEM_KEYS = (
    "data_source", "prompt", "ability", "reward_model", "extra_info",
    "raw_prompt", "dummy_tensor", "index", "tools_kwargs", "interaction_kwargs",
)
_VAL_NAME_HINTS = ("val", "valid", "test", "eval")
_RL_COLUMNS = ("data_source", "prompt", "reward_model", "extra_info")


class DatasetConfigError(ValueError):
    pass


def _plain(value: Any) -> Any:
    """OmegaConf containers -> plain Python (resolved); anything else unchanged."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ModuleNotFoundError:
        return value
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _config_get(config: Any, key: str, default: Any = None) -> Any:
    if config is None:
        return default
    getter = getattr(config, "get", None)
    return getter(key, default) if getter else default


@dataclasses.dataclass(frozen=True)
class DynamicSpec:
    """The validated ``data.lgc_v2`` settings."""

    task_types: tuple[str, ...]
    weights: tuple[float, ...]
    levels: tuple[int, int] | None  # difficulty (lo == hi) or difficulty_range; None: the registry's mix
    language: str | None
    seed: int
    size: int
    val_size: int
    system_prompt: str | None
    prompt_template: str | None
    reasoning: bool
    curriculum: CurriculumConfig = CurriculumConfig.from_mapping(None)
    mine: MineSpec | None = None  # read by the recipe's mine stage, not by this dataset

    @classmethod
    def from_config(cls, data_config: Any) -> "DynamicSpec":
        raw = _plain(_config_get(data_config, CONFIG_KEY)) or {}
        if not isinstance(raw, dict):
            raise DatasetConfigError(f"data.{CONFIG_KEY} must be a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - set(DEFAULTS))
        if unknown:
            raise DatasetConfigError(f"unknown data.{CONFIG_KEY} keys {unknown}; known: {sorted(DEFAULTS)}")
        opts = {**DEFAULTS, **{k: v for k, v in raw.items() if v is not None}}

        types = opts["task_types"]
        if types is None:
            types = registry.task_types()
        elif isinstance(types, str):
            types = [t.strip() for t in types.split(",") if t.strip()]
        if not isinstance(types, (list, tuple)):
            raise DatasetConfigError(f"data.{CONFIG_KEY}.task_types must be a non-empty list, got {types!r}")
        types = tuple(types)

        weights = opts["weights"]
        if weights is None:
            weights = [1.0] * len(types)
        elif isinstance(weights, dict):
            extra = sorted(set(weights) - set(types))
            if extra:
                raise DatasetConfigError(f"data.{CONFIG_KEY}.weights names types not in task_types: {extra}")
            weights = [weights.get(t, 0.0) for t in types]
        elif isinstance(weights, (list, tuple)):
            if len(weights) != len(types):
                raise DatasetConfigError(
                    f"data.{CONFIG_KEY}.weights has {len(weights)} entries for {len(types)} task types {list(types)}"
                )
        else:
            raise DatasetConfigError(f"data.{CONFIG_KEY}.weights must be a list or a mapping, got {weights!r}")
        try:
            weights = [float(w) for w in weights]
        except (TypeError, ValueError) as exc:
            raise DatasetConfigError(f"data.{CONFIG_KEY}.weights must be numbers: {exc}") from exc

        difficulty, difficulty_range = opts["difficulty"], opts["difficulty_range"]
        if difficulty is not None and difficulty_range is not None:
            raise DatasetConfigError(f"set data.{CONFIG_KEY}.difficulty or .difficulty_range, not both")
        if difficulty is not None and not isinstance(difficulty, int):
            raise DatasetConfigError(f"data.{CONFIG_KEY}.difficulty must be an integer level 1..10, got {difficulty!r}")
        if difficulty_range is not None and not isinstance(difficulty_range, (list, tuple)):
            raise DatasetConfigError(f"data.{CONFIG_KEY}.difficulty_range must be [lo, hi], got {difficulty_range!r}")
        key, value = ("difficulty", difficulty) if difficulty is not None else ("difficulty_range", difficulty_range)
        try:
            levels = parse_level_range(value)
        except SelectionError as exc:
            raise DatasetConfigError(f"data.{CONFIG_KEY}.{key}: {exc}") from None
        language = opts["language"]
        try:  # the rest (types, weights, language) is checked where it is used
            Selection(types, order="weighted", weights=tuple(weights), levels=levels, language=language)
        except SelectionError as exc:
            raise DatasetConfigError(f"data.{CONFIG_KEY}: {exc}") from None

        def count(key: str) -> int:
            value = opts[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise DatasetConfigError(f"data.{CONFIG_KEY}.{key} must be a positive integer, got {value!r}")
            return value

        seed = opts["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise DatasetConfigError(f"data.{CONFIG_KEY}.seed must be an integer, got {seed!r}")
        template = opts["prompt_template"]
        if template is not None and (not isinstance(template, str) or "{prompt}" not in template):
            raise DatasetConfigError(f"data.{CONFIG_KEY}.prompt_template must be text containing {{prompt}}, got {template!r}")
        system_prompt = opts["system_prompt"]
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise DatasetConfigError(f"data.{CONFIG_KEY}.system_prompt must be text, got {system_prompt!r}")
        reasoning = opts["reasoning"]
        if not isinstance(reasoning, bool):
            raise DatasetConfigError(f"data.{CONFIG_KEY}.reasoning must be true or false, got {reasoning!r}")
        try:
            mine = MineSpec.from_mapping(opts["mine"], f"data.{CONFIG_KEY}.mine")
        except MineError as exc:
            raise DatasetConfigError(str(exc)) from None
        try:
            curriculum = CurriculumConfig.from_mapping(opts["curriculum"])
            curriculum.check_types(types)
        except CurriculumConfigError as exc:
            raise DatasetConfigError(f"data.{CONFIG_KEY}.{exc}") from None
        return cls(
            task_types=types,
            weights=tuple(weights),
            levels=levels,
            language=language,
            seed=seed,
            size=count("size"),
            val_size=count("val_size"),
            system_prompt=system_prompt or None,
            prompt_template=template,
            reasoning=reasoning,
            curriculum=curriculum,
            mine=mine,
        )


def _parquet_paths(path: str) -> list[str]:
    """An existing path's parquet files: itself, or a directory's ``*.parquet`` (sorted); [] when
    it is neither."""
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        return sorted(os.path.join(path, name) for name in os.listdir(path)
                      if name.endswith(".parquet") and os.path.isfile(os.path.join(path, name)))
    return [path] if os.path.isfile(path) else []


def check_data_files(key: str, value: Any) -> None:
    """What the launchers accept as RL data (``data.train_files`` / ``data.val_files``, checked
    when they compose the config): an ``lgc_v2://<split>`` URI, or existing ``.parquet`` files or
    directories of them.  Anything else (a missing path, verl's default gsm8k files, which this
    class would quietly replace by guessed dynamic tasks) raises, naming ``key`` and the value."""
    files = _plain(value)
    for f in files if isinstance(files, list) else [files]:
        if isinstance(f, str) and f.startswith(URI_SCHEMES):
            continue
        found = _parquet_paths(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else []
        if found and all(p.endswith(".parquet") for p in found):
            continue
        shown = "null" if files is None else files
        if isinstance(f, (str, os.PathLike)) and os.path.isdir(os.path.expanduser(f)):
            why = f"the directory {f} holds no .parquet file"
        elif isinstance(f, (str, os.PathLike)) and os.fspath(f).endswith(".parquet"):
            why = f"{f} does not exist (make it with: veritas generate --format rl --output {f} ...)"
        else:
            why = "neither an existing .parquet file (or a directory of them) nor an lgc_v2:// URI"
        raise DatasetConfigError(f"{key}={shown}: {why}; RL data is lgc_v2://train, lgc_v2://val "
                                 "or our RL parquet (veritas generate --format rl)")


def _split_of(data_files: Any) -> tuple[str, list[str], str]:
    """(split, existing parquet files to serve, how it was decided) from verl's data_files."""
    files = _plain(data_files)
    if files is None:
        # data.val_files=null (VAL_DATA=none): verl 0.9.1 builds a validation set all the same
        return "val", [], "no data files (data.val_files=null: validation off), the val split stands in"
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    files = [os.fspath(f) for f in files]
    for f in files:
        for scheme in URI_SCHEMES:
            if f.startswith(scheme):
                split = f[len(scheme):].strip("/")
                if split not in registry.SPLITS:
                    raise DatasetConfigError(f"{f!r}: unknown split {split!r}; known: {', '.join(registry.SPLITS)}")
                if len(files) > 1:
                    raise DatasetConfigError(f"{f!r} must be the only data file, got {files}")
                return split, [], f"data_files {f}"
    found = [_parquet_paths(f) for f in files]
    if any(found):
        existing = [p for paths in found for p in paths]
        if not all(found) or not all(f.endswith(".parquet") for f in existing):
            raise DatasetConfigError(f"data files must all be existing .parquet files or directories of them "
                                     f"(our RL parquet), got {files}")
        return "", existing, "parquet files"
    names = " ".join(os.path.basename(f).lower() for f in files)
    split = "val" if any(h in names for h in _VAL_NAME_HINTS) else "train"
    return split, [], f"guessed from data_files {files}: use lgc_v2://train and lgc_v2://val to say it"


class DynamicEnvDataset(_Dataset):
    """LGC-V2 tasks for verl's RL trainer; see the module docstring."""

    def __init__(self, data_files=None, tokenizer=None, processor=None, config=None, max_samples: int = -1, *, split: str | None = None):
        self.tokenizer = tokenizer  # unused: verl 0.9.1 tokenizes in the agent loop
        self.processor = processor
        self.config = config
        self.spec = DynamicSpec.from_config(config)
        self.data_files = _plain(data_files)
        self._table = None
        self._window_selections: dict[tuple[str, tuple[int, int]], Selection] = {}
        if split is not None:
            if split not in registry.SPLITS:
                raise DatasetConfigError(f"unknown split {split!r}; known: {', '.join(registry.SPLITS)}")
            self.split, parquet, how = split, [], "split argument"
        else:
            self.split, parquet, how = _split_of(data_files)
        if parquet:
            self._load_parquet(parquet, max_samples)
            self.size = self._table.num_rows
        else:
            size = self.spec.size if self.split == "train" else self.spec.val_size
            lo, hi = registry.split_seed_range(self.split)
            if size > hi - lo:
                raise DatasetConfigError(f"size {size} exceeds the {hi - lo} tasks of split {self.split!r}")
            if max_samples is not None and max_samples > 0:
                size = min(size, int(max_samples))
            self.size = size
            spec = self.spec
            self.selection = Selection(spec.task_types, order="weighted", split=self.split, seed=spec.seed,
                                       weights=spec.weights, levels=spec.levels, language=spec.language)
        log = logger.warning if how.startswith("guessed") else logger.info
        log(
            "DynamicEnvDataset: %s items, split %r (%s), types %s",
            self.size, self.split or "from parquet", how, ",".join(self.spec.task_types) if not parquet else "from parquet",
        )

    # ------------------------------------------------------------ dynamic tasks

    def plan(self, index: int, window: tuple[int, int] | None = None) -> tuple[str, int, int | None]:
        """(task type, seed, level or None for the registry's default) of item ``index``; with
        ``window``, the level a curriculum item with that level window gets."""
        return self._window_selection(index, window).locate(index)

    def task_type_of(self, index: int) -> str:
        """The task type of item ``index`` (level windows do not change it)."""
        return self.selection.locate(index)[0]

    def task(self, index: int, selection: Selection | None = None):
        return (self.selection if selection is None else selection).task(index)

    def task_in_window(self, index: int, window: tuple[int, int] | None = None):
        """The task of item ``index``; with ``window``, the one a curriculum item with that level
        window is served (as ``plan(index, window)`` gives its level)."""
        return self.task(index, self._window_selection(index, window))

    def _window_selection(self, index: int, window: tuple[int, int] | None) -> Selection:
        """The selection serving item ``index`` with its type's level window ``window`` (None: this one)."""
        if window is None:
            return self.selection
        return self._selection_with(self.task_type_of(index), parse_level_range(list(window)))

    def _selection_with(self, task_type: str, window: tuple[int, int]) -> Selection:
        """This dataset's selection with ``task_type``'s level window replaced (cached: a
        curriculum uses few windows)."""
        key = (task_type, window)
        if key not in self._window_selections:
            self._window_selections[key] = dataclasses.replace(
                self.selection, levels_by_type={**self.selection.levels_by_type, task_type: window})
        return self._window_selections[key]

    def row(self, index: int, selection: Selection | None = None) -> dict:
        """The RL-parquet row of item ``index`` (``formats.rl_row``), from ``selection`` (default
        this dataset's)."""
        task = self.task(index, selection)
        if self.spec.prompt_template:
            task = task._replace(prompt=self.spec.prompt_template.replace("{prompt}", task.prompt))
        return formats.rl_row(
            task, index=index, split=self.split, system_prompt=self.spec.system_prompt, reasoning=self.spec.reasoning
        )

    # ------------------------------------------------------------ parquet

    def _load_parquet(self, files: list[str], max_samples: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = []
        for path in files:
            table = pq.read_table(path)
            missing = [c for c in _RL_COLUMNS if c not in table.column_names]
            if missing:
                raise DatasetConfigError(f"{path} is not an RL parquet of ours: no column(s) {missing}")
            tables.append(table.select([c for c in formats.RL_SCHEMA.names if c in table.column_names]))
        table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
        if max_samples is not None and 0 < max_samples < table.num_rows:
            # the same subset RLHFDataset would take
            import numpy as np

            if _config_get(self.config, "shuffle", False):
                seed = _config_get(self.config, "seed")
                rng = np.random.default_rng(*((seed,) if seed is not None else ()))
                picked = rng.choice(table.num_rows, size=max_samples, replace=False)
            else:
                picked = np.arange(max_samples)
            table = table.take(picked)
        self._table = table

    # ------------------------------------------------------------ Dataset

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index) -> dict:
        selection = None
        if isinstance(index, CurriculumItem):
            index, selection = self._curriculum_selection(index)
        index = int(index)
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for {self.size} items")
        if self._table is not None:
            row = self._table.slice(index, 1).to_pylist()[0]
        else:
            row = self.row(index, selection)
        extra_info = row.get("extra_info") or {}
        row["extra_info"] = extra_info
        # what RLHFDataset.__getitem__ adds to a row
        row["raw_prompt"] = copy.deepcopy(row["prompt"])
        if torch is not None:
            row["dummy_tensor"] = torch.tensor([0], dtype=torch.uint8)
        row["index"] = extra_info.get("index", 0)
        row["tools_kwargs"] = extra_info.get("tools_kwargs", {})
        row["interaction_kwargs"] = extra_info.get("interaction_kwargs", {})
        return row

    def _curriculum_selection(self, item: CurriculumItem) -> tuple[int, Selection | None]:
        """(index, selection serving the item's window); None (fixed levels) when the item does
        not fit this dataset, logged: a worker must not fail a training step over it."""
        index = int(item.index)
        if self._table is not None or not 0 <= index < self.size:
            reason = "parquet data" if self._table is not None else "index out of range"
        elif self.task_type_of(index) != item.task_type:
            reason = f"item {index} is {self.task_type_of(index)}, the sampler said {item.task_type}"
        else:
            try:
                window = parse_level_range([int(item.level_lo), int(item.level_hi)])
                return index, self._selection_with(item.task_type, window)
            except (SelectionError, TypeError, ValueError) as exc:
                reason = str(exc)
        logger.warning("DynamicEnvDataset: curriculum item %r served at fixed levels: %s", tuple(item), reason)
        return index, None

    @staticmethod
    def check_config(data_config: Any) -> DynamicSpec:
        """Validate ``data.lgc_v2`` and both splits' data_files without generating anything."""
        spec = DynamicSpec.from_config(data_config)
        for key in ("train_files", "val_files"):
            _split_of(_config_get(data_config, key))
        return spec


LGCV2DynamicDataset = DynamicEnvDataset
