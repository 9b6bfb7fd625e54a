"""veritas.verl_ext.type_metrics_trainer: verl's real v1 trainer classes and registry on CPU.

The trainer's ``_compute_metrics`` (verl's own, then ours) runs on a synthetic step held in a
stand-in for the TransferQueue that stores rows the way verl's AgentLoopWorkerTQ does.  The
pins at the end fail when the verl code the wrapper relies on changes.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

pytestmark = [pytest.mark.verl, pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed")]

if importlib.util.find_spec("verl") is not None:
    import torch
    import transfer_queue
    from omegaconf import OmegaConf
    from tensordict import NonTensorStack, TensorDict
    from transfer_queue import KVBatchMeta

    from veritas.verl_ext import type_metrics_trainer as tmt
    from veritas.verl_ext import step_rows

from test_train_metrics import EXPECTED, MAX_LEN, STEP

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODULE = "veritas.verl_ext.type_metrics_trainer"
REGISTRATION = "veritas.verl_ext.registration"  # what the GRPO launcher loads in verl's processes


class FakeTransferQueue:
    """``kv_batch_get`` over rows stored as AgentLoopWorkerTQ puts them: tensors come back jagged,
    everything else as a NonTensorStack, and fields no row has are left out (as TransferQueue's
    select_fields does)."""

    def __init__(self):
        self.rows: dict[tuple[str, str], dict] = {}
        self.calls = 0

    def kv_batch_get(self, keys, partition_id, select_fields=None):
        self.calls += 1
        rows = [self.rows[(partition_id, k)] for k in keys]
        names = [f for f in select_fields if all(f in r for r in rows)]
        out = {}
        for name in names:
            values = [r[name] for r in rows]
            if all(isinstance(v, torch.Tensor) for v in values):
                out[name] = torch.nested.as_nested_tensor(values, layout=torch.jagged)
            else:
                out[name] = NonTensorStack(*values)
        return TensorDict(out, batch_size=[len(keys)])


def _row(i: int, score: float, length: int, *, reward_info=True) -> dict:
    response = torch.arange(length, dtype=torch.int64) + 5
    rm_scores = torch.zeros(length)
    rm_scores[-1] = score
    info = {"score": score, "acc": STEP["accs"][i], "format_ok": STEP["format_oks"][i], "task_type_id": 4}
    return {
        "prompts": torch.arange(7 + i, dtype=torch.int64),
        "responses": response,
        "response_mask": torch.ones(length, dtype=torch.int64),
        "rm_scores": rm_scores,
        "advantages": torch.zeros(length),
        "returns": torch.zeros(length),
        "num_turns": 2,
        "uid": STEP["uids"][i],
        "data_source": STEP["data_sources"][i],
        "extra_info": {"task_type": STEP["data_sources"][i].split("/")[1], "difficulty": STEP["levels"][i], "index": i},
        "extra_fields": {"reward_extra_info": info if reward_info else {}, "min_global_steps": 1, "max_global_steps": 1},
    }


def _step(fake: FakeTransferQueue, *, padding: bool = True, **row_kwargs) -> "KVBatchMeta":
    keys, tags = [], []
    for i, (score, length) in enumerate(zip(STEP["scores"], STEP["response_lengths"])):
        key = f"{STEP['uids'][i]}_{i}_0"
        fake.rows[("train", key)] = _row(i, float(score), length, **row_kwargs)
        keys.append(key)
        tags.append({"status": "success", "global_steps": 1, "min_global_steps": 1, "max_global_steps": 1})
    if padding:  # what upsample_batch_to_divisible_size adds: must not count
        fake.rows[("train", "pad_0")] = {**_row(0, 1.0, 1), "data_source": "lgc-v2/padding"}
        keys.append("pad_0")
        tags.append({"status": "success", "is_padding": True, "global_steps": 1, "min_global_steps": 1, "max_global_steps": 1})
    return KVBatchMeta(partition_id="train", keys=keys, tags=tags)


def _trainer(mode: str = "veritas_sync", response_length=MAX_LEN):
    """The registered class, without __init__ (that builds Ray worker groups); only what
    _compute_metrics reads is set."""
    from verl.trainer.ppo.v1 import get_trainer_cls

    trainer = object.__new__(get_trainer_cls(mode))
    trainer.config = OmegaConf.create(
        {"actor_rollout_ref": {"rollout": {"response_length": response_length, "n_gpus_per_node": 1, "nnodes": 1}, "model": {}}}
    )
    trainer.use_critic = False
    trainer._rollout_moe_lb_metrics_accumulator = None
    trainer.resource_pool_manager = SimpleNamespace(get_n_gpus=lambda: 1)
    return trainer


@pytest.fixture
def fake_tq(monkeypatch):
    fake = FakeTransferQueue()
    # verl's trainer_base and our module both call transfer_queue.kv_batch_get at call time
    monkeypatch.setattr(transfer_queue, "kv_batch_get", fake.kv_batch_get)
    return fake


def _compute(trainer, batch) -> dict:
    metrics = {}
    trainer._compute_metrics(batch, metrics, {"step": 2.0, "gen": 1.0}, global_steps=1, epoch=0)
    return metrics


def test_registered_trainers_extend_the_verl_modes():
    from verl.trainer.ppo.v1 import PPOTrainerColocateAsync, PPOTrainerSeparateAsync, PPOTrainerSync, get_trainer_cls

    for name, base in (("veritas_sync", PPOTrainerSync), ("veritas_colocate_async", PPOTrainerColocateAsync),
                       ("veritas_separate_async", PPOTrainerSeparateAsync)):
        cls = get_trainer_cls(name)
        assert issubclass(cls, base) and cls.__module__ == MODULE
        trainer = object.__new__(cls)
        trainer.trainer_mode = name  # what PPOTrainer.__init__ does with the config value
        assert trainer.trainer_mode == tmt.TRAINER_MODES[name] == cls.VERL_TRAINER_MODE


def test_step_metrics_have_verls_and_ours(fake_tq):
    metrics = _compute(_trainer(), _step(fake_tq))
    # verl's own metrics are still there, computed on the non-padding rows
    assert metrics["critic/score/mean"] == pytest.approx(sum(STEP["scores"]) / 9)
    assert metrics["response_length/mean"] == pytest.approx(sum(STEP["response_lengths"]) / 9)
    ours = {k: v for k, v in metrics.items() if k.startswith("train_by_type/")}
    # every response of _step differs from the others of its group (each row its own length)
    identical = {f"train_by_type/{t}/identical_response_group_share": 0.0 for t in ("dyck_language2", "game_of_24", "all")}
    assert ours.keys() == EXPECTED.keys() | identical.keys()
    for key, value in {**EXPECTED, **identical}.items():
        assert ours[key] == pytest.approx(value), key


def test_identical_responses_are_read_from_the_token_ids(fake_tq):
    batch = _step(fake_tq)
    for i in range(3):  # group g1: one response, three times
        fake_tq.rows[("train", batch.keys[i])]["responses"] = torch.tensor([9, 8, 7])
    metrics = _compute(_trainer(), batch)
    assert metrics["train_by_type/dyck_language2/identical_response_group_share"] == 0.5
    assert metrics["train_by_type/all/identical_response_group_share"] == pytest.approx(1 / 3)


def test_the_curriculum_and_the_metrics_share_one_read_of_the_step(fake_tq, monkeypatch):
    batch = _step(fake_tq)
    ours = lambda metrics: {k: v for k, v in metrics.items() if k.startswith("train_by_type/")}
    alone = ours(_compute(_trainer(), batch))
    reads = []
    real_get = fake_tq.kv_batch_get

    def counting(keys, partition_id, select_fields=None):
        if "data_source" in select_fields:  # our read (verl's own metrics read other fields)
            reads.append(list(keys))
        return real_get(keys, partition_id, select_fields)

    monkeypatch.setattr(transfer_queue, "kv_batch_get", counting)
    trainer, observed = _trainer(), []
    trainer.curriculum = SimpleNamespace(observe=lambda step, rows: observed.append((step, rows)) or {"curriculum/x": 1.0})
    trainer.global_steps = 4
    assert trainer._curriculum_update(batch) == {"curriculum/x": 1.0}  # in step(), before the checkpoint
    assert ours(_compute(trainer, batch)) == alone  # then fit's _compute_metrics
    assert reads == [batch.keys[:9]]  # one read, without the padding row
    types = [source.split("/")[1] for source in STEP["data_sources"]]
    assert observed == [(4, list(zip(types, STEP["levels"], STEP["accs"], STEP["uids"])))]
    _compute(trainer, batch)  # the metrics forgot the step's rows: a later step reads its own
    assert len(reads) == 2


@pytest.mark.parametrize("mode", ["veritas_colocate_async", "veritas_separate_async"])
def test_async_modes_add_the_same_metrics(fake_tq, mode):
    metrics = _compute(_trainer(mode), _step(fake_tq))
    assert metrics["train_by_type/game_of_24/accuracy"] == pytest.approx(1 / 3)


def test_missing_reward_keys_and_levels_only_drop_those_metrics(fake_tq):
    batch = _step(fake_tq, reward_info=False)
    for key in batch.keys:
        del fake_tq.rows[("train", key)]["extra_info"]
    metrics = _compute(_trainer(response_length=None), batch)
    assert metrics["train_by_type/dyck_language2/reward_mean"] == pytest.approx(0.5)
    assert metrics["train_by_type/all/zero_variance_group_share"] == pytest.approx(2 / 3)
    assert not any(k.endswith(("/accuracy", "/format_rate", "/level_mean", "/truncation_rate")) for k in metrics)


def test_a_failing_queue_skips_our_metrics_and_keeps_verls(fake_tq, monkeypatch, caplog):
    trainer, batch = _trainer(), _step(fake_tq)
    real_get = fake_tq.kv_batch_get

    def fails_for_our_fields(keys, partition_id, select_fields=None):
        if "data_source" in select_fields or select_fields == ["uid"]:
            raise RuntimeError("queue down")
        return real_get(keys, partition_id, select_fields)

    monkeypatch.setattr(transfer_queue, "kv_batch_get", fails_for_our_fields)
    metrics = _compute(trainer, batch)
    assert "critic/score/mean" in metrics
    # data_source could not be read: no rows, so no per-type metric, and no exception
    assert not any(k.startswith("train_by_type/") for k in metrics)

    # rm_scores that are not tensors: only reward_mean and the group shares go
    fields = step_rows.fetch(list(batch.keys[:9]), "train")
    fields["rm_scores"] = NonTensorStack(*["x"] * 9)
    columns = step_rows.step_columns(fields)
    assert columns["scores"] is None and columns["response_lengths"] == STEP["response_lengths"]

    monkeypatch.setattr(tmt, "per_type_metrics", lambda **kw: 1 / 0)
    with caplog.at_level("WARNING", logger=MODULE):
        metrics = _compute(trainer, batch)
    assert "critic/score/mean" in metrics and "ZeroDivisionError" in caplog.text


@pytest.mark.parametrize("mode, verl_mode, interval", [
    ("veritas_sync", "sync", 0.1), ("veritas_colocate_async", "colocate_async", 0.1),
    ("veritas_separate_async", "separate_async", 2.0),
])
def test_replay_buffer_polls_faster_in_sync_and_colocate_modes(mode, verl_mode, interval):
    """verl waits for a step's rollouts in 2-s polls; ours in 0.1-s ones, with the buffer (kind,
    batch sizes) verl's own trainer builds from the recipe's config."""
    from verl.trainer.ppo.v1 import get_trainer_cls

    from veritas.verl_adapters.compose import compose_run_config

    config = compose_run_config(os.path.join(REPO, "train", "config"), "grpo-smollm2-135m-1gpu",
                                [f"trainer.v1.trainer_mode={mode}"])

    def build(name):
        trainer = object.__new__(get_trainer_cls(name))
        trainer.config = config
        trainer.trainer_mode = name  # what PPOTrainer.__init__ does with trainer.v1.trainer_mode
        return trainer._build_replay_buffer()

    ours, verls = build(mode), build(verl_mode)
    assert verls.poll_interval == 2.0 and ours.poll_interval == interval
    assert type(ours) is type(verls)
    assert (ours.train_batch_size, ours.gen_batch_size) == (verls.train_batch_size, verls.gen_batch_size)


def test_registration_reaches_processes_that_import_verl():
    """What main_ppo's TaskRunnerV1 actor does: import verl (which imports the modules in
    VERL_USE_EXTERNAL_MODULES), then look the trainer up; with the CPU platform module too."""
    code = (
        "import verl.trainer.main_ppo\n"
        "from verl.trainer.ppo.v1 import get_trainer_cls\n"
        "print(get_trainer_cls('veritas_sync').__qualname__)\n"
    )
    env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1",
           "VERL_USE_EXTERNAL_MODULES": f"veritas.verl_ext.cpu_platform,{REGISTRATION}"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "VeritasTrainerSync"
    env["VERL_USE_EXTERNAL_MODULES"] = "veritas.verl_ext.cpu_platform"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "Unknown trainer 'veritas_sync'" in result.stderr


RAY_PROBE = """
import os
import ray
ray.init(num_cpus=1, include_dashboard=False)

@ray.remote(num_cpus=0)
class Probe:  # stands in for main_ppo's TaskRunnerV1 actor
    def run(self):
        import sys
        loaded_before = "%s" in sys.modules
        from verl.trainer.ppo.v1 import get_trainer_cls
        return os.getpid(), loaded_before, get_trainer_cls("veritas_sync").__qualname__

try:
    print("PROBE", os.getpid(), *ray.get(Probe.remote().run.remote(), timeout=180))
finally:
    ray.shutdown()
""" % REGISTRATION


def test_a_ray_actor_of_the_driver_sees_the_registration():
    """main_ppo starts its own Ray cluster and looks the trainer up in an actor: the variable set
    in the launching shell reaches the actor, whose ``import verl`` loads the module that
    registers our trainers."""
    env = {**os.environ, "PYTHONPATH": REPO, "OMP_NUM_THREADS": "1", "VERL_USE_EXTERNAL_MODULES": REGISTRATION}
    result = subprocess.run([sys.executable, "-c", RAY_PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    probe = [line.split() for line in result.stdout.splitlines() if line.startswith("PROBE ")][-1]
    _, driver_pid, actor_pid, loaded_before, name = probe
    assert driver_pid != actor_pid and loaded_before == "False" and name == "VeritasTrainerSync"


# ------------------------------------------------------------------ pins on verl's code

# sha256 of inspect.getsource(...) in verl 0.9.1.  When one changes, re-check what it says, then
# update the hash.
PINS = {
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._compute_metrics": (
        "9c5c555787889555c5bd77e59f57b87d03a08e0449903a63e26186d6f511fcec",
        "our override calls it with the same arguments and then reads the step's rows from the "
        "TransferQueue: check its signature, that it still skips is_padding rows the same way",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer.fit": (
        "7d83a81c2e62979ffec22f90dc8f2e44bf98dd59d6b50809c359727090cb4a56",
        "fit must call self._compute_metrics(batch, metrics, timing_raw, global_steps=, epoch=) "
        "BEFORE tq.kv_clear(batch.keys) and then log `metrics`",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer.__init__": (
        "6f938d77859b66aeeceb03a39bc9a7b5e7b6f50004aa8b1e2508f6e289fa1b93",
        "__init__ stores config.trainer.v1.trainer_mode in self.trainer_mode (our property ignores "
        "it and answers the verl mode); check no other use of the registry name was added",
    ),
    "verl.trainer.ppo.v1.trainer_base:register_trainer": ("40ec333837abb2a02d785e2a3d0067e0bed96aebd70006774a71cf0dd601af6d", "how trainers are registered"),
    "verl.trainer.ppo.v1.trainer_base:get_trainer_cls": ("a5b3ce304945430aab0745b6251336d8ddc9cf628015ca2cab4fac68d1f66663", "how main_ppo looks trainers up"),
    "verl.trainer.ppo.v1.replay_buffer:ReplayBuffer._wait_for_next_poll": (
        "10088bf03da693830d23be51540b04ad3e21e34566f70cbe8863f2867873f8cd",
        "ReplayBufferPollMixin sets poll_interval after verl builds the buffer: the wait between "
        "checks must still be time.sleep(self.poll_interval)",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._build_replay_buffer": (
        "c6c5bd0783311ea3ed37f2f5054eb1d23533deb76b181643419b2f37897f38be",
        "__init__ builds the replay buffer with self._build_replay_buffer() (ReplayBufferPollMixin "
        "overrides it): check the buffer classes still take poll_interval",
    ),
    "verl.trainer.main_ppo:TaskRunnerV1.run": (
        "26be986901db888bb7ccbec7a7b8eb90365de42a426e6fbf119e6e8d445dde7c",
        "TaskRunnerV1.run must still pick the class with get_trainer_cls(config.trainer.v1.trainer_mode)",
    ),
    "verl.utils.skip.rollout_skip:RolloutTqSkip.__init__": (
        "da881015d00683d3d118f62af6da9c57447af8916aa670f707a8160952d85793",
        "it reads trainer.v1.<configured trainer_mode>.parameter_sync_step (our registry name, not "
        "the verl mode); docs/monitoring.md tells veritas_separate_async users to set it: check it still does",
    ),
    "verl.trainer.ppo.v1.agent_loop_tq:AgentLoopWorkerTQ._agent_loop_postprocess": (
        "523edacbff73640dee470baf8c1f09fb3450e4095c05d5d2226f9ef706604b5b",
        "the rows must still hold data_source, uid, extra_info (the dataset row's keys), "
        "extra_fields['reward_extra_info'], rm_scores and responses (FIELDS in the module)",
    ),
}


def _source_hash(target: str) -> str:
    module_name, qualname = target.split(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(getattr(obj, "__ray_actor_class__", obj), part)  # a @ray.remote class wraps its own
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()


def assert_pin_holds(target: str, expected: str, what: str, relied_on_by: str, pinned_in: str) -> None:
    """The source of verl's ``target`` still hashes to ``expected``; else say what to re-check."""
    import verl

    got = _source_hash(target)
    assert got == expected, (
        f"verl {verl.__version__} changed {target} (sha256 {got}); {relied_on_by} relies on it: {what}. "
        f"Re-check, then update the hash in {pinned_in}."
    )


@pytest.mark.parametrize("target", sorted(PINS))
def test_wrapped_verl_code_is_unchanged(target):
    assert_pin_holds(target, *PINS[target], MODULE, "tests/test_type_metrics_trainer.py")
