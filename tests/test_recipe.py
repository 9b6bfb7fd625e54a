"""The learning-outcome recipe's chain script (train/scripts/lgc-v2-recipe-1gpu.sh) on CPU: its
--dry-run prepares the model and the SFT data for real, takes the task types, levels and row
count from the run configs, composes and validates both training runs, and marks the finished
stages so that a second call skips them."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from _shared import python_with

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "train" / "scripts" / "lgc-v2-recipe-1gpu.sh"
PYTHON = python_with("verl", "hydra", "pyarrow", "dotenv", "gguf")
pytestmark = [pytest.mark.verl, pytest.mark.skipif(PYTHON is None, reason="verl or gguf is not installed")]


def _env(tmp_path: Path) -> dict:
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("RECIPE_", "RUN_CONFIG", "MODEL_", "WANDB_", "GPU_COUNT", "TRAIN_DATA", "VAL_DATA"))}
    return {**keep, "PYTHON": PYTHON, "ENV_FILE": str(tmp_path / "absent.env"), "RECIPE_DIR": str(tmp_path / "recipe"),
            "OMP_NUM_THREADS": "1", "OUT": str(tmp_path / "out")}


def _config(name: str, *keys: str) -> list:
    from omegaconf import OmegaConf

    from veritas.verl_adapters.compose import compose_config

    cfg = compose_config(name, [], config_path=str(REPO / "train" / "config"))
    return [OmegaConf.to_container(OmegaConf.select(cfg, k), resolve=True) if OmegaConf.is_config(OmegaConf.select(cfg, k))
            else OmegaConf.select(cfg, k) for k in keys]


@pytest.mark.slow
def test_dry_run_prepares_the_data_the_run_configs_describe_and_composes_both_runs(tmp_path):
    import pyarrow.parquet as pq

    env = _env(tmp_path)
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "recipe: dry run OK" in proc.stderr
    recipe = tmp_path / "recipe"
    logs = (recipe / "logs" / "sft.log").read_text() + (recipe / "logs" / "grpo.log").read_text()
    assert "ok: train/config/sft-smollm2-135m-1gpu.yaml composed and validated" in logs
    assert "ok: train/config/grpo-smollm2-135m-1gpu.yaml composed and validated" in logs

    types, levels, response_length = _config("grpo-smollm2-135m-1gpu", "data.lgc_v2.task_types",
                                             "data.lgc_v2.difficulty_range", "data.max_response_length")
    steps, batch = _config("sft-smollm2-135m-1gpu", "trainer.total_training_steps", "data.train_batch_size")
    table = pq.read_table(recipe / "data" / "sft-train.parquet", columns=["task_type", "difficulty", "messages"])
    assert table.num_rows == steps * batch
    assert set(table.column("task_type").to_pylist()) == set(types)
    # SFT data and evaluations: every level from 1 up to the top of GRPO's range
    assert set(table.column("difficulty").to_pylist()) == set(range(1, levels[1] + 1))
    assert f"max_new_tokens {response_length}" in proc.stderr
    # the GRPO run starts from the model the recipe prepared (a real run: the SFT checkpoint)
    assert f"MODEL_PATH={recipe / 'models' / 'SmolLM2-135M-Instruct'}" in proc.stderr
    # verl dumps every validation and training generation where the results pick them up
    assert f"trainer.validation_data_dir={recipe / 'generations' / 'validation'}" in proc.stderr
    assert f"trainer.rollout_data_dir={recipe / 'generations' / 'rollout'}" in proc.stderr
    # GRPO validates on the held-out tasks the evaluations judge, of the types it trains
    from veritas.evaluation.cli import heldout_tasks

    val = recipe / "data" / "grpo-val-heldout.parquet"
    assert f"VAL_DATA={val}" in proc.stderr
    weights, = _config("grpo-smollm2-135m-1gpu", "data.lgc_v2.weights")
    evaluated = [t for t in heldout_tasks(types, 128, (1, levels[1]), 0) if weights[types.index(t.task_type)] > 0]
    served = [info["task_id"] for info in pq.read_table(val, columns=["extra_info"]).column("extra_info").to_pylist()]
    assert sorted(served) == sorted(t.task_id for t in evaluated) and len(served) == 256

    stages = (tmp_path / "out" / "stages.tsv").read_text().splitlines()
    assert stages[0] == "stage\tseconds\tnote" and [row.split("\t")[0] for row in stages[1:]] == ["model", "data"]

    again = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "recipe: stage model" not in again.stderr and "recipe: stage data" not in again.stderr
    assert "recipe: stage sft" in again.stderr


def test_unknown_argument_is_refused_before_any_work(tmp_path):
    proc = subprocess.run(["bash", str(SCRIPT), "trainer.total_training_steps=3"], cwd=tmp_path, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: unknown argument: trainer.total_training_steps=3")
    assert not (tmp_path / "recipe" / "stages").exists() or not any((tmp_path / "recipe" / "stages").iterdir())


def test_each_call_records_its_card_with_the_results(tmp_path):
    """The call's GPU (nvidia-smi's name and memory) goes to the log and to RECIPE_OUT/gpu.tsv; here
    the call then stops at once, on a RECIPE_DIR that holds another recipe."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text('#!/bin/sh\necho "NVIDIA H100 80GB HBM3, 81559 MiB"\n')
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = {**_env(tmp_path), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    (tmp_path / "recipe").mkdir()
    (tmp_path / "recipe" / "settings").write_text("another recipe\n")
    for _ in range(2):
        proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1].endswith("set another RECIPE_DIR")
        assert "recipe: GPU NVIDIA H100 80GB HBM3, 81559 MiB" in proc.stderr
    rows = [line.split("\t") for line in (tmp_path / "out" / "gpu.tsv").read_text().splitlines()]
    assert [card for _, card in rows] == ["NVIDIA H100 80GB HBM3, 81559 MiB"] * 2  # one line a call
    assert all(len(when) == 20 and when.endswith("Z") for when, _ in rows)


def test_a_recipe_dir_of_the_same_config_names_with_other_mine_settings_is_refused(tmp_path):
    """RECIPE_DIR/settings holds the mine settings by value, not only the config's name: a config
    whose right_per_wrong (or levels, tasks, seed) was edited between calls must not go on with the
    mined file of the old settings."""
    config = f"{GREEDY_FAILURES}-positive-replay"
    env = {**_env(tmp_path), "RECIPE_GRPO_CONFIG": config}
    (tmp_path / "recipe").mkdir()
    # what this call would write, with the mine settings of an edited config (right_per_wrong 0.5)
    edited = (f"sft sft-smollm2-135m-1gpu, grpo {config}, sft levels 1-5, eval levels 1-5, "
              "mine train split levels 3-5, 512 a type from seed 1, 0.5 right per wrong")
    (tmp_path / "recipe" / "settings").write_text(edited + "\n")
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.endswith("set another RECIPE_DIR") and f"holds a recipe of {edited}, not " in last
    assert last.split(", not ", 1)[1].startswith(edited.replace("0.5 right", "1 right"))
    assert not (tmp_path / "recipe" / "stages").exists() or not any((tmp_path / "recipe" / "stages").iterdir())


@pytest.mark.parametrize("name,value", [("RECIPE_SFT_LEVELS", "0-3"), ("RECIPE_SFT_LEVELS", "1-3-5"),
                                        ("RECIPE_EVAL_LEVELS", "3-1"), ("RECIPE_EVAL_LEVELS", "1-11"),
                                        ("RECIPE_EVAL_LEVELS", "1..5")])
def test_a_bad_level_setting_is_refused_naming_it_before_any_work(tmp_path, name, value):
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env={**_env(tmp_path), name: value},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {name}={value}")
    assert not (tmp_path / "recipe").exists()


FAKE_PYTHON = """#!/usr/bin/env bash
# stands in for the recipe's Python: `-m veritas generate|eval` recorded in FAKE_CALLS (one line of
# arguments each) and their outputs made (with FAKE_MINED_ROWS, `generate --tasks-from` writes that many
# real RL rows, and with FAKE_MINED_RIGHT says that many of them were judged right; with FAKE_HANG set, an evaluation hangs instead; with
# FAKE_VAL_COMPARE_FAILS, a comparison of validation steps fails);
# `-m veritas.evaluation.near_misses` recorded too, with a table line; anything else runs in the real interpreter
if [[ "${1:-} ${2:-}" == "-m veritas.evaluation.near_misses" ]]; then
    printf '%s\\n' "${*:2}" >> "$FAKE_CALLS"
    echo "| all | (fake) |"
    exit 0
fi
if [[ "${1:-} ${2:-}" == "-m veritas" && ( "$3" == generate || "$3" == eval ) ]]; then
    printf '%s\\n' "${*:3}" >> "$FAKE_CALLS"
    [[ -z "${FAKE_HANG:-}" || "$3 $4" == "eval --compare" ]] || exec sleep 600
    [[ -z "${FAKE_VAL_COMPARE_FAILS:-}" || "$3 $4 $5" != "eval --compare "*/val/step-0 ]] || exit 2
    out="" prev=""
    for arg in "$@"; do [[ "$prev" != --output ]] || out="$arg"; prev="$arg"; done
    if [[ "$3" == generate && -n "${FAKE_MINED_ROWS:-}" && " $* " == *" --tasks-from "* ]]; then
        # the mine stage's rows: FAKE_MINED_ROWS real RL rows, as many as the fake run got wrong (and right)
        "$REAL_PYTHON" -m veritas generate --format rl --split train --num-samples "$FAKE_MINED_ROWS" \
            --no-progress --overwrite --output "$out" || exit
        [[ -z "${FAKE_MINED_RIGHT:-}" ]] ||
            echo "generate: (fake) the counts; $((FAKE_MINED_ROWS - FAKE_MINED_RIGHT)) wrong + $FAKE_MINED_RIGHT right"
        exit 0
    elif [[ "$3" == generate ]]; then
        : > "$out"
    elif [[ -n "$out" ]]; then
        mkdir -p "$out" && echo '{}' > "$out/results.json" && : > "$out/results.md" && : > "$out/samples.jsonl"
    fi
    exit 0
fi
exec "$REAL_PYTHON" "$@"
"""


def _fake_python(tmp_path: Path) -> tuple[dict, Path]:
    """(the environment variables that put FAKE_PYTHON in the recipe's place, its calls file)."""
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    return {"PYTHON": str(fake), "REAL_PYTHON": PYTHON, "FAKE_CALLS": str(calls)}, calls


def _with_fake_python(tmp_path: Path, done: tuple) -> tuple[dict, Path, Path]:
    """(env, calls file, stages dir) of a recipe run with FAKE_PYTHON, the stages `done` marked done."""
    fake_env, calls = _fake_python(tmp_path)
    stages = tmp_path / "recipe" / "stages"
    stages.mkdir(parents=True)
    for stage in done:
        (stages / stage).write_text("1\t\n")
    return {**_env(tmp_path), **fake_env}, calls, stages


@pytest.mark.parametrize("config,levels,sft,evaluated", [
    ("grpo-smollm2-135m-1gpu-levels-fixed", {"RECIPE_SFT_LEVELS": "1-3", "RECIPE_EVAL_LEVELS": "1-5"}, "1-3", "1-5"),
    ("grpo-smollm2-135m-1gpu-levels-fixed", {}, "1-5", "1-5"),  # the default: the GRPO config's difficulty_range
    ("grpo-smollm2-135m-1gpu", {}, "1-3", "1-3"),  # GRPO at levels 2-3: SFT and evaluations from level 1 up
    ("grpo-smollm2-135m-1gpu", {"RECIPE_EVAL_LEVELS": "4"}, "1-3", "4-4"),
])
def test_the_level_settings_reach_the_data_and_every_evaluation(tmp_path, config, levels, sft, evaluated):
    """With `veritas generate` and `veritas eval` stood in for (the stages before and after them
    marked done): the SFT data gets RECIPE_SFT_LEVELS, the base, SFT and GRPO evaluations
    RECIPE_EVAL_LEVELS; a later call with other levels in the same RECIPE_DIR is refused."""
    env, calls, stages = _with_fake_python(tmp_path, ("model", "sft", "grpo"))
    env = {**env, "RECIPE_GRPO_CONFIG": config, **levels}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "recipe: done" in proc.stderr
    assert f"recipe: SFT data at levels {sft} (RECIPE_SFT_LEVELS), evaluations at levels {evaluated} (RECIPE_EVAL_LEVELS)" \
        in proc.stderr

    def difficulty(line):
        words = line.split()
        return words[words.index("--difficulty") + 1]

    made = [line for line in calls.read_text().splitlines() if "--compare" not in line]
    generated = [line for line in made if line.startswith("generate ")]
    evaluations = [line for line in made if line.startswith("eval ")]
    # SFT train and val, then GRPO's validation set: the evaluations' tasks of the types it trains
    assert [difficulty(line) for line in generated] == [sft, sft, evaluated]
    assert "--format rl" in generated[2] and "--split test" in generated[2]
    assert sorted(line.split("--output ")[1].rsplit("/", 1)[1] for line in evaluations) == ["base", "grpo", "sft"]
    assert [difficulty(line) for line in evaluations] == [evaluated] * 3
    assert len(made) == 6
    # the comparisons with the GRPO model add the macro over the types GRPO trains (weight > 0)
    types, weights = _config(config, "data.lgc_v2.task_types", "data.lgc_v2.weights")
    trained = ",".join(t for t, w in zip(types, weights) if w > 0)
    compares = {tuple(line.split()[2:4]): line for line in calls.read_text().splitlines() if "--compare" in line}
    assert [Path(a).name + " " + Path(b).name for a, b in compares] == ["base sft", "sft grpo", "base grpo"]
    assert [line.split("--task-types ")[1] if "--task-types" in line else None for line in compares.values()] \
        == [None, trained, trained]
    assert f"--task-types {trained} " in generated[2]
    assert f"--num-samples {128 * len(trained.split(','))} " in generated[2]

    other = {**env, "RECIPE_SFT_LEVELS": "2-3" if sft != "2-3" else "1-3"}
    again = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=other, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1
    assert again.stderr.strip().splitlines()[-1].endswith("set another RECIPE_DIR")
    assert len(calls.read_text().splitlines()) == 6 + 3  # nothing more ran (3: the comparisons)


FAKE_GRPO = """#!/usr/bin/env bash
# stands in for the GRPO launcher: resumes from the latest checkpoint and saves one step (a checkpoint
# and a metrics line) every FAKE_STEP_S seconds up to FAKE_TOTAL; the last step waits for the file
# FAKE_HOLD; exits FAKE_EXIT (0), at once when it is not 0
dir="$CHECKPOINT_ROOT/$WANDB_EXP"; mkdir -p "$dir"
step=$(cat "$dir/latest_checkpointed_iteration.txt" 2>/dev/null || echo 0)
read -r -a stat < /proc/$$/stat
echo "$step $$ ${stat[4]}" >> "$FAKE_STARTS"  # from, pid, process group
echo "MODEL_PATH=$MODEL_PATH RUN_CONFIG=$RUN_CONFIG TRAIN_DATA=${TRAIN_DATA:-} args=$*"
: > "$VERL_FILE_LOGGER_PATH"
[[ "${FAKE_EXIT:-0}" == 0 ]] || exit "$FAKE_EXIT"
while ((step < FAKE_TOTAL)); do
    ((step + 1 < FAKE_TOTAL)) || until [[ -e "$FAKE_HOLD" ]]; do sleep 0.1; done
    sleep "$FAKE_STEP_S"
    step=$((step + 1)); mkdir -p "$dir/global_step_$step/actor"
    echo "$step" > "$dir/latest_checkpointed_iteration.txt"
    echo "{\\"step\\":$step,\\"data\\":{}}" >> "$VERL_FILE_LOGGER_PATH"
done
"""


class _AtGrpo:
    """A recipe whose stages before grpo are marked done, with the GRPO launcher replaced by FAKE_GRPO
    (the scripts and configs copied; the package from this checkout)."""

    def __init__(self, tmp_path: Path, **fake_env: str):
        import shutil

        self.root = tmp_path / "repo"
        shutil.copytree(REPO / "train" / "scripts", self.root / "train" / "scripts")
        shutil.copytree(REPO / "train" / "config", self.root / "train" / "config")
        (self.root / "train" / "scripts" / "lgc-v2-RL-GRPO-trainer.sh").write_text(FAKE_GRPO)
        self.recipe = tmp_path / "recipe"
        self.stages = self.recipe / "stages"
        self.stages.mkdir(parents=True)
        for stage in ("model", "data", "sft", "eval-base", "eval-sft"):
            (self.stages / stage).write_text("1\t\n")
        self.sft_model = self.recipe / "checkpoints" / "recipe-sft" / "global_step_500" / "huggingface"
        self.sft_model.mkdir(parents=True)
        (self.sft_model / "config.json").write_text("{}")
        (self.sft_model / "model.safetensors").write_bytes(b"weights")  # verl's hf_model
        (self.sft_model.parents[1] / "latest_checkpointed_iteration.txt").write_text("500")
        (self.total,) = _config("grpo-smollm2-135m-1gpu", "trainer.total_training_steps")
        self.hold = tmp_path / "hold"
        self.starts = tmp_path / "starts"
        # calls of 5 s (after the recipe's own start-up) and GRPO steps of 0.1 s
        self.env = {**_env(tmp_path), "RECIPE_BUDGET_S": "5", "PYTHONPATH": str(REPO), "FAKE_TOTAL": str(self.total),
                    "FAKE_STEP_S": "0.1", "FAKE_HOLD": str(self.hold), "FAKE_STARTS": str(self.starts), **fake_env}

    def call(self) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(self.root / "train" / "scripts" / "lgc-v2-recipe-1gpu.sh")],
                              cwd=self.root.parent, env=self.env, capture_output=True, text=True, timeout=120)

    def until_done(self, most: int) -> list:
        """The stderr of each call, up to ``most`` calls, until one ends with `recipe: done`; each must succeed."""
        outputs = []
        for _ in range(most):
            proc = self.call()
            assert proc.returncode == 0, proc.stderr[-3000:]
            outputs.append(proc.stderr)
            if "recipe: done" in proc.stderr:
                break
        assert "recipe: done" in outputs[-1]
        return outputs

    def started(self) -> list:
        """(from step, pid, process group) of every launch the fake saw."""
        return [tuple(map(int, line.split())) for line in self.starts.read_text().splitlines()]

    def pid(self) -> int:
        return int((self.recipe / "grpo.pid").read_text().split()[0])

    def step(self) -> int:
        tracker = self.recipe / "checkpoints" / "recipe-grpo" / "latest_checkpointed_iteration.txt"
        return int(tracker.read_text()) if tracker.exists() else 0

    def cleanup(self):
        import signal

        for _, pid, group in self.started() if self.starts.exists() else []:
            try:  # its session's process group; never ours (a launch that did not get a session of its own)
                os.kill(pid, signal.SIGKILL) if group == os.getpgrp() else os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _session(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])


def _until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_grpo_is_one_process_across_calls(tmp_path):
    """The first call starts GRPO in its own session and returns while it runs; it runs on after the
    call; the next calls wait for that same process (never a second one) and mark the stage done
    with its wall seconds once the last step is saved."""
    run = _AtGrpo(tmp_path)
    try:
        first = run.call()
        first_return = time.time()
        assert first.returncode == 0, first.stderr[-3000:]
        assert "recipe: GRPO is running (step" in first.stderr and "run again to wait for it" in first.stderr
        assert "+ setsid env " in first.stderr and "timeout" not in first.stderr
        assert not (run.stages / "grpo").exists()
        pid = run.pid()
        assert _alive(pid) and _session(pid) == pid  # the call has returned; in a session of its own, it runs on
        _until(lambda: run.step() == run.total - 1)  # its last step waits for the hold file

        second = run.call()
        assert second.returncode == 0, second.stderr[-3000:]
        assert f"recipe: GRPO (pid {pid}, from step 0) is running; this call waits for it" in second.stderr
        assert f"recipe: GRPO is running (step {run.total - 1} of {run.total}); run again to wait for it" in second.stderr
        assert not (run.stages / "grpo").exists()
        # what a call leaves: the log and the metrics so far
        assert len((tmp_path / "out" / "metrics-grpo-from-0.jsonl").read_text().splitlines()) == run.total - 1

        waited = int(time.time()) - int(first_return)
        run.hold.touch()
        _until(lambda: (run.recipe / "grpo.rc").exists())
        third = run.call()
        assert third.returncode == 0, third.stderr[-3000:]
        seconds, note = (run.stages / "grpo").read_text().rstrip("\n").split("\t")
        assert note == "one process, 3 call(s)"
        # wall time from the launch to the end, across the calls (and the time between them)
        launched = int((run.recipe / "grpo.starts").read_text().split()[0])
        assert int(seconds) == int((run.recipe / "grpo.rc").stat().st_mtime) - launched >= waited
        # eval-grpo (~80 s) does not fit in what is left of a 5 s call
        assert "recipe: stage eval-grpo needs" in third.stderr and "run again to continue" in third.stderr
        assert [start[0] for start in run.started()] == [0]  # one launch, ever
        assert f"MODEL_PATH={run.sft_model}" in (run.recipe / "logs" / "grpo-from-0.log").read_text()
        assert len((tmp_path / "out" / "metrics-grpo-from-0.jsonl").read_text().splitlines()) == run.total
    finally:
        run.cleanup()


@pytest.mark.parametrize("budget", [200, 5])
def test_the_sft_evaluation_runs_beside_grpos_start_up_or_after_grpo(tmp_path, budget):
    """eval-sft runs in the call that launches GRPO, right after the launch, while GRPO starts (its
    minute comes off the GPU time).  When what is left of that call is less than its estimate, it
    waits until GRPO has ended and runs as a stage of its own; either way it runs once."""
    run = _AtGrpo(tmp_path, RECIPE_BUDGET_S=str(budget))
    (run.stages / "eval-sft").unlink()
    fake_env, calls = _fake_python(tmp_path)
    run.env.update(fake_env)
    run.hold.touch()  # GRPO runs its steps at once
    try:
        outputs = run.until_done(6)
        first = outputs[0]
        sft_evals = [line for line in calls.read_text().splitlines()
                     if line.startswith("eval ") and line.endswith("/sft")]
        assert len(sft_evals) == 1
        seconds, note = (run.stages / "eval-sft").read_text().rstrip("\n").split("\t")
        if budget == 200:
            assert first.index("+ setsid ") < first.index("recipe: stage eval-sft, beside GRPO's start-up") \
                < first.index("recipe: stage eval-sft done") < first.index("recipe: stage grpo done")
            assert note == "beside grpo's start-up" and len(outputs) == 1
        else:
            assert "recipe: the SFT model's evaluation (~80 s) does not fit beside GRPO's start-up in this call" in first
            assert "recipe: stage eval-sft done" not in first and note == ""
            ran = next(out for out in outputs if "recipe: stage eval-sft done" in out)
            assert ran.index("recipe: stage eval-sft\n") < ran.index("recipe: stage eval-sft done")
        table = (tmp_path / "out" / "stages.tsv").read_text().splitlines()
        assert [row.split("\t")[0] for row in table[1:]] == \
            ["model", "data", "sft", "eval-base", "grpo", "eval-sft", "eval-grpo", "compare"]
    finally:
        run.cleanup()


def test_grpo_killed_between_calls_is_started_again_from_its_latest_checkpoint(tmp_path):
    """A process gone without an exit status (killed) is started again by the next call, which first
    kills what is left of its session (here the launcher, when only its parent was killed); verl
    resumes from the latest checkpoint."""
    import signal

    run = _AtGrpo(tmp_path)
    try:
        first = run.call()
        assert first.returncode == 0, first.stderr[-3000:]
        _until(lambda: run.step() == run.total - 1)
        leader, (_, launcher, _) = run.pid(), run.started()[0]
        os.kill(leader, signal.SIGKILL)  # the session's leader, which would write the exit status
        _until(lambda: not _alive(leader))
        assert _alive(launcher) and not (run.recipe / "grpo.rc").exists()

        second = run.call()
        assert second.returncode == 0, second.stderr[-3000:]
        assert f"recipe: GRPO (pid {leader}) was killed before it ended (no exit status); starting it again" in second.stderr
        assert f"recipe: GRPO resumes from step {run.total - 1} of {run.total}" in second.stderr
        assert "run again to wait for it" in second.stderr
        assert not _alive(launcher)  # one GRPO at a time
        assert [start[0] for start in run.started()] == [0, run.total - 1]
        assert run.pid() != leader and _alive(run.pid())

        run.hold.touch()
        _until(lambda: (run.recipe / "grpo.rc").exists())
        third = run.call()
        assert third.returncode == 0, third.stderr[-3000:]
        assert (run.stages / "grpo").read_text().rstrip("\n").split("\t")[1] == "2 processes, 3 call(s)"
        # one metrics file per launch (verl's file logger truncates its file), named by the step it resumed from
        assert sorted(p.name for p in run.recipe.glob("metrics-grpo-from-*.jsonl")) == sorted(
            f"metrics-grpo-from-{step}.jsonl" for step in (0, run.total - 1))
        assert (run.recipe / "logs" / "grpo-from-0.log").exists()
    finally:
        run.cleanup()


def test_grpo_that_fails_stops_the_call_that_sees_it_end(tmp_path):
    run = _AtGrpo(tmp_path, FAKE_EXIT="3")
    try:
        proc = run.call()
        assert proc.returncode == 1
        log = run.recipe / "logs" / "grpo.log"
        assert proc.stderr.strip().splitlines()[-1] == f"error: GRPO failed (exit 3): {log}"
        assert "MODEL_PATH=" in proc.stderr  # the log's tail
        assert not (run.stages / "grpo").exists()
        again = run.call()  # starts it again (from its latest checkpoint), and it fails again
        assert again.returncode == 1 and len(run.started()) == 2
    finally:
        run.cleanup()


def test_grpo_stop_ends_the_stage_at_the_latest_checkpoint_and_the_evaluation_follows(tmp_path):
    """RECIPE_GRPO_STOP=1, for a session whose device time runs out: the running GRPO (its whole
    session) is stopped, the stage is marked done at its latest checkpoint, and the call goes on to
    the evaluation of that checkpoint; before any checkpoint it refuses, naming the variable."""
    run = _AtGrpo(tmp_path, FAKE_STEP_S="3600")  # GRPO saves nothing before the hold file is there
    try:
        first = run.call()
        assert first.returncode == 0, first.stderr[-3000:]
        assert run.step() == 0 and _alive(run.pid())
        refused = subprocess.run(["bash", str(run.root / "train" / "scripts" / "lgc-v2-recipe-1gpu.sh")],
                                 cwd=run.root.parent, env={**run.env, "RECIPE_GRPO_STOP": "1"},
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1
        assert "RECIPE_GRPO_STOP=1, but GRPO has saved no checkpoint yet" in refused.stderr.strip().splitlines()[-1]
        assert not (run.stages / "grpo").exists() and _alive(run.pid())  # it runs on
    finally:
        run.cleanup()

    run = _AtGrpo(tmp_path / "second")
    try:
        first = run.call()
        assert first.returncode == 0, first.stderr[-3000:]
        _until(lambda: run.step() == run.total - 1)  # its last step waits for the hold file
        leader, (_, launcher, _) = run.pid(), run.started()[0]
        assert _alive(leader) and _alive(launcher)
        stopped = subprocess.run(["bash", str(run.root / "train" / "scripts" / "lgc-v2-recipe-1gpu.sh")],
                                 cwd=run.root.parent, env={**run.env, "RECIPE_GRPO_STOP": "1", "RECIPE_BUDGET_S": "5"},
                                 capture_output=True, text=True, timeout=120)
        assert stopped.returncode == 0, stopped.stderr[-3000:]
        assert f"recipe: RECIPE_GRPO_STOP=1: stopping GRPO (pid {leader}) at step {run.total - 1}" in stopped.stderr
        assert not _alive(leader) and not _alive(launcher)  # the whole session
        seconds, note = (run.stages / "grpo").read_text().rstrip("\n").split("\t")
        assert note == f"stopped at step {run.total - 1} of {run.total} (RECIPE_GRPO_STOP=1), one process, 2 call(s)"
        assert int(seconds) >= 0
        assert "recipe: stage eval-grpo needs" in stopped.stderr  # next: the evaluation (not in a 5 s call)
        assert [start[0] for start in run.started()] == [0]  # not started again
        assert (tmp_path / "second" / "out" / "metrics-grpo-from-0.jsonl").exists()
    finally:
        run.cleanup()


def test_a_bad_grpo_stop_value_is_refused_before_any_work(tmp_path):
    env = {**_env(tmp_path), "RECIPE_GRPO_STOP": "yes"}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == "error: RECIPE_GRPO_STOP=yes: must be 0 or 1"
    assert not (tmp_path / "recipe" / "stages").exists() or not any((tmp_path / "recipe" / "stages").iterdir())


def test_recipe_until_ends_the_call_after_that_stage_and_a_later_call_goes_on(tmp_path):
    """RECIPE_UNTIL=sft, to study the SFT model before GRPO: nothing after the stage runs; a call
    with a later stage goes on from there, in the same RECIPE_DIR."""
    env, calls, stages = _with_fake_python(tmp_path, ("model", "data", "sft"))
    stopped = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env={**env, "RECIPE_UNTIL": "sft"},
                             capture_output=True, text=True, timeout=300)
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    assert stopped.stderr.strip().splitlines()[-1].endswith(
        "recipe: stopped after stage sft (RECIPE_UNTIL); run again without it to go on")
    assert not calls.exists() or not any(line.startswith("eval ") for line in calls.read_text().splitlines())
    assert sorted(p.name for p in stages.iterdir()) == ["data", "model", "sft"]
    went_on = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env={**env, "RECIPE_UNTIL": "eval-base"},
                             capture_output=True, text=True, timeout=300)
    assert went_on.returncode == 0, went_on.stderr[-3000:]
    assert "stopped after stage eval-base" in went_on.stderr
    evaluations = [line for line in calls.read_text().splitlines() if line.startswith("eval ")]
    assert len(evaluations) == 1 and evaluations[0].split("--output ")[1].split()[0].endswith("/base")
    assert not (stages / "grpo").exists()


def test_a_bad_recipe_until_is_refused_before_any_work(tmp_path):
    env = {**_env(tmp_path), "RECIPE_UNTIL": "train"}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        "error: RECIPE_UNTIL=train: not a stage (model data sft eval-base grpo eval-sft eval-grpo compare)"
    assert not (tmp_path / "recipe" / "stages").exists()


def test_a_hung_stage_is_stopped_at_the_call_budget_and_run_again_by_the_next_call(tmp_path):
    """A foreground stage that never ends (here the base model's evaluation) is stopped when the
    call's budget runs out: the call returns in time with one clear error, the stage is not marked
    done, and the next call runs it again."""
    env, calls, stages = _with_fake_python(tmp_path, ("model", "data", "sft", "grpo"))
    budget = 15
    env["RECIPE_BUDGET_S"] = str(budget)
    started = time.monotonic()
    hung = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env={**env, "FAKE_HANG": "1"}, capture_output=True,
                          text=True, timeout=120)
    took = time.monotonic() - started
    assert hung.returncode == 1
    last = hung.stderr.strip().splitlines()[-1]
    assert last.startswith("error: stopped: ") and f"RECIPE_BUDGET_S={budget}" in last, hung.stderr[-3000:]
    assert "run again to start it again" in last and "logs/eval-base.log" in last
    assert took < budget + 45  # the evaluation would hang for 600 s (start-up before the budget counts: a few s)
    assert not (stages / "eval-base").exists()
    assert [line.split()[0] for line in calls.read_text().splitlines()] == ["eval"]

    again = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env={**env, "RECIPE_BUDGET_S": "540"},
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (stages / "eval-base").exists() and "recipe: stage eval-base" in again.stderr and "recipe: done" in again.stderr


@pytest.mark.parametrize("compare_fails", [False, True])
def test_grpos_validation_is_kept_as_results_folders_and_its_last_step_compared_with_its_first(tmp_path,
                                                                                              compare_fails):
    """Each call that keeps GRPO's outputs also judges verl's validation dump so far into
    RECIPE_OUT/val/step-N (results folders for --compare); as soon as GRPO ends, before the GRPO
    model's evaluation, its last step is set beside step 0 and beside the SFT model's evaluation
    (the same tasks), and the compare stage does it again: a run whose GRPO evaluations are lost
    still has GRPO against its start and against SFT.  A comparison failing (a validation cut
    short) is a warning, not a failed recipe."""
    import json
    import sys

    from veritas.verl_adapters.generations import parquet_tasks

    run = _AtGrpo(tmp_path, RECIPE_BUDGET_S="200")
    if compare_fails:
        run.env["FAKE_VAL_COMPARE_FAILS"] = "1"
    fake_env, calls = _fake_python(tmp_path)
    run.env.update(fake_env)
    run.hold.touch()
    val = run.recipe / "data" / "grpo-val-heldout.parquet"
    val.parent.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "veritas", "generate", "--format", "rl", "--split", "test", "--task-types",
                    "boolean_expressions,operation", "--num-samples", "4", "--difficulty", "1-3", "--output", str(val),
                    "--no-progress"], cwd=REPO, check=True, capture_output=True)
    tasks = parquet_tasks(val)
    (run.recipe / "eval" / "sft").mkdir(parents=True)  # the SFT model's evaluation (stage eval-sft, marked done)
    (run.recipe / "eval" / "sft" / "results.json").write_text("{}")
    dump = run.recipe / "generations" / "validation"
    dump.mkdir(parents=True)
    for step, right in ((0, 1), (run.total, 3)):  # verl's validation before step 1 and after the last
        (dump / f"{step}.jsonl").write_text("".join(
            json.dumps({"input": f"user\n{t.prompt}\nassistant\n", "output": t.answer if i < right else "\\boxed{no}",
                        "acc": 0.0, "step": step}) + "\n" for i, t in enumerate(tasks)))
    try:
        for _ in range(4):
            proc = run.call()
            assert proc.returncode == 0, proc.stderr[-3000:]
            if "recipe: done" in proc.stderr:
                break
        assert "recipe: done" in proc.stderr
        out = tmp_path / "out" / "val"
        for step, right in ((0, 1), (run.total, 3)):
            results = json.loads((out / f"step-{step}" / "results.json").read_text())
            assert sum(v["correct"] for v in results["per_type"].values()) == right
            assert results["settings"]["model"] == f"GRPO's validation step {step}"
        lines = calls.read_text().splitlines()
        against_start = (f"eval --compare {out}/step-0 {out}/step-{run.total} "
                         f"--json {tmp_path}/out/compare-val-step-0-{run.total}.json")
        types, weights = _config("grpo-smollm2-135m-1gpu", "data.lgc_v2.task_types", "data.lgc_v2.weights")
        trained = ",".join(t for t, w in zip(types, weights) if w > 0)
        against_sft = (f"eval --compare {run.recipe}/eval/sft {out}/step-{run.total} --task-types {trained} "
                       f"--json {tmp_path}/out/compare-sft-val-step-{run.total}.json")
        eval_grpo = next(i for i, line in enumerate(lines) if line.endswith(f"--output {run.recipe}/eval/grpo"))
        # once when GRPO ended, before its evaluation, and once more in the compare stage
        assert [i for i, line in enumerate(lines) if line == against_start][0] < eval_grpo
        assert lines.count(against_start) == 2 and lines.count(against_sft) == 2
        assert lines.index(against_sft) < eval_grpo
        warned = f"recipe: warning: GRPO's validation at step {run.total} was not compared with step 0" in proc.stderr
        assert warned == compare_fails
        # every step's verdicts against step 0, by the real churn (4 tasks: 1 right at step 0, 3 at the last)
        churn = (tmp_path / "out" / "churn-val.md").read_text()
        assert f"| step-{run.total} | 2 (66.7 %) | 0 (0.0 %) | +2 |" in churn
        assert "2 of 4 tasks changed verdict at least once over the 2 runs, 0 more than once." in churn
    finally:
        run.cleanup()


@pytest.mark.slow
def test_recipe_samples_adds_sampled_evaluations_at_grpos_temperature_and_a_split_comparison(tmp_path):
    """RECIPE_SAMPLES=8: after the greedy evaluations, the SFT and GRPO models are sampled 8 times a
    task on the same tasks at the GRPO config's rollout temperature, and compare splits their
    change by the SFT model's greedy verdicts.  Without it, neither stage exists."""
    config = "grpo-smollm2-135m-1gpu-levels-adaptive-temperature"
    (temperature,) = _config(config, "actor_rollout_ref.rollout.temperature")
    assert temperature != 1.0  # a value the recipe can only have read from the config
    env, calls, stages = _with_fake_python(tmp_path, ("model", "sft", "grpo"))
    env = {**env, "RECIPE_GRPO_CONFIG": config, "RECIPE_SAMPLES": "8"}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"sampled 8 times a task at GRPO's rollout temperature, {temperature}" in proc.stderr
    evaluations = [line for line in calls.read_text().splitlines() if line.startswith("eval ") and "--compare" not in line]
    by_output = {line.split("--output ")[1].rsplit("/", 1)[1]: line for line in evaluations}
    assert list(by_output) == ["base", "sft", "grpo", "sft-sampled", "grpo-sampled"]
    for name in ("sft", "grpo"):
        assert f"--samples 8 --temperature {temperature} " in by_output[f"{name}-sampled"]
        assert by_output[f"{name}-sampled"].split("--model ")[1].split()[0].endswith(f"checkpoints/recipe-{name}")
        assert "--samples" not in by_output[name]
    split = [line for line in calls.read_text().splitlines() if "--split-by" in line]
    assert len(split) == 1 and split[0].split()[2:4] == [str(tmp_path / "recipe" / "eval" / n) for n in ("sft-sampled", "grpo-sampled")]
    assert split[0].split("--split-by ")[1].split()[0] == str(tmp_path / "recipe" / "eval" / "sft")
    # and the SFT model's near misses: its greedy evaluation against its sampled one
    eval_dir = tmp_path / "recipe" / "eval"
    assert f"veritas.evaluation.near_misses {eval_dir}/sft {eval_dir}/sft-sampled" in calls.read_text().splitlines()
    assert (tmp_path / "out" / "near-misses-sft.md").read_text() == "| all | (fake) |\n"
    table = (tmp_path / "out" / "stages.tsv").read_text()
    assert "eval-sft-sampled\t" in table and "eval-grpo-sampled\t" in table
    assert (tmp_path / "out" / "grpo-sampled" / "samples.jsonl.gz").exists()

    bad = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env={**env, "RECIPE_SAMPLES": "eight"},
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "RECIPE_SAMPLES=eight is not a non-negative integer" in bad.stderr


@pytest.mark.slow
def test_without_recipe_samples_no_sampled_stage_runs(tmp_path):
    env, calls, _ = _with_fake_python(tmp_path, ("model", "sft", "grpo"))
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--samples" not in calls.read_text() and "--split-by" not in calls.read_text()
    assert "sampled" not in (tmp_path / "out" / "stages.tsv").read_text()


GREEDY_FAILURES = "grpo-smollm2-135m-1gpu-greedy-failures"


def test_the_mine_stage_judges_the_sft_model_on_the_train_split_and_grpo_trains_on_its_failures(tmp_path):
    """A GRPO config with data.lgc_v2.mine: after sft and eval-base, stage mine evaluates the SFT model
    greedily on the mine settings' tasks of the train split (kept in RECIPE_OUT/mine), writes the RL
    parquet of its failures, and GRPO is launched on that file through verl's own dataset."""
    fake_env, calls = _fake_python(tmp_path)
    run = _AtGrpo(tmp_path, **fake_env, RECIPE_GRPO_CONFIG=GREEDY_FAILURES, FAKE_MINED_ROWS="40")
    try:
        first = run.call()
        assert first.returncode == 0, first.stderr[-3000:]
        assert "recipe: stage mine" in first.stderr and (run.stages / "mine").exists()
        assert "GRPO trains on the tasks the SFT model gets wrong greedily of 512 a type of the train split at " \
               "levels 3-5" in first.stderr
        assert "recipe: GRPO trains on 40 mined tasks" in first.stderr and "1 steps an epoch" in first.stderr
        made = calls.read_text().splitlines()
        (evaluation,) = [line for line in made if line.startswith("eval ")]
        words = evaluation.split()

        def last(flag):  # argparse's reading: the last value of a repeated flag
            return [words[i + 1] for i, w in enumerate(words) if w == flag][-1]

        assert (last("--split"), last("--difficulty"), last("--n-per-type"), last("--seed")) == ("train", "3-5", "512", "1")
        assert last("--model").endswith("checkpoints/recipe-sft") and last("--output").endswith("/eval/mine")
        assert last("--max-new-tokens") == "960" and "--samples" not in words and "--temperature" not in words
        assert last("--task-types") == "dyck_language,dyck_language2,dyck_language_reasoning_errors,boolean_expressions,operation"
        (generate,) = [line for line in made if line.startswith("generate ")]
        mined = run.recipe / "data" / "grpo-train-mined.parquet"
        assert f"--tasks-from {run.recipe / 'eval' / 'mine'} --split train " in generate and str(mined) in generate
        assert "--right-per-wrong" not in generate and "replayed" not in first.stderr  # right_per_wrong unset: 0
        assert (tmp_path / "out" / "mine" / "samples.jsonl.gz").exists()  # the verdicts, to judge again
        assert "mine\t" in (tmp_path / "out" / "stages.tsv").read_text()

        if not run.starts.exists():  # the first call's budget ended after mine: the next one starts GRPO
            second = run.call()
            assert second.returncode == 0, second.stderr[-3000:]
        _until(lambda: run.starts.exists())
        _until(lambda: "args=" in (run.recipe / "logs" / "grpo.log").read_text())
        log = (run.recipe / "logs" / "grpo.log").read_text()
        assert f"TRAIN_DATA={mined} " in log
        assert " data.custom_cls.path=null data.custom_cls.name=null " in log
        assert "recipe: stage mine" not in run.call().stderr  # done: not run again
    finally:
        run.hold.touch()
        run.cleanup()


def test_the_replay_arm_mines_right_tasks_too_and_the_grpo_model_is_judged_again_on_the_mined_tasks(tmp_path):
    """data.lgc_v2.mine.right_per_wrong 1.0: stage mine passes --right-per-wrong 1 to generate and says
    how many of the rows are right tasks replayed.  After GRPO, its held-out evaluation and the
    comparisons, stage eval-grpo-mine judges the GRPO model on exactly the mine stage's tasks and
    compares its verdicts with the SFT model's there (compare-mine-grpo)."""
    config = f"{GREEDY_FAILURES}-positive-replay"
    fake_env, calls = _fake_python(tmp_path)
    (steps,) = _config(config, "trainer.total_training_steps")
    run = _AtGrpo(tmp_path, **fake_env, RECIPE_GRPO_CONFIG=config, FAKE_MINED_ROWS="64", FAKE_MINED_RIGHT="32",
                  FAKE_TOTAL=str(steps))
    run.hold.touch()  # GRPO runs its steps at once
    try:
        outputs = run.until_done(12)
        text = "".join(outputs)
        assert "recipe: and on tasks it gets right there, 1 for each wrong one, replayed as an anchor" in outputs[0]
        assert "recipe: GRPO trains on 64 mined tasks: 32 the SFT model got wrong + 32 it got right, replayed " \
               "(right_per_wrong 1)" in text and "2 steps an epoch" in text
        made = calls.read_text().splitlines()
        (generate,) = [line for line in made if line.startswith("generate ") and "--tasks-from" in line]
        assert " --split train --right-per-wrong 1 --no-progress " in generate
        evaluations = {line.split("--output ")[1].rsplit("/", 1)[1]: line for line in made
                       if line.startswith("eval ") and "--compare" not in line}
        assert list(evaluations) == ["mine", "grpo", "grpo-mine"]  # eval-sft was marked done
        # the mine stage's tasks exactly, the GRPO model's checkpoint
        assert evaluations["grpo-mine"].replace("recipe-grpo", "recipe-sft").replace("/grpo-mine", "/mine") \
            == evaluations["mine"]
        compares = [line.split()[2:4] for line in made if "--compare" in line]
        assert compares[-1] == [str(run.recipe / "eval" / "mine"), str(run.recipe / "eval" / "grpo-mine")]
        assert [Path(a).name for a, _ in compares] == ["base", "sft", "base", "mine"]  # after the held-out ones
        assert f"--json {tmp_path / 'out' / 'compare-mine-grpo.json'}" in made[-1]
        # split by the rows GRPO trained on: fixed failures, broken replayed and unseen right tasks
        assert f" --trained {run.recipe / 'data' / 'grpo-train-mined.parquet'} " in made[-1]
        assert (tmp_path / "out" / "compare-mine-grpo.md").exists()
        assert (tmp_path / "out" / "grpo-mine" / "samples.jsonl.gz").exists()
        table = (tmp_path / "out" / "stages.tsv").read_text().splitlines()
        assert [row.split("\t")[0] for row in table[1:]] == \
            ["model", "data", "sft", "eval-base", "mine", "grpo", "eval-sft", "eval-grpo", "compare", "eval-grpo-mine"]
        assert "recipe: stage eval-grpo-mine" not in run.call().stderr  # done: not run again
    finally:
        run.cleanup()


def test_a_mined_set_smaller_than_one_batch_stops_the_recipe_before_grpo(tmp_path):
    fake_env, _ = _fake_python(tmp_path)
    run = _AtGrpo(tmp_path, **fake_env, RECIPE_GRPO_CONFIG=GREEDY_FAILURES, FAKE_MINED_ROWS="8")
    try:
        proc = run.call()
        assert proc.returncode == 1
        assert "the SFT model got only 8 of the mined tasks wrong, fewer than one GRPO batch (32)" in proc.stderr
        assert not (run.stages / "mine").exists() and not run.starts.exists()
    finally:
        run.cleanup()


def test_a_mine_seed_inside_the_sft_data_is_refused_before_any_work(tmp_path):
    import shutil

    config_dir = tmp_path / "repo" / "train" / "config"
    shutil.copytree(REPO / "train" / "scripts", tmp_path / "repo" / "train" / "scripts")
    shutil.copytree(REPO / "train" / "config", config_dir)
    part = config_dir / f"_{GREEDY_FAILURES}.yaml"  # the arm's settings
    text = part.read_text().replace("seed: 1\n", "seed: 0\n")
    assert "seed: 0\n" in text
    part.write_text(text)
    proc = subprocess.run(["bash", str(tmp_path / "repo" / "train" / "scripts" / "lgc-v2-recipe-1gpu.sh")], cwd=tmp_path,
                          env={**_env(tmp_path), "RECIPE_GRPO_CONFIG": GREEDY_FAILURES, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "data.lgc_v2.mine.seed=0" in proc.stderr and "would include the SFT data's" in proc.stderr
    assert not (tmp_path / "recipe" / "stages").exists() or not any((tmp_path / "recipe" / "stages").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("config, estimator", [(GREEDY_FAILURES, "grpo"),
                                               (f"{GREEDY_FAILURES}-positive", "veritas_positive_samples"),
                                               (f"{GREEDY_FAILURES}-positive-replay", "veritas_positive_samples")])
def test_dry_run_with_a_mining_config_validates_grpo_on_a_stand_in_for_the_mined_file(tmp_path, config, estimator):
    import pyarrow.parquet as pq

    # the arm's own command (its comment): the SFT of levels 1-5
    env = {**_env(tmp_path), "RECIPE_GRPO_CONFIG": config, "RECIPE_SFT_CONFIG": "sft-smollm2-135m-1gpu-levels-1-5",
           "RECIPE_SFT_LEVELS": "1-5", "RECIPE_EVAL_LEVELS": "1-5"}
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    recipe = tmp_path / "recipe"
    log = (recipe / "logs" / "grpo.log").read_text()
    assert f"ok: train/config/{config}.yaml composed and validated" in log
    # the estimator verl will look up, found registered by the check (it refuses an unknown one)
    assert f"  adv_estimator: {estimator}\n" in log
    stand_in = recipe / "data" / "grpo-train-mined-dry-run.parquet"
    assert f"TRAIN_DATA={stand_in}" in proc.stderr and "data.custom_cls.path=null" in proc.stderr
    info = pq.read_table(stand_in, columns=["extra_info"]).column("extra_info").to_pylist()
    assert len(info) == 32 and {i["split"] for i in info} == {"train"} and {i["difficulty"] for i in info} == {3, 4, 5}
    assert "recipe: stage mine" not in proc.stderr  # the GPU's work
