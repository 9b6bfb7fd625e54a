"""results.json / results.md / results.png of a run."""
from __future__ import annotations

import json
import os
from pathlib import Path


def _atomic_write(path: Path, data: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"  # None: samples from before the figure existed


def markdown_table(results: dict) -> str:
    per = results["per_type"]
    ks = sorted({k for v in per.values() for k in v["pass_at_k"]}, key=int)
    groups = all("zero_variance_share" in v for v in per.values()) and bool(per)  # several samples a task
    head = ["task type", "tasks", "accuracy", *[f"pass@{k}" for k in ks if k != "1"],
            *(["all right", "all wrong"] if groups else []), "format rate", "truncated", "mean chars"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t, v in per.items():
        row = [t, str(v["tasks"]), f"{v['accuracy']:.1%}",
               *[f"{v['pass_at_k'][k]:.1%}" for k in ks if k != "1"],
               *([f"{v['all_correct_share']:.1%}", f"{v['all_wrong_share']:.1%}"] if groups else []),
               f"{v['format_rate']:.1%}", _share(v.get("truncation_rate")), f"{v['mean_response_chars']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    o = results.get("overall")
    if o:
        lines.append(f"| **all** (macro) | {o['tasks']} | {o['accuracy_macro']:.1%} |"
                     + " |" * (len(ks) - 1) + (" | |" if groups else "")
                     + f" {o['format_rate']:.1%} | {_share(o.get('truncation_rate'))} | |")
    if groups:
        levels = sorted({lv for v in per.values() for lv in v.get("per_level", {})}, key=int)
        lines += ["", f"Tasks whose {results['settings']['samples']} samples all score the same (a GRPO group of "
                  f"that size with right/wrong rewards gives no gradient): "
                  + (f"{o['zero_variance_share']:.1%} of all tasks. " if o.get("zero_variance_share") is not None else "")
                  + "By level, accuracy and that share:", "",
                  "| task type | " + " | ".join(f"level {lv}" for lv in levels) + " |",
                  "|" + "---|" * (1 + len(levels))]
        for t, v in per.items():
            cells = [f"{v['per_level'][lv]['accuracy']:.0%}, {v['per_level'][lv]['zero_variance_share']:.0%}"
                     if lv in v.get("per_level", {}) else "–" for lv in levels]
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bar_chart(path: Path, labels: list[str], series: dict[str, list[float]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels) + 2), 4.5))
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(labels))]
        bars = ax.bar(xs, values, width, label=name)
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=7)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def write_all(out: Path, results: dict) -> None:
    _atomic_write(out / "results.json", json.dumps(results, indent=2, ensure_ascii=False))
    s = results["settings"]
    header = (f"# Evaluation of `{s['model']}`\n\n{s['n_per_type']} held-out tasks per type, "
              f"{s['samples']} sample(s) each, temperature {s['temperature']}, "
              f"max {s['max_new_tokens']} new tokens (truncated: the share of responses that reached it), "
              f"backend {results['backend']}.\n\n")
    _atomic_write(out / "results.md", header + markdown_table(results) + "\n")
    per = results["per_type"]
    if per:
        labels = list(per)
        bar_chart(out / "results.png", labels,
                   {"accuracy": [per[t]["accuracy"] for t in labels],
                    "format rate": [per[t]["format_rate"] for t in labels]},
                   f"{Path(s['model']).name}: held-out LGC-V2 tasks")

