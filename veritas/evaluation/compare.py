"""``veritas eval --compare A B``: accuracy of two evaluations on the same held-out tasks, per type,
with Wilson 95 % intervals, and the difference B − A with a paired bootstrap 95 % interval.

Then one verdict line per type (improved, got WORSE, no clear change: a change counts only when the
interval of B − A leaves out 0), the macro line, and a one-line ``result:`` summary.

``--compare A B --baselines A0 B0`` compares two training arms that each start from their own model
(A0 → A, B0 → B): per task the difference of the gains, (B − B0) − (A − A0), with the same
stratified bootstrap, beside each arm's own gain.  Two runs of one recipe rarely start from the
same weights on a GPU, so B − A alone mixes the arms' starting points into their training.

``--compare A B --split-by G`` adds B − A on two parts of the tasks: those a third evaluation G got
right (most of its samples right) and those it got wrong.  With G the starting model's greedy
evaluation and A, B sampled evaluations before and after GRPO, it shows where a gain in sampled
accuracy went: sharper answers on tasks greedy decoding already solves, or right answers where it
fails (only the latter can move greedy accuracy).

``--compare A B --trained ROWS`` adds how many tasks B fixed (A wrong, B right) and broke (A right,
B wrong) among the tasks of a verl RL parquet ROWS (those GRPO trained on: the recipe's mined rows)
and among the others, each split by A's verdict.  With A and B the greedy evaluations before and
after GRPO on the tasks mined from, it tells whether GRPO learned the failures it trained on and
whether it broke the right tasks it replayed or those it never saw.

Pairing: a task is (task id, level, language), so both runs must have judged the same puzzles;
its accuracy is the mean verdict of its samples.  The bootstrap resamples tasks with replacement
within each type (stratified), so the macro difference (mean over types) and the micro one (over
all tasks) keep every type's share of the tasks.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np

from veritas.evaluation import report

Z95 = 1.959963984540054  # standard normal 97.5 % quantile
SAMPLE_FILES = ("samples.jsonl", "samples.jsonl.gz")  # as written by eval; gzipped as committed


class CompareError(ValueError):
    pass


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (stays inside [0, 1], sane at 0/n and n/n)."""
    if n <= 0:
        raise ValueError("an interval needs at least one trial")
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def bootstrap_mean_differences(diffs_by_type: dict[str, np.ndarray], resamples: int = 10_000,
                               seed: int = 0) -> dict[str, np.ndarray]:
    """Per type, ``resamples`` bootstrap means of the paired differences, tasks drawn with
    replacement within the type.

    Drawing n tasks with replacement is drawing multinomial counts over them; counting over the
    distinct difference values instead (a handful: -1, 0, 1 with one sample per task) gives the
    same distribution of means with arrays of resamples x values rather than resamples x tasks."""
    rng = np.random.default_rng(seed)
    means = {}
    for task_type in sorted(diffs_by_type):  # a fixed order: the same draws for the same data
        diffs = diffs_by_type[task_type]
        values, counts = np.unique(diffs, return_counts=True)
        draws = rng.multinomial(len(diffs), counts / len(diffs), size=resamples)
        means[task_type] = draws @ values / len(diffs)
    return means


def interval95(draws: np.ndarray) -> list[float]:
    """The 2.5 and 97.5 percentiles, rounded to 12 decimals: a macro over types averages their
    means in floating point, so a bound that is 0 can come out as -1e-18 and would read as an
    interval leaving out 0 (the fifteenth run's level 4: [-0.128, -1.4e-18] counted as worse)."""
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return [round(float(lo), 12) + 0.0, round(float(hi), 12) + 0.0]  # + 0.0: no -0.0


def run_folder(run: Path) -> Path:
    """A run is named by its output folder or by its results.json."""
    return run.parent if run.suffix == ".json" else run


def find_samples(run: Path) -> Path:
    folder = run_folder(run)
    for name in SAMPLE_FILES:
        if (folder / name).exists():
            return folder / name
    raise CompareError(f"{folder} holds no {' or '.join(SAMPLE_FILES)}: --compare needs each run's per-task verdicts")


def read_rows(path: Path) -> list[dict]:
    """Sample rows of a samples file; a torn last line (an interrupted eval) is left out, and the
    file is not modified."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError:
            if number == len(lines):  # no newline after it: written when the run stopped
                break
            raise CompareError(f"{path}:{number} is not a JSON line")
    return rows


def runs_parser(prog: str, doc: str, nargs: str = "+"):
    """The argument parser of a reader of runs' responses, ``python -m veritas.evaluation.PROG RUN
    [RUN ...]`` (nargs "*": a reader that has another mode without runs)."""
    import argparse

    ap = argparse.ArgumentParser(prog=f"python -m veritas.evaluation.{prog}", description=doc.split("\n\n")[0])
    ap.add_argument("runs", nargs=nargs, type=Path, help="veritas eval results folders or samples files")
    return ap


# what reading a run raises when it cannot be read (read_run): each reader says it in one line
RUN_READ_ERRORS = (CompareError, OSError, UnicodeDecodeError)


def read_run(run: Path) -> list[dict]:
    """The sample rows of a run named by its results folder, results.json or samples file."""
    # results.json is a file too, but its samples lie beside it, as --compare finds them
    rows = read_rows(run if run.is_file() and run.suffix != ".json" else find_samples(run))
    # a line that is not a JSON object is no sample: the readers see rows only
    return [row for row in rows if isinstance(row, dict)]


def print_runs(prog: str, runs: list[Path], table, **options) -> int:
    """Prints ``table(run name, sample rows, **options)`` for each run; 2 when a run cannot be read."""
    for run in runs:
        try:
            rows = read_run(run)
        except RUN_READ_ERRORS as e:
            print(f"{prog}: {run}: {e}", file=sys.stderr)
            return 2
        print(table(str(run), rows, **options) + "\n")
    return 0


def read_each(prog: str, runs: list[Path], reader=read_run) -> list | None:
    """``reader(run)`` for each run, or None once one cannot be read (said on stderr, naming the run)."""
    read = []
    for run in runs:
        try:
            read.append(reader(run))
        except RUN_READ_ERRORS as e:
            print(f"{prog}: {run}: {e}", file=sys.stderr)
            return None
    return read


def read_pair(prog: str, doc: str, argv: list[str] | None, first: tuple[str, str], second: tuple[str, str],
              reader=read_run) -> tuple[list[Path], list] | None:
    """The command line of a tool that pairs two runs (``python -m veritas.evaluation.PROG A B``;
    ``first``/``second``: each argument's name and help): their paths and ``reader(path)`` of each,
    or None once one cannot be read (said on stderr)."""
    import argparse

    ap = argparse.ArgumentParser(prog=f"python -m veritas.evaluation.{prog}", description=doc.split("\n\n")[0])
    for name, help_text in (first, second):
        ap.add_argument(name, type=Path, help=help_text)
    args = ap.parse_args(argv)
    paths = [getattr(args, first[0]), getattr(args, second[0])]
    read = read_each(prog, paths, reader)
    return None if read is None else (paths, read)


def runs_main(prog: str, doc: str, argv: list[str] | None, table, add_options=None) -> int:
    """The command line of a reader of runs' responses (``python -m veritas.evaluation.PROG RUN
    [RUN ...]``): prints ``table(run name, sample rows)`` for each run; 2 when a run cannot be read.
    add_options(parser), when given, adds a reader's own options: their values are passed to table
    as keywords."""
    ap = runs_parser(prog, doc)
    if add_options is not None:
        add_options(ap)
    args = ap.parse_args(argv)
    return print_runs(prog, args.runs, table, **{k: v for k, v in vars(args).items() if k != "runs"})


def load_run(run: Path) -> dict:
    """A run's settings (from results.json, when there) and per-task verdicts:
    {(task_id, level, language): {"type", "verdicts": [bool, ...], "format_ok": [bool, ...]}}."""
    folder = run_folder(run)
    results_file = folder / "results.json"
    try:
        settings = json.loads(results_file.read_text())["settings"] if results_file.exists() else {}
    except (ValueError, KeyError, TypeError):  # not JSON, or not an object with settings
        raise CompareError(f"{results_file}: not the results.json of `veritas eval` (no settings)") from None
    if not isinstance(settings, dict):
        raise CompareError(f"{results_file}: not the results.json of `veritas eval` (settings is not an object)")
    samples_path = find_samples(run)
    tasks: dict[tuple, dict] = {}
    for number, row in enumerate(read_rows(samples_path), 1):
        try:
            key = (row["task_id"], row.get("difficulty"), row.get("language"))
            task = tasks.setdefault(key, {"type": row["task_type"], "verdicts": [], "format_ok": []})
            task["verdicts"].append(bool(row["correct"]))
            task["format_ok"].append(bool(row.get("format_ok")))
        except (KeyError, TypeError, AttributeError):
            raise CompareError(f"{samples_path}: row {number} lacks task_id, task_type or correct") from None
    k = settings.get("samples")
    if k:  # as summarize: a task with fewer samples than asked for (an unfinished run) is not counted
        tasks = {key: t | {"verdicts": t["verdicts"][:k], "format_ok": t["format_ok"][:k]}
                 for key, t in tasks.items() if len(t["verdicts"]) >= k}
    return {"path": str(run), "samples_file": str(samples_path), "model": settings.get("model"),
            "max_new_tokens": settings.get("max_new_tokens"), "split": settings.get("split"), "tasks": tasks}


def samples_per_task(run: dict) -> int:
    """The most answers a ``load_run`` run holds for one task (0 for a run with no task)."""
    return max((len(t["verdicts"]) for t in run["tasks"].values()), default=0)


def check_same_split(runs: dict[str, dict]) -> None:
    """Runs of different splits (``veritas eval --split``) judged different tasks by design: say so
    before the task pairing does.  A run that records no split (verl's validation, judged again)
    claims none."""
    splits = {tag: run["split"] for tag, run in runs.items() if run.get("split") is not None}
    if len(set(splits.values())) > 1:
        shown = ", ".join(f"{tag} ({runs[tag]['path']}) the {split} split" for tag, split in splits.items())
        raise CompareError(f"the runs judged tasks of different splits: {shown}; compare runs of one --split")


def _accuracy(tasks: list[dict]) -> dict:
    verdicts = [v for t in tasks for v in t["verdicts"]]
    correct = sum(verdicts)
    lo, hi = wilson_interval(correct, len(verdicts))
    formatted = sum(f for t in tasks for f in t["format_ok"])
    return {"correct": correct, "samples": len(verdicts), "accuracy": correct / len(verdicts), "wilson_95": [lo, hi],
            "format_rate": formatted / len(verdicts)}


def _keys_by_type(tasks: dict[tuple, dict]) -> dict[str, list[tuple]]:
    """A run's task keys per task type, in a fixed order (the same bootstrap draws for the same data)."""
    keys_by_type: dict[str, list[tuple]] = {}
    for key in sorted(tasks, key=repr):
        keys_by_type.setdefault(tasks[key]["type"], []).append(key)
    return keys_by_type


def _write_json(json_out: Path, comparison: dict) -> None:
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(comparison, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"eval: wrote {json_out}")


def compare_runs(a: dict, b: dict, resamples: int = 10_000, seed: int = 0,
                 selected_types: list[str] | None = None) -> dict:
    """Per type and macro B − A; with ``selected_types`` (e.g. the types GRPO trained on) also
    ``macro_selected``, the macro over those types alone, from the same bootstrap draws."""
    check_same_split({"A": a, "B": b})
    only_a, only_b = a["tasks"].keys() - b["tasks"].keys(), b["tasks"].keys() - a["tasks"].keys()
    if only_a or only_b:
        raise CompareError(
            f"the runs judged different tasks: {len(only_a)} of A's {len(a['tasks'])} are not in B and "
            f"{len(only_b)} of B's {len(b['tasks'])} are not in A (tasks pair by id, level and language); "
            f"evaluate both with the same --task-types, --n-per-type, --difficulty, --language and --seed")
    if not a["tasks"]:
        raise CompareError("the runs hold no complete task")
    keys_by_type = _keys_by_type(a["tasks"])
    task_diff = {k: np.mean(b["tasks"][k]["verdicts"]) - np.mean(a["tasks"][k]["verdicts"]) for k in a["tasks"]}
    diffs = {t: np.array([task_diff[k] for k in keys]) for t, keys in keys_by_type.items()}
    draws = bootstrap_mean_differences(diffs, resamples, seed)
    types = sorted(keys_by_type)
    per_type = {}
    for t in types:
        per_type[t] = {"tasks": len(keys_by_type[t]),
                       "a": _accuracy([a["tasks"][k] for k in keys_by_type[t]]),
                       "b": _accuracy([b["tasks"][k] for k in keys_by_type[t]]),
                       "difference": float(diffs[t].mean()), "difference_95": interval95(draws[t]),
                       # a net difference near 0 can hide many tasks moving both ways (a policy
                       # update reshuffling near-ties): how many went each way
                       "tasks_better": int((diffs[t] > 0).sum()), "tasks_worse": int((diffs[t] < 0).sum())}
        per_type[t]["verdict"] = verdict(per_type[t]["difference_95"])
    def macro_over(names: list[str]) -> dict:
        """The unweighted mean over ``names`` of each type's figures; its interval from the same
        stratified draws."""
        interval = interval95(np.mean([draws[t] for t in names], axis=0))
        return {"tasks": sum(len(keys_by_type[t]) for t in names),
                "a_accuracy": float(np.mean([per_type[t]["a"]["accuracy"] for t in names])),
                "b_accuracy": float(np.mean([per_type[t]["b"]["accuracy"] for t in names])),
                "difference": float(np.mean([per_type[t]["difference"] for t in names])),
                "difference_95": interval, "verdict": verdict(interval)}

    n_tasks = sum(len(keys_by_type[t]) for t in types)
    micro_draws = sum(len(keys_by_type[t]) * draws[t] for t in types) / n_tasks
    all_diffs = np.concatenate([diffs[t] for t in types])
    selected = None
    if selected_types:
        unknown = sorted(set(selected_types) - set(types))
        if unknown:
            raise CompareError(f"selected type(s) {unknown} are not among the compared types {types}")
        chosen = sorted(set(selected_types))
        selected = {"type_names": chosen, **macro_over(chosen)}
    overall = {tag: _accuracy([run["tasks"][k] for t in types for k in keys_by_type[t]]) for tag, run in (("a", a), ("b", b))}
    comparison = {
        "a": {k: a[k] for k in ("path", "samples_file", "model", "max_new_tokens")},
        "b": {k: b[k] for k in ("path", "samples_file", "model", "max_new_tokens")},
        "method": {"accuracy_interval": "Wilson 95% over samples",
                   "difference_interval": "paired bootstrap 95% (percentile), tasks resampled within each type",
                   "resamples": resamples, "seed": seed, "pairing": "task id, level, language"},
        "per_type": per_type,
        "macro": {"types": len(types), **macro_over(types)},
        "micro": {"tasks": n_tasks, "difference": float(all_diffs.mean()), "difference_95": interval95(micro_draws),
                  "tasks_better": int((all_diffs > 0).sum()), "tasks_worse": int((all_diffs < 0).sum()),
                  "a_format_rate": overall["a"]["format_rate"], "b_format_rate": overall["b"]["format_rate"]},
    }
    if selected:
        comparison["macro_selected"] = selected
    per_level = _per_level(a, b, keys_by_type, task_diff, resamples, seed)
    if per_level:
        comparison["per_level"] = per_level
    return comparison


def _per_level(a: dict, b: dict, keys_by_type: dict[str, list[tuple]], task_diff: dict[tuple, float],
               resamples: int, seed: int) -> dict:
    """When the tasks span two or more levels: per level, each type's accuracies and the macro over
    the types present at that level, B − A with its own paired bootstrap (tasks resampled within
    each type at that level).  A curriculum or a level-limited training run shows where it moved."""
    by_level: dict[int, dict[str, list[tuple]]] = {}
    for t, keys in keys_by_type.items():
        for key in keys:
            if isinstance(key[1], int) and not isinstance(key[1], bool):
                by_level.setdefault(key[1], {}).setdefault(t, []).append(key)
    if len(by_level) < 2:
        return {}
    out = {}
    for level in sorted(by_level):
        types = dict(sorted(by_level[level].items()))
        diffs = {t: np.array([task_diff[k] for k in keys]) for t, keys in types.items()}
        draws = bootstrap_mean_differences(diffs, resamples, seed)
        interval = interval95(np.mean([draws[t] for t in types], axis=0))
        per_type = {t: {"tasks": len(keys), "a_accuracy": _accuracy([a["tasks"][k] for k in keys])["accuracy"],
                        "b_accuracy": _accuracy([b["tasks"][k] for k in keys])["accuracy"]} for t, keys in types.items()}
        out[str(level)] = {"tasks": sum(len(keys) for keys in types.values()), "types": len(types),
                           "a_accuracy": float(np.mean([v["a_accuracy"] for v in per_type.values()])),
                           "b_accuracy": float(np.mean([v["b_accuracy"] for v in per_type.values()])),
                           "difference": float(np.mean([diffs[t].mean() for t in types])),
                           "difference_95": interval, "verdict": verdict(interval), "per_type": per_type}
    return out


def compare_gains(runs: dict[str, dict], resamples: int = 10_000, seed: int = 0) -> dict:
    """Two arms' gains over their own starts and the difference of the gains, per type and macro.
    ``runs``: {"a0", "a", "b0", "b"} as :func:`load_run` gives them, all on the same tasks."""
    check_same_split({tag.upper(): run for tag, run in runs.items()})
    keys = runs["a0"]["tasks"].keys()
    for tag, run in runs.items():
        if run["tasks"].keys() != keys:
            raise CompareError(f"{run['path']} ({tag.upper()}) judged other tasks than {runs['a0']['path']} (A0): "
                               "the four runs must be evaluated on the same held-out tasks")
    if not keys:
        raise CompareError("the runs hold no complete task")
    keys_by_type = _keys_by_type(runs["a0"]["tasks"])

    def mean(tag: str, key: tuple) -> float:
        return float(np.mean(runs[tag]["tasks"][key]["verdicts"]))

    gains = {arm: {t: np.array([mean(arm, k) - mean(arm + "0", k) for k in ks]) for t, ks in keys_by_type.items()}
             for arm in ("a", "b")}
    did = {t: gains["b"][t] - gains["a"][t] for t in keys_by_type}
    draws = {name: bootstrap_mean_differences(d, resamples, seed)
             for name, d in (("a", gains["a"]), ("b", gains["b"]), ("difference", did))}
    types = sorted(keys_by_type)
    per_type = {t: {"tasks": len(keys_by_type[t]),
                    **{f"{arm}_gain": float(gains[arm][t].mean()) for arm in ("a", "b")},
                    **{f"{arm}_gain_95": interval95(draws[arm][t]) for arm in ("a", "b")},
                    "difference": float(did[t].mean()), "difference_95": interval95(draws["difference"][t])}
                for t in types}
    for v in per_type.values():
        v["verdict"] = verdict(v["difference_95"])
    macro = {"types": len(types), "tasks": len(keys),
             **{f"{arm}_gain": float(np.mean([per_type[t][f"{arm}_gain"] for t in types])) for arm in ("a", "b")},
             **{f"{arm}_gain_95": interval95(np.mean([draws[arm][t] for t in types], axis=0)) for arm in ("a", "b")},
             "difference": float(np.mean([per_type[t]["difference"] for t in types])),
             "difference_95": interval95(np.mean([draws["difference"][t] for t in types], axis=0))}
    macro["verdict"] = verdict(macro["difference_95"])
    return {tag: {k: runs[tag][k] for k in ("path", "samples_file", "model", "max_new_tokens")} for tag in runs} | {
        "method": {"difference": "per task (B - B0) - (A - A0); paired bootstrap 95% (percentile), tasks resampled "
                                 "within each type", "resamples": resamples, "seed": seed,
                   "pairing": "task id, level, language"},
        "per_type": per_type, "macro": macro}


def mostly_right(task: dict) -> bool:
    """A task of a loaded run (load_run) is right when more than half of its samples are."""
    return float(np.mean(task["verdicts"])) > 0.5


def count_share(n: int, of: int) -> str:
    """``n (x %)`` of ``of``; ``0`` when there is nothing to take a share of."""
    return f"{n} ({100 * n / of:.1f} %)" if of else "0"


def compare_split(a: dict, b: dict, g: dict, resamples: int = 10_000, seed: int = 0) -> dict:
    """B − A on the tasks G got right and on those it got wrong (G: most of its samples right), each
    part with its own stratified paired bootstrap.  Every type keeps its tasks in its part, so the
    macro is over the types present in that part; the micro (all its tasks) is the fairer single
    figure when a part holds few tasks of some type."""
    check_same_split({"A": a, "G": g})
    missing = a["tasks"].keys() - g["tasks"].keys()
    if missing:
        raise CompareError(f"{g['path']} (--split-by) did not judge {len(missing)} of A's {len(a['tasks'])} tasks: "
                           "it must be evaluated on the same held-out tasks")
    g_right = {k: mostly_right(g["tasks"][k]) for k in a["tasks"]}
    parts = {}
    for name, wanted in (("g_right", True), ("g_wrong", False)):
        keys = [k for k in a["tasks"] if g_right[k] == wanted]
        if not keys:
            parts[name] = {"tasks": 0}
            continue
        part = compare_runs(*({**run, "tasks": {k: run["tasks"][k] for k in keys}} for run in (a, b)),
                            resamples=resamples, seed=seed)
        overall = {tag: _accuracy([run["tasks"][k] for k in keys]) for tag, run in (("a", a), ("b", b))}
        parts[name] = {"tasks": len(keys),
                       "tasks_by_type": {t: v["tasks"] for t, v in part["per_type"].items()},
                       "a_accuracy": overall["a"]["accuracy"], "b_accuracy": overall["b"]["accuracy"],
                       "micro": part["micro"], "macro": part["macro"]}
    return {"split_by": {k: g[k] for k in ("path", "samples_file", "model", "max_new_tokens")},
            "rule": "a task is G-right when more than half of G's samples of it are right", **parts}


def trained_tasks(rows_path: Path) -> set[tuple]:
    """(task id, level, language) of each row of a verl RL parquet, from its ``extra_info``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        infos = pq.read_table(rows_path, columns=["extra_info"]).column("extra_info").to_pylist()
    except (OSError, pa.ArrowException, KeyError) as exc:
        raise CompareError(f"{rows_path} (--trained): not a parquet of RL rows with extra_info ({exc})") from None
    keys = set()
    for number, info in enumerate(infos, 1):
        # parquet gives a struct's missing field as None
        if not isinstance(info, dict) or info.get("task_id") is None:
            raise CompareError(f"{rows_path} (--trained): row {number} has no extra_info.task_id")
        keys.add((info["task_id"], info.get("difficulty"), info.get("language")))
    return keys


TRAINED_PARTS = (("trained_a_wrong", "trained on, A wrong"), ("trained_a_right", "trained on, A right"),
                 ("other_a_wrong", "not trained on, A wrong"), ("other_a_right", "not trained on, A right"))


def compare_trained(a: dict, b: dict, trained: set[tuple], rows_path: Path | None = None) -> dict:
    """Per part of A's tasks (in ``trained`` or not, A right or wrong: most of its samples right), per
    type and in all: tasks, fixed (A wrong, B right) and broken (A right, B wrong)."""
    parts = {name: {"tasks": 0, "fixed": 0, "broken": 0, "per_type": {}} for name, _ in TRAINED_PARTS}
    for key, task in a["tasks"].items():
        a_right, b_right = mostly_right(task), mostly_right(b["tasks"][key])
        part = parts[("trained" if key in trained else "other") + ("_a_right" if a_right else "_a_wrong")]
        per = part["per_type"].setdefault(task["type"], {"tasks": 0, "fixed": 0, "broken": 0})
        for counts in (part, per):
            counts["tasks"] += 1
            counts["fixed"] += not a_right and b_right
            counts["broken"] += a_right and not b_right
    judged = sum(parts[n]["tasks"] for n in ("trained_a_wrong", "trained_a_right"))
    return {"rows": str(rows_path) if rows_path else None, "trained_tasks": len(trained), "trained_judged": judged,
            "rule": "a task is right when more than half of its samples are right", **parts}


def trained_markdown(split: dict) -> str:
    types = sorted({t for name, _ in TRAINED_PARTS for t in split[name]["per_type"]})
    lines = ["", f"Fixed and broken by B, split by the tasks trained on: {split['rows']} "
                 f"({split['trained_tasks']} tasks, {split['trained_judged']} of them judged here; {split['rule']})", "",
             "| tasks | count | fixed (A wrong, B right) | broken (A right, B wrong) | " + " | ".join(types) + " |",
             "|---|---|---|---|" + "---|" * len(types)]
    for name, label in TRAINED_PARTS:
        v = split[name]
        wrong = name.endswith("a_wrong")
        # per type: the fixed of the A-wrong tasks, the broken of the A-right ones
        cells = [f"{p['fixed' if wrong else 'broken']} of {p['tasks']}" if (p := v["per_type"].get(t)) else ""
                 for t in types]
        lines.append(f"| {label} | {v['tasks']} | {count_share(v['fixed'], v['tasks']) if wrong else ''} "
                     f"| {'' if wrong else count_share(v['broken'], v['tasks'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def split_markdown(split: dict) -> str:
    lines = ["", f"Split by the verdicts of G: {split['split_by']['path']} ({split['rule']})", "",
             "| tasks | count | A accuracy % | B accuracy % | B − A points, all tasks [95% CI] "
             "| B − A points, macro over types [95% CI] |", "|---|---|---|---|---|---|"]
    for name, label in (("g_right", "G right"), ("g_wrong", "G wrong")):
        v = split[name]
        if not v["tasks"]:
            lines.append(f"| {label} | 0 | | | | |")
            continue
        mic, mac = v["micro"], v["macro"]
        lines.append(f"| {label} | {v['tasks']} | {_pct(v['a_accuracy'])} | {_pct(v['b_accuracy'])} "
                     f"| {_with_interval(mic['difference'], mic['difference_95'], signed=True)} "
                     f"| {_with_interval(mac['difference'], mac['difference_95'], signed=True)} ({mac['types']} types) |")
    return "\n".join(lines)


def gains_markdown(comparison: dict) -> str:
    def gain(v: dict, arm: str) -> str:
        return _with_interval(v[f"{arm}_gain"], v[f"{arm}_gain_95"], signed=True)

    lines = [f"A: {comparison['a0']['path']} -> {comparison['a']['path']}",
             f"B: {comparison['b0']['path']} -> {comparison['b']['path']}", "",
             "| task type | tasks | A's gain points [95% CI] | B's gain points [95% CI] | B's gain − A's gain points [95% CI] |",
             "|---|---|---|---|---|"]
    for t, v in comparison["per_type"].items():
        lines.append(f"| {t} | {v['tasks']} | {gain(v, 'a')} | {gain(v, 'b')} "
                     f"| {_with_interval(v['difference'], v['difference_95'], signed=True)} |")
    mac = comparison["macro"]
    lines.append(f"| **macro** ({mac['types']} types) | {mac['tasks']} | {gain(mac, 'a')} | {gain(mac, 'b')} "
                 f"| {_with_interval(mac['difference'], mac['difference_95'], signed=True)} |")
    m = comparison["method"]
    words = {"improved": "B gained more", "worse": "B gained LESS", "no change": "no clear difference, within noise"}
    lines += ["", f"Gains and their difference: {m['difference']}, {m['resamples']:,} resamples, seed {m['seed']}; "
                  f"tasks paired by {m['pairing']}.", "",
              f"result: B's gain over its start against A's, macro: {100 * mac['difference']:+.1f} points "
              f"({words[mac['verdict']]})."]
    return "\n".join(lines)


def verdict(difference_95: list[float]) -> str:
    """B against A: a change counts only when the paired 95 % interval of B − A leaves out 0."""
    lo, hi = difference_95
    return "improved" if lo > 0 else "worse" if hi < 0 else "no change"


_VERDICT_WORDS = {"improved": "improved", "worse": "got WORSE", "no change": "no clear change, within noise"}


def verdict_lines(comparison: dict) -> list[str]:
    """One line per type (improved / got WORSE / no clear change), the macro line, and a one-line
    ``result:`` that says plainly when accuracy did not improve."""
    per, mac, mic = comparison["per_type"], comparison["macro"], comparison["micro"]
    lines = [f"{t}: accuracy {v['a']['accuracy']:.1%} -> {v['b']['accuracy']:.1%} ({_VERDICT_WORDS[v['verdict']]}), "
             f"format rate {v['a']['format_rate']:.1%} -> {v['b']['format_rate']:.1%}" for t, v in per.items()]
    lines.append(f"overall (macro over {mac['types']} types, {mac['tasks']} held-out tasks): accuracy "
                 f"{mac['a_accuracy']:.1%} -> {mac['b_accuracy']:.1%} ({_VERDICT_WORDS[mac['verdict']]}), "
                 f"format rate {mic['a_format_rate']:.1%} -> {mic['b_format_rate']:.1%}")
    sel = comparison.get("macro_selected")
    if sel:
        lines.append(f"selected types (macro over {', '.join(sel['type_names'])}, {sel['tasks']} tasks): accuracy "
                     f"{sel['a_accuracy']:.1%} -> {sel['b_accuracy']:.1%} ({_VERDICT_WORDS[sel['verdict']]})")
    counts = {name: sum(v["verdict"] == name for v in per.values()) for name in _VERDICT_WORDS}
    n = len(per)
    if counts["improved"]:
        worse = f", got WORSE on {counts['worse']}" if counts["worse"] else ""
        lines.append(f"result: accuracy improved on {counts['improved']} of {n} task types{worse}.")
    elif counts["worse"]:
        lines.append(f"result: accuracy got WORSE on {counts['worse']} of {n} task types and improved on none.")
    elif mic["b_format_rate"] > mic["a_format_rate"]:
        lines.append("result: accuracy did NOT improve beyond noise on any task type; only the answer format did.")
    else:
        lines.append("result: the model did NOT improve beyond noise on any task type.")
    return lines


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _with_interval(value: float, interval: list[float], signed: bool = False) -> str:
    v = f"{100 * value:+.1f}" if signed else _pct(value)
    return f"{v} [{_pct(interval[0])}, {_pct(interval[1])}]"


def _moved(figures: dict) -> str:
    """"12 / 9": tasks whose accuracy rose / fell from A to B (empty for a comparison saved
    before these counts existed)."""
    return f"{figures['tasks_better']} / {figures['tasks_worse']}" if "tasks_better" in figures else ""


def markdown(comparison: dict) -> str:
    def run_line(tag: str) -> str:
        r = comparison[tag.lower()]
        return f"{tag}: {r['path']} (model {r['model'] or '?'}, max_new_tokens {r['max_new_tokens'] or '?'})"

    m = comparison["method"]
    lines = [run_line("A"), run_line("B"), "",
             "| task type | tasks | A accuracy % [95% CI] | B accuracy % [95% CI] | B − A points [95% CI] "
             "| tasks better / worse in B | format rate % A → B |",
             "|---|---|---|---|---|---|---|"]
    for t, v in comparison["per_type"].items():
        lines.append(f"| {t} | {v['tasks']} | {_with_interval(v['a']['accuracy'], v['a']['wilson_95'])} "
                     f"| {_with_interval(v['b']['accuracy'], v['b']['wilson_95'])} "
                     f"| {_with_interval(v['difference'], v['difference_95'], signed=True)} "
                     f"| {_moved(v)} | {_pct(v['a']['format_rate'])} → {_pct(v['b']['format_rate'])} |")
    def macro_row(label: str, over: str, m: dict) -> str:
        return (f"| **{label}** ({over}) | {m['tasks']} | {_pct(m['a_accuracy'])} | {_pct(m['b_accuracy'])} | "
                f"{_with_interval(m['difference'], m['difference_95'], signed=True)} | | |")

    mac, mic = comparison["macro"], comparison["micro"]
    lines.append(macro_row("macro", f"{mac['types']} types", mac))
    sel = comparison.get("macro_selected")
    if sel:
        lines.append(macro_row("macro, selected", ", ".join(sel["type_names"]), sel))
    lines.append(f"| all tasks (micro) | {mic['tasks']} | | | "
                 f"{_with_interval(mic['difference'], mic['difference_95'], signed=True)} | {_moved(mic)} | |")
    levels = comparison.get("per_level")
    if levels:
        names = sorted({t for v in levels.values() for t in v["per_type"]})
        lines += ["", "By level: accuracy % A → B (tasks); the macro row adds B − A points with its paired 95% interval",
                  "", "| task type | " + " | ".join(f"level {lv}" for lv in levels) + " |",
                  "|---|" + "---|" * len(levels)]
        for t in names:
            cells = []
            for v in levels.values():
                c = v["per_type"].get(t)
                cells.append(f"{_pct(c['a_accuracy'])} → {_pct(c['b_accuracy'])} ({c['tasks']})" if c else "")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
        lines.append("| **macro** | " + " | ".join(
            f"{_pct(v['a_accuracy'])} → {_pct(v['b_accuracy'])}, "
            f"{_with_interval(v['difference'], v['difference_95'], signed=True)}" for v in levels.values()) + " |")
    lines += ["", f"Accuracy: {m['accuracy_interval']}. B − A: {m['difference_interval']}, "
                  f"{m['resamples']:,} resamples, seed {m['seed']}; tasks paired by {m['pairing']}. "
                  "A change counts only when the interval of B − A leaves out 0.", ""]
    return "\n".join(lines + verdict_lines(comparison))


def compare(a_path: Path, b_path: Path, json_out: Path | None = None, selected_types: list[str] | None = None,
            baselines: tuple[Path, Path] | None = None, split_by: Path | None = None,
            trained: Path | None = None) -> int:
    if baselines and (split_by or trained):
        print(f"eval --compare: {'--split-by' if split_by else '--trained'} is not offered with --baselines",
              file=sys.stderr)
        return 2
    if baselines:
        if selected_types:
            print("eval --compare --baselines: --task-types (a macro over selected types) is not offered with "
                  "--baselines", file=sys.stderr)
            return 2
        try:
            comparison = compare_gains({"a0": load_run(Path(baselines[0])), "a": load_run(Path(a_path)),
                                        "b0": load_run(Path(baselines[1])), "b": load_run(Path(b_path))})
        except CompareError as exc:
            print(f"eval --compare --baselines: {exc}", file=sys.stderr)
            return 2
        print(gains_markdown(comparison))
        if json_out:
            _write_json(json_out, comparison)
        return 0
    try:
        a, b = load_run(Path(a_path)), load_run(Path(b_path))
        comparison = compare_runs(a, b, selected_types=selected_types)
        if split_by:
            comparison["split"] = compare_split(a, b, load_run(Path(split_by)))
        if trained:
            comparison["trained"] = compare_trained(a, b, trained_tasks(Path(trained)), Path(trained))
    except CompareError as exc:
        print(f"eval --compare: {exc}", file=sys.stderr)
        return 2
    print(markdown(comparison))
    if split_by:
        print(split_markdown(comparison["split"]))
    if trained:
        print(trained_markdown(comparison["trained"]))
    if json_out:  # first: a reader that closes stdout early must not cost the comparison
        _write_json(json_out, comparison)
    # the accuracy chart beside the JSON, else beside B (the CPU demo lists it among its outputs);
    # never into a committed results folder that --json was pointed away from
    per = comparison["per_type"]
    chart = Path(json_out).with_suffix(".png") if json_out else run_folder(Path(b_path)) / "compare.png"
    names = {tag: f"{tag.upper()}: {Path(comparison[tag]['model'] or comparison[tag]['path']).name}" for tag in "ab"}
    report.bar_chart(chart, list(per), {names[tag]: [v[tag]["accuracy"] for v in per.values()] for tag in "ab"},
                     "accuracy on held-out LGC-V2 tasks")
    print(f"eval: wrote {chart}")
    return 0
