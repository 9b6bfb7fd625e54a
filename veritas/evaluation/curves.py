"""Training curves from verl's file logger (``trainer.logger=[...,file]``, one JSON line per step).

    python -m veritas.evaluation.curves METRICS.jsonl [MORE.jsonl ...] --keys critic/score/mean \\
        --output reward.png [--table]

Several files (a run and its resumed continuation) are merged by step, the later file winning.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load_steps(paths: list[Path]) -> dict[int, dict]:
    steps: dict[int, dict] = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a torn last line from a killed run
                if isinstance(rec, dict) and isinstance(rec.get("step"), int) and isinstance(rec.get("data"), dict):
                    steps.setdefault(rec["step"], {}).update(rec["data"])
    return dict(sorted(steps.items()))


def series(steps: dict[int, dict], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for step, data in steps.items():
        value = data.get(key)
        if isinstance(value, (int, float)):
            xs.append(step)
            ys.append(float(value))
    return xs, ys


def plot(steps: dict[int, dict], keys: list[str], output: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.6 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        xs, ys = series(steps, key)
        ax.plot(xs, ys, marker=".", linewidth=1)
        ax.set_ylabel(key, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m veritas.evaluation.curves", description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--keys", required=True, help="comma-separated metric names")
    p.add_argument("--output", type=Path, help="PNG to write")
    p.add_argument("--title", default="")
    p.add_argument("--table", action="store_true", help="print step and values as a markdown table")
    a = p.parse_args(argv)
    missing = [str(f) for f in a.files if not f.is_file()]
    if missing:
        print(f"curves: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    steps = load_steps(a.files)
    keys = [k for k in a.keys.split(",") if k]
    if not any(series(steps, k)[0] for k in keys):
        print(f"curves: none of {keys} in {len(steps)} logged steps", file=sys.stderr)
        return 1
    if a.output:
        plot(steps, keys, a.output, a.title)
    if a.table:
        print("| step | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for step, data in steps.items():
            vals = [data.get(k) for k in keys]
            print(f"| {step} | " + " | ".join("" if v is None else f"{v:.4g}" for v in vals) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
