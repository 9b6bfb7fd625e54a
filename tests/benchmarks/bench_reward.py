"""Speed of the verl adapters: reward throughput and dynamic-dataset item fetch.

    OMP_NUM_THREADS=1 python tests/benchmarks/bench_reward.py [--n 4096] [--chars 1000] [--types a,b] [--items 2000]

Reward: ``--n`` responses of about ``--chars`` characters (a <think> block of filler, then an
answer: 1/2 the reference answer, 1/4 another task's answer, 1/4 text with no answer), scored
one by one on one core with ``compute_score`` as verl calls it (reward_kwargs as in training,
wall-clock guard on).  Target: 4,096 responses in <= 0.5 s.
Dataset: median / p99 / max time of ``DynamicEnvDataset.__getitem__`` over ``--items`` indices.
Target: median <= 1 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from veritas.envs.lgc_v2 import registry  # noqa: E402
from veritas.verl_adapters.dataset import DynamicEnvDataset  # noqa: E402
from veritas.verl_adapters.reward import bad_input_counts, compute_score  # noqa: E402

FILLER = "Let me check each step carefully and keep track of what is known so far. "


def build_batch(types: list[str], n: int, chars: int) -> list[dict]:
    ds = DynamicEnvDataset(config={"lgc_v2": {"task_types": types}}, split="val")
    n_tasks = min(len(ds), max(8, n // 8))  # GRPO-like: several responses per task
    rows = [ds.row(i) for i in range(n_tasks)]
    calls = []
    for k in range(n):
        row = rows[k % n_tasks]
        kind = k % 4
        if kind in (0, 1):
            answer = row["reward_model"]["ground_truth"]
        elif kind == 2:
            answer = rows[(k + 1) % n_tasks]["reward_model"]["ground_truth"]
        else:
            answer = "I am not sure about the answer."
        pad = max(0, chars - len(answer) - 20)
        think = (FILLER * (pad // len(FILLER) + 1))[:pad]
        calls.append(
            {
                "data_source": row["data_source"],
                "solution_str": f"<think>{think}</think>\n{answer}",
                "ground_truth": row["reward_model"]["ground_truth"],
                "extra_info": dict(row["extra_info"], num_turns=2, rollout_reward_scores={}),
            }
        )
    return calls


def bench_reward(types: list[str], n: int, chars: int) -> float:
    calls = build_batch(types, n, chars)
    kwargs = {"format_penalty": 0.1}
    for c in calls[:64]:  # warm imports and caches
        compute_score(**c, **kwargs)
    start = time.perf_counter()
    results = [compute_score(**c, **kwargs) for c in calls]
    elapsed = time.perf_counter() - start
    acc = sum(r["acc"] for r in results) / len(results)
    mean_chars = sum(len(c["solution_str"]) for c in calls) / len(calls)
    print(
        f"reward: {n} responses (mean {mean_chars:.0f} chars, types {','.join(types)}) in {elapsed:.3f} s "
        f"= {n / elapsed:,.0f}/s on one core; acc {acc:.3f}; target <= 0.5 s: {'OK' if elapsed <= 0.5 else 'MISSED'}"
    )
    if bad_input_counts():
        print(f"  bad inputs: {bad_input_counts()}")
    return elapsed


def bench_dataset(types: list[str], items: int) -> float:
    ds = DynamicEnvDataset("lgc_v2://train", config={"lgc_v2": {"task_types": types}})
    times = []
    for i in range(min(items, len(ds))):
        t = time.perf_counter()
        ds[i]
        times.append(time.perf_counter() - t)
    times.sort()
    median = statistics.median(times) * 1e3
    print(
        f"dataset: {len(times)} items, median {median:.3f} ms, p99 {times[int(0.99 * (len(times) - 1))] * 1e3:.3f} ms, "
        f"max {times[-1] * 1e3:.3f} ms; target median <= 1 ms: {'OK' if median <= 1 else 'MISSED'}"
    )
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4096, help="responses to score")
    parser.add_argument("--chars", type=int, default=1000, help="approximate length of a response")
    parser.add_argument("--types", default=None, help="comma-separated task types (default: all installed)")
    parser.add_argument("--items", type=int, default=2000, help="dataset items to fetch")
    args = parser.parse_args()
    types = args.types.split(",") if args.types else list(registry.task_types())
    elapsed = bench_reward(types, args.n, args.chars)
    median = bench_dataset(types, args.items)
    return 0 if elapsed <= 0.5 * args.n / 4096 and median <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
