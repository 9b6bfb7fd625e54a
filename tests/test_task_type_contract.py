"""The task-type contract (veritas.envs.base.TaskType) and the registry's tuple of type modules.

A ninth, toy type is added by patching ``registry.TYPE_MODULES`` only, and must flow through
``veritas generate``, ``veritas check-data``, the dynamic dataset, the reward and eval's held-out
selection with no other edit: that is the promise of docs/adding-a-task-type.md.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import random
import types

import pytest

from veritas.cli import main as veritas_main
from veritas.envs.base import ContractError, Generated, TaskType, Verdict
from veritas.envs.lgc_v2 import registry
from veritas.envs.lgc_v2.selection import Selection, SelectionError, parse_level_range

# ---------------------------------------------------------------- the toy type


def _toy_generate(rng: random.Random, level: int, language: str) -> Generated:
    digits = "".join(str(rng.randrange(10)) for _ in range(TOY_LEVELS[level].digits))
    parity = "even" if int(digits[-1]) % 2 == 0 else "odd"
    prompt = f"Is {digits} even or odd? {TOY_FORMAT}"
    return Generated(prompt, f"\\boxed{{{parity}}}", {"digits": digits, "parity": parity})


def _toy_verify(answer_text: str, metadata: dict) -> Verdict:
    start = answer_text.rfind("\\boxed{")
    if start < 0:
        return Verdict.bad_format("no \\boxed{}")
    got = answer_text[start + 7:start + 7 + 5].split("}")[0].strip()  # bounded: at most 5 characters
    return Verdict.ok() if got == metadata["parity"] else Verdict.wrong(f"{got!r} is not the parity")


@dataclasses.dataclass(frozen=True)
class ToyKnobs:
    digits: int


@dataclasses.dataclass
class MutableKnobs:
    digits: int


TOY_LEVELS = {level: ToyKnobs(digits=level + 2) for level in range(1, 11)}
TOY_FORMAT = "Answer with \\boxed{even} or \\boxed{odd}."


def _toy_module(name: str = "toy_parity", blocks: tuple[int, ...] = (9,)) -> types.ModuleType:
    mod = types.ModuleType(f"tests.{name}")
    mod.TASK_TYPE = TaskType(
        name=name, id_blocks=blocks, languages=("en",), zh_share=0.0, randomness="mt", levels=TOY_LEVELS,
        generate=_toy_generate, verify=_toy_verify, answer_formats={"en": (TOY_FORMAT,)},
    )
    return mod


@pytest.fixture
def toy(monkeypatch):
    """The registry with a ninth type appended: the one edit a new type needs besides its module."""
    monkeypatch.setattr(registry, "TYPE_MODULES", registry.TYPE_MODULES + (_toy_module(),))
    return "toy_parity"


def _quiet_main(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return veritas_main(argv)


# ---------------------------------------------------------------- the public registry


def test_the_eight_public_id_blocks_are_unchanged():
    assert registry.type_ids() == {
        "dyck_language": 0, "game_of_24": 1, "operation": 2, "cryptarithm": 3, "dyck_language2": 4,
        "boolean_expressions": 6, "sudoku": 7, "dyck_language_reasoning_errors": 8,
    }
    assert registry.task_type_contract("dyck_language2").id_blocks == (4, 5)
    assert registry.max_task_id() == 899_999_999
    assert registry.split_task_id(599_999_999) == ("dyck_language2", 199_999_999)


@pytest.mark.parametrize("task_type", registry.task_types())
def test_every_prompt_holds_one_of_its_answer_format_sentences(task_type):
    contract = registry.task_type_contract(task_type)
    for language in contract.languages:
        for level in range(1, 11):
            for seed in range(12):
                prompt = registry.generate_by_type(task_type, seed, level, language).prompt
                assert any(s in prompt for s in contract.answer_formats[language]), (task_type, language, level, seed)


def test_contract_is_checked_when_made():
    good = _toy_module().TASK_TYPE
    fields = {f: getattr(good, f) for f in good.__dataclass_fields__}
    bad = {
        "name": "not an identifier",
        "id_blocks": (),
        "languages": ("fr",),
        "zh_share": 0.5,  # without "zh"
        "randomness": "urandom",
        "levels": {level: ToyKnobs(3) for level in range(1, 10)},  # no level 10
        "verify": "not callable",
        "answer_formats": {"en": ()},
    }
    for field, value in bad.items():
        with pytest.raises(ContractError, match=field.split("_")[0]):
            TaskType(**{**fields, field: value})
    for other in ({"digits": 3}, MutableKnobs(3), (3,)):  # not the same frozen dataclass
        with pytest.raises(ContractError, match="one frozen dataclass"):
            TaskType(**{**fields, "levels": {**TOY_LEVELS, 10: other}})
    with pytest.raises(ContractError, match="one frozen dataclass"):
        TaskType(**{**fields, "levels": {level: MutableKnobs(3) for level in range(1, 11)}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        good.name = "other"


def test_overlapping_id_blocks_and_duplicate_names_are_refused(monkeypatch):
    monkeypatch.setattr(registry, "TYPE_MODULES", registry.TYPE_MODULES + (_toy_module("toy_b", (5,)),))
    with pytest.raises(ValueError, match="id block 5 is claimed by dyck_language2 and toy_b"):
        registry.task_types()
    monkeypatch.setattr(registry, "TYPE_MODULES", registry.TYPE_MODULES[:-1] + (_toy_module("sudoku", (9,)),))
    with pytest.raises(ValueError, match="two task types are named 'sudoku'"):
        registry.task_types()
    monkeypatch.setattr(registry, "TYPE_MODULES", registry.TYPE_MODULES[:-1] + (types.ModuleType("empty"),))
    with pytest.raises(TypeError, match="TASK_TYPE"):
        registry.task_types()


# ---------------------------------------------------------------- a ninth type flows through


def test_ninth_type_ids_and_generation(toy):
    assert registry.task_types()[-1] == toy and registry.max_task_id() == 999_999_999
    task = registry.generate(900_000_123, 4, "en")
    assert (task.task_type, task.seed, task.difficulty) == (toy, 123, 4) and len(task.metadata["digits"]) == 6
    assert registry.make_task_id(toy, 123) == 900_000_123
    assert registry.verify_task(task, task.answer).correct
    assert registry.generate(900_000_123, 4, "en") == task  # a pure function of (id, level, language)
    assert registry.language_for(toy, "zh") == "en"  # the fallback is the type's first language


def test_ninth_type_through_generate_and_check_data(toy, tmp_path):
    jsonl, rl = tmp_path / "t.jsonl", tmp_path / "t.parquet"
    assert _quiet_main(["generate", "--task-types", f"{toy},sudoku", "--num-samples", "8", "--language", "zh",
                        "-o", str(jsonl), "--no-progress"]) == 0
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    toy_rows = [r for r in rows if r["task_type"] == toy]
    assert len(toy_rows) == 4 and all(r["task_id"] >= 900_000_000 and r["language"] == "en" for r in toy_rows)
    assert _quiet_main(["generate", "--task-types", "all", "--format", "rl", "--num-samples", "18",
                        "-o", str(rl), "--no-progress"]) == 0
    assert _quiet_main(["check-data", str(rl)]) == 0
    assert _quiet_main(["check-data", str(jsonl)]) == 0


def test_ninth_type_through_dataset_reward_and_eval(toy):
    from veritas.evaluation.cli import heldout_tasks
    from veritas.verl_adapters.dataset import DynamicEnvDataset
    from veritas.verl_adapters.reward import compute_score

    ds = DynamicEnvDataset(data_files="lgc_v2://train", config={"lgc_v2": {"size": 40}})
    items = [ds[i] for i in range(40)]
    toy_items = [it for it in items if it["extra_info"]["task_type"] == toy]
    assert toy_items, "the default type list includes every registered type"
    for item in toy_items:
        info = item["extra_info"]
        right = compute_score(item["data_source"], item["reward_model"]["ground_truth"], None, info)
        assert right == {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "task_type_id": 9}
        wrong = compute_score(item["data_source"], "\\boxed{maybe}", None, info)
        assert wrong["acc"] == 0.0 and wrong["format_ok"] == 1.0
        regenerated = compute_score(item["data_source"], item["reward_model"]["ground_truth"], None,
                                    {k: v for k, v in info.items() if k != "metadata"})
        assert regenerated["acc"] == 1.0
    tasks = heldout_tasks([toy, "operation"], 3, (2, 3), 0)
    assert [t.task_type for t in tasks] == [toy] * 3 + ["operation"] * 3
    assert all(registry.SPLITS["test"][0] <= t.seed < registry.SPLITS["test"][1] for t in tasks)
    assert all(registry.verify_task(t, t.answer).correct for t in tasks)


# ---------------------------------------------------------------- the selection


def test_level_range_parser():
    assert parse_level_range(None) is None and parse_level_range("mix") is None and parse_level_range("") is None
    assert parse_level_range(5) == parse_level_range("5") == (5, 5)
    assert parse_level_range("3-7") == parse_level_range([3, 7]) == parse_level_range((3, 7)) == (3, 7)
    for bad in (0, 11, "0", "3-11", "7-3", "x", "1-2-3", "-3", True, [1], [1, 2, 3], 2.5, ["1", "2"]):
        with pytest.raises(SelectionError):
            parse_level_range(bad)


def test_selection_levels_by_type_override_the_common_window():
    sel = Selection(("sudoku", "operation"), levels=(2, 3), levels_by_type={"sudoku": (9, 10)})
    levels = {}
    for i in range(40):
        task_type, _, level = sel.locate(i)
        levels.setdefault(task_type, set()).add(level)
    assert levels == {"sudoku": {9, 10}, "operation": {2, 3}}
    weighted = Selection(("sudoku", "operation"), order="weighted", levels_by_type={"operation": "4-4"})
    seen = {weighted.locate(i)[0]: weighted.locate(i)[2] for i in range(40)}
    assert seen == {"sudoku": None, "operation": 4}
    with pytest.raises(SelectionError, match="not selected"):
        Selection(("sudoku",), levels_by_type={"operation": (1, 2)})
    moved = dataclasses.replace(weighted, levels_by_type={"operation": (7, 8), "sudoku": (1, 1)})
    for i in range(40):  # the same type and seed at every index; only the level follows the window
        (t0, s0, _), (t1, s1, level) = weighted.locate(i), moved.locate(i)
        assert (t0, s0) == (t1, s1) and level in ((7, 8) if t1 == "operation" else (1,))


def test_selection_is_picklable_and_equal_after():
    import pickle

    sel = Selection(("sudoku", "dyck_language"), order="weighted", split="val", seed=3, weights=(1.0, 2.0),
                    levels_by_type={"sudoku": (2, 4)}, language="zh")
    back = pickle.loads(pickle.dumps(sel))
    assert back == sel and [back.locate(i) for i in range(20)] == [sel.locate(i) for i in range(20)]
