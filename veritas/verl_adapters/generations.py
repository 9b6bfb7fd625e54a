"""Judge verl's dumped validation generations again with the package.

verl writes every validation generation to ``trainer.validation_data_dir/<step>.jsonl`` (one row:
``input`` and ``output`` decoded without special tokens, ``score``, ``acc`` and the reward's
other keys, ``step``); the recipe sets that directory.  The dump holds no task ids, so each row is
matched to its task by prompt: the run config's validation split is rebuilt (our dynamic dataset is
deterministic: item i depends only on the config, the split and i) and a row belongs to the task
whose prompt its input contains.  Each output is then judged the way ``veritas eval`` judges
(``registry.verify_task``) and set beside verl's own ``acc``:

    python -m veritas.verl_adapters.generations DUMP_DIR --run-config grpo-smollm2-135m-1gpu \\
        [--config-path train/config] [--output rejudged.jsonl.gz] [HYDRA_OVERRIDE ...]

It prints, per step and task type, the rows, verl's accuracy, the package's accuracy and how many
rows the two judge differently (0 unless the reward path and the evaluation disagree), and writes
the rows with ``veritas eval``'s sample keys plus ``step`` and ``verl_acc`` (all steps in one file;
``--results-dir``, below, writes results folders for ``--compare``).  Rows whose
prompt matches no task, or more than one, are counted and left out.  Training (rollout) dumps
are not matched here: their tasks come from the train split in verl's sampler order, which
``veritas.verl_adapters.curriculum_replay`` rebuilds (a run that trained on an RL parquet:
``python -m veritas.evaluation.working --rollouts DIR --tasks PARQUET`` matches them with this
module's functions).

A run validated on an RL parquet (``data.val_files``, e.g. the recipe's held-out tasks) names it
with ``--val-data PARQUET`` instead of ``--run-config``: its rows' tasks are rebuilt from their
``extra_info``.  ``--against SAMPLES`` (a ``veritas eval`` samples.jsonl[.gz] or results folder
of the same model on the same tasks) sets one step of the dump (``--step``, default the first)
beside that evaluation, task by task: how many each path got right, both, and how many responses
are the same text; two greedy paths of one model should agree on nearly every task.

``--results-dir DIR`` writes each step as a results folder, ``DIR/step-<N>/`` (``results.json``
and ``samples.jsonl.gz``, as ``veritas eval`` writes them), so that a run's validation steps
compare with ``veritas eval --compare DIR/step-0 DIR/step-24`` (paired, with bootstrap
intervals): a GRPO run's gain over its own starting model without a second evaluation pass.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import defaultdict
from pathlib import Path

from veritas.envs.lgc_v2 import registry


class DumpError(Exception):
    """A dump or run config that cannot be read; the message names it."""


def read_dump(folder: Path) -> list[dict]:
    """Every row of ``folder/<step>.jsonl``, in step order.  A torn last line (a file verl was
    still writing when the run was stopped or packed) is left out; any other bad line is an error:
    a row is a JSON object with input and output text, and a step, where it has one, that is a
    whole number (verl writes the step in every row)."""
    where = "verl's trainer.validation_data_dir or trainer.rollout_data_dir"
    if not folder.exists():
        raise DumpError(f"{folder}: no such folder ({where})")
    files = sorted((p for p in folder.glob("*.jsonl") if p.stem.isdigit()), key=lambda p: int(p.stem))
    if not files:
        raise DumpError(f"{folder}: no <step>.jsonl files ({where})")
    rows = []
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DumpError(f"{path}: {exc}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("input"), str) \
                        or not isinstance(row.get("output"), str):
                    raise ValueError("not a row with input and output text")
                step = row.get("step")
                if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
                    raise ValueError(f"its step {step!r} is not a whole number")
            except ValueError as exc:
                if number == len(lines) and isinstance(exc, json.JSONDecodeError):
                    continue  # torn last line
                raise DumpError(f"{path}: line {number}: {exc}") from None
            rows.append(row)
    return rows


def validation_tasks(run_config: str, config_path: str, overrides: list[str]) -> list:
    """The tasks of the run config's validation split, in item order."""
    from veritas.verl_adapters.compose import ConfigError, compose_run_config
    from veritas.verl_adapters.dataset import DatasetConfigError, LGCV2DynamicDataset

    try:
        cfg = compose_run_config(config_path, run_config, overrides)
        dataset = LGCV2DynamicDataset(data_files="lgc_v2://val", tokenizer=None, config=cfg.data)
    except (ConfigError, DatasetConfigError) as exc:
        raise DumpError(f"run config {run_config}: {exc}") from None
    return [dataset.task(i) for i in range(len(dataset))]


def parquet_tasks(path: Path) -> list:
    """The tasks of an RL parquet (``veritas generate --format rl``), rebuilt from each row's extra_info."""
    try:
        import pyarrow.parquet as pq

        infos = pq.read_table(path, columns=["extra_info"]).column("extra_info").to_pylist()
    except Exception as exc:  # pyarrow's errors: missing file, not parquet, no such column
        raise DumpError(f"{path}: not an RL parquet with extra_info ({exc})") from None
    tasks = []
    for number, info in enumerate(infos, 1):
        try:
            tasks.append(registry.generate_by_type(info["task_type"], int(info["seed"]), int(info["difficulty"]),
                                                   info["language"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DumpError(f"{path}: row {number}: extra_info names no task ({exc!r})") from None
    return tasks


def read_samples(path: Path) -> list[dict]:
    """A ``veritas eval`` run's samples: a samples file, or a results folder or results.json as
    ``veritas eval --compare`` takes them (read the way it reads them)."""
    from veritas.evaluation.compare import CompareError, read_run

    try:
        rows = read_run(path)
    except CompareError as exc:
        raise DumpError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DumpError(f"{path}: {exc}") from None
    if not rows or not all({"task_id", "correct", "response"} <= r.keys() for r in rows):
        raise DumpError(f"{path}: not veritas eval samples (task_id, correct, response in every row)")
    return rows


def against(judged: list[dict], samples: list[dict], step: int | None) -> list[dict]:
    """Per task type: one step of the judged dump beside an evaluation's first sample of each task."""
    steps = sorted({r["step"] for r in judged if r["step"] is not None})
    if step is None and steps:
        step = steps[0]
    evaluated = {s["task_id"]: s for s in samples if s.get("sample", 0) == 0}
    by_type: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    for r in judged:
        if r["step"] == step and r["task_id"] in evaluated:
            by_type[r["task_type"]].append((r, evaluated[r["task_id"]]))
    return [{"step": step, "task_type": task_type, "tasks": len(pairs),
             "verl_right": sum(v["correct"] for v, _ in pairs), "eval_right": sum(bool(e["correct"]) for _, e in pairs),
             "both_right": sum(v["correct"] and bool(e["correct"]) for v, e in pairs),
             "same_response": sum(v["response"].strip() == str(e["response"]).strip() for v, e in pairs)}
            for task_type, pairs in sorted(by_type.items())]


def match(rows: list[dict], tasks: list) -> tuple[list[tuple[dict, object]], int, int]:
    """(row, task) pairs; the counts of rows that match no task and more than one.  A row's tasks
    are those whose prompt its input contains."""
    by_prompt: dict[str, list] = defaultdict(list)
    for task in tasks:
        by_prompt[task.prompt].append(task)
    # each distinct input is scanned once: a rollout dump holds each prompt rollout.n times, a
    # validation dump each prompt once a validation
    found_in: dict[str, list] = {}
    pairs, unmatched, ambiguous = [], 0, 0
    for row in rows:
        text = row["input"]
        if text not in found_in:
            found_in[text] = [task for prompt, same in by_prompt.items() if prompt in text for task in same]
        found = found_in[text]
        if len(found) == 1:
            pairs.append((row, found[0]))
        elif found:
            ambiguous += 1
        else:
            unmatched += 1
    return pairs, unmatched, ambiguous


def judge(pairs: list[tuple[dict, object]]) -> list[dict]:
    """One samples row per pair (``veritas eval``'s keys, plus step and verl's acc)."""
    out = []
    for row, task in pairs:
        verdict = registry.verify_task(task, row["output"])
        verl_acc = row.get("acc")
        out.append({"task_id": task.task_id, "task_type": task.task_type, "sample": 0, "difficulty": task.difficulty,
                    "language": task.language, "prompt": task.prompt, "response": row["output"],
                    "correct": verdict.correct, "format_ok": verdict.format_ok, "reason": verdict.reason,
                    "response_chars": len(row["output"]),
                    "step": row.get("step"), "verl_acc": None if verl_acc is None else float(verl_acc)})
    return out


def write_results(judged: list[dict], folder: Path, dump: Path, name: str | None = None) -> list[Path]:
    """One results folder per step of the judged dump (``folder/step-<N>``), its model named
    ``<name> step <N>`` (name: the dump's path unless given); the folders written."""
    from veritas.evaluation.metrics import summarize

    by_step: dict[int, list[dict]] = defaultdict(list)
    for r in judged:
        if r["step"] is not None:
            by_step[r["step"]].append(r)
    written = []
    for step, rows in sorted(by_step.items()):
        out = folder / f"step-{step}"
        out.mkdir(parents=True, exist_ok=True)
        samples = [{k: v for k, v in r.items() if k not in ("step", "verl_acc")} for r in rows]
        results = summarize(samples, 1)
        # the dump holds text, not token counts, nor verl's sampling settings
        for figures in results["per_type"].values():
            figures["mean_response_tokens"] = None
        results["settings"] = {"model": f"{name or dump} step {step}", "source": "verl validation dump", "dump": str(dump),
                               "step": step, "samples": 1, "n_per_type": max(v["tasks"] for v in results["per_type"].values()),
                               "temperature": None, "max_new_tokens": None}
        with gzip.open(out / "samples.jsonl.gz", "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in samples)
        (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(out)
    return written


def summary(judged: list[dict]) -> list[dict]:
    """Per (step, type): rows, verl's accuracy, the package's accuracy, rows judged differently."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in judged:
        groups[(r["step"], r["task_type"])].append(r)
    lines = []
    for (step, task_type), rs in sorted(groups.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or 0, kv[0][1])):
        with_verl = [r for r in rs if r["verl_acc"] is not None]
        lines.append({"step": step, "task_type": task_type, "rows": len(rs),
                      "verl_accuracy": sum(r["verl_acc"] for r in with_verl) / len(with_verl) if with_verl else None,
                      "accuracy": sum(r["correct"] for r in rs) / len(rs),
                      "disagree": sum((r["verl_acc"] == 1.0) != r["correct"] for r in with_verl)})
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m veritas.verl_adapters.generations",
                                description="judge verl's dumped validation generations again with the package")
    p.add_argument("dump", help="verl's trainer.validation_data_dir (files <step>.jsonl)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-config", help="the run config the dump was made with (its validation split)")
    source.add_argument("--val-data", help="the RL parquet the run validated on (data.val_files), instead")
    p.add_argument("--config-path", default=str(Path(__file__).resolve().parents[2] / "train" / "config"))
    p.add_argument("--output", help="write the judged rows here (.jsonl or .jsonl.gz)")
    p.add_argument("--against", help="a veritas eval samples file or results folder of the same model and tasks")
    p.add_argument("--step", type=int, help="with --against: the dump's step to set beside it (default: the first)")
    p.add_argument("--results-dir", help="write each step as a results folder DIR/step-<N> for veritas eval --compare")
    p.add_argument("--name", help="with --results-dir: the run's name in the folders' model field (default: the dump's path)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides the run was launched with (data.* ones matter)")
    args = p.parse_intermixed_args(argv)
    try:
        rows = read_dump(Path(args.dump))
        tasks = parquet_tasks(Path(args.val_data)) if args.val_data else \
            validation_tasks(args.run_config, args.config_path, args.overrides)
        pairs, unmatched, ambiguous = match(rows, tasks)
        samples = read_samples(Path(args.against)) if args.against else None
    except DumpError as exc:
        print(f"generations: {exc}", file=sys.stderr)
        return 2
    judged = judge(pairs)
    print("| step | task type | rows | verl accuracy % | package accuracy % | judged differently |")
    print("|---|---|---|---|---|---|")
    for s in summary(judged):
        verl = "?" if s["verl_accuracy"] is None else f"{100 * s['verl_accuracy']:.1f}"
        print(f"| {s['step']} | {s['task_type']} | {s['rows']} | {verl} | {100 * s['accuracy']:.1f} | {s['disagree']} |")
    print(f"{len(rows)} rows: {len(pairs)} matched to a validation task, {unmatched} to none, {ambiguous} to several")
    if samples is not None:
        print(f"\nverl's validation beside {args.against}, the same tasks (right: as the package judges)\n")
        print("| step | task type | tasks | verl right | eval right | both right | same response |")
        print("|---|---|---|---|---|---|---|")
        for a in against(judged, samples, args.step):
            print(f"| {a['step']} | {a['task_type']} | {a['tasks']} | {a['verl_right']} | {a['eval_right']} "
                  f"| {a['both_right']} | {a['same_response']} |")
    if args.output:
        out = Path(args.output)
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in judged)
        try:
            if out.suffix == ".gz":
                with gzip.open(out, "wt", encoding="utf-8") as f:
                    f.write(text)
            else:
                out.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"generations: cannot write {out}: {exc}", file=sys.stderr)
            return 2
        print(f"generations: wrote {out}")
    if args.results_dir and judged:
        try:
            folders = write_results(judged, Path(args.results_dir), Path(args.dump), args.name)
        except OSError as exc:
            print(f"generations: cannot write under {args.results_dir}: {exc}", file=sys.stderr)
            return 2
        print(f"generations: wrote {len(folders)} results folders under {args.results_dir} "
              f"({', '.join(f.name for f in folders)})")
    return 0 if pairs else 1


if __name__ == "__main__":
    sys.exit(main())
