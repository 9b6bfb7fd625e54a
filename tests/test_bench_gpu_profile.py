"""The GPU benchmark's py-spy support, on CPU: it finds the trainer process and not torchrun above it
nor its forked dataloader workers (all carry the trainer's module name), and summarises raw py-spy stacks."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _shared import load_bench_gpu


@pytest.fixture(scope="module")
def bench():
    return load_bench_gpu()


TRAINER = "import os, time\nfor _ in range(2):\n    if os.fork() == 0:\n        time.sleep(30); os._exit(0)\ntime.sleep(30)"
# the arguments make a command line look like verl's trainer (which its forked workers share), or like
# torchrun starting it: `torchrun ... -m verl.trainer.sft_trainer` or `python -m torch.distributed.run ...`
AS_TRAINER = ["-m", "verl.trainer.sft_trainer"]
AS_TORCHRUN = {
    "torchrun": ["/venv/bin/torchrun", "--standalone", "--nproc_per_node", "1", *AS_TRAINER],
    "torch.distributed.run": ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1", *AS_TRAINER],
}


def _children(bench, pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and bench._parent(int(p.name)) == pid]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("launched_by", [None, *AS_TORCHRUN])
def test_the_sft_trainer_is_found_not_its_launcher_nor_its_forked_workers(bench, launched_by):
    trainer_argv = [sys.executable, "-c", TRAINER, *AS_TRAINER]
    if launched_by is None:
        argv = trainer_argv
    else:  # an outer process shaped like torchrun, the trainer its child
        argv = [sys.executable, "-c", f"import subprocess; subprocess.run({trainer_argv!r})", *AS_TORCHRUN[launched_by]]
    root = subprocess.Popen(argv, start_new_session=True)  # its own process group: the whole tree is killed at once
    try:
        trainer, workers = None, []
        deadline = time.monotonic() + 20
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            trainer = root.pid if launched_by is None else next(iter(_children(bench, root.pid)), None)
            workers = _children(bench, trainer) if trainer else []
        assert len(workers) == 2, "the fake trainer did not fork its two workers in time"
        assert bench.profiled_pids("lgc-v2-SFT-trainer.sh") == {"trainer": trainer}
    finally:
        os.killpg(root.pid, signal.SIGKILL)
        root.wait()


def test_profile_summary_counts_each_frame_once_per_stack(bench, tmp_path):
    raw = tmp_path / "p.txt"
    raw.write_text("main (a.py:1);step (a.py:5);step (a.py:5);matmul (b.py:2) 30\n"
                   "main (a.py:1);load (c.py:9) 10\n"
                   "garbage line without a count\n")
    top = dict(bench.profile_summary(raw))
    assert top["main"] == 100.0 and top["step"] == 75.0  # recursion counted once
    assert top["matmul"] == 75.0 and top["load"] == 25.0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_rollout_profile_finds_vllms_engine_core_and_gpu_worker(bench):
    # vLLM titles its processes VLLM::EngineCore and VLLM::Worker (the title is the command line)
    procs = {role: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", title])
             for role, title in (("engine_core", "VLLM::EngineCore"), ("gpu_worker", "VLLM::Worker"))}
    try:
        deadline = time.monotonic() + 20  # a new process's command line can take a moment to show in /proc
        while not all(bench._cmdline(p.pid) for p in procs.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        found = bench.profiled_pids("rollout")
        assert found == {role: p.pid for role, p in procs.items()}
        assert {"engine_core", "gpu_worker"} <= set(bench.profiled_pids("lgc-v2-RL-GRPO-trainer.sh"))
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
