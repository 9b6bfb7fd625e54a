"""The dynamic dataset (veritas.verl_adapters.dataset) and how verl 0.9.1 loads and batches it.

Tests marked ``verl`` run verl's own code: get_dataset_class/create_rl_dataset through the
config's data.custom_cls, StatefulDataLoader with verl's collate_fn and sampler (and its
checkpointed position), the TensorDict the v1 trainer makes of a batch, and RLHFDataset on the
same rows as the reference for the item schema.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pickle
import subprocess
import sys
import sysconfig
from collections import Counter

import pytest

from veritas.data import formats
from veritas.envs.lgc_v2 import registry
from veritas.verl_adapters.dataset import (
    ITEM_KEYS,
    DatasetConfigError,
    DynamicEnvDataset,
    LGCV2DynamicDataset,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATASET_FILE = os.path.join(REPO, "train", "tools", "dataset-manager.py")
HAS_VERL = importlib.util.find_spec("verl") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None
TYPES = registry.task_types()


def _ds(files="lgc_v2://train", max_samples=-1, **opts) -> DynamicEnvDataset:
    return DynamicEnvDataset(data_files=files, config={"lgc_v2": opts}, max_samples=max_samples)


def _comparable(item: dict) -> dict:
    return {k: v for k, v in item.items() if k != "dummy_tensor"}


# ------------------------------------------------------------------ planning and determinism


def test_items_are_rl_rows_plus_what_rlhfdataset_adds():
    ds = _ds(size=50, system_prompt="You solve puzzles.", reasoning=True, prompt_template="Task:\n{prompt}\nGo.")
    assert LGCV2DynamicDataset is DynamicEnvDataset and len(ds) == 50
    for i in range(20):
        item = ds[i]
        assert tuple(item) == (ITEM_KEYS if HAS_TORCH else tuple(k for k in ITEM_KEYS if k != "dummy_tensor"))
        task_type, seed, _ = ds.plan(i)
        task = registry.generate_by_type(task_type, seed)
        assert item["extra_info"]["task_id"] == task.task_id and item["extra_info"]["split"] == "train"
        assert item["index"] == item["extra_info"]["index"] == i
        assert item["data_source"] == formats.data_source(task_type)
        assert item["raw_prompt"] == item["prompt"] and item["raw_prompt"] is not item["prompt"]
        system, user = item["prompt"]
        assert system["role"] == "system" and system["content"].startswith("You solve puzzles.")
        assert formats.REASONING_INSTRUCTION[task.language] in system["content"]
        assert user == {"role": "user", "content": f"Task:\n{task.prompt}\nGo."}
        assert item["reward_model"] == {"style": "rule", "ground_truth": task.answer}
        assert formats.parse_metadata(item["extra_info"]["metadata"]) == json.loads(json.dumps(task.metadata))
        assert item["tools_kwargs"] == {} and item["interaction_kwargs"] == {}
    plain = _ds(size=5)[0]
    assert [m["role"] for m in plain["prompt"]] == ["user"]


def test_item_i_is_fixed_by_config_and_index_only():
    a, b = _ds(size=1000, seed=7), _ds(size=1000, seed=7)
    order = [999, 3, 500, 3, 0]
    assert [_comparable(a[i]) for i in order] == [_comparable(b[i]) for i in reversed(order)][::-1]
    assert _comparable(_ds(size=1000, seed=8)[3]) != _comparable(a[3])
    # dataloader workers started with spawn get a pickled copy
    copied = pickle.loads(pickle.dumps(a))
    assert [_comparable(copied[i]) for i in order] == [_comparable(a[i]) for i in order]


_DUMP = """
import json, sys
sys.modules["torch"] = None  # rows need no torch; importing it would only cost seconds
from veritas.verl_adapters.dataset import DynamicEnvDataset
ds = DynamicEnvDataset("lgc_v2://train", config={"lgc_v2": {"seed": 3, "size": 5000, "task_types": sys.argv[1].split(",")}})
print(json.dumps([ds.row(i) for i in range(0, 5000, 250)], ensure_ascii=False, sort_keys=True))
"""


def test_items_identical_across_processes_and_hash_seeds():
    outs = []
    for hash_seed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, PYTHONPATH=REPO)
        out = subprocess.run(
            [sys.executable, "-c", _DUMP, ",".join(TYPES)], env=env, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-2000:]
        outs.append(out.stdout)
    assert outs[0] == outs[1]
    ds = DynamicEnvDataset("lgc_v2://train", config={"lgc_v2": {"seed": 3, "size": 5000, "task_types": TYPES}})
    assert json.loads(outs[0]) == json.loads(json.dumps([ds.row(i) for i in range(0, 5000, 250)]))


def test_splits_are_disjoint_and_indices_never_share_a_task():
    train, val = _ds(size=20_000), _ds("lgc_v2://val", val_size=5000)
    train_plans = [train.plan(i) for i in range(20_000)]
    val_plans = [val.plan(i) for i in range(5000)]
    lo, hi = registry.split_seed_range("train")
    assert all(lo <= s < hi for _, s, _ in train_plans)
    lo, hi = registry.split_seed_range("val")
    assert all(lo <= s < hi for _, s, _ in val_plans)
    assert len({(t, s) for t, s, _ in train_plans}) == len(train_plans)
    assert len({s for _, s, _ in train_plans}) == len(train_plans)  # the seed permutation is a bijection
    assert len(val) == 5000 and len(_ds("lgc_v2://val")) == 256 and len(_ds()) == 100_000


def test_weights_difficulty_and_language_are_respected():
    if len(TYPES) < 2:
        pytest.skip("needs two task types")
    t0, t1 = TYPES[:2]
    ds = _ds(size=4000, task_types=[t0, t1], weights=[3, 1], difficulty_range=[2, 4])
    plans = [ds.plan(i) for i in range(4000)]
    share = Counter(t for t, _, _ in plans)[t0] / len(plans)
    assert 0.72 < share < 0.78, share
    assert {lvl for _, _, lvl in plans} == {2, 3, 4}
    assert {t for t, _, _ in [_ds(size=200, task_types=[t0, t1], weights={t1: 1}).plan(i) for i in range(200)]} == {t1}
    fixed = _ds(size=30, task_types=[t0], difficulty=9, language="en")
    for i in range(30):
        task = fixed.task(i)
        assert task.difficulty == 9 and task.language == "en"
    zh_types = [t for t in TYPES if "zh" in registry.task_type_contract(t).languages]
    en_only = [t for t in TYPES if "zh" not in registry.task_type_contract(t).languages]
    if zh_types and en_only:
        mixed = _ds(size=60, task_types=[zh_types[0], en_only[0]], language="zh")
        langs = {(mixed.task(i).task_type, mixed.task(i).language) for i in range(60)}
        assert langs == {(zh_types[0], "zh"), (en_only[0], "en")}  # en where zh is missing


def test_bad_settings_fail_at_construction_with_the_key_named():
    bad = [
        ({"task_typez": ["x"]}, "unknown data.lgc_v2 keys"),
        ({"task_types": ["nope"]}, "unknown task type"),
        ({"task_types": []}, "non-empty"),
        ({"task_types": [TYPES[0], TYPES[0]]}, "duplicates"),
        ({"weights": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}, "entries"),
        ({"weights": [0] * len(TYPES)}, "not all 0"),
        ({"weights": {"nope": 1}}, "not in task_types"),
        ({"difficulty": 11}, "difficulty"),
        ({"difficulty": 3, "difficulty_range": [1, 2]}, "not both"),
        ({"difficulty_range": [5, 2]}, "lo > hi"),
        ({"language": "fr"}, "language"),
        ({"size": 0}, "size"),
        ({"size": 10**9}, "exceeds"),
        ({"prompt_template": "no placeholder"}, "{prompt}"),
        ({"reasoning": "yes"}, "reasoning"),
    ]
    for opts, words in bad:
        with pytest.raises(DatasetConfigError) as err:
            _ds(**opts)
        assert words in str(err.value), (opts, str(err.value))
    with pytest.raises(DatasetConfigError, match="unknown split"):
        _ds("lgc_v2://dev")


def test_split_detection_from_data_files(tmp_path, caplog):
    assert _ds("lgc_v2://val").split == "val" and _ds("lgc-v2://test").split == "test"
    assert _ds(["lgc_v2://train"]).split == "train"
    # data.val_files=null (VAL_DATA=none): verl builds a validation set anyway; the val split, never served
    assert _ds(None).split == "val"
    with caplog.at_level("WARNING"):
        assert _ds("~/data/rlhf/gsm8k/test.parquet").split == "val"  # verl's default val_files
        assert _ds("~/data/rlhf/gsm8k/train.parquet").split == "train"
    assert "guessed" in caplog.text
    assert DynamicEnvDataset(config={}, split="val").split == "val"
    assert len(_ds("lgc_v2://train", max_samples=10, size=50)) == 10


def test_rl_parquet_is_served_with_the_same_items(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    dyn = _ds("lgc_v2://val", val_size=12)
    path = tmp_path / "rl.parquet"
    pq.write_table(pa.Table.from_pylist([dyn.row(i) for i in range(12)], schema=formats.RL_SCHEMA), path)
    served = DynamicEnvDataset(data_files=[str(path)], config={})
    assert len(served) == 12 and served.split == ""
    for i in range(12):
        assert _comparable(served[i]) == _comparable(dyn[i])
    assert len(DynamicEnvDataset(data_files=str(path), config={}, max_samples=5)) == 5
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"question": ["1+1"]}), other)
    with pytest.raises(DatasetConfigError, match="not an RL parquet"):
        DynamicEnvDataset(data_files=str(other), config={})
    # a directory of RL parquets: its *.parquet files in name order
    folder = tmp_path / "shards"
    folder.mkdir()
    for name, rows in (("b.parquet", range(5, 12)), ("a.parquet", range(5))):
        pq.write_table(pa.Table.from_pylist([dyn.row(i) for i in rows], schema=formats.RL_SCHEMA), folder / name)
    (folder / "notes.txt").write_text("not data")
    served = DynamicEnvDataset(data_files=str(folder), config={})
    assert len(served) == 12 and [_comparable(served[i]) for i in range(12)] == [_comparable(dyn[i]) for i in range(12)]


def test_the_launchers_rule_for_rl_data_paths(tmp_path):
    """check_data_files (run when the launchers compose a config): a URI or existing parquet(s),
    else one message naming the key and the value."""
    from veritas.verl_adapters.dataset import check_data_files

    parquet = tmp_path / "rl.parquet"
    parquet.write_bytes(b"PAR1")
    (tmp_path / "empty").mkdir()
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "0.parquet").write_bytes(b"PAR1")
    notes = tmp_path / "notes.txt"
    notes.write_text("not data")
    for ok in ("lgc_v2://train", "lgc-v2://val", str(parquet), [str(parquet)], str(tmp_path / "shards")):
        check_data_files("data.train_files", ok)
    for bad, words in [
        ("~/data/rlhf/gsm8k/train.parquet", "data.train_files=~/data/rlhf/gsm8k/train.parquet: ~/data/rlhf/gsm8k/train.parquet "
                                            "does not exist (make it with: veritas generate --format rl"),
        ("trainset", "data.train_files=trainset: neither an existing .parquet file (or a directory of them) nor an lgc_v2:// URI"),
        (str(tmp_path / "empty"), f"the directory {tmp_path}/empty holds no .parquet file"),
        (str(notes), f"data.train_files={notes}: neither an existing .parquet file"),
        (None, "data.train_files=null: neither"),
        ([str(parquet), "nope.parquet"], "nope.parquet does not exist"),
    ]:
        with pytest.raises(DatasetConfigError) as err:
            check_data_files("data.train_files", bad)
        assert words in str(err.value) and "RL data is lgc_v2://train, lgc_v2://val" in str(err.value), str(err.value)


def test_dataset_file_works_without_the_package_installed(tmp_path):
    """``python -S`` skips site's .pth files (the editable install); site-packages is added by hand."""
    code = (
        "import sys, importlib.util\n"
        "sys.modules['torch'] = None  # not needed here; importing it would only cost seconds\n"
        f"sys.path.append({sysconfig.get_paths()['purelib']!r})\n"
        "assert importlib.util.find_spec('veritas') is None\n"
        f"spec = importlib.util.spec_from_file_location('custom_module_y', {DATASET_FILE!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "opts = {'val_size': 3, 'task_types': sys.argv[1].split(',')}\n"
        "ds = mod.DynamicEnvDataset('lgc_v2://val', config={'lgc_v2': opts})\n"
        "print(len(ds), ds[2]['extra_info']['split'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, ",".join(TYPES)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["3", "val"]


# ------------------------------------------------------------------ through verl 0.9.1


def _data_config(*extra):
    from veritas.verl_adapters.compose import compose_config

    cfg = compose_config(
        "ppo_trainer",
        [
            "data.train_files=lgc_v2://train",
            "data.val_files=lgc_v2://val",
            f"data.custom_cls.path={DATASET_FILE}",
            "data.custom_cls.name=DynamicEnvDataset",
            "data.train_batch_size=8",
            "data.seed=1",
            "+data.lgc_v2.size=200",
            "+data.lgc_v2.val_size=20",
            *extra,
        ],
    )
    return cfg.data


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_verl_builds_train_and_val_sets_and_batches_them(tmp_path):
    import numpy as np
    import torch
    from torchdata.stateful_dataloader import StatefulDataLoader
    from verl.trainer.ppo.utils import create_rl_dataset, create_rl_sampler
    from verl.utils import tensordict_utils as tu
    from verl.utils.dataset.rl_dataset import collate_fn, get_dataset_class

    data = _data_config(f"+data.lgc_v2.task_types=[{','.join(TYPES)}]")
    cls = get_dataset_class(data)
    assert cls is DynamicEnvDataset and issubclass(cls, torch.utils.data.Dataset)
    # exactly the calls of verl's v1 trainer (_init_dataloader)
    train = create_rl_dataset(data.train_files, data, None, None, is_train=True, max_samples=data.get("train_max_samples", -1))
    val = create_rl_dataset(data.val_files, data, None, None, is_train=False, max_samples=data.get("val_max_samples", -1))
    assert (train.split, len(train), val.split, len(val)) == ("train", 200, "val", 20)
    # VAL_DATA=none (data.val_files=null): the v1 trainer builds a validation set and its loader
    # all the same (batch size data.val_batch_size or the set's length); the val split, never served
    # with trainer.val_before_train=false trainer.test_freq=-1
    none = create_rl_dataset(None, data, None, None, is_train=False, max_samples=data.get("val_max_samples", -1))
    assert (none.split, len(none)) == ("val", 20)
    assert len(StatefulDataLoader(dataset=none, batch_size=data.val_batch_size or len(none), collate_fn=collate_fn)) == 1

    def loader():
        return StatefulDataLoader(
            dataset=train, batch_size=data.train_batch_size, num_workers=0, drop_last=True,
            collate_fn=collate_fn, sampler=create_rl_sampler(data, train),
        )

    it = iter(loader())
    batches = [next(it) for _ in range(2)]
    batch = batches[0]
    assert set(batch) == set(ITEM_KEYS)
    assert batch["dummy_tensor"].shape == (8, 1) and batch["dummy_tensor"].dtype == torch.uint8
    for key in ITEM_KEYS:
        if key != "dummy_tensor":
            assert isinstance(batch[key], np.ndarray) and batch[key].dtype == object and len(batch[key]) == 8, key
    assert all(isinstance(x, str) and x.startswith("lgc-v2/") for x in batch["data_source"])
    assert all(isinstance(x, list) and x[-1]["role"] == "user" for x in batch["raw_prompt"])
    assert all(isinstance(x, dict) and isinstance(x["metadata"], str) for x in batch["extra_info"])
    assert sorted(batch["index"]) != list(range(8))  # the sampler shuffles (data.shuffle=True)

    # the checkpointed position: a fresh loader restored from the state continues identically
    first = loader()
    first_it = iter(first)
    next(first_it), next(first_it)
    loader_state = first.state_dict()
    expected = next(first_it)
    resumed = loader()
    resumed.load_state_dict(loader_state)
    got = next(iter(resumed))
    assert list(got["index"]) == list(expected["index"])
    assert [json.dumps(x, sort_keys=True) for x in got["extra_info"]] == [json.dumps(x, sort_keys=True) for x in expected["extra_info"]]

    # what the v1 trainer does with a batch before the agent loop reads it back per sample
    batch["uid"] = np.array([f"u{i}" for i in range(8)], dtype=object)
    td = tu.get_tensordict(batch)
    from tensordict.tensorclass import NonTensorStack

    for i in range(8):
        sample = {k: (v[i].data if isinstance(v, NonTensorStack) else v[i]) for k, v in td.items()}
        assert sample["extra_info"] == batch["extra_info"][i]
        assert sample["raw_prompt"] == batch["raw_prompt"][i]
        assert sample["data_source"] == batch["data_source"][i] and sample["index"] == batch["index"][i]

    # validation set: the val split, the same every time
    val_loader = StatefulDataLoader(dataset=val, batch_size=len(val), shuffle=False, drop_last=False, collate_fn=collate_fn)
    vb = next(iter(val_loader))
    assert {x["split"] for x in vb["extra_info"]} == {"val"} and list(vb["index"]) == list(range(20))


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_items_match_verl_rlhfdataset_on_the_same_rows(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from verl.utils.dataset.rl_dataset import RLHFDataset

    dyn = _ds("lgc_v2://val", val_size=6)
    path = tmp_path / "rl.parquet"
    pq.write_table(pa.Table.from_pylist([dyn.row(i) for i in range(6)], schema=formats.RL_SCHEMA), path)
    data = _data_config(f"data.train_files={path}", f"data.val_files={path}", f"+data.cache_dir={tmp_path / 'cache'}")
    reference = RLHFDataset(data_files=str(path), tokenizer=None, config=data, processor=None)
    from verl.trainer.ppo.utils import create_rl_dataset

    ours_served = create_rl_dataset(data.val_files, data, None, None, is_train=False)
    for i in range(6):
        ref, mine, served = reference[i], dyn[i], ours_served[i]
        assert set(ref) == set(mine) == set(served) == set(ITEM_KEYS)
        for key in ITEM_KEYS:
            if key == "dummy_tensor":
                assert ref[key].equal(mine[key])
                continue
            assert type(ref[key]) is type(mine[key]), key
            assert ref[key] == mine[key] == served[key], key
