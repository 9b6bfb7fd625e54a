"""Accuracy metrics of sampled answers: pass@k (unbiased estimator) and mean@k, per task type."""
from __future__ import annotations

from collections import defaultdict
from math import comb
from typing import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples, drawn without replacement from n samples of
    which c are correct, is correct: 1 - C(n-c, k) / C(n, k) (Chen et al., 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def ks_to_report(n: int) -> list[int]:
    """1, powers of two below n, and n itself."""
    ks = {1, n}
    k = 2
    while k < n:
        ks.add(k)
        k *= 2
    return sorted(ks)


def truncation_rate(records: list[dict]) -> float | None:
    """Share of responses cut off by max_new_tokens, over the records that say so (samples
    written before the flag existed do not); None when none does."""
    flags = [bool(r["truncated"]) for r in records if "truncated" in r]
    return sum(flags) / len(flags) if flags else None


def n_correct(records: Iterable[dict]) -> int:
    """How many of these sample records were judged right."""
    return sum(bool(r["correct"]) for r in records)


def group_shares(groups: Iterable[list[dict]], n_samples: int) -> dict:
    """What GRPO would learn from these tasks with groups of n_samples right/wrong rewards: the
    share of tasks whose samples are all right, all wrong, and either (zero variance: a group
    whose advantages are all 0, so no gradient)."""
    counts = [n_correct(rs[:n_samples]) for rs in groups]
    if not counts:
        return {}
    all_right = sum(c == n_samples for c in counts) / len(counts)
    all_wrong = sum(c == 0 for c in counts) / len(counts)
    return {"all_correct_share": all_right, "all_wrong_share": all_wrong,
            "zero_variance_share": all_right + all_wrong}


def per_level(groups: Iterable[list[dict]], n_samples: int) -> dict:
    """Per level (the tasks' ``difficulty``): tasks, mean accuracy and group shares."""
    by_level: dict[int, list[list[dict]]] = defaultdict(list)
    for rs in groups:
        by_level[int(rs[0].get("difficulty", 0))].append(rs)
    out = {}
    for level in sorted(by_level):
        rs_all = by_level[level]
        recs = [r for rs in rs_all for r in rs[:n_samples]]
        out[str(level)] = {"tasks": len(rs_all), "accuracy": n_correct(recs) / len(recs),
                           **group_shares(rs_all, n_samples)}
    return out


def summarize(samples: Iterable[dict], n_samples: int) -> dict:
    """Per-type and overall figures from sample records (task_type, task_id, correct, format_ok,
    response_chars, response_tokens, truncated).  Tasks with fewer than ``n_samples`` records are
    left out of pass@k (an unfinished resume) and counted as ``incomplete_tasks``."""
    by_type: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for s in samples:
        by_type[s["task_type"]][s["task_id"]].append(s)
    per_type = {}
    counted: list[dict] = []  # the records behind per_type, for the overall truncation rate
    for task_type in sorted(by_type):
        tasks = by_type[task_type]
        complete = {tid: recs for tid, recs in tasks.items() if len(recs) >= n_samples}
        recs = [r for rs in complete.values() for r in rs[:n_samples]]
        if not recs:
            continue
        counted += recs
        correct = n_correct(recs)
        per_type[task_type] = {
            "tasks": len(complete),
            "samples": len(recs),
            "correct": correct,
            "accuracy": correct / len(recs),  # mean@k
            "format_rate": sum(bool(r["format_ok"]) for r in recs) / len(recs),
            "mean_response_chars": sum(r["response_chars"] for r in recs) / len(recs),
            "mean_response_tokens": sum(r.get("response_tokens", 0) for r in recs) / len(recs),
            "truncation_rate": truncation_rate(recs),
            "pass_at_k": {
                str(k): sum(pass_at_k(n_samples, n_correct(rs[:n_samples]), k)
                            for rs in complete.values()) / len(complete)
                for k in ks_to_report(n_samples)
            },
            "incomplete_tasks": len(tasks) - len(complete),
        }
        if n_samples > 1:
            per_type[task_type].update(group_shares(complete.values(), n_samples))
            per_type[task_type]["per_level"] = per_level(complete.values(), n_samples)
    overall = {}
    if per_type:
        total = sum(v["samples"] for v in per_type.values())
        overall = {
            "tasks": sum(v["tasks"] for v in per_type.values()),
            "samples": total,
            "accuracy_micro": sum(v["correct"] for v in per_type.values()) / total,
            "accuracy_macro": sum(v["accuracy"] for v in per_type.values()) / len(per_type),
            "format_rate": sum(v["format_rate"] * v["samples"] for v in per_type.values()) / total,
            "truncation_rate": truncation_rate(counted),
        }
        if n_samples > 1:  # over all tasks, as verl's train_by_type/all/zero_variance_group_share
            overall["zero_variance_share"] = sum(v["zero_variance_share"] * v["tasks"]
                                                 for v in per_type.values()) / overall["tasks"]
    return {"per_type": per_type, "overall": overall}
