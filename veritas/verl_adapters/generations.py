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
the rows with ``veritas eval``'s sample keys plus ``step`` and ``verl_acc`` (all steps in one file:
not a results folder for ``--compare``).  Rows whose
prompt matches no task, or more than one, are counted and left out.  Training (rollout) dumps
cannot be matched this way: their tasks come from the train split in the sampler's order.
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
    still writing when the run was stopped or packed) is left out; any other bad line is an error."""
    files = sorted((p for p in folder.glob("*.jsonl") if p.stem.isdigit()), key=lambda p: int(p.stem))
    if not files:
        raise DumpError(f"{folder}: no <step>.jsonl files (verl's trainer.validation_data_dir)")
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


def match(rows: list[dict], tasks: list) -> tuple[list[tuple[dict, object]], int, int]:
    """(row, task) pairs; the counts of rows that match no task and more than one."""
    pairs, unmatched, ambiguous = [], 0, 0
    for row in rows:
        found = [task for task in tasks if task.prompt in row["input"]]
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
                    "step": row.get("step"), "verl_acc": None if verl_acc is None else float(verl_acc)})
    return out


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
    p.add_argument("--run-config", required=True, help="the run config the dump was made with (its validation split)")
    p.add_argument("--config-path", default=str(Path(__file__).resolve().parents[2] / "train" / "config"))
    p.add_argument("--output", help="write the judged rows here (.jsonl or .jsonl.gz)")
    p.add_argument("overrides", nargs="*", help="Hydra overrides the run was launched with (data.* ones matter)")
    args = p.parse_intermixed_args(argv)
    try:
        rows = read_dump(Path(args.dump))
        pairs, unmatched, ambiguous = match(rows, validation_tasks(args.run_config, args.config_path, args.overrides))
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
    return 0 if pairs else 1


if __name__ == "__main__":
    sys.exit(main())
