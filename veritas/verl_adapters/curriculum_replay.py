"""Replay a fixed-level GRPO run's rollouts through the curriculum: what it would serve and its
share of zero-variance groups, predicted on the CPU before a GPU run.

    python -m veritas.verl_adapters.curriculum_replay ROLLOUT_DIR --run-config grpo-...-levels-fixed \\
        --curriculum-config grpo-...-levels-adaptive [--set band=[0.2,0.6] ...] [--trials 200] [--from-step 11]
    python -m veritas.verl_adapters.curriculum_replay ROLLOUT_DIR --run-config grpo-...-levels-adaptive \\
        --metrics METRICS.jsonl          # a curriculum run: its table by (type, level), nothing simulated
    python -m veritas.verl_adapters.curriculum_replay --groups EVAL_DIR --run-config grpo-...-levels-fixed \\
        --curriculum-config grpo-...-levels-adaptive   # from a sampled evaluation instead of rollouts

verl's rollout dump (``trainer.rollout_data_dir``, one ``<step>.jsonl`` per step: ``input``,
``output``, ``score``) names no task.  The run config rebuilds them: its dataset and verl's own
sampler (``create_rl_sampler``: ``data.seed``, ``data.shuffle``) give the indices step ``s`` drew
(batch ``s`` of ``data.train_batch_size``), the dataset gives each index's task, type and level,
and a dump group is the rows whose input holds that task's prompt.  Every (type, level) cell then
holds the reward groups the run's policy produced there.

The curriculum (``data.lgc_v2.curriculum`` of ``--curriculum-config``, changed by ``--set``) is
simulated with :class:`LevelController` itself: each step draws the run's indices (so the run's
types), each index the level its type's window gives it (the dataset's own rule), and a reward
group drawn at random from that (type, level) cell; the controller sees those rewards as its
accuracy.  The policy is held as it was in the run: this predicts where the curriculum takes each
type and what share of groups have all rewards equal, not what training does with them.  It also
prints the same resampling at the run's own levels (it should match the run's measured share) and
a floor: per type the best window of the curriculum's width, weighted by the types' shares.

``--groups EVAL`` draws the reward groups from a ``veritas eval --samples K --temperature T`` run
instead (each held-out task's K verdicts, by its type and level): a policy at a temperature,
judged before any GRPO run.  Without rollouts the steps are those the run config's sampler draws.

A run with the curriculum on is mapped too, given its metrics file (``--metrics``, verl's file
logger; a resumed run's files in order): step ``t`` drew sampler slot ``t - 1``, served the
windows its ``curriculum/<type>/level_lo|level_hi`` logged after step ``t - 1 - lag_steps`` (the
initial windows before step 1), so each item's level is the dataset's own rule for that window.
Every group matching exactly one drawn task checks that the run served what it logged.  It prints
the run's table by (type, level) and its measured share; nothing is simulated (the levels were
the run's own).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from veritas.verl_adapters.curriculum import (
    CurriculumConfig,
    CurriculumConfigError,
    LevelController,
    prefetch_lag_steps,
)
from veritas.verl_adapters.generations import DumpError, read_dump

CONFIG_DIR = Path(__file__).resolve().parents[2] / "train" / "config"


class ReplayError(Exception):
    """Rollouts, run configs or settings that cannot be replayed; the message names which."""


@dataclass(frozen=True)
class Group:
    step: int
    index: int
    task_type: str
    level: int
    scores: tuple[float, ...]
    texts: int = 0  # distinct response texts in the group (1: the policy sampled one answer 8 times)

    @property
    def zero_variance(self) -> bool:
        return len(set(self.scores)) <= 1


def _compose(config_path: str, name: str, overrides: list[str]):
    from veritas.verl_adapters.compose import ConfigError, compose_run_config

    try:
        return compose_run_config(config_path, name, overrides)
    except ConfigError as exc:
        raise ReplayError(f"run config {name}: {exc}") from None


def train_dataset(cfg, name: str):
    from veritas.verl_adapters.dataset import DatasetConfigError, DynamicEnvDataset

    try:
        return DynamicEnvDataset(data_files="lgc_v2://train", config=cfg.data)
    except DatasetConfigError as exc:
        raise ReplayError(f"run config {name}: {exc}") from None


def drawn_indices(cfg, dataset, steps: int) -> list[list[int]]:
    """The dataset indices of steps 1..steps, as verl's sampler hands them to its train loader:
    one batch a step, the last short batch of an epoch dropped (verl's ``drop_last=True``), a new
    epoch re-iterating the sampler."""
    from verl.trainer.ppo.utils import create_rl_sampler

    sampler = create_rl_sampler(cfg.data, dataset)
    batch = int(cfg.data.train_batch_size)
    order: list[int] = []
    while len(order) < steps * batch:
        epoch = [int(i) for i in sampler]
        if not epoch:
            raise ReplayError("the train dataset is empty")
        order.extend(epoch[: len(epoch) - len(epoch) % batch])
    return [order[s * batch:(s + 1) * batch] for s in range(steps)]


def logged_windows(metrics: list[Path], cfg, dataset, name: str) -> tuple[dict[int, dict[str, tuple[int, int]]], int]:
    """(windows after each step as the curriculum run logged them, step 0 its initial ones; its lag)."""
    from veritas.evaluation.curves import load_steps

    curriculum = dataset.spec.curriculum
    try:
        steps = load_steps(metrics)
    except OSError as exc:
        raise ReplayError(f"cannot read the metrics file: {exc}") from None
    types = dataset.spec.task_types
    windows = {0: {t: curriculum.initial_window_of(t) for t in types}}
    for step, data in steps.items():
        if data.get("curriculum/early_draws", 0):
            raise ReplayError(f"{' '.join(map(str, metrics))}: step {step} logged early draws (lag_steps below the "
                              "loader's prefetch): which windows those slots got is not in the metrics")
        found = {t: (data.get(f"curriculum/{t}/level_lo"), data.get(f"curriculum/{t}/level_hi")) for t in types}
        if step > 0 and all(isinstance(v, (int, float)) for w in found.values() for v in w):
            windows[step] = {t: (int(lo), int(hi)) for t, (lo, hi) in found.items()}
    if len(windows) == 1:
        raise ReplayError(f"{' '.join(map(str, metrics))}: no step logged curriculum/<type>/level_lo and level_hi "
                          f"for every type of run config {name}")
    return windows, lag_of(cfg, curriculum)


def lag_of(cfg, curriculum: CurriculumConfig) -> int:
    """The lag the trainer takes: ``lag_steps``, or when null the smallest the train loader's prefetch allows."""
    if curriculum.lag_steps is not None:
        return curriculum.lag_steps
    batch = int(cfg.data.train_batch_size)
    return prefetch_lag_steps(int(cfg.data.get("dataloader_num_workers", 0)), None, batch, batch)


def load_groups(rollout_dir: Path, cfg, dataset, name: str, metrics: list[Path] | None = None) -> list[Group]:
    """One :class:`Group` per prompt of every dumped step; any prompt of a step that matches no
    dump group, or several, is an error naming the step's file: the rollouts are another run's.
    A curriculum run needs its metrics files (``metrics``): the windows it served."""
    windows, lag = None, 0
    if metrics and not dataset.spec.curriculum.enable:
        raise ReplayError(f"run config {name} has fixed levels: --metrics is for a curriculum run's rollouts")
    if dataset.spec.curriculum.enable:
        if not metrics:
            raise ReplayError(f"run config {name} has the curriculum on: its levels depend on the run's rewards; "
                              "pass the run's metrics file (--metrics) to map it, or replay a fixed-level run")
        windows, lag = logged_windows(metrics, cfg, dataset, name)
    try:
        rows = read_dump(rollout_dir)
    except DumpError as exc:
        raise ReplayError(str(exc)) from None
    by_step: dict[int, dict[str, list[tuple[float, str]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        try:
            by_step[int(row["step"])][row["input"]].append((float(row["score"]), row["output"]))
        except (KeyError, TypeError, ValueError):
            raise ReplayError(f"{rollout_dir}: a row without a numeric step and score: {str(row)[:120]}") from None
    steps = sorted(by_step)
    if steps[0] < 1:
        raise ReplayError(f"{rollout_dir}: step {steps[0]} is not a training step")
    indices = drawn_indices(cfg, dataset, steps[-1])
    groups = []
    for step in steps:
        inputs = by_step[step]
        served = None
        if windows is not None:  # slot step - 1, served the windows after step - 1 - lag
            after = max(step - 1 - lag, 0)
            if after not in windows:
                raise ReplayError(f"{rollout_dir / f'{step}.jsonl'}: the metrics hold no curriculum windows after "
                                  f"step {after}, which step {step} was served")
            served = windows[after]
        for index in indices[step - 1]:
            window = None if served is None else served[dataset.task_type_of(index)]
            task_type, _, level = dataset.plan(index, window)
            prompt = dataset.task_in_window(index, window).prompt
            found = [text for text in inputs if prompt in text]
            if len(found) != 1:
                raise ReplayError(
                    f"{rollout_dir / f'{step}.jsonl'}: item {index} ({task_type}, level {level}) drawn for step {step} "
                    f"by run config {name} matches {len(found)} prompt(s) of the dump: not this run config's rollouts "
                    "(or launched with other data.* overrides" + (", or another run's metrics)" if windows else ")"))
            responses = inputs.pop(found[0])
            groups.append(Group(step, index, task_type, level, tuple(score for score, _ in responses),
                                len({text for _, text in responses})))
    return groups


def cells(groups: list[Group]) -> dict[tuple[str, int], list[Group]]:
    out: dict[tuple[str, int], list[Group]] = defaultdict(list)
    for g in groups:
        out[(g.task_type, g.level)].append(g)
    return dict(out)


def _zero_share(groups) -> float:
    return sum(g.zero_variance for g in groups) / len(groups)


def measured(groups: list[Group], from_step: int) -> float:
    """The run's own zero-variance share: mean over steps >= from_step of each step's share."""
    by_step = defaultdict(list)
    for g in groups:
        by_step[g.step].append(g)
    shares = [_zero_share(gs) for s, gs in by_step.items() if s >= from_step]
    if not shares:
        raise ReplayError(f"no dumped step at or after step {from_step}")
    return statistics.mean(shares)


@dataclass
class Trial:
    share: float  # mean over steps >= from_step of the step's zero-variance share
    final_windows: dict[str, tuple[int, int]]


def simulate(groups: list[Group], dataset, curriculum: CurriculumConfig | None, trials: int, seed: int,
             from_step: int, lag_steps: int = 0, pools: dict[tuple[str, int], list[Group]] | None = None) -> list[Trial]:
    """``trials`` runs over the dumped steps; ``curriculum`` None: the run's own levels, resampled.
    Step ``s`` gets the windows as they stood after step ``s - 1 - lag_steps`` (the real sampler's
    rule, docs/curriculum.md "Lag").  ``pools``: reward groups by (type, level) to draw from instead
    of the run's own (a sampled evaluation's, :func:`eval_pools`)."""
    table = pools if pools is not None else cells(groups)
    steps: dict[int, list[Group]] = defaultdict(list)
    for g in groups:
        steps[g.step].append(g)
    types = dataset.spec.task_types
    out = []
    for trial in range(trials):
        rng = random.Random(seed * 1_000_003 + trial)
        controller = LevelController(curriculum, types, lag_steps=lag_steps) if curriculum else None
        shares = []
        for step in sorted(steps):
            windows = controller.windows_for_slot(step - 1) if controller else None
            rows, zero = [], 0
            for g in steps[step]:
                level = dataset.plan(g.index, windows[g.task_type])[2] if controller else g.level
                pool = table.get((g.task_type, level))
                if not pool:
                    where = f"window {windows[g.task_type]}" if controller else "the run's level"
                    raise ReplayError(f"{'the evaluation judged' if pools is not None else 'the run served'} "
                                      f"{g.task_type} no task at level {level}, where the curriculum goes ({where}): "
                                      "nothing to replay there; keep min_level/max_level inside its levels")
                drawn = rng.choice(pool)
                zero += drawn.zero_variance
                rows.extend((g.task_type, level, score, g.index) for score in drawn.scores)  # one group a prompt
            if step >= from_step:
                shares.append(zero / len(steps[step]))
            if controller:
                controller.observe(step, rows)
        out.append(Trial(statistics.mean(shares), controller.windows() if controller else {}))
    return out


def floor(groups: list[Group], width: int, lo: int, hi: int,
          pools: dict[tuple[str, int], list[Group]] | None = None) -> tuple[float, dict[str, tuple[int, int]]]:
    """Per type the window of ``width`` levels inside lo..hi with the lowest zero-variance share
    (levels equally likely), weighted by the type's share of the run's prompts."""
    table = pools if pools is not None else cells(groups)
    counts = Counter(g.task_type for g in groups)
    total, best = 0.0, {}
    for task_type, n in counts.items():
        options = []
        for start in range(lo, hi - width + 2):
            levels = range(start, start + width)
            if all((task_type, lv) in table for lv in levels):
                options.append((statistics.mean(_zero_share(table[(task_type, lv)]) for lv in levels),
                                (start, start + width - 1)))
        if not options:
            raise ReplayError(f"{task_type}: the run served no window of {width} levels inside {lo}..{hi}")
        share, window = min(options)
        best[task_type] = window
        total += share * n / len(groups)
    return total, best


def _interval(values: list[float]) -> str:
    v = sorted(values)
    lo, hi = v[int(0.025 * (len(v) - 1))], v[int(round(0.975 * (len(v) - 1)))]
    return f"{statistics.mean(v):.3f} [{lo:.3f}, {hi:.3f}]"


def curriculum_of(cfg, name: str, settings: list[str]) -> CurriculumConfig:
    import yaml
    from omegaconf import OmegaConf

    lgc = cfg.data.get("lgc_v2") or {}
    raw = OmegaConf.to_container(lgc.get("curriculum"), resolve=True) if lgc.get("curriculum") is not None else {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ReplayError(f"--set {item!r}: expected key=value (a key of data.lgc_v2.curriculum)")
        raw[key.strip()] = yaml.safe_load(value)
    raw["enable"] = True
    try:
        return CurriculumConfig.from_mapping(raw)
    except CurriculumConfigError as exc:
        raise ReplayError(f"{name}: {exc}") from None


def eval_pools(results: Path) -> dict[tuple[str, int], list[Group]]:
    """Reward groups by (type, level) from a ``veritas eval --samples K`` run (results folder or its
    samples file): each held-out task's K verdicts, as right/wrong rewards, one group.  That is the
    evaluated model's policy at the evaluation's temperature standing in for the run's."""
    from veritas.evaluation.compare import CompareError, load_run

    try:
        run = load_run(results)
    except (CompareError, OSError) as exc:
        raise ReplayError(f"{results}: {exc}") from None
    sizes = Counter(len(t["verdicts"]) for t in run["tasks"].values())
    if not run["tasks"] or max(sizes) < 2:
        raise ReplayError(f"{results}: no task with several samples (run veritas eval with --samples 8 and a "
                          "temperature)")
    if len(sizes) > 1:
        raise ReplayError(f"{results}: tasks hold different numbers of samples ({dict(sizes)}): an unfinished run")
    pools: dict[tuple[str, int], list[Group]] = defaultdict(list)
    for n, ((_, level, _), task) in enumerate(sorted(run["tasks"].items(), key=lambda kv: str(kv[0]))):
        if level is None:
            raise ReplayError(f"{run['samples_file']}: samples without a difficulty")
        scores = tuple(float(v) for v in task["verdicts"])
        pools[(task["type"], int(level))].append(Group(0, n, task["type"], int(level), scores))
    return dict(pools)


def planned_groups(cfg, dataset, steps: int) -> list[Group]:
    """The prompts of steps 1..steps as the run config's sampler draws them, at its fixed levels,
    with no rewards (a prediction without rollouts: rewards come from pools)."""
    groups = []
    for step, drawn in enumerate(drawn_indices(cfg, dataset, steps), 1):
        for index in drawn:
            task_type, _, level = dataset.plan(index)
            groups.append(Group(step, index, task_type, level, ()))
    return groups


def print_cells(table: dict[tuple[str, int], list[Group]], one_text: bool) -> None:
    """Groups by (type, level): how many, mean reward, zero-variance share (and the share of one text)."""
    levels = sorted({lv for _, lv in table})
    what = "groups, accuracy, zero-variance" + (", one text" if one_text else "")
    print("| task type | " + " | ".join(f"level {lv}: {what}" for lv in levels) + " |")
    print("|---|" + "---|" * len(levels))
    for task_type in sorted({t for t, _ in table}):
        cols = []
        for lv in levels:
            gs = table.get((task_type, lv), [])
            scores = [x for g in gs for x in g.scores]
            cell = f"{len(gs)}, {sum(scores) / len(scores):.2f}, {_zero_share(gs):.2f}" if gs else "-"
            if gs and one_text:
                cell += f", {sum(g.texts == 1 for g in gs) / len(gs):.2f}"
            cols.append(cell)
        print(f"| {task_type} | " + " | ".join(cols) + " |")


def describe_pools(pools: dict[tuple[str, int], list[Group]], source: str) -> None:
    """A sampled evaluation's groups (one a task) by (type, level)."""
    k = len(next(iter(pools.values()))[0].scores)
    print(f"reward groups from {source}: {sum(map(len, pools.values()))} tasks, {k} samples each\n")
    print_cells(pools, one_text=False)


def describe(groups: list[Group], rollouts: str, run_config: str, run_share: float | None = None,
             from_step: int = 11) -> None:
    """The run's groups by (type, level), and how many are one text; with ``run_share``, its measured share."""
    steps = sorted({g.step for g in groups})
    print(f"{len(groups)} groups of steps {steps[0]}..{steps[-1]} of {rollouts} (run config {run_config})\n")
    print_cells(cells(groups), one_text=True)
    one_text = [g for g in groups if g.texts == 1]
    zero = sum(g.zero_variance for g in groups)
    print(f"\n{len(one_text)} of {len(groups)} groups ({100 * len(one_text) / len(groups):.0f} %) are one response "
          f"text sampled {len(groups[0].scores)} times, so zero-variance at any level ({zero} zero-variance groups "
          "in all)")
    if run_share is not None:
        print(f"\nzero-variance group share, mean over steps >= {from_step}: {run_share:.3f} (the run as measured; "
              "every group mapped to the level its logged window served)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m veritas.verl_adapters.curriculum_replay",
                                description="predict a curriculum's levels and zero-variance share from a fixed-level "
                                            "GRPO run's rollouts, or from a sampled evaluation (--groups)")
    p.add_argument("rollouts", nargs="?", help="the run's trainer.rollout_data_dir (files <step>.jsonl); with --groups "
                                               "optional: without it the steps are the run config's sampler's")
    p.add_argument("--run-config", required=True, help="the run config those rollouts were made with")
    p.add_argument("--curriculum-config", help="the run config whose data.lgc_v2.curriculum to replay "
                                               "(default: --run-config's, turned on)")
    p.add_argument("--groups", type=Path, metavar="EVAL",
                   help="draw reward groups from this `veritas eval --samples K --temperature T` run (results "
                        "folder) by (type, level) instead of the rollouts': the evaluated policy at T")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="change one curriculum setting (YAML value), e.g. band=[0.2,0.6]; repeatable")
    p.add_argument("--config-path", default=str(CONFIG_DIR))
    p.add_argument("--trials", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--from-step", type=int, default=11, help="the share is the mean over steps >= this (issue 18: 11)")
    p.add_argument("--metrics", nargs="+", type=Path, metavar="JSONL",
                   help="a curriculum run's metrics file(s) (verl's file logger): map its rollouts by the windows "
                        "it logged and describe them (no simulation)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides the run was launched with (data.* ones matter)")
    args = p.parse_intermixed_args(argv)
    if args.trials < 1:
        p.error("--trials must be >= 1")
    if args.rollouts is None and args.groups is None:
        p.error("give the run's rollouts, or --groups (a sampled evaluation), or both")
    if args.groups is not None and args.metrics:
        p.error("--metrics maps a curriculum run's rollouts; --groups predicts from a sampled evaluation: one or the other")
    run_share = None
    try:
        cfg = _compose(args.config_path, args.run_config, args.overrides)
        if args.rollouts is not None and (cfg.algorithm.get("filter_groups") or {}).get("enable", False):
            raise ReplayError(f"run config {args.run_config} filters groups (algorithm.filter_groups): its dump holds "
                              "only the groups kept, and its refills drew prompts the sampler's batches do not name")
        dataset = train_dataset(cfg, args.run_config)
        pools = eval_pools(args.groups) if args.groups is not None else None
        if args.rollouts is not None:
            groups = load_groups(Path(args.rollouts), cfg, dataset, args.run_config, args.metrics)
            if dataset.spec.curriculum.enable:
                describe(groups, args.rollouts, args.run_config, measured(groups, args.from_step), args.from_step)
                return 0
            run_share = measured(groups, args.from_step)
        elif dataset.spec.curriculum.enable:
            raise ReplayError(f"run config {args.run_config} has the curriculum on: predict from a fixed-level run "
                              "config (--run-config) with the curriculum's (--curriculum-config)")
        else:
            groups = planned_groups(cfg, dataset, int(cfg.trainer.total_training_steps))
        name = args.curriculum_config or args.run_config
        ccfg = cfg if name == args.run_config else _compose(args.config_path, name, args.overrides)
        curriculum = curriculum_of(ccfg, name, args.set)
        fixed = simulate(groups, dataset, None, args.trials, args.seed, args.from_step, pools=pools)
        adaptive = simulate(groups, dataset, curriculum, args.trials, args.seed, args.from_step,
                            lag_of(ccfg, curriculum), pools=pools)
        width = max(hi - lo + 1 for lo, hi in map(curriculum.initial_window_of, dataset.spec.task_types))
        floor_share, best = floor(groups, width, curriculum.min_level, curriculum.max_level, pools)
    except ReplayError as exc:
        print(f"curriculum_replay: {exc}", file=sys.stderr)
        return 2
    if pools is not None:
        describe_pools(pools, str(args.groups))
        steps = sorted({g.step for g in groups})
        print(f"\nthe steps: {len(groups)} prompts of steps {steps[0]}..{steps[-1]}, "
              + (f"as {args.rollouts} drew them" if args.rollouts else f"as run config {args.run_config}'s sampler "
                 "draws them"))
    else:
        describe(groups, args.rollouts, args.run_config)
    c = curriculum
    print(f"\nzero-variance group share, mean over steps >= {args.from_step}; {args.trials} trials, mean [95 % range]:")
    if run_share is not None:
        print(f"  the run as measured:            {run_share:.3f}")
    print(f"  the run's levels, resampled:    {_interval([t.share for t in fixed])}")
    print(f"  the curriculum ({name}): {_interval([t.share for t in adaptive])}"
          f"  (band {list(c.band)}, window_steps {c.window_steps}, min_samples {c.min_samples}, "
          f"cooldown_steps {c.cooldown_steps}, levels {c.min_level}-{c.max_level}, "
          f"initial_window {c.initial_window}"
          + (f", max_flat_share {c.max_flat_share}" if c.max_flat_share is not None else "") + ")")
    print(f"  floor, the best {width}-level window per type: {floor_share:.3f}  {best}")
    common = Counter(tuple(sorted(t.final_windows.items())) for t in adaptive).most_common(3)
    for windows, n in common:
        print(f"  final windows in {n} of {args.trials} trials: " + ", ".join(f"{t} {lo}-{hi}" for t, (lo, hi) in windows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
