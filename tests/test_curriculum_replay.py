"""The curriculum replay (veritas.verl_adapters.curriculum_replay): a fixed-level run's rollout dump
mapped back to its tasks through the run config and verl's own sampler, then the curriculum
simulated on it.  The dump here is written the way verl writes ``trainer.rollout_data_dir``, for
a simulated model whose rewards depend only on (type, level): right below its skill, half right
at it, wrong above it."""
from __future__ import annotations

import importlib.util
import json

import pytest

pytestmark = [pytest.mark.verl, pytest.mark.skipif(importlib.util.find_spec("verl") is None,
                                                   reason="verl is not installed")]

RUN_CONFIG = "grpo-smollm2-135m-1gpu-levels-fixed"  # levels 1-5 uniform, 64 prompts a step, data.seed 42
SKILL = {"boolean_expressions": 3, "operation": 2, "dyck_language": 4, "dyck_language2": 4,
         "dyck_language_reasoning_errors": 4}
STEPS, GROUP = 16, 8


def _scores(task_type: str, level: int) -> list[float]:
    skill = SKILL[task_type]
    if level == skill:
        return [float(j % 2) for j in range(GROUP)]
    return [1.0 if level < skill else 0.0] * GROUP


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from veritas.verl_adapters import curriculum_replay as replay

    cfg = replay._compose(str(replay.CONFIG_DIR), RUN_CONFIG, [])
    dataset = replay.train_dataset(cfg, RUN_CONFIG)
    indices = replay.drawn_indices(cfg, dataset, STEPS)
    dump = tmp_path_factory.mktemp("rollout")
    for step, drawn in enumerate(indices, 1):
        rows = []
        for index in reversed(drawn):  # verl's row order is not the sampler's
            task_type, _, level = dataset.plan(index)
            prompt = dataset.task(index).prompt
            for j, score in enumerate(_scores(task_type, level)):
                rows.append({"input": f"system\nYou are a helpful AI assistant\nuser\n{prompt}\nassistant\n",
                             "output": f"answer {score}", "gts": "", "score": score, "step": step,
                             "uid": f"{index}_{j}"})
        (dump / f"{step}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return replay, cfg, dataset, indices, dump


def test_every_dumped_group_is_mapped_to_the_task_the_sampler_drew(run):
    replay, cfg, dataset, indices, dump = run
    groups = replay.load_groups(dump, cfg, dataset, RUN_CONFIG)
    assert len(groups) == STEPS * cfg.data.train_batch_size
    assert [g.index for g in groups] == [i for drawn in indices for i in drawn]
    for g in groups:
        assert (g.task_type, g.level) == dataset.plan(g.index)[::2]
        assert list(g.scores) == _scores(g.task_type, g.level)
        assert g.texts == (2 if g.level == SKILL[g.task_type] else 1)
    assert {lv for _, lv in replay.cells(groups)} == {1, 2, 3, 4, 5}


def test_the_replay_gives_an_index_the_level_the_curriculum_sampler_serves_it(run):
    from veritas.verl_adapters.curriculum import CurriculumItem

    _, _, dataset, indices, _ = run
    for index in indices[0][:16]:
        task_type = dataset.task_type_of(index)
        for window in ((1, 2), (3, 4), (4, 5), (2, 2)):
            served = dataset[CurriculumItem(index, task_type, *window)]["extra_info"]["difficulty"]
            assert dataset.plan(index, window)[2] == served and window[0] <= served <= window[1]


def test_another_runs_rollouts_are_refused_naming_the_file(run, tmp_path):
    replay, cfg, dataset, _, dump = run
    for step in (1, 2):  # steps 1 and 2 swapped: not what the sampler drew for them
        rows = [{**json.loads(line), "step": 3 - step} for line in (dump / f"{step}.jsonl").read_text().splitlines()]
        (tmp_path / f"{3 - step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(replay.ReplayError, match=r"1\.jsonl.*not this run config's rollouts"):
        replay.load_groups(tmp_path, cfg, dataset, RUN_CONFIG)
    with pytest.raises(replay.ReplayError, match="rollout_data_dir"):
        replay.load_groups(tmp_path / "empty", cfg, dataset, RUN_CONFIG)


def test_the_curriculum_finds_each_types_edge_and_the_fixed_levels_resample_to_the_run(run):
    replay, cfg, dataset, _, dump = run
    groups = replay.load_groups(dump, cfg, dataset, RUN_CONFIG)
    measured = replay.measured(groups, 11)
    fixed = replay.simulate(groups, dataset, None, trials=3, seed=0, from_step=11)
    # rewards depend on (type, level) only, so resampling at the run's levels gives the run's share
    assert all(t.share == pytest.approx(measured) for t in fixed)
    assert 0.5 < measured < 1.0
    curriculum = replay.curriculum_of(cfg, RUN_CONFIG, ["initial_window=[1,1]", "min_samples=16", "cooldown_steps=0",
                                                        "window_steps=1"])
    adaptive = replay.simulate(groups, dataset, curriculum, trials=3, seed=0, from_step=11)
    for trial in adaptive:
        assert trial.final_windows == {t: (s, s) for t, s in SKILL.items()}
        assert trial.share < 0.1  # every type at its edge, where groups are half right
    share, best = replay.floor(groups, 1, 1, 5)
    assert share == 0.0 and best == {t: (s, s) for t, s in SKILL.items()}


def test_the_command_prints_the_prediction_and_refuses_bad_settings(run, capsys):
    replay, cfg, dataset, _, dump = run
    one_text = sum(g.texts == 1 for g in replay.load_groups(dump, cfg, dataset, RUN_CONFIG))
    args = [str(dump), "--run-config", RUN_CONFIG, "--curriculum-config", "grpo-smollm2-135m-1gpu-levels-adaptive",
            "--trials", "2"]
    assert replay.main(args) == 0
    out = capsys.readouterr().out
    assert f"{STEPS * 64} groups of steps 1..{STEPS}" in out
    assert f"{one_text} of {STEPS * 64} groups" in out  # off their type's edge, one text 8 times
    assert "the run's levels, resampled:" in out and "floor, the best 2-level window per type" in out
    assert replay.main(args + ["--set", "band=[0.9,0.1]"]) == 2
    assert "curriculum.band" in capsys.readouterr().err
    assert replay.main([str(dump), "--run-config", "grpo-smollm2-135m-1gpu-levels-adaptive"]) == 2
    assert "has the curriculum on" in capsys.readouterr().err
    assert replay.main([str(dump), "--run-config", "grpo-smollm2-135m-1gpu-levels-fixed-dapo"]) == 2
    assert "filters groups" in capsys.readouterr().err


ADAPTIVE = "grpo-smollm2-135m-1gpu-levels-adaptive"  # the fixed arm plus the curriculum; initial windows 1-2


def _windows_after(step: int) -> tuple[int, int]:
    return (1, 2) if step == 0 else (2, 3) if step < 4 else (3, 4)


def test_a_curriculum_runs_rollouts_are_mapped_by_the_windows_its_metrics_logged(tmp_path, capsys):
    """With --metrics, a curriculum run's dump is mapped like a fixed one, each step's items served
    the windows logged after the step before (lag 0 here): every group is found, at the level the
    window gives it.  Other windows than the run served, early draws, no metrics, or metrics for a
    fixed run are refused."""
    from veritas.verl_adapters import curriculum_replay as replay

    steps = 6
    cfg = replay._compose(str(replay.CONFIG_DIR), ADAPTIVE, [])
    dataset = replay.train_dataset(cfg, ADAPTIVE)
    types = dataset.spec.task_types
    dump, metrics = tmp_path / "rollout", tmp_path / "metrics.jsonl"
    dump.mkdir()
    for step, drawn in enumerate(replay.drawn_indices(cfg, dataset, steps), 1):
        window = _windows_after(step - 1)
        rows = []
        for index in drawn:
            level = dataset.plan(index, window)[2]
            prompt = dataset.task_in_window(index, window).prompt
            rows += [{"input": f"user\n{prompt}\nassistant\n", "output": f"answer {j % 2}", "score": float(level % 2 * (j % 2)),
                      "step": step} for j in range(GROUP)]
        (dump / f"{step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))

    def write_metrics(shift: int = 0, early: int = 0):
        lines = [{"step": s, "data": {"curriculum/early_draws": early,
                                      **{f"curriculum/{t}/level_{end}": _windows_after(s + shift)[i]
                                         for t in types for i, end in enumerate(("lo", "hi"))}}}
                 for s in range(1, steps + 1)]
        metrics.write_text("".join(json.dumps(line) + "\n" for line in lines))

    write_metrics()
    groups = replay.load_groups(dump, cfg, dataset, ADAPTIVE, [metrics])
    assert len(groups) == steps * 64
    for g in groups:
        window = _windows_after(g.step - 1)
        assert window[0] <= g.level <= window[1] and g.level == dataset.plan(g.index, window)[2]
        assert g.zero_variance == (g.level % 2 == 0)  # odd levels were half right
    assert {lv for _, lv in replay.cells(groups)} == {1, 2, 3, 4}
    assert replay.main([str(dump), "--run-config", ADAPTIVE, "--metrics", str(metrics), "--from-step", "1"]) == 0
    out = capsys.readouterr().out
    assert f"{steps * 64} groups of steps 1..{steps}" in out
    assert f"mean over steps >= 1: {replay.measured(groups, 1):.3f} (the run as measured" in out

    write_metrics(shift=1)  # windows a step early: not what the run served
    with pytest.raises(replay.ReplayError, match=r"4\.jsonl.*or another run's metrics"):
        replay.load_groups(dump, cfg, dataset, ADAPTIVE, [metrics])
    write_metrics(early=3)
    with pytest.raises(replay.ReplayError, match="step 1 logged early draws"):
        replay.load_groups(dump, cfg, dataset, ADAPTIVE, [metrics])
    metrics.write_text('{"step": 1, "data": {}}\n')
    with pytest.raises(replay.ReplayError, match="no step logged curriculum/<type>/level_lo"):
        replay.load_groups(dump, cfg, dataset, ADAPTIVE, [metrics])
    assert replay.main([str(dump), "--run-config", ADAPTIVE]) == 2
    assert "pass the run's metrics file (--metrics)" in capsys.readouterr().err
    fixed = replay._compose(str(replay.CONFIG_DIR), RUN_CONFIG, [])
    with pytest.raises(replay.ReplayError, match="--metrics is for a curriculum run"):
        replay.load_groups(dump, fixed, replay.train_dataset(fixed, RUN_CONFIG), RUN_CONFIG, [metrics])


def _eval_run(folder, samples: int = GROUP, levels=range(1, 6), per_level: int = 3):
    """A `veritas eval --samples K` results folder whose verdicts follow the simulated model."""
    folder.mkdir(parents=True, exist_ok=True)
    rows, task_id = [], 0
    for task_type in SKILL:
        for level in levels:
            for _ in range(per_level):
                task_id += 1
                for j, score in enumerate(_scores(task_type, level)[:samples]):
                    rows.append({"task_id": task_id, "task_type": task_type, "sample": j, "difficulty": level,
                                 "language": "en", "correct": bool(score), "format_ok": True})
    (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "results.json").write_text(json.dumps({"settings": {"samples": samples, "model": "m"}}))
    return folder


def test_a_sampled_evaluation_predicts_as_the_rollouts_of_the_same_policy_do(run, tmp_path):
    replay, cfg, dataset, _, dump = run
    pools = replay.eval_pools(_eval_run(tmp_path / "eval"))
    assert {k: len(v) for k, v in pools.items()} == {(t, lv): 3 for t in SKILL for lv in range(1, 6)}
    groups = replay.load_groups(dump, cfg, dataset, RUN_CONFIG)
    planned = replay.planned_groups(cfg, dataset, STEPS)
    assert [(g.step, g.index, g.task_type, g.level) for g in planned] == \
        [(g.step, g.index, g.task_type, g.level) for g in groups]
    curriculum = replay.curriculum_of(cfg, RUN_CONFIG, ["initial_window=[1,1]", "min_samples=16", "cooldown_steps=0",
                                                        "window_steps=1"])
    for steps in (groups, planned):  # the same policy in the rollouts and in the evaluation: the same prediction
        fixed = replay.simulate(steps, dataset, None, 2, 0, 11, pools=pools)
        assert all(t.share == pytest.approx(replay.measured(groups, 11)) for t in fixed)
        adaptive = replay.simulate(steps, dataset, curriculum, 2, 0, 11, pools=pools)
        assert all(t.final_windows == {t_: (s, s) for t_, s in SKILL.items()} for t in adaptive)
    assert replay.floor(planned, 1, 1, 5, pools)[0] == 0.0
    # a level the evaluation did not judge cannot be replayed, and says so
    short = replay.eval_pools(_eval_run(tmp_path / "short", levels=range(1, 4)))
    with pytest.raises(replay.ReplayError, match="the evaluation judged .* no task at level"):
        replay.simulate(planned, dataset, None, 1, 0, 11, pools=short)


def test_the_command_predicts_from_a_sampled_evaluation_and_refuses_greedy_ones(run, tmp_path, capsys):
    replay, *_ = run
    folder = _eval_run(tmp_path / "eval")
    args = ["--run-config", RUN_CONFIG, "--curriculum-config", ADAPTIVE, "--groups", str(folder), "--trials", "2"]
    assert replay.main(args) == 0
    out = capsys.readouterr().out
    assert "reward groups from" in out and "75 tasks, 8 samples each" in out
    assert "as run config grpo-smollm2-135m-1gpu-levels-fixed's sampler draws them" in out
    assert "the run as measured" not in out and "the curriculum (grpo-smollm2-135m-1gpu-levels-adaptive)" in out
    assert replay.main(["--run-config", RUN_CONFIG, "--groups", str(_eval_run(tmp_path / "greedy", samples=1))]) == 2
    assert "no task with several samples" in capsys.readouterr().err
    assert replay.main(["--run-config", ADAPTIVE, "--groups", str(folder)]) == 2
    assert "has the curriculum on" in capsys.readouterr().err


def test_the_flat_group_rule_is_replayed_past_a_level_the_band_cannot_see(run):
    """Pools where each type's edge level is in the band with every group flat (half all right,
    half all wrong) and the level above has mixed groups: the accuracy rule stays at the edge, the
    rule of max_flat_share moves on, and the replay predicts the fall in the share."""
    from veritas.verl_adapters.curriculum_replay import Group

    replay, cfg, dataset, _, _ = run
    pools = {}
    for task_type, edge in SKILL.items():
        for level in range(1, 6):
            if level == edge:
                scores = [(1.0,) * GROUP, (0.0,) * GROUP]
            elif level == edge + 1:
                scores = [tuple(float(j % 2) for j in range(GROUP))]
            else:
                scores = [(1.0 if level < edge else 0.0,) * GROUP]
            pools[(task_type, level)] = [Group(0, i, task_type, level, s) for i, s in enumerate(scores)]
    planned = replay.planned_groups(cfg, dataset, STEPS)
    settings = ["initial_window=[1,1]", "min_samples=16", "cooldown_steps=0", "window_steps=2"]
    band_only, flat = (replay.simulate(planned, dataset, replay.curriculum_of(cfg, RUN_CONFIG, settings + extra),
                                       trials=3, seed=0, from_step=11, pools=pools)
                       for extra in ([], ["max_flat_share=0.4"]))
    # the edge's accuracy is that of a few all-or-nothing groups a step: the band rule wanders
    # around it, mostly flat; the flat rule ends every type a level above, with no flat group
    assert min(t.share for t in band_only) > 0.5
    assert all(t.final_windows == {t_: (s + 1, s + 1) for t_, s in SKILL.items()} for t in flat)
    assert max(t.share for t in flat) < 0.1
