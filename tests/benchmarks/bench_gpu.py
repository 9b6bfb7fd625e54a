#!/usr/bin/env python3
"""GPU throughput benchmark of the SFT and GRPO launchers (issue: GPU throughput).

Run by hand on a GPU machine, one workload per command (each well under 9 minutes), through
the project's own launchers; every figure goes to stdout and to ``$OUT/<workload>.json`` (with
the full log beside it):

    python3 tests/benchmarks/bench_gpu.py prepare  [--no-qwen3]         # models + data (once)
    python3 tests/benchmarks/bench_gpu.py sft-smollm2   [--steps 12] [-- HYDRA_OVERRIDE ...]   # --steps <= 64
    python3 tests/benchmarks/bench_gpu.py sft-qwen3-4b  [--steps 8]  [--trace STEP] [-- HYDRA_OVERRIDE ...]
    python3 tests/benchmarks/bench_gpu.py grpo-smollm2  [--steps 8]  [-- HYDRA_OVERRIDE ...]
    python3 tests/benchmarks/bench_gpu.py kernels                       # FA4 vs sdpa, fwd/bwd
    python3 tests/benchmarks/bench_gpu.py layers                        # Qwen3 layers: eager / compiled / liger
    python3 tests/benchmarks/bench_gpu.py parity                        # per-token log-probs
    python3 tests/benchmarks/bench_gpu.py imports                       # what each process's imports cost (after prepare)
    python3 tests/benchmarks/bench_gpu.py rollout  [--rounds 2] [--seeded] [--profile S]  # vLLM alone: streamed vs final-only

Workloads (fixed, so runs compare):
  sft-smollm2   SmolLM2-135M-Instruct (the embedded model), 64 worked-style rows per step, all 8
                task types, levels 1-4.
  sft-qwen3-4b  a Qwen3-4B-shaped model (hidden 2560, 36 layers, 32/8 heads, head_dim 128,
                intermediate 9728, vocab 151,936, tied embeddings) with random bf16 weights,
                the same rows, sequences <= 2,048 tokens.
  grpo-smollm2  GRPO on SmolLM2-135M: 128 prompts x 8 responses, <= 768 prompt and <= 512 response
                tokens, dyck_language / dyck_language2 / boolean_expressions / operation equally,
                levels 1-3 (SFT_WORKLOAD / GRPO_WORKLOAD below: they override the run config's
                learning settings, which the learning-outcome recipe tunes).

Figures: s/step over steps 3..N (wall clock between the metrics lines verl writes, so everything
a step costs counts), real (unpadded) tokens/s, MFU as verl reports it and as
6 * N * tokens/s / 989 TFLOP/s (N = non-embedding parameters + LM head; recompute not counted),
peak GPU memory, and start-up (launcher start to the step-1 metrics line; for GRPO also its phases,
from the log's milestones: veritas.verl_adapters.startup). The run is stopped
once step N is logged, so no checkpoint is written.

Environment: BENCH_DIR (default /tmp/bench) holds models, data and runs; RUN_CONFIG (default
sft-smollm2-135m-1gpu / grpo-smollm2-135m-1gpu, whose throughput settings these runs measure)
and the launchers' other host settings pass through; BENCH_ATTENTION_PROBE=1 (default) puts
tests/benchmarks/gpu/probe on PYTHONPATH, which prints which flash-attention entry point each
process calls; --profile SECONDS records the trainer's processes with py-spy from step 3 (the SFT
trainer, not its dataloader workers; GRPO's TaskRunner and WorkerDict, vLLM's server, engine core
and GPU worker, an agent-loop worker; for rollout, vLLM's engine core, GPU worker and the bench
process, its front end).
--trace STEP (SFT workloads) runs verl's torch profiler around that step and puts the trace's
summary (trace_summary.py: GPU busy and idle time, kernel time by kind, the slowest kernels) into the
JSON, leaving that step out of the step rate.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = Path(os.environ.get("BENCH_DIR", "/tmp/bench"))
OUT = Path(os.environ.get("OUT", BENCH / "out"))
# the step rate is taken over steps 3..N (steps 1 and 2 compile kernels, fill caches): N >= 4 gives
# at least two intervals
MIN_STEPS = 4
DEFAULT_STEPS = {"sft-smollm2": 12, "sft-qwen3-4b": 8, "grpo-smollm2": 8}  # the launcher workloads' --steps
PEAK_BF16_TFLOPS = 989.0  # H100/H200 SXM dense bf16, the datasheet figure the 6*N*T MFU divides by
SMOLLM2 = BENCH / "models" / "SmolLM2-135M-Instruct"
QWEN3_SHAPE = BENCH / "models" / "qwen3-4b-shape"
SFT_DATA = BENCH / "data" / "sft-worked-l1-4-64steps.parquet"  # SFT_DATA_STEPS steps of 64 rows
QWEN3_4B_SHAPE = dict(hidden_size=2560, num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                      head_dim=128, intermediate_size=9728, vocab_size=151936, tie_word_embeddings=True,
                      max_position_embeddings=40960, rope_theta=1_000_000.0, rms_norm_eps=1e-6)
GRPO_TYPES = "dyck_language,dyck_language2,boolean_expressions,operation"


def log(msg: str) -> None:
    print(f"[bench] {msg}", flush=True)


def flops_params(config: dict) -> int:
    """Non-embedding parameters plus the LM head (which does a full matmul per token even when tied)."""
    h, layers, v = config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]
    heads, kv = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    hd = config.get("head_dim") or h // heads
    attn = h * heads * hd + 2 * h * kv * hd + heads * hd * h
    mlp = 3 * h * config["intermediate_size"]
    return layers * (attn + mlp) + h * v


# ---------------------------------------------------------------- prepare
def prepare(args) -> None:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{os.environ.get('PYTHONPATH', '')}")
    gguf = os.environ.get("VERITAS_SMOLLM2_GGUF", "/tmp/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    if Path(gguf).is_file():
        env["VERITAS_SMOLLM2_GGUF"] = gguf
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "veritas", "prepare-model", "--output", str(SMOLLM2), "--no-check"],
                   check=True, env=env)
    log(f"SmolLM2 ready in {time.time() - t0:.0f} s: {SMOLLM2}")
    import torch

    if not torch.cuda.is_available():
        log("no GPU: the Qwen3-4B-shaped model is not built")
    elif args.no_qwen3:
        log("--no-qwen3: the Qwen3-4B-shaped model is not built")
    elif not (QWEN3_SHAPE / "config.json").is_file():
        t0 = time.time()
        from transformers import AutoTokenizer, Qwen3Config, Qwen3ForCausalLM

        config = Qwen3Config(**QWEN3_4B_SHAPE, torch_dtype="bfloat16")
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = Qwen3ForCausalLM(config).to(torch.bfloat16)
        model.save_pretrained(QWEN3_SHAPE)
        tok = AutoTokenizer.from_pretrained(SMOLLM2)  # ids < 49,152 fit the 151,936 vocabulary
        tok.save_pretrained(QWEN3_SHAPE)
        del model
        log(f"Qwen3-4B-shaped model ready in {time.time() - t0:.0f} s: {QWEN3_SHAPE}")
    if not SFT_DATA.is_file():
        SFT_DATA.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "veritas", "generate", "--format", "sft", "--response-style", "worked",
                        "--split", "train", "--difficulty", "1-4", "--num-samples", str(64 * SFT_DATA_STEPS), "--no-progress",
                        "--output", str(SFT_DATA)], check=True, env=env)
    log(f"SFT data: {SFT_DATA}")


# ---------------------------------------------------------------- a launcher run, watched
# ---------------------------------------------------------------- profiles (py-spy, optional)
PROFILED = {  # launcher -> the processes whose stacks explain a step
    # the trainer itself, torchrun's child: its forked dataloader workers carry the same command line,
    # so a match whose parent matches too is skipped
    "lgc-v2-SFT-trainer.sh": {"trainer": "verl.trainer.sft_trainer"},
    # the driver of the step loop, the worker holding actor, reference and the vLLM client; and
    # generation's processes: verl's vLLM server (vLLM's front end: outputs, detokenizing), vLLM's
    # engine core (scheduler, model runner) and the agent loops sending the requests
    "lgc-v2-RL-GRPO-trainer.sh": {"task_runner": "ray::TaskRunner", "worker": "ray::WorkerDict",
                                  "rollout_server": "ray::vLLMHttpServer", "engine_core": "VLLM::EngineCore",
                                  "gpu_worker": "VLLM::Worker", "agent_loop": "ray::AgentLoopWorker"},
    # vLLM alone (the rollout workload): the engine core and the GPU worker the bench's engine
    # starts; its front end is the bench process itself (role "frontend", added by rollout())
    "rollout": {"engine_core": "VLLM::EngineCore", "gpu_worker": "VLLM::Worker"},
}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _matches(pid: int, needle: str) -> bool:
    # torchrun's command line (`torchrun ...` or `python -m torch.distributed.run ...`) names the
    # trainer's module too: it is no match, so it neither is profiled nor hides its child, the trainer
    line = _cmdline(pid)
    return needle in line and "torchrun" not in line and "torch.distributed.run" not in line


def profiled_pids(launcher: str) -> dict[str, int]:
    """role -> pid of the oldest matching process that is not a fork of another match."""
    found: dict[str, int] = {}
    pids = sorted(int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit())
    for role, needle in PROFILED.get(launcher, {}).items():
        for pid in pids:
            if _matches(pid, needle) and not _matches(_parent(pid), needle):
                found[role] = pid
                break
    return found


def clear_profiles(name: str) -> None:
    """An earlier run's captures of this name go, so that profiles(name) reports this run's only."""
    for stale in OUT.glob(f"{name}-profile-*.txt"):
        stale.unlink()


def start_profiles(name: str, launcher: str, seconds: int, extra: dict[str, int] | None = None) -> list[subprocess.Popen]:
    procs = []
    for role, pid in {**profiled_pids(launcher), **(extra or {})}.items():
        out = OUT / f"{name}-profile-{role}.txt"
        log(f"{name}: py-spy on {role} (pid {pid}) for {seconds} s -> {out}")
        # --nonblocking: py-spy's default pauses the process at every sample, which made the SFT
        # steps ~30x slower (0.3 -> ~10 s) and hid GPU waits; py-spy cannot take native frames
        # that way.  The step figures of a profiled run are still not speed figures (measure
        # those in a run without --profile)
        procs.append(subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "100",
                                       "--nonblocking", "--format", "raw", "--output", str(out)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
    if not procs:
        log(f"{name}: no process to profile found")
    return procs


def profile_summary(path: Path, top: int = 30) -> list[tuple[str, float]]:
    """The frames (function names) with the largest share of samples, each counted once per stack."""
    total, inclusive = 0, {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in {f.split(" (")[0] for f in stack.split(";")}:
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return [(frame, round(100 * n / total, 1)) for frame, n in ranked] if total else []


def run_launcher(name: str, launcher: str, env_extra: dict, overrides: list[str], steps: int,
                 timeout_s: float, profile_s: int = 0) -> tuple[list[dict], list[float], float, int]:
    """Start a launcher, follow verl's metrics file, stop the run once step ``steps`` is logged
    (and, with ``profile_s``, the py-spy captures started at step 3 have ended).
    Returns (metrics rows by step, arrival time of each row, launch time, exit code)."""
    run_dir = BENCH / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = run_dir / "metrics.jsonl"
    metrics_path.unlink(missing_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if env.get("BENCH_ATTENTION_PROBE", "1") == "1":
        env["BENCH_ATTENTION_PROBE"] = "1"
        env["PYTHONPATH"] = f"{ROOT / 'tests/benchmarks/gpu/probe'}:{env.get('PYTHONPATH', '')}"
    env.update(GPU_COUNT=env.get("GPU_COUNT", "1"), WANDB_MODE="disabled", VERL_FILE_LOGGER_PATH=str(metrics_path),
               CHECKPOINT_ROOT=str(run_dir / "ckpt"), OUTPUT_ROOT=str(run_dir / "outputs"),
               WANDB_DIR=str(run_dir / "wandb"), PYTHONUNBUFFERED="1", **env_extra)
    cmd = ["bash", str(ROOT / "train/scripts" / launcher), *overrides]
    log(f"{name}: {' '.join(cmd)}")
    log_file = open(OUT / f"{name}.log", "w")
    t_launch = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    clear_profiles(name)
    rows, arrivals, buf, pos = [], [], b"", 0
    profilers: list[subprocess.Popen] | None = None if profile_s else []
    try:
        while True:
            if metrics_path.exists():
                with open(metrics_path, "rb") as fh:
                    fh.seek(pos)
                    chunk = fh.read()
                    pos += len(chunk)
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    now = time.time()
                    entry = json.loads(line)
                    data = entry.get("data", {})
                    if not any(k.startswith("train/") or k.startswith("timing_s/") for k in data):
                        continue  # a validation-only row
                    rows.append({"step": entry["step"], **data})
                    arrivals.append(now)
                    log(f"{name}: step {entry['step']} at +{now - t_launch:.1f} s")
            if profilers is None and rows and rows[-1]["step"] >= 3:
                profilers = start_profiles(name, launcher, profile_s)
            if rows and rows[-1]["step"] >= steps and profilers is not None and all(p.poll() is not None for p in profilers):
                break
            if proc.poll() is not None:
                log(f"{name}: launcher exited with {proc.returncode} after {len(rows)} steps")
                break
            if time.time() - t_launch > timeout_s:
                log(f"{name}: time limit {timeout_s:.0f} s reached after {len(rows)} steps")
                break
            time.sleep(0.05)
    finally:
        for profiler in profilers or []:
            if profiler.poll() is None:
                profiler.kill()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if "GRPO" in launcher:  # Ray's daemons outlive the driver
            subprocess.run(["ray", "stop", "--force"], capture_output=True)
        log_file.close()
    return rows, arrivals, t_launch, proc.returncode


def summarise(name: str, rows: list[dict], arrivals: list[float], t_launch: float, n_params: int,
              tokens_key: str, extra: dict, skip_step: int | None = None) -> dict:
    """The run's figures. Start-up, step 1 and memory need one logged step; the step rate (steps
    3..N) needs MIN_STEPS, so a run stopped early still reports how it started. ``skip_step``: a
    step left out of the rate (the traced one: the profiler's overhead and the trace's export are
    inside its interval)."""
    result = {"workload": name, "steps_logged": len(rows), **extra}
    if rows:
        result.update({
            "startup_s": arrivals[0] - t_launch,
            "first_losses": [r.get("train/loss", r.get("actor/pg_loss")) for r in rows[:3]],
            # step 1 carries first-use costs (kernel compilation, worker start-up): its timers apart
            "step1_timing_s": {k: float(v) for k, v in rows[0].items()
                               if k.startswith("timing_s/") and isinstance(v, (int, float))},
            # SFT logs perf/max_memory_*; GRPO's actor logs actor/perf/max_memory_*
            "peak_memory_allocated_gb": max((float(v) for r in rows for k, v in r.items()
                                             if k.endswith("perf/max_memory_allocated_gb")), default=0.0),
            "peak_memory_reserved_gb": max((float(v) for r in rows for k, v in r.items()
                                            if k.endswith("perf/max_memory_reserved_gb")), default=0.0),
            "rows": rows,  # every logged metric of every step, for later analysis
        })
    if len(rows) < MIN_STEPS:
        result["error"] = f"{len(rows)} step(s) logged, the step rate needs {MIN_STEPS}: see the log"
        return result
    intervals = [(row, b - a) for row, a, b in zip(rows[2:], arrivals[1:], arrivals[2:])]  # steps 3..N
    timed = [(row, seconds) for row, seconds in intervals if skip_step is None or row.get("step") != skip_step]
    window = [row for row, _ in timed]
    span = sum(seconds for _, seconds in timed)
    tokens = sum(float(r.get(tokens_key, 0)) for r in window)
    tok_s = tokens / span
    mfu_keys = [k for k in rows[-1] if "mfu" in k]
    result.update({
        "s_per_step": span / len(window),
        "s_per_step_each": [round(seconds, 3) for _, seconds in intervals],
        **({"step_rate_skips": skip_step} if len(timed) < len(intervals) else {}),
        "tokens_per_step": tokens / len(window),
        "tokens_per_s": tok_s,
        "mfu_6N": 6 * n_params * tok_s / (PEAK_BF16_TFLOPS * 1e12),
        "flops_params_N": n_params,
        "mfu_verl": {k: statistics.mean(float(r[k]) for r in window if k in r) for k in mfu_keys},
    })
    kept = ("timing_s/", "perf/", "training/", "response_length/", "critic/score/", "actor/")
    timing = sorted({k for r in window for k in r if k.startswith(kept) and isinstance(r[k], (int, float))})
    result["verl_means"] = {k: statistics.mean(float(r[k]) for r in window if k in r) for k in timing}
    return result


def report(result: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{result['workload']}.json"
    path.write_text(json.dumps(result, indent=1, default=str))
    brief = {k: result[k] for k in ("s_per_step", "tokens_per_s", "mfu_6N", "mfu_verl", "peak_memory_allocated_gb",
                                    "startup_s", "step1_timing_s", "first_losses", "error", "median_seconds",
                                    "speedup_final_only", "same_tokens_share") if k in result}
    print(json.dumps({"workload": result["workload"], **brief}, default=str), flush=True)
    log(f"wrote {path}")


def model_config(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


# The fixed workloads as Hydra overrides on the run config: what the run configs' learning
# settings (task mix, lengths, steps) must not change, so that runs of different days compare.
# SFT: the data holds SFT_DATA_STEPS steps of rows (prepare); the run config's single epoch would
# end the run there, so the workload repeats it (a --steps 40 profile once stopped at step 16).  A
# new epoch costs ~2 s (verl's SFT loop runs gc.collect() and empties the CUDA cache, the
# dataloader restarts its workers): on 2026-12-05, with 16 steps of data, runs of 30 and 60 steps
# counted 1 and 3 of them in their step rate (0.39 s/step against 0.30 without).  So the data
# covers every measured step, and --steps beyond it is refused
SFT_DATA_STEPS = 64
SFT_WORKLOAD = ["data.train_batch_size=64", "data.max_length=2048", "data.truncation=right",
                "trainer.logger=[console,file]", "trainer.total_training_steps=1000", "trainer.total_epochs=100",
                "trainer.test_freq=-1", "trainer.save_freq=-1"]
GRPO_WORKLOAD = ["data.train_batch_size=128", "actor_rollout_ref.rollout.n=8", "data.max_prompt_length=768",
                 "data.max_response_length=512", "actor_rollout_ref.actor.ppo_mini_batch_size=32",
                 f"++data.lgc_v2.task_types=[{GRPO_TYPES}]", "++data.lgc_v2.weights=null",
                 "++data.lgc_v2.difficulty_range=[1,3]", "trainer.val_before_train=False", "trainer.test_freq=-1",
                 "trainer.save_freq=-1", "trainer.logger=[console,file]", "trainer.total_training_steps=1000"]


# The Qwen3-4B shape keeps verl's torch log-prob kernel and the model's own layers: the SmolLM2 run
# config's liger-kernel settings made its step slower on 2026-12-07 (2.30 -> 3.26 s with liger's
# layers, 4.47 s with its cross-entropy too; H200), and the 8-GPU Qwen3 configs do not use them
QWEN3_KERNELS = ["model.use_liger=false", "model.fused_kernel_options.impl_backend=torch"]


def trace_overrides(step: int, save_path: Path) -> list[str]:
    """verl's torch profiler around one SFT step (CPU ops and CUDA kernels, no stacks or shapes)."""
    return ["profiler.enable=True", "profiler.tool=torch", "profiler.all_ranks=True", f"profiler.save_path={save_path}",
            f"trainer.profile_interval=[{step},{step}]"]


def traces(name: str, save_path: Path, keep_mb: float = 40.0) -> dict:
    """The summary of each trace verl wrote (trace_summary.py); traces up to ``keep_mb`` go to $OUT."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from trace_summary import summarise_file

    found = {}
    for path in sorted(save_path.glob("*.json*")):
        found[path.name] = summarise_file(path)
        if path.stat().st_size <= keep_mb * 2**20:
            shutil.copy(path, OUT / f"{name}-trace-{path.name}")
    return {"traces": found or "verl wrote no trace (see the log)"}


def sft(args, model: Path, workload: str, kernels: list[str] | None = None) -> None:
    name = args.name or workload
    trace_dir = BENCH / "runs" / name / "trace"
    tracing = trace_overrides(args.trace, trace_dir) if args.trace else []
    overrides = [*SFT_WORKLOAD, *(kernels or []), *tracing, *args.overrides]
    env = {"MODEL_PATH": str(model), "TRAIN_DATA": str(SFT_DATA), "VAL_DATA": "none",
           "RUN_CONFIG": os.environ.get("RUN_CONFIG", "sft-smollm2-135m-1gpu")}
    if args.trace:
        shutil.rmtree(trace_dir, ignore_errors=True)
    rows, arrivals, t0, rc = run_launcher(name, "lgc-v2-SFT-trainer.sh", env, overrides, args.steps, args.timeout,
                                          args.profile)
    report(summarise(name, rows, arrivals, t0, flops_params(model_config(model)), "train/global_tokens",
                     {"overrides": overrides, "run_config": env["RUN_CONFIG"], "exit_code": rc, **profiles(name),
                      **(traces(name, trace_dir) if args.trace else {})},
                     skip_step=args.trace or None))


def grpo(args) -> None:
    overrides = [*GRPO_WORKLOAD, *args.overrides]
    env = {"MODEL_PATH": str(SMOLLM2), "RUN_CONFIG": os.environ.get("RUN_CONFIG", "grpo-smollm2-135m-1gpu")}
    name = args.name or "grpo-smollm2"
    rows, arrivals, t0, rc = run_launcher(name, "lgc-v2-RL-GRPO-trainer.sh", env, overrides, args.steps, args.timeout,
                                          args.profile)
    # GRPO: real tokens = prompt + response tokens of the step (verl's perf/total_num_tokens)
    report(summarise(name, rows, arrivals, t0, flops_params(model_config(SMOLLM2)), "perf/total_num_tokens",
                     {"overrides": overrides, "run_config": env["RUN_CONFIG"], "exit_code": rc, **profiles(name),
                      "startup_phases": startup_phases(name, t0, arrivals)}))


def startup_phases(name: str, t_launch: float, arrivals: list[float]) -> list:
    """[phase, seconds] from the launch to the first step's metrics, from the log's milestones
    (veritas.verl_adapters.startup); the first step ends when its metrics line arrived."""
    from datetime import datetime

    sys.path.insert(0, str(ROOT))
    from veritas.verl_adapters.startup import phases

    text = (OUT / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    first = datetime.fromtimestamp(arrivals[0]) if arrivals else None
    return [list(row) for row in phases(text, launched=datetime.fromtimestamp(t_launch), first_step=first)]


def profiles(name: str) -> dict:
    """The py-spy captures of this run, summarised: role -> [(frame, % of samples)]."""
    found = {path.stem.rsplit("-profile-", 1)[1]: profile_summary(path) for path in OUT.glob(f"{name}-profile-*.txt")}
    return {"profile_top_frames": found} if found else {}


# ---------------------------------------------------------------- start-up: what imports cost
# Every verl process (the launcher's checks, main_ppo's driver, the task runner, vLLM's server,
# engine core and GPU worker, the agent-loop and reward workers) starts with imports, one process
# after another on GRPO's start-up path.  VERL_USE_EXTERNAL_MODULES brings ours into each at
# `import verl`; FA4's bridge used to import flash_attn.cute (CuTe DSL) in all of them, and now
# patches it where something imports it (only the trainer or the actor): "torch + flash_attn.cute"
# against "torch" is what each of the others no longer pays.  Likewise the registration module
# imports our v1 trainers only in the processes that import verl's (verl.trainer.ppo.v1), not in all.
# Each entry: what a fresh interpreter imports, and the environment it runs with.
OUR_MODULES = "veritas.verl_ext.flash_attn4,veritas.verl_ext.registration"  # what the GRPO launcher loads
IMPORT_SETS = [
    ("torch", "torch", {}),
    ("torch + flash_attn.cute", "torch, flash_attn.cute", {}),
    ("transformers", "transformers", {}),
    ("vllm", "vllm", {}),
    ("verl", "verl", {"VERL_USE_EXTERNAL_MODULES": ""}),
    ("verl + our modules", "verl", {"VERL_USE_EXTERNAL_MODULES": OUR_MODULES}),
    ("verl + our modules + verl's agent loops", "verl, verl.experimental.agent_loop",
     {"VERL_USE_EXTERNAL_MODULES": OUR_MODULES}),
]


def _top_imports(stderr: str, top: int = 10, max_depth: int = 2) -> list[tuple[str, int, float]]:
    """The slowest imports of a ``python -X importtime`` run, nested at most ``max_depth`` deep
    (0: what the statement named; 1: what those imported, ...): (module, depth, cumulative s)."""
    found = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            _, cumulative, name = line.split("|")
            depth = (len(name) - len(name.lstrip(" ")) - 1) // 2  # importtime indents by 2 a level
            if cumulative.strip().isdigit() and depth <= max_depth:
                found.append((name.strip(), depth, int(cumulative) / 1e6))
    return sorted(found, key=lambda entry: -entry[2])[:top]


def imports(args) -> None:
    """Seconds a fresh interpreter takes for each import set (twice: the first after the install
    reads cold files), the slowest imports of the second (two levels deep), and the GRPO launcher's dry
    run (its checks: compose and validate, which import verl with our modules; skipped, and said so,
    before ``prepare`` has written the model the launcher checks for)."""
    env = dict(os.environ, PYTHONPATH=f"{ROOT}:{os.environ.get('PYTHONPATH', '')}")
    results = []
    for label, modules, extra in IMPORT_SETS:
        seconds, top, error = [], [], None
        for _ in range(2):
            t = time.perf_counter()
            run = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {modules}"], cwd=ROOT,
                                 env={**env, **extra}, capture_output=True, text=True)
            seconds.append(round(time.perf_counter() - t, 2))
            if run.returncode != 0:
                error = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"
                break
            top = _top_imports(run.stderr)
        results.append({"imports": label, "modules": modules, "env": extra, "seconds": seconds,
                        "slowest_imports": top, **({"error": error} if error else {})})
        log(f"imports: {label}: {seconds} s{' (' + error + ')' if error else ''}")
    launcher_env = {**env, "GPU_COUNT": "1", "RUN_CONFIG": os.environ.get("RUN_CONFIG", "grpo-smollm2-135m-1gpu"),
                    "MODEL_PATH": str(SMOLLM2), "WANDB_MODE": "disabled", "CHECKPOINT_ROOT": str(BENCH / "runs" / "imports"),
                    "OUTPUT_ROOT": str(BENCH / "runs" / "imports")}
    if not (SMOLLM2 / "config.json").is_file():
        # the launcher checks MODEL_PATH before it imports anything: its refusal would time nothing
        dry = {"skipped": f"no model at {SMOLLM2}: run `bench_gpu.py prepare` first"}
        log(f"imports: the GRPO launcher's dry run skipped: {dry['skipped']}")
    else:
        t = time.perf_counter()
        run = subprocess.run(["bash", str(ROOT / "train/scripts/lgc-v2-RL-GRPO-trainer.sh"), "--dry-run"], cwd=ROOT,
                             env=launcher_env, capture_output=True, text=True)
        dry = {"seconds": round(time.perf_counter() - t, 2), "exit_code": run.returncode,
               **({"stderr_tail": run.stderr.strip().splitlines()[-3:]} if run.returncode else {})}
        log(f"imports: the GRPO launcher's dry run: {dry['seconds']} s (exit {run.returncode})")
    report({"workload": args.name or "imports", "python": sys.version.split()[0], "import_sets": results,
            "grpo_launcher_dry_run": dry})


# ---------------------------------------------------------------- kernels and parity
def kernels(_args) -> None:
    """FA4 varlen (flash_attn.cute) against per-sequence sdpa: forward and backward, causal GQA,
    at SmolLM2's shape (9/3 heads, head_dim 64) and Qwen3-4B's (32/8, 128); forward TFLOP/s."""
    import torch
    import torch.nn.functional as F
    from flash_attn.cute import flash_attn_varlen_func

    out = {}
    for label, hq, hk, d in (("smollm2", 9, 3, 64), ("qwen3-4b", 32, 8, 128)):
        torch.manual_seed(0)
        lens = [300, 1024, 2048, 517, 1900]
        total = sum(lens)
        q = torch.randn(total, hq, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        k = torch.randn(total, hk, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        v = torch.randn(total, hk, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        cu = torch.tensor([0] + list(torch.tensor(lens).cumsum(0)), device="cuda", dtype=torch.int32)
        res = flash_attn_varlen_func(q, k, v, cu_seqlens_q=cu, cu_seqlens_k=cu, max_seqlen_q=max(lens),
                                     max_seqlen_k=max(lens), causal=True)
        o = res[0] if isinstance(res, tuple) else res
        g = torch.randn_like(o)
        dq, dk, dv = torch.autograd.grad(o, (q, k, v), g)
        refs, rq, rk, rv = [], [], [], []
        for s, e in zip(cu[:-1].tolist(), cu[1:].tolist()):
            qs, ks, vs = (t[s:e].detach().float().transpose(0, 1).requires_grad_() for t in (q, k, v))
            os_ = F.scaled_dot_product_attention(qs, ks, vs, is_causal=True, enable_gqa=True)
            gs, gk, gv = torch.autograd.grad(os_, (qs, ks, vs), g[s:e].float().transpose(0, 1))
            refs.append(os_.transpose(0, 1)); rq.append(gs.transpose(0, 1)); rk.append(gk.transpose(0, 1)); rv.append(gv.transpose(0, 1))
        diff = lambda a, b: float((a.float() - torch.cat(b)).abs().max())  # noqa: E731
        # forward speed: 32 x 2048-token causal sequences
        n, L = 32, 2048
        qb = torch.randn(n * L, hq, d, device="cuda", dtype=torch.bfloat16)
        kb = torch.randn(n * L, hk, d, device="cuda", dtype=torch.bfloat16)
        vb = torch.randn(n * L, hk, d, device="cuda", dtype=torch.bfloat16)
        cub = torch.arange(0, (n + 1) * L, L, device="cuda", dtype=torch.int32)
        call = lambda: flash_attn_varlen_func(qb, kb, vb, cu_seqlens_q=cub, cu_seqlens_k=cub, max_seqlen_q=L,  # noqa: E731
                                              max_seqlen_k=L, causal=True)
        for _ in range(3):
            call()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            call()
        torch.cuda.synchronize()
        ms = (time.perf_counter() - t0) / 10 * 1e3
        flops = 4 * n * L * L * hq * d / 2  # causal: half the QK^T and PV work
        out[label] = {"heads_q_kv_dim": [hq, hk, d], "fwd_max_abs_diff_vs_sdpa_fp32": diff(o, refs),
                      "dq_max_abs_diff": diff(dq, rq), "dk_max_abs_diff": diff(dk, rk), "dv_max_abs_diff": diff(dv, rv),
                      "fwd_ms_32x2048": ms, "fwd_tflops": flops / ms / 1e9}
    report({"workload": "kernels", **out})


# ---------------------------------------------------------------- decoder layers: eager, compiled, liger
LAYER_VARIANTS = ("eager", "compiled", "liger")
LAYER_STACK, LAYER_BATCH, LAYER_SEQ = 4, 4, 2048  # 4 Qwen3-4B-shaped layers on 8,192 tokens (one micro-batch of (b))


def layer_variant(variant: str) -> dict:
    """One variant, in a process of its own (each swaps transformers' classes for good): forward and
    backward of LAYER_STACK Qwen3-4B-shaped decoder layers, timed, profiled, outputs saved for parity."""
    import zlib

    import torch

    sys.path.insert(0, str(ROOT))
    if variant == "liger":  # what model.use_liger gives verl's model: liger's RMSNorm (q_norm/k_norm too), RoPE, SwiGLU
        from liger_kernel.transformers import apply_liger_kernel_to_qwen3
        apply_liger_kernel_to_qwen3(rope=True, rms_norm=True, swiglu=True, cross_entropy=False,
                                    fused_linear_cross_entropy=False)
    elif variant == "compiled":
        import veritas.verl_ext.compiled_layers  # noqa: F401
    from transformers import Qwen3Config
    from transformers.models.qwen3 import modeling_qwen3 as qwen3

    config = Qwen3Config(**{**QWEN3_4B_SHAPE, "num_hidden_layers": LAYER_STACK})
    config._attn_implementation = "sdpa"
    stack = torch.nn.ModuleList(qwen3.Qwen3DecoderLayer(config, i) for i in range(LAYER_STACK))
    stack = stack.to(device="cuda", dtype=torch.bfloat16)
    with torch.no_grad():  # the same weights in every variant, whatever classes built them
        for name, param in sorted(stack.named_parameters()):
            gen = torch.Generator(device="cuda").manual_seed(zlib.crc32(name.encode()))
            noise = torch.randn(param.shape, generator=gen, device="cuda", dtype=torch.float32)
            param.copy_(1 + 0.1 * noise if name.endswith("norm.weight") else 0.02 * noise)
    gen = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(LAYER_BATCH, LAYER_SEQ, config.hidden_size, generator=gen, device="cuda", dtype=torch.bfloat16,
                    requires_grad=True)
    grad_out = torch.randn(x.shape, generator=gen, device="cuda", dtype=torch.bfloat16)
    position_ids = torch.arange(LAYER_SEQ, device="cuda").expand(LAYER_BATCH, -1)
    cos_sin = qwen3.Qwen3RotaryEmbedding(config).to("cuda")(x, position_ids)

    def step():
        x.grad = None
        stack.zero_grad(set_to_none=True)
        h = x
        for layer in stack:
            h = layer(h, position_embeddings=cos_sin, position_ids=position_ids)
            h = h[0] if isinstance(h, tuple) else h
        h.backward(grad_out)
        return h

    for _ in range(3):  # compiles and autotunes
        out = step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        out = step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    peak = torch.cuda.max_memory_allocated() / 2**30
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(2):
            step()
        torch.cuda.synchronize()
    kernels = []
    for event in prof.key_averages():
        us = getattr(event, "self_device_time_total", None) or getattr(event, "self_cuda_time_total", 0)
        if us > 0:
            kernels.append({"kernel": event.key[:120], "calls": event.count // 2, "ms": round(us / 2 / 1e3, 3)})
    kernels.sort(key=lambda k: -k["ms"])
    first = stack[0]
    torch.save({"out": out.detach().cpu(), "dx": x.grad.cpu(), "d_q_norm": first.self_attn.q_norm.weight.grad.cpu(),
                "d_input_norm": first.input_layernorm.weight.grad.cpu(),
                "d_gate": first.mlp.gate_proj.weight.grad.cpu()}, BENCH / f"layers-{variant}.pt")
    ms = statistics.median(times)
    return {"ms_fwd_bwd": round(ms, 2), "ms_per_layer": round(ms / LAYER_STACK, 2), "ms_all": [round(t, 2) for t in times],
            "kernel_ms": round(sum(k["ms"] for k in kernels), 2), "peak_gib": round(peak, 2), "top_kernels": kernels[:15]}


def layers(args) -> None:
    """Qwen3-4B-shaped decoder layers (benchmark (b)'s shape) forward and backward on 8,192 tokens,
    transformers' eager layers against veritas.verl_ext.compiled_layers and liger-kernel's: time per
    layer, the kernels that take it, and each variant's output and gradients against eager."""
    import torch

    BENCH.mkdir(parents=True, exist_ok=True)
    results = {}
    for variant in LAYER_VARIANTS:
        proc = subprocess.run([sys.executable, __file__, "layers", "--variant", variant], capture_output=True,
                              text=True, cwd=ROOT, timeout=400)
        if proc.returncode:
            results[variant] = {"error": proc.stderr.strip().splitlines()[-5:]}
            log(f"layers {variant}: failed: {results[variant]['error'][-1:]}")
            continue
        results[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
        log(f"layers {variant}: {results[variant]['ms_per_layer']} ms a layer forward and backward")
    if "error" not in results.get("eager", {"error": 1}):
        ref = torch.load(BENCH / "layers-eager.pt")
        for variant in LAYER_VARIANTS[1:]:
            if "error" in results[variant]:
                continue
            got = torch.load(BENCH / f"layers-{variant}.pt")
            results[variant]["vs_eager"] = {
                key: {"max_abs_diff": float((got[key].float() - ref[key].float()).abs().max()),
                      "max_abs_eager": float(ref[key].float().abs().max())} for key in ref}
            results[variant]["speedup_vs_eager"] = round(results["eager"]["ms_fwd_bwd"] / results[variant]["ms_fwd_bwd"], 3)
    report({"workload": args.name or "layers", "layers": LAYER_STACK, "tokens": LAYER_BATCH * LAYER_SEQ,
            "torch": torch.__version__, **results})


def parity(_args) -> None:
    """Per-token log-probs of SmolLM2 on a fixed batch of 16 SFT rows: padded sdpa (the shipped
    path) against packed sequences (verl's padding-free layout: one row, position_ids restarting
    per sequence) through flash_attention_4 and through sdpa."""
    import pyarrow.parquet as pq
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sys.path.insert(0, str(ROOT))
    import veritas.verl_ext.flash_attn4  # noqa: F401  (integer max_seqlen for FA4, as in training)

    tok = AutoTokenizer.from_pretrained(SMOLLM2)
    rows = pq.read_table(SFT_DATA).slice(0, 16).to_pylist()
    seqs = [tok.apply_chat_template(r["messages"], tokenize=True, return_dict=False) for r in rows]
    seqs = [list(s["input_ids"]) if isinstance(s, dict) else list(s) for s in seqs]
    lens = [len(s) for s in seqs]
    pad = tok.pad_token_id

    def logprobs(logits, ids):
        return torch.log_softmax(logits.float(), -1)[..., :-1, :].gather(-1, ids[..., 1:, None]).squeeze(-1)

    results = {}
    for impl in ("sdpa", "flash_attention_4"):
        model = AutoModelForCausalLM.from_pretrained(SMOLLM2, dtype=torch.bfloat16, attn_implementation=impl).cuda()
        with torch.no_grad():
            if impl == "sdpa":
                ids = torch.full((len(seqs), max(lens)), pad, dtype=torch.long)
                mask = torch.zeros_like(ids)
                for i, s in enumerate(seqs):
                    ids[i, :len(s)] = torch.tensor(s)
                    mask[i, :len(s)] = 1
                lp = logprobs(model(input_ids=ids.cuda(), attention_mask=mask.cuda()).logits, ids.cuda())
                results["padded_sdpa"] = torch.cat([lp[i, :n - 1] for i, n in enumerate(lens)])
            flat = torch.tensor([t for s in seqs for t in s]).cuda()[None]
            pos = torch.cat([torch.arange(n) for n in lens]).cuda()[None]
            lp = logprobs(model(input_ids=flat, position_ids=pos).logits, flat)[0]
            starts = [0] + list(torch.tensor(lens).cumsum(0)[:-1].tolist())
            results[f"packed_{impl}"] = torch.cat([lp[s:s + n - 1] for s, n in zip(starts, lens)])
        del model
    ref = results["padded_sdpa"]
    summary = {"sequences": len(seqs), "tokens": sum(lens)}
    for key in ("packed_sdpa", "packed_flash_attention_4"):
        d = (results[key] - ref).abs()
        summary[key] = {"max_abs_diff": float(d.max()), "mean_abs_diff": float(d.mean()),
                        "mean_logprob": float(results[key].mean()), "ref_mean_logprob": float(ref.mean())}
    report({"workload": "parity", **summary})


def rollout(args) -> None:
    """vLLM alone, with (c)'s rollout: 128 prompts x 8 samples, <= 512 tokens, temperature 1, the
    sampled tokens' log-probs, and the run config's vLLM settings (half the card, 1,024 sequences,
    decode graphs), in one AsyncLLM engine as verl's server holds it.  Each round sends the same
    1,024 requests twice: streamed as verl asks today (vLLM's cumulative outputs, detokenized,
    read to the last one) and final-only (output_kind FINAL_ONLY, detokenize off:
    veritas.verl_ext.agent_loop).  Unseeded, with the GRPO launcher's VLLM_USE_FLASHINFER_SAMPLER=0,
    as verl's requests are; --seeded seeds request i with i (vLLM then samples each request with
    its own generator, slower) and reports how many requests got the same tokens both ways (only
    the outputs' handling differs, not the sampling).  Reports seconds and tokens/s."""
    import asyncio

    os.environ.setdefault("VLLM_USE_FLASHINFER_SAMPLER", "0")  # as the GRPO launcher sets it

    import pyarrow.parquet as pq
    from transformers import AutoTokenizer
    from vllm import SamplingParams
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.inputs import TokensPrompt
    from vllm.utils.argparse_utils import FlexibleArgumentParser
    from vllm.v1.engine.async_llm import AsyncLLM
    from verl.workers.rollout.vllm_rollout.utils import build_cli_args_from_config

    sys.path.insert(0, str(ROOT))
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_run_config
    from veritas.verl_ext.agent_loop import final_only_params  # what veritas_single_turn adds

    run_config = os.environ.get("RUN_CONFIG", "grpo-smollm2-135m-1gpu")
    cfg = compose_run_config(str(ROOT / "train" / "config"), run_config, GRPO_WORKLOAD)
    ro = cfg.actor_rollout_ref.rollout
    n, max_prompt, max_response = int(ro.n), int(cfg.data.max_prompt_length), int(cfg.data.max_response_length)
    # one step's prompts, of the workload's types and levels (GRPO_WORKLOAD, composed above)
    lgc = cfg.data.lgc_v2
    levels = f"{lgc.difficulty_range[0]}-{lgc.difficulty_range[1]}"
    rl_prompts = BENCH / "data" / f"rl-c-l{levels}.parquet"
    if not rl_prompts.is_file():
        rl_prompts.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "veritas", "generate", "--format", "rl",
                        "--task-types", ",".join(lgc.task_types), "--difficulty", levels, "--split", "train",
                        "--num-samples", str(int(cfg.data.train_batch_size)), "--no-progress",
                        "--output", str(rl_prompts)], check=True,
                       env=dict(os.environ, PYTHONPATH=f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"))
    tok = AutoTokenizer.from_pretrained(SMOLLM2)
    prompts = []
    for row in pq.read_table(rl_prompts, columns=["prompt"]).to_pylist():
        ids = tok.apply_chat_template(list(row["prompt"]), add_generation_prompt=True, tokenize=True, return_dict=False)
        ids = list(ids["input_ids"]) if isinstance(ids, dict) else list(ids)
        prompts += [ids[-max_prompt:]] * n
    # the engine's settings as verl's server passes them (vllm_async_server: a dict turned into
    # vLLM's command line), from the composed run config
    vllm_kwargs = OmegaConf.to_container(ro.engine_kwargs.get("vllm") or {}, resolve=True)
    compilation = dict(vllm_kwargs.pop("compilation_config", None) or {})
    compilation.setdefault("cudagraph_mode", "FULL_AND_PIECEWISE")  # verl's default
    settings = {"dtype": "bfloat16", "seed": 0, "max_model_len": max_prompt + max_response,
                "max_num_seqs": int(ro.max_num_seqs), "max_num_batched_tokens": int(ro.max_num_batched_tokens),
                "enable_prefix_caching": bool(ro.enable_prefix_caching), "logprobs_mode": str(ro.logprobs_mode),
                "enforce_eager": bool(ro.enforce_eager), "gpu_memory_utilization": float(ro.gpu_memory_utilization),
                "disable_log_stats": True, "compilation_config": compilation, **vllm_kwargs}
    parser = AsyncEngineArgs.add_cli_args(FlexibleArgumentParser())
    engine_args = AsyncEngineArgs.from_cli_args(
        parser.parse_args(["--model", str(SMOLLM2), *build_cli_args_from_config(settings)]))
    engine = None
    name = args.name or "rollout"
    profilers: list[subprocess.Popen] = []
    clear_profiles(name)

    def params(seed: int, final_only: bool) -> SamplingParams:
        extra = final_only_params() if final_only else {}
        return SamplingParams(max_tokens=max_response, temperature=float(ro.temperature), top_p=float(ro.top_p),
                              top_k=int(ro.top_k), logprobs=0 if ro.calculate_log_probs else None,
                              seed=seed if args.seeded else None, **extra)

    async def one(tag: str, i: int, final_only: bool):
        last = None
        async for out in engine.generate(TokensPrompt(prompt_token_ids=prompts[i]), params(i, final_only), f"{tag}-{i}"):
            last = out  # as verl's server reads it: the last output only
        return list(last.outputs[0].token_ids)

    async def run_round(tag: str, final_only: bool, count: int):
        t = time.perf_counter()
        outs = await asyncio.gather(*(one(tag, i, final_only) for i in range(count)))
        return time.perf_counter() - t, outs

    async def bench():
        nonlocal engine
        t0 = time.time()
        engine = AsyncLLM.from_engine_args(engine_args)  # inside the loop its output handler runs in
        log(f"rollout: engine ready in {time.time() - t0:.0f} s ({len(prompts)} requests a round)")
        await run_round("warmup", False, 64)
        if args.profile:  # round 0's streamed requests, in the engine's processes and this one (its front end)
            profilers.extend(start_profiles(name, "rollout", args.profile, extra={"frontend": os.getpid()}))
        rounds = []
        for r in range(args.rounds):
            for label, final_only in (("streamed", False), ("final_only", True)):
                secs, outs = await run_round(f"{label}-{r}", final_only, len(prompts))
                tokens = sum(len(o) for o in outs)
                rounds.append({"round": r, "outputs": label, "seconds": round(secs, 2), "response_tokens": tokens,
                               "response_tokens_per_s": round(tokens / secs), "max_response": max(map(len, outs)),
                               "_outs": outs})
                log(f"rollout: round {r} {label}: {secs:.2f} s, {tokens} tokens, {tokens / secs:,.0f} tokens/s")
        for profiler in profilers:  # py-spy stops itself after --profile seconds
            profiler.wait()
        engine.shutdown()
        return rounds

    rounds = asyncio.run(bench())
    same = []
    for r in range(args.rounds) if args.seeded else ():
        a, b = (x["_outs"] for x in rounds if x["round"] == r)
        same.append(sum(x == y for x, y in zip(a, b)) / len(a))
    for x in rounds:
        del x["_outs"]
    by = {label: statistics.median(x["seconds"] for x in rounds if x["outputs"] == label)
          for label in ("streamed", "final_only")}
    report({"workload": name, "run_config": run_config, "requests": len(prompts), "seeded": args.seeded,
            "vllm_use_flashinfer_sampler": os.environ["VLLM_USE_FLASHINFER_SAMPLER"],
            "max_response_tokens": max_response, "engine_settings": settings, "rounds": rounds,
            "median_seconds": by, "speedup_final_only": round(by["streamed"] / by["final_only"], 3),
            **({"same_tokens_share": same} if args.seeded else {}), **profiles(name)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", choices=["prepare", "sft-smollm2", "sft-qwen3-4b", "grpo-smollm2", "kernels", "layers",
                                                "parity", "rollout", "imports"])
    ap.add_argument("--steps", type=int, default=None,
                    help="measure up to this step (default " + " / ".join(map(str, DEFAULT_STEPS.values())) + ")")
    ap.add_argument("--timeout", type=float, default=480, help="stop the run after this many seconds")
    ap.add_argument("--name", default=None, help="name of this run's files (default: the workload)")
    ap.add_argument("--rounds", type=int, default=2, help="rollout: rounds of streamed + final-only requests")
    ap.add_argument("--seeded", action="store_true",
                    help="rollout: seed request i with i and compare the tokens of the two ways (verl sends no seeds)")
    ap.add_argument("--no-qwen3", action="store_true",
                    help="prepare: skip the Qwen3-4B-shaped model (~8 GB; only sft-qwen3-4b needs it)")
    ap.add_argument("--profile", type=int, default=0, metavar="SECONDS",
                    help="py-spy (on PATH) records the trainer's processes for this long from step 3 (rollout: "
                         "the engine's processes and the bench from round 0); raw stacks to "
                         "$OUT/<name>-profile-<role>.txt, the top frames into the JSON")
    ap.add_argument("--variant", choices=LAYER_VARIANTS, default=None, help=argparse.SUPPRESS)  # layers' own processes
    ap.add_argument("--trace", type=int, default=0, metavar="STEP",
                    help="SFT workloads: verl's torch profiler records step STEP (3..N-1); the trace's summary "
                         "(trace_summary.py) goes into the JSON, the trace to $OUT, and the step rate leaves that step out")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = ap.parse_args(argv[:cut])
    args.overrides = argv[cut + 1:]  # Hydra overrides for the launcher, last so they win
    if args.steps is not None and args.steps < MIN_STEPS:
        # refused before any GPU time: with fewer steps the run could not report its step rate
        ap.error(f"--steps {args.steps}: the step rate is measured over steps 3..N, so N must be at least {MIN_STEPS}")
    if args.trace and not args.workload.startswith("sft-"):
        ap.error("--trace: only the SFT workloads run verl's profiler around a step")
    if args.workload in DEFAULT_STEPS:
        args.steps = args.steps or DEFAULT_STEPS[args.workload]
    if args.trace and not MIN_STEPS - 1 <= args.trace < args.steps:
        # steps 1-2 compile kernels; the run stops once step N is logged, before a trace of N is written
        ap.error(f"--trace {args.trace}: trace a step from {MIN_STEPS - 1} to --steps minus one")
    if args.workload.startswith("sft-") and args.steps > SFT_DATA_STEPS:
        # a second epoch would put verl's epoch start (~2 s) inside the step rate
        ap.error(f"--steps {args.steps}: the SFT data holds {SFT_DATA_STEPS} steps (one epoch); measure at most that many")
    if args.workload == "prepare":
        prepare(args)
    elif args.workload == "sft-smollm2":
        sft(args, SMOLLM2, "sft-smollm2")
    elif args.workload == "sft-qwen3-4b":
        sft(args, QWEN3_SHAPE, "sft-qwen3-4b", QWEN3_KERNELS)
    elif args.workload == "grpo-smollm2":
        grpo(args)
    elif args.workload == "kernels":
        kernels(args)
    elif args.workload == "layers" and args.variant:
        print(json.dumps(layer_variant(args.variant)))
    elif args.workload == "layers":
        layers(args)
    elif args.workload == "rollout":
        rollout(args)
    elif args.workload == "imports":
        imports(args)
    else:
        parity(args)


if __name__ == "__main__":
    main()
