"""Prompts per second of `veritas eval` on the embedded SmolLM2-135M-Instruct: held-out tasks of
every type, greedy, one sample each; generation time only (model loading excluded), as recorded
in results.json.

    python3 tests/benchmarks/bench_eval.py [--backend vllm] [--n-per-type 128] [--max-new-tokens 512]

On an H200 with vLLM the target is >= 50 prompts/s (issue 17; a loop of 16-prompt batches gave
about 5).  On CPU use --backend hf with a small --n-per-type.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from veritas.cli import main as veritas_main  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="vllm", choices=["vllm", "hf"])
    p.add_argument("--n-per-type", type=int, default=128)
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--task-types", default=None, help="default: all")
    args = p.parse_args()
    from veritas.models.embedded import prepare

    model = prepare()
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["eval", "--model", str(model), "--backend", args.backend, "--n-per-type", str(args.n_per_type),
                "--max-new-tokens", str(args.max_new_tokens), "--output", tmp]
        if args.task_types:
            argv += ["--task-types", args.task_types]
        if veritas_main(argv) != 0:
            return 1
        with open(os.path.join(tmp, "results.json")) as f:
            results = json.load(f)
    t = results["throughput"]
    print(json.dumps({"backend": results["backend"], "prompts": t["prompts"],
                      "generation_seconds": t["generation_seconds"], "prompts_per_second": t["prompts_per_second"],
                      "max_new_tokens": args.max_new_tokens,
                      "truncation_rate": results["overall"].get("truncation_rate"),
                      "accuracy_macro": results["overall"].get("accuracy_macro")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
