"""The GPU benchmark's py-spy support, on CPU: it finds the trainer process and not its forked
dataloader workers (which carry the same command line), and summarises raw py-spy stacks."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent / "benchmarks" / "bench_gpu.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_gpu", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_sft_trainer_is_found_not_its_forked_workers(bench):
    code = "import os, time\nfor _ in range(2):\n    if os.fork() == 0:\n        time.sleep(30); os._exit(0)\ntime.sleep(30)"
    # the argument makes the command line look like verl's trainer, as its workers' do too
    trainer = subprocess.Popen([sys.executable, "-c", code, "-m", "verl.trainer.sft_trainer"])
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and bench._parent(int(p.name)) == trainer.pid]
            if len(children) == 2:
                break
            time.sleep(0.05)
        assert len(children) == 2
        assert bench.profiled_pids("lgc-v2-SFT-trainer.sh") == {"trainer": trainer.pid}
    finally:
        subprocess.run(["pkill", "-P", str(trainer.pid)], check=False)  # the workers first, while they are its children
        trainer.kill()
        trainer.wait()


def test_profile_summary_counts_each_frame_once_per_stack(bench, tmp_path):
    raw = tmp_path / "p.txt"
    raw.write_text("main (a.py:1);step (a.py:5);step (a.py:5);matmul (b.py:2) 30\n"
                   "main (a.py:1);load (c.py:9) 10\n"
                   "garbage line without a count\n")
    top = dict(bench.profile_summary(raw))
    assert top["main"] == 100.0 and top["step"] == 75.0  # recursion counted once
    assert top["matmul"] == 75.0 and top["load"] == 25.0
