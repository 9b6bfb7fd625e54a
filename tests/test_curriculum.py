"""The adaptive per-type curriculum: the controller alone, the dataset's curriculum items, and the
whole loop inside verl 0.9.1's v1 trainer on CPU.

The trainer tests run verl's real ``_init_dataloader`` (``create_rl_dataset``,
``create_rl_sampler``, ``StatefulDataLoader``), ``_next_train_batch``, ``_save_checkpoint`` and
``_load_checkpoint``; only the GPU part of ``PPOTrainer.step`` (rollout, reward, update) is a
simulated model whose per-type skill decides each response's ``acc``, stored in a stand-in for
the TransferQueue.  The pins at the end fail when the verl code the curriculum relies on changes.
"""
from __future__ import annotations

import importlib.util
import logging
import math
import os
from types import SimpleNamespace

import pytest

from veritas.verl_adapters.curriculum import (
    CurriculumConfig,
    CurriculumConfigError,
    CurriculumItem,
    CurriculumSampler,
    LevelController,
    prefetch_lag_steps,
)
from veritas.verl_adapters.dataset import DatasetConfigError, DynamicEnvDataset

HAS_VERL = importlib.util.find_spec("verl") is not None
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


CURRICULUM_LOGGERS = ("veritas.verl_ext.curriculum", "veritas.verl_adapters.curriculum")


@pytest.fixture(autouse=True)
def _curriculum_loggers_as_they_were():
    """The trainer tests run ``show_level_changes``, which stops the curriculum's loggers from
    propagating: put them back, so that caplog (on the root logger) sees them in the other tests."""
    names = CURRICULUM_LOGGERS
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate, list(logging.getLogger(n).handlers))
             for n in names}
    yield
    for n, (level, propagate, handlers) in saved.items():
        log = logging.getLogger(n)
        log.setLevel(level)
        log.propagate = propagate
        log.handlers[:] = handlers


def _seen_by_caplog(caplog):
    """After a trainer with the curriculum on was built: its loggers no longer reach the root."""
    for name in CURRICULUM_LOGGERS:
        log = logging.getLogger(name)
        if not log.propagate and caplog.handler not in log.handlers:
            log.addHandler(caplog.handler)
DATASET_FILE = os.path.join(REPO, "train", "tools", "dataset-manager.py")


def _controller(types=("a", "b"), lag=0, **opts) -> LevelController:
    cfg = CurriculumConfig.from_mapping({"enable": True, "window_steps": 2, "min_samples": 4, "cooldown_steps": 1,
                                         "initial_window": [4, 5], **opts})
    return LevelController(cfg, types, lag_steps=lag)


def _rows(task_type, level, accs):
    return [(task_type, level, a) for a in accs]


# ------------------------------------------------------------------ the controller


def test_config_defaults_and_errors_name_the_key():
    cfg = CurriculumConfig.from_mapping(None)
    assert (cfg.enable, cfg.band, cfg.initial_window, cfg.lag_steps) == (False, (0.3, 0.7), (1, 2), None)
    for bad, key in (({"band": [0.8, 0.2]}, "band"), ({"window_steps": 0}, "window_steps"),
                     ({"initial_window": [3, 11]}, "initial_window"), ({"min_level": 3, "initial_window": [1, 2]}, "initial_window"),
                     ({"lag_steps": -1}, "lag_steps"), ({"enable": "yes"}, "enable"), ({"bogus": 1}, "bogus")):
        with pytest.raises(CurriculumConfigError, match=key):
            CurriculumConfig.from_mapping(bad)
    # through the dataset's config, with the full key path
    with pytest.raises(DatasetConfigError, match=r"data\.lgc_v2\.curriculum\.step_size"):
        DynamicEnvDataset(data_files="lgc_v2://train", config={"lgc_v2": {"curriculum": {"step_size": 0}}})
    with pytest.raises(DatasetConfigError, match="not in task_types"):
        DynamicEnvDataset(data_files="lgc_v2://train", config={"lgc_v2": {"task_types": ["sudoku"], "curriculum": {
            "initial_window": {"operation": [2, 3]}}}})


def test_moves_up_above_the_band_and_down_below_it():
    c = _controller()
    m = c.observe(1, _rows("a", 4, [1, 1, 1, 1]) + _rows("b", 5, [0, 0, 0, 1]))
    assert c.windows() == {"a": (5, 6), "b": (3, 4)}
    assert (m["curriculum/a/move"], m["curriculum/b/move"]) == (1.0, -1.0)
    assert m["curriculum/a/window_accuracy"] == 1.0 and m["curriculum/b/window_accuracy"] == 0.25
    assert (m["curriculum/a/level_lo"], m["curriculum/a/level_hi"]) == (5.0, 6.0)
    assert c.changes == [(0, {"a": (4, 5), "b": (4, 5)}), (1, {"a": (5, 6), "b": (3, 4)})]


def test_min_samples_cooldown_and_band_hold_the_window():
    c = _controller()
    c.observe(1, _rows("a", 4, [1, 1, 1]))  # 3 < min_samples 4
    assert c.windows()["a"] == (4, 5)
    c.observe(2, _rows("a", 5, [1]))  # 4 over the last 2 steps
    assert c.windows()["a"] == (5, 6)
    m = c.observe(3, _rows("a", 5, [1] * 8))  # cool-down step: no move
    assert c.windows()["a"] == (5, 6) and m["curriculum/a/window_accuracy"] == 1.0
    c.observe(4, _rows("a", 6, [0] * 8))  # with step 3: 0.5, in the band
    assert c.windows()["a"] == (5, 6)
    c.observe(5, _rows("a", 6, [1] * 6 + [0] * 2))  # with step 4: 6/16, in the band
    c.observe(6, _rows("a", 6, [1, 0, 1, 0]))  # with step 5: 8/12, in the band
    assert c.windows()["a"] == (5, 6)


def test_rows_outside_the_window_or_without_accuracy_do_not_count():
    c = _controller()
    m = c.observe(1, _rows("a", 7, [1] * 9) + _rows("a", 4, [None, "x", math.nan]) + _rows("zzz", 4, [1] * 9)
                  + [("a", None, 1.0)])
    assert c.windows()["a"] == (4, 5) and m["curriculum/a/window_responses"] == 0.0
    assert "curriculum/a/window_accuracy" not in m


def test_limits_stay_and_say_so(caplog):
    c = _controller(initial_window=[9, 10], band=[0.3, 0.7])
    c.states["b"].lo, c.states["b"].hi = 1, 2
    with caplog.at_level(logging.INFO, logger="veritas.verl_adapters.curriculum"):
        m = c.observe(1, _rows("a", 10, [1] * 4) + _rows("b", 1, [0] * 4))
        m2 = c.observe(2, _rows("a", 10, [1] * 4) + _rows("b", 1, [0] * 4))
    assert c.windows() == {"a": (9, 10), "b": (1, 2)}
    assert m["curriculum/a/held_at_limit"] == m["curriculum/b/held_at_limit"] == m2["curriculum/a/held_at_limit"] == 1.0
    assert m["curriculum/a/move"] == 0.0
    held = [r.getMessage() for r in caplog.records if "stays at" in r.getMessage()]
    assert len(held) == 2 and "max_level" in held[0] and "min_level" in held[1]  # once each, not every step
    c.observe(3, _rows("a", 10, [0] * 12))  # with step 2: 4/16, below the band
    assert c.windows()["a"] == (8, 9)


@pytest.mark.skipif(not HAS_VERL, reason="verl not installed")
def test_level_changes_reach_stderr_in_a_process_that_set_up_no_logging():
    """verl's Ray workers configure no handler: INFO records would go to logging's last resort and
    be dropped (no level change showed in the GPU runs' logs).  A fresh interpreter, as they are.
    And whatever happens to the root logger afterwards (in the fifth arm's GPU run the start-up
    line came through the root handler, a later move did not), each move is one line."""
    import subprocess
    import sys

    code = (
        "from veritas.verl_ext.curriculum import show_level_changes\n"
        "from veritas.verl_adapters.curriculum import CurriculumConfig, LevelController\n"
        "show_level_changes(); show_level_changes()  # once is enough: the second adds nothing\n"
        "{after}"
        "c = LevelController(CurriculumConfig.from_mapping({{'enable': True, 'min_samples': 4, "
        "'initial_window': [4, 4]}}), ['a'])\n"
        "c.observe(1, [('a', 4, 1.0)] * 8)\n"
    )
    root_handler = "import logging; logging.basicConfig(format='%(message)s')  # a root handler, root at WARNING\n"
    cases = {
        "no logging set up": ("", ""),
        "a root handler": (root_handler, ""),
        "root handler raised to ERROR later": (root_handler, "logging.getLogger().handlers[0].setLevel(logging.ERROR)\n"),
        "root handlers replaced later": (root_handler, "logging.basicConfig(force=True, level=logging.ERROR)\n"),
        "root at INFO at start-up, WARNING later": (root_handler.replace("basicConfig(", "basicConfig(level=logging.INFO, "),
                                                     "logging.getLogger().setLevel(logging.WARNING)\n"),
    }
    for case, (setup, after) in cases.items():
        out = subprocess.run([sys.executable, "-c", setup + code.format(after=after)], capture_output=True,
                             text=True, timeout=120, cwd=REPO)
        assert out.returncode == 0, out.stderr
        changes = [line for line in out.stderr.splitlines()
                   if line.endswith("curriculum: step 1: a levels 4-4 -> 5-5 (accuracy 1.000 over 8 responses, "
                                    "band [0.3, 0.7]); served from step 2")]
        assert len(changes) == 1, (case, out.stderr)


def test_step_size_is_clamped_at_the_limits():
    c = _controller(initial_window=[7, 8], step_size=3)
    c.observe(1, _rows("a", 7, [1] * 4) + _rows("b", 7, [0] * 4))
    assert c.windows() == {"a": (9, 10), "b": (4, 5)}


def _groups(task_type, level, groups, step):
    """Rows of whole GRPO groups: one uid per group of accuracies."""
    return [(task_type, level, a, f"{step}-{task_type}-{g}") for g, accs in enumerate(groups) for a in accs]


FLAT = [[1, 1, 1, 1], [0, 0, 0, 0]]  # accuracy 0.5, in the band; neither group gives a gradient
MIXED = [[1, 0, 1, 0], [1, 1, 0, 0]]  # accuracy 0.5 too; both groups do


def test_max_flat_share_tries_the_level_above_and_keeps_it_when_less_flat(caplog):
    c = _controller(initial_window=[3, 3], max_flat_share=0.5)
    with caplog.at_level(logging.INFO, logger="veritas.verl_adapters.curriculum"):
        m = c.observe(1, _groups("a", 3, FLAT, 1) + _groups("b", 3, MIXED, 1))
    assert c.windows() == {"a": (4, 4), "b": (3, 3)}
    assert (m["curriculum/a/move"], m["curriculum/a/flat_move"], m["curriculum/a/window_flat_share"]) == (1.0, 1.0, 1.0)
    assert (m["curriculum/b/flat_move"], m["curriculum/b/window_flat_share"]) == (0.0, 0.0)
    assert "trying the level above" in caplog.text and "1.000 of 2 groups flat" in caplog.text
    c.observe(2, _groups("a", 4, MIXED, 2))  # cool-down
    m = c.observe(3, _groups("a", 4, MIXED, 3))  # 0 of 4 groups flat: kept
    assert c.windows()["a"] == (4, 4) and m["curriculum/a/flat_move"] == 0.0
    for step in range(4, 9):
        c.observe(step, _groups("a", 4, MIXED, step))
    assert c.windows()["a"] == (4, 4) and c.states["a"].flat_seen == {3: 1.0, 4: 0.0}


def test_max_flat_share_goes_back_from_a_flatter_level_and_does_not_try_it_again(caplog):
    c = _controller(initial_window=[3, 3], max_flat_share=0.5)
    c.observe(1, _groups("a", 3, FLAT, 1))
    c.observe(2, _groups("a", 4, FLAT, 2))  # cool-down
    with caplog.at_level(logging.INFO, logger="veritas.verl_adapters.curriculum"):
        m = c.observe(3, _groups("a", 4, FLAT, 3))  # as flat as level 3: back
    assert c.windows()["a"] == (3, 3) and m["curriculum/a/flat_move"] == -1.0
    assert "back: no fewer flat groups than at level 3" in caplog.text
    for step in range(4, 12):
        m = c.observe(step, _groups("a", 3, FLAT, step))
        assert c.windows()["a"] == (3, 3) and m["curriculum/a/flat_move"] == 0.0  # level 4 was no better
    # the accuracy rule still moves it, and a probe that leaves the band is ended by it
    c.observe(12, _groups("a", 3, [[1] * 4] * 2, 12))
    c.observe(13, _groups("a", 3, [[1] * 4] * 2, 13))
    assert c.windows()["a"] == (4, 4) and c.states["a"].probe_from is None


def test_max_flat_share_needs_groups_and_is_off_by_default():
    for opts, rows in (({"max_flat_share": 0.5}, _rows("a", 3, [1, 1, 0, 0])),  # rows without a group
                       ({}, _groups("a", 3, FLAT, 1))):  # off
        c = _controller(initial_window=[3, 3], **opts)
        m = c.observe(1, rows)
        assert c.windows()["a"] == (3, 3)
        assert "curriculum/a/window_flat_share" not in m
        assert ("curriculum/a/flat_move" in m) == bool(opts)
    with pytest.raises(CurriculumConfigError, match="max_flat_share"):
        for bad in (1.0, -0.1, "x", True):
            CurriculumConfig.from_mapping({"max_flat_share": bad})
    c = _controller(initial_window=[3, 3], max_flat_share=0.5)
    c.observe(1, [("a", 3, 1.0, ["unhashable"])] * 4 + _groups("a", 3, MIXED, 1))  # an odd uid joins no group
    assert c.windows()["a"] == (3, 3)


def test_max_flat_share_state_round_trip_mid_probe_and_a_version_1_state():
    c = _controller(initial_window=[3, 3], max_flat_share=0.5)
    c.observe(1, _groups("a", 3, FLAT, 1))
    assert c.states["a"].probe_from == 3
    fresh = _controller(initial_window=[3, 3], max_flat_share=0.5)
    fresh.load_state_dict(c.state_dict())
    assert fresh.state_dict() == c.state_dict()
    for step in (2, 3):
        assert fresh.observe(step, _groups("a", 4, FLAT, step)) == c.observe(step, _groups("a", 4, FLAT, step))
    assert fresh.windows() == c.windows() == {"a": (3, 3), "b": (3, 3)}
    # a checkpoint from before max_flat_share: [responses, correct] a step, no flat records
    old = _controller()
    old.observe(1, _rows("a", 4, [1, 0, 0]))
    v1 = old.state_dict()
    v1["version"] = 1
    for state in v1["states"].values():
        state["history"] = [h[:2] for h in state["history"]]
        del state["flat_seen"], state["probe_from"]
    again = _controller()
    again.load_state_dict(v1)
    assert again.states["a"].history == [[3, 1.0, 0, 0]] and again.states["a"].flat_seen == {}
    again.observe(2, _rows("a", 4, [1]))  # 4 responses over 2 steps, 2 right: in the band
    assert again.windows()["a"] == (4, 5)
    again.observe(3, _rows("a", 4, [1] * 4))  # with step 2: 5 of 5, above it
    assert again.windows()["a"] == (5, 6)


def test_slots_get_the_windows_of_step_slot_minus_lag_and_early_draws_are_recorded():
    c = _controller(lag=2)
    assert c.windows_for_slot(0) == c.windows_for_slot(2) == {"a": (4, 5), "b": (4, 5)}
    c.observe(1, _rows("a", 4, [1] * 4))
    assert c.windows_for_slot(2) == {"a": (4, 5), "b": (4, 5)}  # slot 2 = step 3 uses the windows after step 0
    assert c.windows_for_slot(3)["a"] == (5, 6)  # after step 1
    assert c.early_draws == 0
    assert c.windows_for_slot(5)["a"] == (5, 6)  # needs step 3: early, gets the newest (step 1)
    assert c.early_draws == 1 and c.early_slots == {5: 1}
    c.observe(2, [])
    c.observe(3, _rows("a", 5, [1] * 4))
    assert c.windows_for_slot(5)["a"] == (5, 6)  # as first served, not the windows after step 3
    assert c.windows_for_slot(4)["a"] == (5, 6)  # after step 2
    assert c.windows_for_slot(6)["a"] == (6, 7) and c.early_slots == {5: 1, 6: 3}  # early again: the newest


def test_state_round_trip_and_repeated_steps():
    c = _controller(lag=1)
    c.observe(1, _rows("a", 4, [1] * 4))
    c.observe(2, _rows("b", 4, [0, 1]))
    c.windows_for_slot(9)
    fresh = _controller(lag=1)
    fresh.load_state_dict(c.state_dict())
    assert fresh.state_dict() == c.state_dict() and fresh.windows() == c.windows()
    assert fresh.observe(2, _rows("a", 5, [1] * 40)) == {} and fresh.windows() == c.windows()
    with pytest.raises(ValueError, match="types"):
        _controller(types=("a", "c")).load_state_dict(c.state_dict())


def test_prefetch_lag():
    assert prefetch_lag_steps(0, None, 8, 8) == 0
    assert prefetch_lag_steps(2, 2, 8, 8) == 4
    assert prefetch_lag_steps(8, 2, 1, 1024) == 1  # async modes fetch one prompt at a time


def test_sampler_yields_items_with_their_slot_windows_and_resumes():
    types = {i: ("a" if i % 3 else "b") for i in range(20)}
    c = _controller(lag=0)
    sampler = CurriculumSampler(list(range(20)), types.__getitem__, c, items_per_step=4, batch_size=3)
    assert len(sampler) == 18  # whole batches only
    it = iter(sampler)
    first = [next(it) for _ in range(4)]
    assert first[1] == CurriculumItem(1, "a", 4, 5) and first[0].task_type == "b"
    c.observe(1, _rows("a", 4, [1] * 4))
    state, it_state = sampler.state_dict(), it.state_dict()
    rest = list(it)
    assert len(rest) == 14 and rest[0] == CurriculumItem(4, "a", 5, 6)
    sampler.position = 0
    sampler.load_state_dict(state)
    again = iter(sampler)
    again.load_state_dict(it_state)
    assert list(again) == rest


# ------------------------------------------------------------------ the dataset


def test_dataset_serves_curriculum_items_in_their_window_and_ints_as_before():
    plain = DynamicEnvDataset(data_files="lgc_v2://train", config={"lgc_v2": {"size": 60}})
    ds = DynamicEnvDataset(data_files="lgc_v2://train", config={"lgc_v2": {"size": 60, "curriculum": {"enable": True}}})
    levels = set()
    for i in range(60):
        a, b = ds[i], plain[i]
        assert {k: v for k, v in a.items() if k != "dummy_tensor"} == {k: v for k, v in b.items() if k != "dummy_tensor"}
        task_type = ds.task_type_of(i)
        item = ds[CurriculumItem(i, task_type, 8, 9)]
        assert item["index"] == i and item["data_source"] == b["data_source"]
        assert item["extra_info"]["difficulty"] in (8, 9)
        levels.add(item["extra_info"]["difficulty"])
    assert levels == {8, 9}
    # an item for another type is served at the fixed levels, not failed
    wrong = "sudoku" if ds.task_type_of(0) != "sudoku" else "operation"
    assert ds[CurriculumItem(0, wrong, 8, 9)]["extra_info"] == plain[0]["extra_info"]


# ------------------------------------------------------------------ inside verl's v1 trainer

SKILL = {"dyck_language2": 11, "operation": 0, "boolean_expressions": 6}  # solves levels <= skill
TYPES = tuple(SKILL)
RESPONSES_PER_PROMPT = 4
STEPS, KILL_AT = 40, 17
CURRICULUM = {"enable": "true", "band": "[0.3,0.7]", "window_steps": 2, "min_samples": 8, "cooldown_steps": 1,
              "initial_window": "[4,5]", "step_size": 1}


def _config(tmp_path, workers: int, size: int = 2000, **curriculum):
    from veritas.verl_adapters.compose import compose_config

    opts = {**CURRICULUM, **curriculum}
    return compose_config("ppo_trainer", [
        "data.train_files=lgc_v2://train", "data.val_files=lgc_v2://val",
        f"data.custom_cls.path={DATASET_FILE}", "data.custom_cls.name=DynamicEnvDataset",
        "data.train_batch_size=8", "data.seed=3", f"data.dataloader_num_workers={workers}",
        f"+data.lgc_v2.size={size}", "+data.lgc_v2.val_size=16", f"+data.lgc_v2.task_types=[{','.join(TYPES)}]",
        *[f"+data.lgc_v2.curriculum.{k}={v}" for k, v in opts.items()],
        f"trainer.default_local_dir={tmp_path}", "trainer.total_training_steps=40",
    ])


class Run:
    """A veritas_sync trainer without Ray workers: verl's dataloader and checkpoint code, a
    simulated model for the step."""

    def __init__(self, cfg, fake_tq):
        from verl.trainer.ppo.v1 import get_trainer_cls

        t = object.__new__(get_trainer_cls("veritas_sync"))
        t.config, t.tokenizer, t.processor = cfg, None, None
        t.parameter_sync_step, t.global_steps, t.use_critic = 1, 0, False
        t.actor_rollout_wg = SimpleNamespace(save_checkpoint=lambda *a, **k: None, load_checkpoint=lambda *a, **k: None)
        t.checkpoint_callback = SimpleNamespace(on_save=lambda **k: None)
        t._init_dataloader()
        self.trainer, self.fake_tq = t, fake_tq
        self.acc_of = lambda task_type, level, index, j: float(level <= SKILL[task_type])  # the simulated model
        self.served: list[list[tuple[str, int]]] = []  # (type, level) of each prompt, per step
        self.indices: list[list[int]] = []  # dataset index of each prompt, per step
        self.metrics: list[dict] = []

    def simulated_step(self):
        """What PPOTrainer.step leaves behind: the step's responses in the TransferQueue."""
        from transfer_queue import KVBatchMeta

        t = self.trainer
        batch = t._next_train_batch()
        sources, infos, uids = (list(batch[key]) for key in ("data_source", "extra_info", "uid"))
        keys, tags, served = [], [], []
        for uid, source, info in zip(uids, sources, infos):
            task_type, level = source.split("/", 1)[1], info["difficulty"]
            served.append((task_type, level))
            for j in range(RESPONSES_PER_PROMPT):
                key = f"{uid}_{j}"
                self.fake_tq.rows[("train", key)] = {
                    "data_source": source, "extra_info": info, "uid": uid,
                    "extra_fields": {"reward_extra_info": {"acc": self.acc_of(task_type, level, info["index"], j)}},
                }
                keys.append(key)
                tags.append({"status": "success", "global_steps": t.global_steps})
        self.served.append(served)
        self.indices.append([info["index"] for info in infos])
        return KVBatchMeta(partition_id="train", keys=keys, tags=tags)

    def fit(self, first: int, last: int, save_at: int | None = None):
        """fit's order for each step: step (ours wraps verl's), then the checkpoint."""
        t = self.trainer
        for step in range(first, last + 1):
            t.global_steps = step
            metrics = {}
            t.step(metrics, {})
            self.metrics.append(metrics)
            if step == save_at:
                t._save_checkpoint()

    def resume(self, tmp_path, step: int):
        from omegaconf import open_dict

        with open_dict(self.trainer.config):
            self.trainer.config.trainer.resume_mode = "resume_path"
            self.trainer.config.trainer.resume_from_path = str(tmp_path / f"global_step_{step}")
        self.trainer._load_checkpoint()
        assert self.trainer.global_steps == step


@pytest.fixture
def sim(monkeypatch):
    """verl's PPOTrainer.step replaced by the simulated model; the TransferQueue by a stand-in."""
    import transfer_queue
    from test_type_metrics_trainer import FakeTransferQueue
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    fake = FakeTransferQueue()
    monkeypatch.setattr(transfer_queue, "kv_batch_get", fake.kv_batch_get)
    monkeypatch.setattr(PPOTrainer, "step", lambda self, metrics, timing_raw: self._sim_run.simulated_step())

    def make(cfg) -> Run:
        run = Run(cfg, fake)
        run.trainer._sim_run = run
        return run

    return make


def _kill_and_resume(sim, path, kill_at: int, last: int, acc_of=None, **config):
    """Steps 1..kill_at, checkpoint, everything dropped, a new trainer resumed from it to ``last``:
    ((type, level) per step, indices per step, the resumed Run)."""
    first = sim(_config(path, **config))
    first.acc_of = acc_of or first.acc_of
    first.fit(1, kill_at, save_at=kill_at)
    resumed = sim(_config(path, **config))
    resumed.acc_of = acc_of or resumed.acc_of
    resumed.resume(path, kill_at)
    resumed.fit(kill_at + 1, last)
    return first.served + resumed.served, first.indices + resumed.indices, resumed


def _levels(run, task_type):
    return [[lv for t, lv in step if t == task_type] for step in run.served]


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_levels_follow_the_simulated_model_with_the_stated_lag(tmp_path, sim):
    from veritas.verl_ext.curriculum import CurriculumDataLoader

    run = sim(_config(tmp_path, workers=0, lag_steps=1))
    assert isinstance(run.trainer.train_dataloader, CurriculumDataLoader)
    run.fit(1, STEPS)
    solved, failed, edge = (_levels(run, t) for t in TYPES)
    assert max(solved[0]) <= 5 and set(solved[-1]) <= {9, 10}  # rises to the top and stays
    assert min(failed[0]) >= 4 and set(failed[-1]) <= {1, 2}  # falls to the bottom
    assert all(4 <= lv <= 8 for lv in edge[-1])  # hovers around its skill (6)
    last = run.metrics[-1]
    assert last["curriculum/dyck_language2/level_hi"] == 10 and last["curriculum/dyck_language2/held_at_limit"] == 1
    assert last["curriculum/operation/level_lo"] == 1 and last["curriculum/operation/held_at_limit"] == 1
    # the lag: a move after step t is served from step t + 1 + lag_steps (here 1), not before
    moves = [i + 1 for i, m in enumerate(run.metrics) if m["curriculum/dyck_language2/move"] > 0]
    assert moves
    for t in moves:
        hi = int(run.metrics[t - 1]["curriculum/dyck_language2/level_hi"])
        assert max(solved[t + 1 - 1], default=0) <= hi - 1  # step t + 1: still the old window
        if t + 2 <= STEPS and solved[t + 2 - 1]:
            assert min(solved[t + 2 - 1]) >= hi - 1  # step t + 2: the new window [hi - 1, hi]
    # validation stays at the fixed levels: plain indices
    assert run.trainer.val_dataset[0]["extra_info"] == DynamicEnvDataset(
        data_files="lgc_v2://val", config={"lgc_v2": {"task_types": list(TYPES), "val_size": 16}})[0]["extra_info"]


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_killed_and_resumed_with_two_workers_serves_the_uninterrupted_sequence(tmp_path, sim):
    # lag 4 covers the prefetch of 2 workers x 2 batches: the sequence is the same for 0 workers
    reference = sim(_config(tmp_path / "ref", workers=0, lag_steps=4))
    reference.fit(1, STEPS)
    served = reference.served
    assert len({lv for step in served for _, lv in step}) >= 6  # levels did move

    # lag_steps null: from the prefetch, 4
    got, indices, resumed = _kill_and_resume(sim, tmp_path / "run", KILL_AT, STEPS, workers=2)
    assert got == served and indices == reference.indices
    assert resumed.trainer.curriculum.lag_steps == 4 and resumed.trainer.curriculum.early_draws == 0


def _bimodal(task_type, level, index, j):
    """A model whose edge level is in the band with every group flat (it solves the odd-numbered
    tasks): dyck_language2's level above it has mixed groups, boolean_expressions' is as flat."""
    edge = {"dyck_language2": 5, "boolean_expressions": 3, "operation": 0}[task_type]
    if level < edge:
        return 1.0
    if level == edge or (level == edge + 1 and task_type == "boolean_expressions"):
        return float(index % 2)
    return float(j % 2) if level == edge + 1 else 0.0


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_max_flat_share_in_the_loop_leaves_flat_levels_and_resumes_exactly(tmp_path, sim):
    opts = {"band": "[0.1,0.9]", "initial_window": "[1,1]", "max_flat_share": 0.5}
    reference = sim(_config(tmp_path / "ref", workers=0, lag_steps=4, **opts))
    reference.acc_of = _bimodal
    reference.fit(1, STEPS)
    d2, operation, boolean = (_levels(reference, t) for t in TYPES)
    assert {lv for step in d2[-8:] for lv in step} == {6}  # past its flat edge (5), where groups are mixed
    assert {lv for step in boolean[-8:] for lv in step} == {3}  # tried 4, as flat: back (served from step 32), and stays
    flat_moves = [m["curriculum/boolean_expressions/flat_move"] for m in reference.metrics]
    assert flat_moves.count(1.0) == flat_moves.count(-1.0) == 1
    assert {lv for step in operation[-10:] for lv in step} == {1}
    got, indices, _ = _kill_and_resume(sim, tmp_path / "run", KILL_AT, STEPS, acc_of=_bimodal, workers=2, **opts)
    assert got == reference.served and indices == reference.indices


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_a_lag_below_the_prefetch_still_resumes_exactly(tmp_path, sim):
    reference = sim(_config(tmp_path / "ref", workers=2, lag_steps=0))
    reference.fit(1, 24)
    assert reference.trainer.curriculum.early_draws > 0
    got, indices, _ = _kill_and_resume(sim, tmp_path / "run", 11, 24, workers=2, lag_steps=0)
    assert got == reference.served and indices == reference.indices


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_epochs_and_a_resume_at_an_epoch_boundary(tmp_path, sim):
    # 20 items, batches of 8: two steps an epoch (the last 4 items of each epoch are not served)
    reference = sim(_config(tmp_path / "ref", workers=0, size=20, lag_steps=4))
    reference.fit(1, 12)
    assert all(len(step) == 8 for step in reference.served)
    epochs = [tuple(i for step in reference.indices[k:k + 2] for i in step) for k in range(0, 12, 2)]
    assert all(len(set(e)) == 16 for e in epochs) and len(set(epochs)) == 6  # each epoch reshuffled
    assert len({lv for step in reference.served for _, lv in step}) >= 5  # and the levels moved
    got, indices, _ = _kill_and_resume(sim, tmp_path / "run", 4, 12, workers=2, size=20)
    assert got == reference.served and indices == reference.indices


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_turned_on_when_resuming_a_checkpoint_taken_without_it(tmp_path, sim, caplog):
    off = sim(_config(tmp_path, workers=0, enable="false"))
    off.fit(1, 5, save_at=5)
    on = sim(_config(tmp_path, workers=0, lag_steps=0))
    _seen_by_caplog(caplog)
    with caplog.at_level(logging.WARNING, logger="veritas.verl_ext.curriculum"):
        on.resume(tmp_path, 5)
    assert "no curriculum state" in caplog.text
    on.fit(6, 12)
    moves = [i + 6 for i, m in enumerate(on.metrics) if m["curriculum/dyck_language2/move"] > 0]
    assert moves and moves[0] < 12  # the first move after step t is served at step t + 1
    assert min(_levels(on, "dyck_language2")[moves[0] + 1 - 6]) >= 5
    assert all(4 <= lv <= 5 for step in on.served[: moves[0] - 5] for _, lv in step)


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
def test_off_by_default_and_a_failing_queue_does_not_stop_the_step(tmp_path, sim, monkeypatch, caplog):
    from torchdata.stateful_dataloader import StatefulDataLoader
    import transfer_queue

    off = sim(_config(tmp_path / "off", workers=0, enable="false"))
    assert type(off.trainer.train_dataloader) is StatefulDataLoader and off.trainer.curriculum is None
    off.fit(1, 2)
    assert all(not any(k.startswith("curriculum/") for k in m) for m in off.metrics)

    from veritas.verl_ext import curriculum, step_rows

    run = sim(_config(tmp_path / "on", workers=0))
    monkeypatch.setattr(transfer_queue, "kv_batch_get", lambda **kw: 1 / 0)
    for module in (curriculum, step_rows):  # each logs its 1st, 2nd, 4th... failure
        monkeypatch.setattr(module._report_failure, "count", 0)
    _seen_by_caplog(caplog)
    with caplog.at_level(logging.WARNING):
        run.fit(1, 2)
    assert "ZeroDivisionError" in caplog.text  # what the queue raised, from the read
    assert "curriculum update failed" in caplog.text and "no data_source read" in caplog.text
    assert run.trainer.curriculum.last_step == 2 and run.metrics[-1]["curriculum/operation/window_responses"] == 0


# ------------------------------------------------------------------ pins on verl's code

PINS = {
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._init_dataloader": (
        "86cf3749e087b883b1ddfd5b153f1e8c0d1bc83aaa0c66bf43ce63c04602d3c4",
        "CurriculumMixin._init_dataloader lets verl build the loaders, then rebuilds self.train_dataloader "
        "with the same dataset/batch_size/num_workers/drop_last/collate_fn and a sampler wrapping the one "
        "create_rl_sampler made: check verl passes no other loader argument and still reads train_dataloader",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer.step": (
        "e22f53aadb7805d2d15d16ba6528b6ef8628dfab5949ef00abbc339f5a35ec80",
        "CurriculumMixin.step wraps it: it must return the step's KVBatchMeta (rows still in the "
        "TransferQueue) and be the only call of the step in fit",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer.fit": (
        "7d83a81c2e62979ffec22f90dc8f2e44bf98dd59d6b50809c359727090cb4a56",
        "fit must call self.step(...) BEFORE self._save_checkpoint() in the same step (the checkpoint "
        "of step t holds the controller after step t) and clear the TransferQueue only after",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._save_checkpoint": (
        "8c2435b577e54f19ab6012e1eb5f44f01e6c8f4dd6380467914cb6afb9ab9d23", "data.pt must still be torch.save(self.train_dataloader.state_dict())",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._load_checkpoint": (
        "bb446d77c48ac6cc633e86c83b7195b78d899ece10d1b5e7150908acddb17265", "data.pt must still go to self.train_dataloader.load_state_dict",
    ),
    "verl.trainer.ppo.v1.trainer_base:PPOTrainer._fetch_one_gen_batch": (
        "d62e586d520574133029d1362d2355d811d516987578a3b0e1076b8728a81232", "batches must still come from iter(self.train_dataloader), re-iterated at its end",
    ),
    "verl.trainer.ppo.utils:create_rl_sampler": (
        "8ef5762e91157c9fbd12109add871c53b05854c0bbae81e4647f4a48bdfc68a2", "the base sampler the curriculum wraps (shuffle/seed)",
    ),
}


@pytest.mark.verl
@pytest.mark.skipif(not HAS_VERL, reason="verl is not installed")
@pytest.mark.parametrize("target", sorted(PINS))
def test_wrapped_verl_code_is_unchanged(target):
    from test_type_metrics_trainer import assert_pin_holds

    assert_pin_holds(target, *PINS[target], "veritas.verl_ext.curriculum", "tests/test_curriculum.py")
