"""veritas.verl_adapters.startup: start-up phases from a GRPO launch's log."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime

from veritas.verl_adapters.startup import milestones, phases

# The milestone lines as the recipe's sixth run logged them (verl 0.9.1, Ray's colour codes kept),
# with other lines between them, and the launcher's line.
LOG = """\
[lgc-v2-RL-GRPO-trainer.sh] run config: train/config/grpo-smollm2-135m-1gpu.yaml
[lgc-v2-RL-GRPO-trainer.sh] checks took 21 s; running the command at 04:37:20
+ VERL_USE_EXTERNAL_MODULES=veritas.verl_ext.type_metrics_trainer python -m verl.trainer.main_ppo
2026-12-05 04:37:41,521\tWARNING authentication_token_setup.py:85 -- Token authentication is enabled
2026-12-05 04:37:45,995\tINFO worker.py:2038 -- Started a local Ray instance.
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:38:47,611:train and validate dataloader initialized, train dataset size: 100000, val dataset size: 256
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:38:47,611:Total training steps: 20
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:38:51,121:create worker group dict_keys(['actor_rollout_ref'])
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:39:38,264:actor and ref model engine initialized
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:39:38,413:reward loop manager initialized
\x1b[36m(vLLMHttpServer pid=4850)\x1b[0m WARNING 12-05 04:40:17 [vllm.py:1110] Inductor compilation was disabled
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:41:34,058:checkpoint engine manager initialized
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:41:34,143:Training from scratch
\x1b[36m(TaskRunnerV1 pid=3709)\x1b[0m INFO:2026-12-05 04:41:34,143:all initialize finished, ready to fit
"""


def test_phases_of_a_whole_log():
    assert phases(LOG) == [
        ("launcher checks", 21.0), ("to Ray", 26.0), ("datasets", 61.6), ("worker group", 3.5),
        ("actor and reference", 47.1), ("rollout servers", 115.8), ("weights to rollout", 0.1),
    ]


def test_the_first_step_ends_the_phases_when_known():
    rows = phases(LOG, first_step=datetime(2026, 12, 5, 4, 42, 56, 143000))
    assert rows[-1] == ("first step", 82.0)
    assert sum(s for _, s in rows) == 21 + 26 + 61.6 + 3.5 + 47.1 + 115.8 + 0.1 + 82.0


def test_a_missing_milestone_merges_its_phase_into_the_next():
    log = "\n".join(line for line in LOG.splitlines() if "create worker group" not in line and "checks took" not in line)
    rows = phases(log, launched=datetime(2026, 12, 5, 4, 36, 59))
    assert [name for name, _ in rows] == ["to Ray", "datasets", "actor and reference", "rollout servers",
                                           "weights to rollout"]
    assert rows[0] == ("to Ray", 47.0) and rows[2] == ("actor and reference", 50.7)


def test_a_launch_before_midnight_takes_the_day_before():
    log = LOG.replace("running the command at 04:37:20", "running the command at 23:59:50").replace(
        "2026-12-05 04:37:45,995", "2026-12-06 00:00:05,000")
    found = milestones(log)
    assert found[0] == ("", datetime(2026, 12, 5, 23, 59, 29)) and found[1] == ("launcher checks", datetime(2026, 12, 5, 23, 59, 50))
    assert phases(log)[:2] == [("launcher checks", 21.0), ("to Ray", 15.0)]


def test_logs_without_milestones_give_nothing_and_never_raise():
    assert phases("") == [] and phases("\x00\xff garbage\n" * 100) == []
    assert phases("[x] checks took 5 s; running the command at 04:00:00") == []  # no date to place it
    # a date that is none, and a time of day that is none: those milestones are skipped
    bad = LOG.replace("2026-12-05 04:38:47,611:train", "2026-13-45 04:38:47,611:train").replace("at 04:37:20", "at 99:99:99")
    assert [name for name, _ in phases(bad)] == ["worker group", "actor and reference", "rollout servers", "weights to rollout"]


def test_cli_prints_a_table_and_refuses_a_log_without_milestones(tmp_path):
    log = tmp_path / "grpo.log"
    log.write_text(LOG)
    out = subprocess.run([sys.executable, "-m", "veritas.verl_adapters.startup", str(log)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "| rollout servers | 115.8 |" in out.stdout and "| **total** | 275.1 |" in out.stdout
    (tmp_path / "other.log").write_text("nothing here\n")
    bad = subprocess.run([sys.executable, "-m", "veritas.verl_adapters.startup", str(tmp_path / "other.log")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "no two start-up milestones" in bad.stderr


def test_the_gpu_benchmark_reports_the_phases_up_to_the_first_metrics_line(tmp_path, monkeypatch):
    from _shared import load_bench_gpu

    bench = load_bench_gpu()
    monkeypatch.setattr(bench, "OUT", tmp_path)
    (tmp_path / "grpo-smollm2.log").write_text(LOG)
    launched = datetime(2026, 12, 5, 4, 36, 59).timestamp()
    first = datetime(2026, 12, 5, 4, 42, 56, 143000).timestamp()
    rows = bench.startup_phases("grpo-smollm2", launched, [first, first + 30])
    assert rows[0] == ["launcher checks", 21.0] and rows[-1] == ["first step", 82.0]
    assert round(sum(s for _, s in rows), 1) == round(first - launched, 1)  # the launcher's line and the clock agree


# The H100 run of 2026-12-05 (run B) with vLLM at its own INFO level: the server actor's, its
# engine core's and its GPU worker's lines, then an agent-loop worker's first line after
# "ready to fit" (other lines of those processes between them, as in the log).
VLLM_LOG = """\
[lgc-v2-RL-GRPO-trainer.sh] checks took 26 s; running the command at 10:28:41
2026-12-05 10:29:10,618\tINFO worker.py:2038 -- Started a local Ray instance.
\x1b[36m(TaskRunnerV1 pid=5937)\x1b[0m INFO:2026-12-05 10:29:55,786:train and validate dataloader initialized, train dataset size: 100000, val dataset size: 256
\x1b[36m(TaskRunnerV1 pid=5937)\x1b[0m INFO:2026-12-05 10:29:58,798:create worker group dict_keys(['actor_rollout_ref'])
\x1b[36m(TaskRunnerV1 pid=5937)\x1b[0m INFO:2026-12-05 10:32:24,630:actor and ref model engine initialized
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m WARNING 12-05 10:32:50 [vllm.py:1110] Inductor compilation was disabled
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m INFO 12-05 10:32:59 [model.py:524] Enabling cumem allocator because sleep mode requires it.
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m INFO 12-05 10:33:00 [vllm.py:1006] Asynchronous scheduling is enabled.
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m (EngineCore pid=6547) INFO 12-05 10:33:18 [core.py:114] Initializing a V1 LLM engine (v0.24.0) with config: model='/tmp/bench/models/SmolLM2-135M-Instruct'
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m INFO 12-05 10:33:47 [worker_base.py:282] Injected <class 'vLLMColocateWorkerExtension'>
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m (Worker pid=6565) INFO 12-05 10:33:47 [parallel_state.py:1588] world_size=1 rank=0 local_rank=0
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m (Worker pid=6565) INFO 12-05 10:33:51 [model_runner.py:302] Model loading took 0.26 GiB and 2.630453 seconds
\x1b[36m(vLLMHttpServer pid=6448)\x1b[0m (EngineCore pid=6547) INFO 12-05 10:33:55 [core.py:344] init engine (profile, create kv cache, warmup model) took 4.37 s
\x1b[36m(TaskRunnerV1 pid=5937)\x1b[0m INFO:2026-12-05 10:33:59,013:checkpoint engine manager initialized
\x1b[36m(TaskRunnerV1 pid=5937)\x1b[0m INFO:2026-12-05 10:33:59,101:all initialize finished, ready to fit
\x1b[36m(AgentLoopWorkerTQ pid=6690)\x1b[0m Using dataset class: DynamicEnvDataset
\x1b[36m(AgentLoopWorkerTQ pid=6690)\x1b[0m WARNING:2026-12-05 10:34:26,727:No model-specific Continuous Token builder is registered
\x1b[36m(AgentLoopWorkerTQ pid=6691)\x1b[0m WARNING:2026-12-05 10:34:29,793:No model-specific Continuous Token builder is registered
"""


def test_vllm_info_lines_split_the_rollout_servers_and_the_agent_loop_workers_end_them():
    assert phases(VLLM_LOG) == [
        ("launcher checks", 26.0), ("to Ray", 29.6), ("datasets", 45.2), ("worker group", 3.0),
        ("actor and reference", 145.8),
        # the server actor's own first INFO line (not its engine core's, nor a WARNING)
        ("vLLM server process", 34.4), ("vLLM engine process", 19.0), ("vLLM GPU worker", 29.0),
        ("vLLM engine set-up", 8.0), ("rollout servers", 4.0), ("weights to rollout", 0.1),
        ("agent-loop workers", 27.6),
    ]
    # at verl's WARN level there are no vLLM milestones: the servers' start is one phase, as before
    warn = "\n".join(line for line in VLLM_LOG.splitlines() if " INFO 12-05 " not in line)
    assert [row for row in phases(warn) if row[0].startswith(("vLLM", "rollout"))] == [("rollout servers", 94.4)]


def test_vllm_times_take_their_year_from_verl_and_never_raise():
    new_year = (VLLM_LOG.replace("2026-12-05", "2026-12-31").replace("INFO 12-05 10:3", "INFO 01-01 00:0")
                .replace("2026-12-31 10:33:59", "2027-01-01 00:03:59").replace("2026-12-31 10:34", "2027-01-01 00:04"))
    found = dict(milestones(new_year))
    assert found["vLLM engine process"] == datetime(2027, 1, 1, 0, 3, 18)
    # no verl line before them: a vLLM time has no year, and is skipped; a month-day that is none too
    assert milestones("\n".join(line for line in VLLM_LOG.splitlines() if " INFO 12-05 " in line)) == []
    bad = VLLM_LOG.replace("INFO 12-05 10:33:18", "INFO 02-30 10:33:18")
    assert "vLLM engine process" not in dict(milestones(bad)) and "vLLM GPU worker" in dict(milestones(bad))
