"""``veritas eval``: per-task-type accuracy of a model on held-out LGC-V2 tasks.

Held-out tasks come from the registry's ``test`` seed range, which no training path draws from.
``--split train`` (or ``val``) judges tasks of that split instead, with the same task order: what
the recipe's mine stage needs to find the training tasks a model gets wrong.
Samples are appended to ``samples.jsonl`` after each generation call (on vLLM one call holds
every pending prompt, so that its scheduler can batch them), so an interrupted run resumes from
the last finished call; ``results.json``, ``results.md`` and ``results.png`` are rewritten from
all samples at the end.  ``--compare A B`` compares two such runs task by task (``compare.py``).
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

from veritas.envs import lgc_v2
from veritas.envs.lgc_v2 import registry
from veritas.envs.lgc_v2.selection import EVAL_SEED_STRIDE, Selection, SelectionError, parse_level_range
from veritas.evaluation import report
from veritas.evaluation.metrics import summarize

# Settings that must match for samples of an earlier run to be reused.
RUN_KEYS = ("model", "task_types", "n_per_type", "samples", "temperature", "max_new_tokens",
            "difficulty", "language", "seed", "system_prompt", "reasoning", "split")


def add_arguments(p):
    p.add_argument("--model", help="HF model dir, hub id (org/name), or verl checkpoint dir (global_step_N)")
    p.add_argument("--task-types", default=None,
                   help="comma-separated (default: all); with --compare: also the macro over just these types "
                        "(e.g. the types GRPO trained), with its paired interval")
    p.add_argument("--n-per-type", type=int, default=50, help="held-out tasks per type")
    p.add_argument("--samples", type=int, default=1, help="samples per task: pass@k and mean@k (k = this)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--max-new-tokens", type=int, default=512)
    p.add_argument("--difficulty", default=None, help="level (5) or range (3-7); default: the registry's mix")
    p.add_argument("--language", choices=["en", "zh"], default=None,
                   help="prompt language where the type has it (en-only types stay en); default: the registry's mix")
    p.add_argument("--seed", type=int, default=0, help="offset into the held-out seed range; sampling seed")
    p.add_argument("--split", choices=list(registry.SPLITS), default="test",
                   help="the seed range the tasks come from: test (default, held out from every training path); "
                        "train or val to judge tasks of those splits, e.g. to find the training tasks a model "
                        "gets wrong (veritas generate --tasks-from)")
    p.add_argument("--system-prompt", default=None)
    p.add_argument("--reasoning", action="store_true", help="ask for reasoning in <think> before the answer")
    p.add_argument("--backend", choices=["auto", "vllm", "hf"], default="auto",
                   help="auto: vLLM when importable and a GPU is present, else transformers")
    p.add_argument("--batch-size", type=int, default=None,
                   help="prompts per generation call (default: all pending prompts in one call on vLLM, "
                        "whose scheduler batches them; 16 on hf)")
    p.add_argument("--gpu-memory-utilization", type=float, default=None, metavar="FRACTION",
                   help="vLLM: share of the GPU's memory this evaluation may take (default vLLM's 0.9); "
                        "lower it to evaluate beside a training run on the same GPU")
    p.add_argument("--output", default=None, help="output dir (default: train/artifacts/eval/<model name>)")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"),
                   help="compare two runs on the same held-out tasks (results dirs or results.json) and exit")
    p.add_argument("--json", metavar="OUT", help="with --compare: also write the comparison here")
    p.add_argument("--baselines", nargs=2, metavar=("A0", "B0"),
                   help="with --compare A B: the runs A and B started from; compares the gains A0 -> A and B0 -> B")
    p.add_argument("--split-by", metavar="G",
                   help="with --compare A B: also B - A on the tasks a third run G (e.g. the start's greedy "
                        "evaluation) got right and on those it got wrong")
    p.add_argument("--trained", metavar="ROWS",
                   help="with --compare A B: also the tasks B fixed and broke among those of the RL parquet ROWS "
                        "(what GRPO trained on) and among the others, split by A's verdict")


def heldout_selection(task_types: list[str], n_per_type: int, difficulty: tuple[int, int] | None, seed: int,
                      language: str | None = None, split: str = "test") -> Selection:
    """``n_per_type`` tasks of each type from ``split`` (the held-out test split unless told), from
    seed offset ``seed * EVAL_SEED_STRIDE`` (so that runs with different --seed share no task).
    ``language`` applies to the types that have it; the others keep their only language."""
    return Selection(tuple(task_types), order="per_type", split=split, offset=seed * EVAL_SEED_STRIDE,
                     per_type=n_per_type, levels=difficulty, language=language)


def heldout_tasks(task_types: list[str], n_per_type: int, difficulty: tuple[int, int] | None, seed: int,
                  language: str | None = None, split: str = "test"):
    """The same tasks for the same arguments, in every process."""
    selection = heldout_selection(task_types, n_per_type, difficulty, seed, language, split)
    return [selection.task(i) for i in range(len(selection))]


def read_samples(path: Path) -> list[dict]:
    """Complete lines of samples.jsonl; a torn last line (interrupted write) is dropped."""
    if not path.exists():
        return []
    good, keep_bytes = [], 0
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                good.append(json.loads(raw))
            except ValueError:
                break
            keep_bytes += len(raw)
    if keep_bytes != path.stat().st_size:
        with open(path, "r+b") as f:
            f.truncate(keep_bytes)
    return good


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("veritas", "torch", "transformers", "vllm", "verl"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            pass
    return out


def run(args) -> int:
    named_types = [t.strip() for t in args.task_types.split(",") if t.strip()] if args.task_types else None
    if args.compare:
        from veritas.evaluation.compare import compare

        return compare(Path(args.compare[0]), Path(args.compare[1]), Path(args.json) if args.json else None,
                       named_types, tuple(map(Path, args.baselines)) if args.baselines else None,
                       Path(args.split_by) if args.split_by else None, Path(args.trained) if args.trained else None)
    if args.json or args.baselines or args.split_by or args.trained:
        flag = ("--json" if args.json else "--baselines" if args.baselines else "--split-by" if args.split_by
                else "--trained")
        print(f"eval: {flag} goes with --compare A B", file=sys.stderr)
        return 2
    if not args.model:
        print("eval: --model is required (or --compare A B)", file=sys.stderr)
        return 2
    if args.gpu_memory_utilization is not None and not 0 < args.gpu_memory_utilization <= 1:
        print(f"eval: --gpu-memory-utilization must be in (0, 1], got {args.gpu_memory_utilization}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    from veritas.data.formats import chat_prompt
    from veritas.evaluation.backends import load_backend, pick_backend
    from veritas.evaluation.models import ModelResolutionError, resolve_model

    task_types = named_types if named_types is not None else list(lgc_v2.task_types())
    try:
        selection = heldout_selection(task_types, args.n_per_type, parse_level_range(args.difficulty), args.seed,
                                      args.language, args.split)
        model_dir = resolve_model(args.model)
    except (SelectionError, ModelResolutionError) as exc:
        print(f"eval: {exc}", file=sys.stderr)
        return 2
    out = Path(args.output or Path("train/artifacts/eval") / Path(args.model.rstrip("/")).name)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"model": str(args.model), "model_dir": str(model_dir), "task_types": task_types,
                "n_per_type": args.n_per_type, "samples": args.samples, "temperature": args.temperature,
                "max_new_tokens": args.max_new_tokens, "difficulty": args.difficulty, "language": args.language,
                "seed": args.seed,
                "system_prompt": args.system_prompt, "reasoning": args.reasoning, "split": args.split}
    run_file = out / "run.json"
    if run_file.exists():
        earlier = json.loads(run_file.read_text())
        diff = [k for k in RUN_KEYS if earlier.get(k) != settings.get(k)]
        if diff:
            print(f"eval: {out} holds a run with other settings ({', '.join(diff)}); use another --output",
                  file=sys.stderr)
            return 2
    run_file.write_text(json.dumps(settings, indent=2))

    tasks = [selection.task(i) for i in range(len(selection))]
    samples_path = out / "samples.jsonl"
    done = read_samples(samples_path)
    have = {(s["task_id"], s["sample"]) for s in done}
    pending = [t for t in tasks if any((t.task_id, j) not in have for j in range(args.samples))]
    backend_name = pick_backend(args.backend)
    gen_seconds = 0.0
    backend = None
    if pending:
        backend = load_backend(backend_name, model_dir, args.seed, args.gpu_memory_utilization)
        chunk = args.batch_size or backend.default_batch_size or len(pending)
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc="eval", unit="task", file=sys.stderr)
        with open(samples_path, "a", encoding="utf-8") as f:
            for start in range(0, len(pending), chunk):
                batch = pending[start:start + chunk]
                prompts = [chat_prompt(t, args.system_prompt, args.reasoning) for t in batch]
                t0 = time.perf_counter()
                groups = backend.generate(prompts, args.samples, args.temperature, args.max_new_tokens)
                gen_seconds += time.perf_counter() - t0
                for task, prompt, group in zip(batch, prompts, groups):
                    for j, comp in enumerate(group):
                        if (task.task_id, j) in have:
                            continue
                        v = lgc_v2.verify_task(task, comp.text)
                        rec = {"task_id": task.task_id, "task_type": task.task_type, "sample": j,
                               "difficulty": task.difficulty, "language": task.language,
                               "prompt": prompt[-1]["content"], "response": comp.text,
                               "correct": v.correct, "format_ok": v.format_ok, "reason": v.reason,
                               "response_chars": len(comp.text), "response_tokens": comp.tokens,
                               "truncated": comp.truncated}
                        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                        done.append(rec)
                f.flush()
                os.fsync(f.fileno())
                bar.update(len(batch))
        bar.close()
    wanted = {t.task_id for t in tasks}
    results = summarize([s for s in done if s["task_id"] in wanted], args.samples)
    results.update({"settings": settings, "backend": backend_name, "versions": versions(),
                    "throughput": {"prompts": len(pending), "generation_seconds": round(gen_seconds, 2),
                                   "prompts_per_minute": round(60 * len(pending) / gen_seconds, 1) if gen_seconds else None,
                                   "prompts_per_second": round(len(pending) / gen_seconds, 2) if gen_seconds else None}})
    report.write_all(out, results)
    print(report.markdown_table(results))
    print(f"eval: wrote {out}/results.json, results.md, results.png, samples.jsonl")
    if backend is not None:
        sys.stdout.flush()
        backend.close()  # after the results: they are on disk whatever the shutdown does
    return 0
