"""The verl reward function (veritas.verl_adapters.reward) and verl 0.9.1's reward path.

Tests marked ``verl`` run verl's own code: the loader, RewardLoopWorker + NaiveRewardManager
on a hand-built DataProto, rm_scores assembly, GRPO advantages, validation metrics.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import sysconfig
import threading
import time
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _shared import byte_tokenizer_dir
from veritas.data import formats
from veritas.envs.base import Verdict
from veritas.envs.lgc_v2 import registry
from veritas.evaluation.working import UNREADABLE, WRONG, Reading
from veritas.verl_adapters import reward as rew
from veritas.verl_adapters.reward import RESULT_KEYS, compute_score

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REWARD_FILE = os.path.join(REPO, "train", "tools", "reward-manager.py")
HAS_VERL = importlib.util.find_spec("verl") is not None


TYPES = list(registry.task_types())


@lru_cache(maxsize=None)
def _cached_rows(task_type: str, n: int, split: str) -> str:
    lo, _ = registry.split_seed_range(split)
    return json.dumps([formats.rl_row(registry.generate_by_type(task_type, lo + s), index=s, split=split) for s in range(n)])


def _rows(task_type: str, n: int = 4, split: str = "val") -> list[dict]:
    return json.loads(_cached_rows(task_type, n, split))  # fresh dicts every time


def _call(row: dict, response, **kwargs) -> dict:
    return compute_score(
        data_source=row["data_source"],
        solution_str=response,
        ground_truth=row["reward_model"]["ground_truth"],
        extra_info=row["extra_info"],
        **kwargs,
    )


def _other_answer_is_wrong(row: dict, other: dict) -> bool:
    meta = formats.parse_metadata(row["extra_info"]["metadata"])
    return not registry.verify(row["extra_info"]["task_type"], other["reward_model"]["ground_truth"], meta).correct


@pytest.fixture(autouse=True)
def _fresh_counts():
    rew.reset_bad_input_counts()
    yield


# ------------------------------------------------------------------ scoring


@pytest.mark.parametrize("task_type", TYPES)
def test_correct_wrong_unreadable_scores_and_uniform_keys(task_type):
    rows = _rows(task_type)
    for i, row in enumerate(rows):
        right = _call(row, "<think>let me see</think>\n" + row["reward_model"]["ground_truth"], format_penalty=0.1)
        assert right == {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "task_type_id": registry.type_ids()[task_type]}
        other = rows[(i + 1) % len(rows)]
        if _other_answer_is_wrong(row, other):
            wrong = _call(row, other["reward_model"]["ground_truth"], format_penalty=0.1)
            assert wrong["acc"] == 0.0 and wrong["score"] in (0.0, -0.1)
            assert wrong["score"] == (0.0 if wrong["format_ok"] else -0.1)
        garbage = _call(row, "I have no idea.", format_penalty=0.1)
        assert garbage == {"score": -0.1, "acc": 0.0, "format_ok": 0.0, "task_type_id": registry.type_ids()[task_type]}
        assert _call(row, "I have no idea.")["score"] == 0.0  # no penalty by default
        for result in (right, garbage):
            assert tuple(result) == RESULT_KEYS
            assert all(type(result[k]) is float for k in ("score", "acc", "format_ok"))
            assert type(result["task_type_id"]) is int
    assert rew.bad_input_counts() == {}


@pytest.mark.parametrize("task_type", TYPES)
def test_reference_answers_score_one_from_json_metadata_for_many_seeds(task_type):
    """The reward judges from metadata that went through JSON (parquet, Ray): tuples come back as
    lists, int keys as strings.  Every reference answer must still score 1."""
    lo, _ = registry.split_seed_range("val")
    for seed in range(lo, lo + 300):
        task = registry.generate_by_type(task_type, seed)
        row = json.loads(json.dumps(formats.rl_row(task)))
        result = _call(row, task.answer)
        assert result["acc"] == 1.0, (task.task_id, task.answer, result)
    assert rew.bad_input_counts() == {}


@pytest.mark.parametrize("task_type", TYPES)
def test_verifiers_never_mutate_metadata(task_type):
    """The reward shares one parsed metadata dict among the responses of a task (a cache)."""
    rows = _rows(task_type, 12)
    for row in rows:
        meta = formats.parse_metadata(row["extra_info"]["metadata"])
        before = json.dumps(meta, sort_keys=True)
        for other in rows:
            answer = other["reward_model"]["ground_truth"]
            for response in (answer, answer[: len(answer) // 2], answer + "\n" + answer[::-1], "", "<think>x</think>"):
                registry.verify(task_type, response, meta)
        assert json.dumps(meta, sort_keys=True) == before, row["extra_info"]["task_id"]


def test_dyck_language2_high_seeds_report_type_id_4():
    if "dyck_language2" not in TYPES:
        pytest.skip("dyck_language2 not installed")
    task = registry.generate(500_000_007)
    row = formats.rl_row(task)
    assert _call(row, task.answer)["task_type_id"] == 4


def test_extra_info_and_metadata_forms():
    row = _rows(TYPES[0], 1)[0]
    answer = row["reward_model"]["ground_truth"]
    expected = _call(row, answer)
    assert expected["acc"] == 1.0
    info = dict(row["extra_info"])
    # extra_info as JSON text; metadata as a dict
    assert compute_score(row["data_source"], answer, None, json.dumps(info)) == expected
    as_dict = dict(info, metadata=json.loads(info["metadata"]))
    assert compute_score(row["data_source"], answer, None, as_dict) == expected
    # verl's NaiveRewardManager adds these keys to extra_info
    assert compute_score(row["data_source"], answer, None, dict(info, num_turns=2, rollout_reward_scores={})) == expected
    assert rew.bad_input_counts() == {}


def test_missing_metadata_is_regenerated_from_task_id_and_counted():
    row = _rows(TYPES[0], 1)[0]
    answer = row["reward_model"]["ground_truth"]
    info = {k: v for k, v in row["extra_info"].items() if k != "metadata"}
    assert compute_score(row["data_source"], answer, None, info)["acc"] == 1.0
    assert rew.bad_input_counts() == {"metadata missing": 1}
    broken = dict(row["extra_info"], metadata="{not json")
    assert compute_score(row["data_source"], answer, None, broken)["acc"] == 1.0
    assert rew.bad_input_counts()["unreadable metadata"] == 1
    # nothing to judge with: unusable, counted
    bare = {"task_type": TYPES[0]}
    assert compute_score(row["data_source"], answer, None, bare) == rew._UNUSABLE
    assert rew.bad_input_counts()["no metadata and no task_id"] == 1


def test_bad_inputs_are_unusable_counted_and_logged_at_a_limited_rate(caplog):
    row = _rows(TYPES[0], 1)[0]
    answer = row["reward_model"]["ground_truth"]
    cases = [
        ("unknown data_source", dict(data_source="gsm8k", solution_str=answer, extra_info=row["extra_info"])),
        ("unknown data_source", dict(data_source=None, solution_str=answer, extra_info=row["extra_info"])),
        ("unknown data_source", dict(data_source="lgc-v2/nope", solution_str=answer, extra_info=row["extra_info"])),
        ("solution not str", dict(data_source=row["data_source"], solution_str=None, extra_info=row["extra_info"])),
        ("solution not str", dict(data_source=row["data_source"], solution_str=answer.encode(), extra_info=row["extra_info"])),
        ("extra_info not a dict", dict(data_source=row["data_source"], solution_str=answer, extra_info=None)),
        ("extra_info not a dict", dict(data_source=row["data_source"], solution_str=answer, extra_info="[1, 2")),
    ]
    other_types = [t for t in registry.TASK_TYPES if t != TYPES[0]]
    cases.append(
        ("task_type disagrees with data_source",
         dict(data_source=formats.data_source(other_types[0]), solution_str=answer, extra_info=row["extra_info"]))
    )
    for kind, kwargs in cases:
        before = rew.bad_input_counts().get(kind, 0)
        assert compute_score(**kwargs) == rew._UNUSABLE, kind
        assert rew.bad_input_counts()[kind] == before + 1, kind
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=rew.__name__):
        for _ in range(1000):
            compute_score(data_source="gsm8k", solution_str="x", extra_info={})
    assert rew.bad_input_counts()["unknown data_source"] == 1003
    assert 1 <= len(caplog.records) <= 11  # powers of two only


def test_reward_kwargs_checked_strictly_for_the_dry_run_and_leniently_in_training():
    assert rew.check_reward_kwargs({}) == (0.0, rew.DEFAULT_MAX_ANSWER_CHARS, rew.DEFAULT_TIMEOUT_S, 0.0, 1.0, 1.0)
    assert rew.check_reward_kwargs({"format_penalty": 0.5, "max_answer_chars": 10, "timeout_s": 0,
                                    "partial_credit": 0.5, "flawed_working_score": 0.5,
                                    "unreadable_working_score": 0.75}) == (0.5, 10, 0.0, 0.5, 0.5, 0.75)
    assert rew.check_reward_kwargs({"flawed_working_score": 0}).flawed_working_score == 0.0
    assert rew.check_reward_kwargs({"unreadable_working_score": 0}) == (0.0, rew.DEFAULT_MAX_ANSWER_CHARS,
                                                                        rew.DEFAULT_TIMEOUT_S, 0.0, 1.0, 0.0)
    for bad in ({"format_penality": 0.1}, {"format_penalty": -1}, {"format_penalty": "x"},
                {"max_answer_chars": 0}, {"max_answer_chars": 1.5}, {"timeout_s": "soon"},
                {"partial_credit": 1.0}, {"partial_credit": -0.1}, {"partial_credit": "some"},
                {"flawed_working_score": 1.5}, {"flawed_working_score": -0.1}, {"flawed_working_score": "half"},
                {"flawed_working_score": float("nan")},
                {"unreadable_working_score": 1.5}, {"unreadable_working_score": -0.1},
                {"unreadable_working_score": "half"}, {"unreadable_working_score": float("nan")},
                # a right answer with flawed or unreadable working would score below a wrong one's partial credit
                {"flawed_working_score": 0.2, "partial_credit": 0.5},
                {"unreadable_working_score": 0.2, "partial_credit": 0.5}):
        with pytest.raises(ValueError):
            rew.check_reward_kwargs(bad)
    row = _rows(TYPES[0], 1)[0]
    result = _call(row, "nothing", format_penality=0.1)  # typo: defaults used, counted
    assert result["score"] == 0.0 and rew.bad_input_counts()["bad reward_kwargs"] == 1
    # verl's own extra kwargs (reward model enabled) are accepted
    assert _call(row, row["reward_model"]["ground_truth"], reward_router_address=None)["acc"] == 1.0


# ------------------------------------------------------------------ hostile responses


@pytest.mark.parametrize("task_type", TYPES)
def test_hostile_responses(task_type):
    row = _rows(task_type, 1)[0]
    answer = row["reward_model"]["ground_truth"]
    for response in (
        "", "\x00" * 1000, "\ud800", "<think>" * 1000, "</think>" * 1000, "(" * 1_000_000, "9" * 100_000,
        "<think>" + answer,  # still thinking: no answer
        "<think>" + answer + "</think>",  # the answer hidden in the reasoning only
    ):
        result = _call(response=response, row=row, format_penalty=0.1)
        assert result["acc"] == 0.0 and tuple(result) == RESULT_KEYS
    # a huge reasoning part is skipped, whatever it holds
    long_think = "<think>" + ("x" * 1_000_000) + answer + "</think>\n" + answer
    assert _call(row, long_think)["acc"] == 1.0
    # an answer part over the cap is unreadable, even when it ends with the right answer
    capped = _call(row, "y" * 200 + "\n" + answer, max_answer_chars=100, format_penalty=0.1)
    assert capped == {"score": -0.1, "acc": 0.0, "format_ok": 0.0, "task_type_id": registry.type_ids()[task_type]}
    assert _call(row, "y" * 200 + "\n" + answer, max_answer_chars=100_000)["acc"] == 1.0
    assert rew.bad_input_counts() == {}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400), st.sampled_from(TYPES or ["none"]))
def test_fuzz_random_text_never_raises_never_correct(text, task_type):
    row = _rows(task_type, 1)[0]
    result = _call(row, text, format_penalty=0.25)
    assert tuple(result) == RESULT_KEYS
    assert result["acc"] == 0.0 and result["score"] in (0.0, -0.25)


# ------------------------------------------------------------------ wall-clock guard


def _spin(*_args):
    x = 0
    while True:  # a verifier that never returns (pure Python, so it can be interrupted)
        x += 1


def test_timeout_guard_stops_a_runaway_verifier(monkeypatch):
    row = _rows(TYPES[0], 1)[0]
    monkeypatch.setattr(registry, "verify", _spin)
    t0 = time.perf_counter()
    result = _call(row, "anything", timeout_s=0.2, format_penalty=0.1)
    elapsed = time.perf_counter() - t0
    assert 0.15 < elapsed < 1.5, elapsed
    assert result == {"score": -0.1, "acc": 0.0, "format_ok": 0.0, "task_type_id": registry.type_ids()[TYPES[0]]}
    assert rew.bad_input_counts() == {"verification timed out": 1}
    # also from a worker thread, the way verl's reward manager runs it
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", _call(row, "x", timeout_s=0.1)))
    worker.start()
    worker.join(5)
    assert not worker.is_alive() and out["r"]["format_ok"] == 0.0


def test_timeout_guard_never_leaks_an_exception_after_a_call(monkeypatch):
    row = _rows(TYPES[0], 1)[0]

    def busy_verify(*_args):
        end = time.perf_counter() + 0.004
        while time.perf_counter() < end:
            pass
        return Verdict.ok()

    monkeypatch.setattr(registry, "verify", busy_verify)
    monkeypatch.setattr(rew._Watchdog, "POLL_S", 0.001)
    # deadlines that expire around the moment the verifier returns: the race window
    for k in range(120):
        _call(row, "x", timeout_s=0.001 + (k % 7) * 0.001)
    end = time.perf_counter() + 0.3  # any stray exception would be raised in this loop
    n = 0
    while time.perf_counter() < end:
        n += 1
    assert n > 0
    counts = rew.bad_input_counts()
    assert set(counts) == {"verification timed out"} and counts["verification timed out"] >= 1


def test_a_raising_verifier_leaves_no_armed_guard_behind(monkeypatch):
    row = _rows(TYPES[0], 1)[0]

    def broken(*_args):
        raise KeyError("bug")  # registry.verify catches verifier bugs; this is a bug in it

    monkeypatch.setattr(registry, "verify", broken)
    assert _call(row, "x", timeout_s=0.05) == rew._UNUSABLE
    assert rew.bad_input_counts() == {"internal error": 1}
    assert threading.get_ident() not in rew._watchdog._active
    end = time.perf_counter() + 0.2  # past the deadline: nothing may be raised here
    while time.perf_counter() < end:
        pass


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_timeout_guard_works_in_a_forked_child(monkeypatch):
    """Dataloader-style fork after the parent's watchdog started: the child gets its own."""
    import select
    import signal

    row = _rows(TYPES[0], 1)[0]
    _call(row, "warm up", timeout_s=1.0)
    monkeypatch.setattr(registry, "verify", _spin)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(write_end, json.dumps(_call(row, "x", timeout_s=0.2)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    ready, _, _ = select.select([read_end], [], [], 10)
    if not ready:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    data = os.read(read_end, 4096) if ready else b""
    os.close(read_end)
    assert data, "the child hung"
    assert json.loads(data)["format_ok"] == 0.0


def test_guard_off_and_on_score_alike():
    """The guard's overhead per call: tests/benchmarks/bench_reward.py."""
    row = _rows(TYPES[0], 1)[0]
    answer = row["reward_model"]["ground_truth"]
    assert _call(row, answer, timeout_s=0) == _call(row, answer) == {
        "score": 1.0, "acc": 1.0, "format_ok": 1.0, "task_type_id": registry.type_ids()[TYPES[0]]}


# ------------------------------------------------------------------ thin entry file


def test_reward_file_works_without_the_package_installed(tmp_path):
    """``python -S`` skips site's .pth files (the editable install); site-packages is added by hand."""
    row = _rows(TYPES[0], 1)[0]
    code = (
        "import sys, json, importlib.util\n"
        f"sys.path.append({sysconfig.get_paths()['purelib']!r})\n"
        "assert importlib.util.find_spec('veritas') is None\n"
        f"spec = importlib.util.spec_from_file_location('custom_module_x', {REWARD_FILE!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "row = json.loads(sys.argv[1])\n"
        "print(mod.compute_score(data_source=row['data_source'], solution_str=row['reward_model']['ground_truth'],"
        " ground_truth=None, extra_info=row['extra_info'])['acc'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code, json.dumps(row)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "1.0"


# ------------------------------------------------------------------ verl 0.9.1's reward path


GRPO_OVERRIDES = [
    "algorithm.adv_estimator=grpo",
    "data.train_files=lgc_v2://train",
    "data.val_files=lgc_v2://val",
    f"data.custom_cls.path={os.path.join(REPO, 'train', 'tools', 'dataset-manager.py')}",
    "data.custom_cls.name=DynamicEnvDataset",
    f"reward.custom_reward_function.path={REWARD_FILE}",
    "reward.custom_reward_function.name=compute_score",
    "+reward.custom_reward_function.reward_kwargs.format_penalty=0.1",
    "reward.num_workers=1",
    "actor_rollout_ref.rollout.name=vllm",
    "actor_rollout_ref.rollout.n=4",
]


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_verl_loads_the_reward_file_with_reward_kwargs():
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn

    cfg = OmegaConf.create(
        {"reward": {"custom_reward_function": {"path": REWARD_FILE, "name": "compute_score", "reward_kwargs": {"format_penalty": 0.3}}}}
    )
    fn = get_custom_reward_fn(cfg)
    row = _rows(TYPES[0], 1)[0]
    assert fn(data_source=row["data_source"], solution_str="??", ground_truth="", extra_info=row["extra_info"])["score"] == -0.3
    alias = get_custom_reward_fn(OmegaConf.create({"reward": {"custom_reward_function": {"path": REWARD_FILE, "name": "compute_lgc_v2_score"}}}))
    assert alias(data_source=row["data_source"], solution_str=row["reward_model"]["ground_truth"], ground_truth="", extra_info=row["extra_info"])["acc"] == 1.0


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_verl_reward_loop_worker_scores_a_hand_built_batch_and_grpo_advantages(tmp_path):
    import numpy as np
    import torch
    from tensordict import TensorDict
    from transformers import AutoTokenizer
    from verl import DataProto
    from verl.experimental.reward_loop import RewardLoopWorker
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager
    from verl.trainer.ppo.core_algos import AdvantageEstimator
    from verl.trainer.ppo.metric_utils import process_validation_metrics
    from verl.trainer.ppo.v1.utils import compute_advantage_for_multi_trajectories

    from veritas.verl_adapters.compose import compose_config
    from veritas.verl_adapters.dataset import DynamicEnvDataset

    tok_dir = byte_tokenizer_dir(tmp_path / "tokenizer")
    cfg = compose_config("ppo_trainer", GRPO_OVERRIDES + [f"actor_rollout_ref.model.path={tok_dir}"])
    worker = RewardLoopWorker(cfg)  # what each of verl's reward actors holds
    assert isinstance(worker.reward_manager, NaiveRewardManager)

    ds = DynamicEnvDataset(config={"lgc_v2": {"task_types": TYPES}}, split="val")
    items = [ds[i] for i in range(3)]
    a = [it["reward_model"]["ground_truth"] for it in items]
    # a wrong answer in the right format: another task of the same type's answer
    info0 = items[0]["extra_info"]
    meta0 = formats.parse_metadata(info0["metadata"])
    wrong0 = next(
        t.answer for t in (registry.generate_by_type(info0["task_type"], info0["seed"] + k) for k in range(1, 50))
        if not registry.verify(info0["task_type"], t.answer, meta0).correct
    )
    # group 0: right, right-then-wrong, unreadable, hostile; group 1: all right; group 2: all junk
    groups = [
        (0, [a[0], a[0] + "\n" + wrong0, "no answer here", "(" * 5000 + "\ud7ff"]),
        (1, ["<think>ok</think>\n" + a[1]] * 4),
        (2, ["<think>" + a[2], "", "\x00", "</think>" * 50]),
    ]
    tok = AutoTokenizer.from_pretrained(tok_dir)
    prompt_len = 3
    samples, uids = [], []
    for g, responses in groups:
        for r in responses:
            samples.append((items[g], tok.encode(r, add_special_tokens=False) or [tok.pad_token_id], r))
            uids.append(f"uid{g}")
    resp_len = max(len(ids) for _, ids, _ in samples)
    prompts = torch.ones(len(samples), prompt_len, dtype=torch.long)
    responses = torch.full((len(samples), resp_len), tok.pad_token_id, dtype=torch.long)
    mask = torch.zeros(len(samples), prompt_len + resp_len, dtype=torch.long)
    mask[:, :prompt_len] = 1
    for k, (_, ids, text) in enumerate(samples):
        responses[k, : len(ids)] = torch.tensor(ids)
        mask[k, prompt_len : prompt_len + (len(ids) if text else 1)] = 1
    batch = TensorDict(
        {"prompts": prompts, "responses": responses, "attention_mask": mask, "input_ids": torch.cat([prompts, responses], 1)},
        batch_size=len(samples),
    )
    non_tensor = {
        key: np.array([dict(it[key]) if isinstance(it[key], dict) else it[key] for it, _, _ in samples], dtype=object)
        for key in ("data_source", "reward_model", "extra_info")
    }
    non_tensor["uid"] = np.array(uids, dtype=object)
    data = DataProto(batch=batch, non_tensor_batch=non_tensor)

    # the manager bound the thread's event loop at init, as in verl's reward actors
    outputs = worker.reward_manager.loop.run_until_complete(worker.compute_score_batch(data))
    scores = [o["reward_score"] for o in outputs]
    infos = [o["reward_extra_info"] for o in outputs]
    assert all(tuple(i) == RESULT_KEYS for i in infos)
    assert scores[0] == 1.0 and scores[4:8] == [1.0] * 4
    assert scores[1] <= 0.0  # right, then wrong: the last answer counts
    assert scores[2] == -0.1 and scores[3] in (0.0, -0.1)
    assert scores[8:] == [-0.1] * 4
    assert rew.bad_input_counts() == {}

    # rm_scores exactly as RewardLoopManager.compute_rm_score assembles them
    rm_scores = NaiveRewardManager.assemble_rm_scores(data, scores)
    assert torch.allclose(rm_scores.sum(-1), torch.tensor(scores, dtype=torch.float32))
    extra = {k: np.array([i[k] for i in infos]) for k in infos[0]}
    assert extra["task_type_id"].dtype.kind == "i" and extra["acc"].dtype.kind == "f"

    # GRPO advantages, the v1 trainer's way (keys {uid}_{session}_{index})
    adv_data = DataProto(
        batch=TensorDict(
            {"responses": responses, "attention_mask": mask, "token_level_rewards": rm_scores,
             "response_mask": mask[:, prompt_len:].clone()},
            batch_size=len(samples),
        ),
        non_tensor_batch={"uid": np.array(uids, dtype=object)},
    )
    keys = [f"{u}_{k % 4}_0" for k, u in enumerate(uids)]
    out = compute_advantage_for_multi_trajectories(
        adv_data, batch_keys=keys, adv_estimator=AdvantageEstimator.GRPO, norm_adv_by_std_in_grpo=True,
        config=cfg.algorithm,
    )
    adv = (out.batch["advantages"] * out.batch["response_mask"]).sum(-1) / out.batch["response_mask"].sum(-1)
    assert adv[0] > 0 and adv[2] < 0  # the correct response beats the unreadable one
    assert torch.allclose(adv[4:8], torch.zeros(4)) and torch.allclose(adv[8:], torch.zeros(4))  # no signal

    # validation metrics, per data_source, from the extra keys
    metrics = process_validation_metrics(
        [str(s) for s in non_tensor["data_source"]], uids, {"reward": scores, **{k: list(v) for k, v in extra.items()}}
    )
    some_source = str(non_tensor["data_source"][4])
    assert "acc" in metrics[some_source] and "format_ok" in metrics[some_source]


def test_partial_credit_scores_a_wrong_answer_by_the_share_of_its_statements_right():
    """boolean_expressions: with partial_credit c, an answer that gets k of n statements' true/false
    calls right scores c * k / n; right answers keep 1.0, unreadable ones -format_penalty, and acc
    stays right/wrong.  Without the option, or for a type without parts, a wrong answer scores 0."""
    row = next(r for r in _rows("boolean_expressions", 40)
               if 2 <= len(json.loads(r["extra_info"]["metadata"])["letters"]) and
               json.loads(r["extra_info"]["metadata"])["true_letters"])
    meta = json.loads(row["extra_info"]["metadata"])
    letters, true = meta["letters"], meta["true_letters"]
    n = len(letters)
    one_off = [x for x in true[1:]]  # misses the first true statement: n - 1 of n calls right
    all_wrong = [x for x in letters if x not in true]  # every call wrong
    box = lambda chosen: f"True statements: \\boxed{{{', '.join(chosen) if chosen else 'none'}}}"
    right = _call(row, box(true), partial_credit=0.5)
    assert right["score"] == 1.0 and right["acc"] == 1.0
    near = _call(row, box(one_off), partial_credit=0.5)
    assert near["acc"] == 0.0 and near["format_ok"] == 1.0
    assert near["score"] == pytest.approx(0.5 * (n - 1) / n)
    assert _call(row, box(all_wrong), partial_credit=0.5)["score"] == 0.0
    assert _call(row, box(one_off))["score"] == 0.0  # off by default
    assert _call(row, "no box at all", partial_credit=0.5, format_penalty=0.2)["score"] == -0.2
    # a statement that does not exist: no share to give
    assert _call(row, box(["Z"]), partial_credit=0.5)["score"] == 0.0
    # a type whose answer has no independent parts
    op = _rows("operation", 1)[0]
    assert _call(op, "\\boxed{123456789}", partial_credit=0.5)["score"] == 0.0


def _worked_rows(task_type: str, n: int = 12) -> list[tuple[dict, str]]:
    """(RL row, its task's worked solution) for n tasks at levels 1-5."""
    out = []
    for s in range(n):
        task = registry.generate_by_type(task_type, registry.split_seed_range("train")[0] + s, 1 + s % 5,
                                         "en" if s % 2 == 0 else None)
        out.append((formats.rl_row(task, index=s, split="train"), registry.worked_solution(task)))
    return out


def _flip_first_fact_verdict(worked: str) -> str:
    lines = worked.split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith("- ") and "→" in line)
    head, _, verdict = lines[i].rpartition("→ ")
    lines[i] = head + "→ " + {"True": "False", "False": "True", "真": "假", "假": "真"}[verdict.strip()]
    return "\n".join(lines)


def test_flawed_working_score_scores_a_right_answer_reached_through_wrong_working():
    """boolean_expressions: a right answer whose working holds a wrong fact verdict scores
    flawed_working_score, its acc stays 1.0; the same answer with right working, or without
    working, scores 1.0; the default leaves every score as it was."""
    task_type_id = registry.type_ids()["boolean_expressions"]
    for row, worked in _worked_rows("boolean_expressions"):
        flawed = _flip_first_fact_verdict(worked)
        assert _call(row, flawed)["acc"] == 1.0  # the answer is still right: only the working is wrong
        assert _call(row, flawed, flawed_working_score=0.0) == {"score": 0.0, "acc": 1.0, "format_ok": 1.0,
                                                                 "task_type_id": task_type_id}
        assert _call(row, flawed, flawed_working_score=0.25, partial_credit=0.25)["score"] == 0.25
        assert _call(row, flawed)["score"] == _call(row, flawed, flawed_working_score=1.0)["score"] == 1.0
        assert _call(row, worked, flawed_working_score=0.0)["score"] == 1.0
        assert _call(row, row["reward_model"]["ground_truth"], flawed_working_score=0.0)["score"] == 1.0
        # a wrong answer keeps its own score (here partial credit), flawed working or not
        assert _call(row, "\\boxed{Z}", flawed_working_score=0.0)["score"] == 0.0
    assert rew.bad_input_counts() == {}


@pytest.mark.parametrize("task_type", ["operation", "dyck_language", "dyck_language2", "dyck_language_reasoning_errors"])
def test_flawed_working_score_reads_each_types_working(task_type):
    """A right answer whose working went wrong scores flawed_working_score: operation's first step
    value off by one, the dyck types' result of the working changed under the right final line."""
    checked = 0
    for row, worked in _worked_rows(task_type, 6):
        lines = worked.split("\n")
        if task_type == "operation":
            i = next(i for i, line in enumerate(lines) if line.startswith("- "))
            head, _, value = lines[i].rpartition(" = ")
            if " = " not in head or not value.lstrip("-").isdigit():
                continue
            lines[i] = f"{head} = {int(value) + 1}"
            flawed = "\n".join(lines)
        else:  # the working's result changed, the final line kept: it no longer copies the working
            label = {"dyck_language": "Close them from the top down:", "dyck_language2": "Openers in front:",
                     "dyck_language_reasoning_errors": "Thought "}[task_type]
            if task_type == "dyck_language_reasoning_errors":  # one check line's mark flipped
                i = max(i for i, line in enumerate(lines) if line.endswith(("✓", "✗")))
                lines[i] = lines[i][:-1] + ("✗" if lines[i].endswith("✓") else "✓")
            else:
                i = next((i for i, line in enumerate(lines) if line.startswith(label)), None)
                if i is None:
                    continue  # zh: its own words
                lines[i] = label + " " + ("( " if task_type == "dyck_language2" else ") ") + lines[i][len(label):]
            flawed = "\n".join(lines)
        assert _call(row, flawed)["score"] == 1.0
        result = _call(row, flawed, flawed_working_score=0.0)
        assert result["score"] == 0.0 and result["acc"] == 1.0, (task_type, flawed)
        assert _call(row, worked, flawed_working_score=0.0)["score"] == 1.0
        checked += 1
    assert checked >= 3


def test_flawed_working_check_is_guarded_by_the_timeout_and_counts_no_flaw(monkeypatch):
    row, worked = _worked_rows("boolean_expressions", 1)[0]
    flawed = _flip_first_fact_verdict(worked)
    monkeypatch.setattr(rew, "read_working", _spin)
    t0 = time.perf_counter()
    result = _call(row, flawed, flawed_working_score=0.0, timeout_s=0.2)
    assert time.perf_counter() - t0 < 1.5
    assert result["score"] == 1.0 and result["acc"] == 1.0
    assert rew.bad_input_counts() == {"working check timed out": 1}


def test_flawed_working_is_checked_only_for_right_answers_when_on(monkeypatch):
    calls = []
    monkeypatch.setattr(rew, "read_working", lambda *args: calls.append(args) or Reading(WRONG, "flaw"))
    row, worked = _worked_rows("boolean_expressions", 1)[0]
    assert _call(row, worked)["score"] == 1.0 and calls == []  # off by default: never called
    assert _call(row, "\\boxed{Z}", flawed_working_score=0.0)["score"] == 0.0 and calls == []  # wrong answer
    assert _call(row, worked, flawed_working_score=0.5)["score"] == 0.5
    ((task_type, metadata, language, response),) = calls
    assert (task_type, language, response) == ("boolean_expressions", row["extra_info"]["language"], worked)
    assert metadata == json.loads(row["extra_info"]["metadata"])


def _drop_first_fact_line(response: str) -> str:
    lines = response.split("\n")
    i = next(i for i, line in enumerate(lines) if line.startswith("- ") and "→" in line)
    return "\n".join(lines[:i] + lines[i + 1:])


def test_unreadable_working_score_scores_a_right_answer_with_a_fact_line_left_out():
    """boolean_expressions: a right answer with one fact line left out (its lines no longer pair with
    the facts) scores unreadable_working_score, acc 1.0; the clean worked answer and a wrong answer
    keep their scores; a wrong verdict still scores flawed_working_score; the default changes nothing."""
    task_type_id = registry.type_ids()["boolean_expressions"]
    for row, worked in _worked_rows("boolean_expressions"):
        dropped = _drop_first_fact_line(worked)
        assert _call(row, dropped) == _call(row, dropped, unreadable_working_score=1.0) == \
            {"score": 1.0, "acc": 1.0, "format_ok": 1.0, "task_type_id": task_type_id}
        assert _call(row, dropped, unreadable_working_score=0.0) == {"score": 0.0, "acc": 1.0, "format_ok": 1.0,
                                                                     "task_type_id": task_type_id}
        assert _call(row, dropped, unreadable_working_score=0.5, partial_credit=0.25)["score"] == 0.5
        assert _call(row, dropped, flawed_working_score=0.0)["score"] == 1.0  # not wrong, only unreadable
        assert _call(row, worked, unreadable_working_score=0.0)["score"] == 1.0
        # no working at all is unreadable too
        assert _call(row, row["reward_model"]["ground_truth"], unreadable_working_score=0.0)["score"] == 0.0
        assert _call(row, "\\boxed{Z}", unreadable_working_score=0.0)["score"] == 0.0  # wrong: its own score
        assert _call(row, "\\boxed{Z}", unreadable_working_score=0.5, partial_credit=0.5)["score"] < 0.5
        flipped = _flip_first_fact_verdict(worked)
        assert _call(row, flipped, flawed_working_score=0.25, unreadable_working_score=0.75)["score"] == 0.25
        assert _call(row, flipped, unreadable_working_score=0.0)["score"] == 1.0  # wrong is not unreadable
    assert rew.bad_input_counts() == {}


def test_unreadable_working_score_reads_operation_steps_left_out():
    """operation: the first step line left out of a worked answer with several (each line left is
    right) scores unreadable_working_score."""
    checked = 0
    for row, worked in _worked_rows("operation", 12):
        lines = worked.split("\n")
        steps = [i for i, line in enumerate(lines) if line.startswith("- ")]
        if len(steps) < 2 or lines[steps[0]].rstrip().endswith(("where", "其中")):
            continue
        dropped = "\n".join(lines[:steps[0]] + lines[steps[0] + 1:])
        assert _call(row, dropped)["score"] == 1.0
        assert _call(row, dropped, unreadable_working_score=0.0)["score"] == 0.0
        assert _call(row, worked, unreadable_working_score=0.0)["score"] == 1.0
        checked += 1
    assert checked >= 2


def test_one_reading_per_response_whichever_score_is_on(monkeypatch):
    calls = []
    monkeypatch.setattr(rew, "read_working", lambda *args: calls.append(args) or Reading(UNREADABLE, "x"))
    row, worked = _worked_rows("boolean_expressions", 1)[0]
    assert _call(row, worked, flawed_working_score=0.5)["score"] == 1.0 and len(calls) == 1  # unreadable: off
    assert _call(row, worked, unreadable_working_score=0.5)["score"] == 0.5 and len(calls) == 2
    assert _call(row, worked, flawed_working_score=0.0, unreadable_working_score=0.5)["score"] == 0.5 and len(calls) == 3
    assert _call(row, "\\boxed{Z}", unreadable_working_score=0.0)["score"] == 0.0 and len(calls) == 3  # wrong answer
    monkeypatch.setattr(rew, "read_working", lambda *args: None)  # a type not read there: no penalty
    assert _call(row, worked, flawed_working_score=0.0, unreadable_working_score=0.0)["score"] == 1.0
