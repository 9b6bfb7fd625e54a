"""The GPU benchmark's summary, on CPU: a run stopped before its step rate can be measured still
reports its start-up and step 1, and a --steps too small to measure a rate is refused before
anything starts."""
from __future__ import annotations

import subprocess
import sys

import pytest
from _shared import REPO, load_bench_gpu

BENCH = REPO / "tests" / "benchmarks" / "bench_gpu.py"


@pytest.fixture(scope="module")
def bench():
    return load_bench_gpu()


def _rows(n: int) -> list[dict]:
    # step 1 carries first-use compilation (update 17.3 s against ~9.4 later), as in GPU runs
    return [{"timing_s/gen": 24.4 if i == 0 else 18.0, "timing_s/update_actor": 17.3 if i == 0 else 9.4,
             "perf/total_num_tokens": 450_000 + i, "actor/pg_loss": -0.001 * i,
             "actor/perf/max_memory_allocated_gb": 24.0 + i} for i in range(n)]


def test_a_run_stopped_at_step_3_keeps_its_start_up_and_step_1(bench):
    launched = 1000.0
    arrivals = [1363.4, 1409.5, 1443.8]
    result = bench.summarise("grpo-a", _rows(3), arrivals, launched, 134_479_872, "perf/total_num_tokens", {})
    assert result["steps_logged"] == 3
    assert result["startup_s"] == pytest.approx(363.4)
    assert result["step1_timing_s"] == {"timing_s/gen": 24.4, "timing_s/update_actor": 17.3}
    assert result["peak_memory_allocated_gb"] == 26.0
    assert len(result["rows"]) == 3
    assert "3 step(s) logged" in result["error"] and "s_per_step" not in result


def test_the_step_rate_is_taken_over_steps_3_to_n(bench):
    arrivals = [1300.0, 1340.0, 1374.0, 1410.0]
    result = bench.summarise("grpo-b", _rows(4), arrivals, 1000.0, 134_479_872, "perf/total_num_tokens", {})
    assert "error" not in result
    assert result["s_per_step"] == pytest.approx(35.0)  # (1410 - 1340) / 2 steps
    assert result["s_per_step_each"] == [34.0, 36.0]
    assert result["tokens_per_step"] == pytest.approx(450_002.5)
    assert result["verl_means"]["timing_s/update_actor"] == pytest.approx(9.4)
    assert result["step1_timing_s"]["timing_s/update_actor"] == 17.3


def test_no_step_logged_reports_the_error_only(bench):
    result = bench.summarise("grpo-c", [], [], 1000.0, 1, "perf/total_num_tokens", {"exit_code": 1})
    assert result["steps_logged"] == 0 and result["exit_code"] == 1
    assert "startup_s" not in result and "0 step(s) logged" in result["error"]


def refusal(argv: list[str], out) -> str:
    """The benchmark's error for ``argv``: it exits 2 and launches and writes nothing."""
    run = subprocess.run([sys.executable, str(BENCH), *argv], capture_output=True, text=True, timeout=60,
                         env={"OUT": str(out), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 2
    assert not any(out.iterdir())  # nothing launched, nothing written
    return run.stderr


@pytest.mark.parametrize("steps", ["3", "1"])
def test_too_few_steps_are_refused_before_any_launch(steps, tmp_path):
    assert (f"--steps {steps}: the step rate is measured over steps 3..N, so N must be at least 4"
            in refusal(["grpo-smollm2", "--steps", steps], tmp_path))


def test_sft_steps_beyond_the_data_are_refused_before_any_launch(bench, tmp_path):
    # a second epoch would put verl's epoch start (gc, cache emptying, dataloader restart) in the rate
    too_many = str(bench.SFT_DATA_STEPS + 1)
    for workload in ("sft-smollm2", "sft-qwen3-4b"):
        assert (f"--steps {too_many}: the SFT data holds {bench.SFT_DATA_STEPS} steps (one epoch)"
                in refusal([workload, "--steps", too_many], tmp_path))


def test_import_costs_are_read_from_importtime_with_their_depth(bench):
    stderr = "\n".join([
        "import time: self [us] | cumulative | imported package",
        "import time:       100 |        100 |   _abc",
        "import time:      2000 |    1500000 |     tensordict",
        "import time:      3000 |    2500000 |   verl.protocol",
        "import time:       900 |     900000 |   veritas.verl_ext.flash_attn4",
        "import time:       500 |    4000000 | verl",
        "a warning line | with | bars",
    ])
    top = bench._top_imports(stderr, top=3)
    assert top == [("verl", 0, 4.0), ("verl.protocol", 1, 2.5), ("tensordict", 2, 1.5)]
    assert ("tensordict", 2, 1.5) not in bench._top_imports(stderr, max_depth=1)


def test_the_imports_workload_skips_the_launchers_dry_run_before_prepare(bench, tmp_path, monkeypatch):
    """On the GPU machine the dry run without a model refused in 1.4 s (exit 1) and that was
    reported as a timing: before ``prepare`` it is skipped, saying why."""
    import json
    import types

    monkeypatch.setattr(bench, "IMPORT_SETS", [("json", "json", {})])
    monkeypatch.setattr(bench, "SMOLLM2", tmp_path / "models" / "absent")
    monkeypatch.setattr(bench, "OUT", tmp_path / "out")
    bench.imports(types.SimpleNamespace(name=None))
    result = json.loads((tmp_path / "out" / "imports.json").read_text())
    assert "run `bench_gpu.py prepare` first" in result["grpo_launcher_dry_run"]["skipped"]
    assert "exit_code" not in result["grpo_launcher_dry_run"]
    assert result["import_sets"][0]["imports"] == "json" and len(result["import_sets"][0]["seconds"]) == 2


def test_a_traced_step_is_left_out_of_the_step_rate(bench):
    # step 4 carried the profiler and the trace's export: 30 s instead of ~2
    rows = [{"step": i + 1, "train/global_tokens": 26_000.0} for i in range(6)]
    arrivals = [100.0, 102.0, 104.0, 134.0, 136.0, 138.0]
    result = bench.summarise("sft-t", rows, arrivals, 50.0, 4_000_000_000, "train/global_tokens", {}, skip_step=4)
    assert result["s_per_step_each"] == [2.0, 30.0, 2.0, 2.0]
    assert result["s_per_step"] == pytest.approx(2.0)
    assert result["tokens_per_s"] == pytest.approx(13_000.0)
    assert result["step_rate_skips"] == 4
    plain = bench.summarise("sft-t", rows, arrivals, 50.0, 4_000_000_000, "train/global_tokens", {})
    assert plain["s_per_step"] == pytest.approx(9.0) and "step_rate_skips" not in plain


@pytest.mark.parametrize("argv, message", [
    (["grpo-smollm2", "--trace", "3"], "--trace: only the SFT workloads"),
    (["sft-qwen3-4b", "--trace", "2"], "--trace 2: trace a step from 3 to --steps minus one"),
    (["sft-qwen3-4b", "--steps", "6", "--trace", "6"], "--trace 6: trace a step from 3 to --steps minus one"),
])
def test_a_trace_outside_the_measured_steps_is_refused_before_any_launch(argv, message, tmp_path):
    assert message in refusal(argv, tmp_path)


def test_sft_trace_overrides_name_verls_profiler_around_one_step(bench, tmp_path):
    overrides = bench.trace_overrides(5, tmp_path / "trace")
    assert "trainer.profile_interval=[5,5]" in overrides
    assert "profiler.tool=torch" in overrides and "profiler.enable=True" in overrides
    assert f"profiler.save_path={tmp_path / 'trace'}" in overrides
