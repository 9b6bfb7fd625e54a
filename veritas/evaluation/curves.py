"""Training curves from verl's file logger (``trainer.logger=[...,file]``, one JSON line per step).

    python -m veritas.evaluation.curves METRICS.jsonl [MORE.jsonl ...] --keys critic/score/mean \\
        --output reward.png [--table]

Several files (a run and its resumed continuation) are merged by step, the later file winning.
A key may hold ``*`` wildcards (``fnmatch``), e.g. ``'train_by_type/*/accuracy'`` for every task
type's training accuracy; ``--overlay`` draws all matched keys on one axis with a legend (one
line per type) instead of one panel per key.
"""
from __future__ import annotations

import argparse
import fnmatch
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


def expand_keys(steps: dict[int, dict], patterns: list[str]) -> list[str]:
    """The logged keys each pattern names, in pattern order (a wildcard's matches sorted); a
    plain key is kept even when it was never logged."""
    logged = sorted({k for data in steps.values() for k in data})
    out: list[str] = []
    for pattern in patterns:
        matched = fnmatch.filter(logged, pattern) if any(c in pattern for c in "*?[") else [pattern]
        out.extend(k for k in matched if k not in out)
    return out


def plot(steps: dict[int, dict], keys: list[str], output: Path, title: str, overlay: bool = False) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [keys] if overlay else [[k] for k in keys]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels) + (1.0 if overlay else 0)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        for key in panel:
            xs, ys = series(steps, key)
            ax.plot(xs, ys, marker=".", linewidth=1, label=key)
        if overlay:
            ax.legend(fontsize=7)
        else:
            ax.set_ylabel(panel[0], fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m veritas.evaluation.curves", description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--keys", required=True, help="comma-separated metric names; * matches any text, e.g. 'train_by_type/*/accuracy'")
    p.add_argument("--output", type=Path, help="PNG to write")
    p.add_argument("--title", default="")
    p.add_argument("--table", action="store_true", help="print step and values as a markdown table")
    p.add_argument("--overlay", action="store_true", help="all keys on one axis, with a legend")
    a = p.parse_args(argv)
    missing = [str(f) for f in a.files if not f.is_file()]
    if missing:
        print(f"curves: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    steps = load_steps(a.files)
    patterns = [k for k in a.keys.split(",") if k]
    keys = expand_keys(steps, patterns)
    if not any(series(steps, k)[0] for k in keys):
        print(f"curves: none of {patterns} in {len(steps)} logged steps", file=sys.stderr)
        return 1
    if a.output:
        plot(steps, keys, a.output, a.title, overlay=a.overlay)
    if a.table:
        print("| step | " + " | ".join(keys) + " |")
        print("|---" * (len(keys) + 1) + "|")
        for step, data in steps.items():
            vals = [data.get(k) for k in keys]
            print(f"| {step} | " + " | ".join("" if v is None else f"{v:.4g}" for v in vals) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
