#!/usr/bin/env bash
# Supervised fine-tuning on LGC-V2 tasks with verl 0.9.1's SFT trainer (torchrun + FSDP).
#
#   train/scripts/lgc-v2-SFT-trainer.sh [--dry-run] [HYDRA_OVERRIDE ...]
#
# Every knob below is an environment variable with the default shown (set them in the shell or
# in .env); anything else goes to verl as a Hydra override at the end of the command line, e.g.
#   train/scripts/lgc-v2-SFT-trainer.sh optim.lr_warmup_steps_ratio=0.05
# --dry-run checks .env, the data, the model and the composed verl config, prints the command
# and exits without training.
#
# Resuming: checkpoints go to train/artifacts/checkpoints/$WANDB_EXP/global_step_N and verl
# resumes from the latest one (trainer.resume_mode=auto).  WANDB_EXP is auto-named per launch,
# so to continue a run either set WANDB_EXP to its name or set RESUME=1 (latest run of this model).
#
# No GPU: refused unless ALLOW_CPU=1, which trains on CPU (the embedded 135M demo model):
#   ALLOW_CPU=1 MODEL_PATH=train/models/HuggingFaceTB/SmolLM2-135M-Instruct \
#     TRAIN_BATCH_SIZE=4 MICRO_BATCH_SIZE=2 TOTAL_STEPS=4 train/scripts/lgc-v2-SFT-trainer.sh

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

parse_launcher_args "$@"
set -- "${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"}"
init_common

# ---- hardware: GPUs, or CPU when explicitly allowed
detect_gpus

# ---- model: MODEL_PATH (local), else MODEL_ID from train/models/ or the Hub (needs HF_TOKEN)
resolve_model "Qwen/Qwen3Guard-Gen-8B"

# ---- data: chat `messages` rows written by `veritas generate --format sft`
TRAIN_DATA="${TRAIN_DATA:-$VERITAS_ROOT/train/parquet/train.parquet}"
VAL_DATA="${VAL_DATA:-$VERITAS_ROOT/train/parquet/val.parquet}"
check_data sft "$TRAIN_DATA" "training data"
if [[ "$VAL_DATA" == none ]]; then
	VAL_FILES=null
else
	check_data sft "$VAL_DATA" "validation data"
	VAL_FILES="$VAL_DATA"
fi

# ---- hyper-parameters
TRAIN_BATCH_SIZE="${TRAIN_BATCH_SIZE:-32}"
MICRO_BATCH_SIZE="${MICRO_BATCH_SIZE:-8}"
MAX_LENGTH="${MAX_LENGTH:-2048}"
TRUNCATION="${TRUNCATION:-error}"
LR="${LR:-2e-6}"
BETAS="${BETAS:-[0.9,0.98]}"
WEIGHT_DECAY="${WEIGHT_DECAY:-0.05}"
EPOCHS="${EPOCHS:-10}"
TOTAL_STEPS="${TOTAL_STEPS:-}"
SAVE_FREQ="${SAVE_FREQ:-50}"
TEST_FREQ="${TEST_FREQ:-50}"
DTYPE="${DTYPE:-bfloat16}"
ENGINE_STRATEGY="${ENGINE_STRATEGY:-fsdp2}"
# flash-attn is not in the image: sdpa attention, padded batches.  With flash-attn installed:
# ATTN_IMPL=flash_attention_2 USE_REMOVE_PADDING=True.
ATTN_IMPL="${ATTN_IMPL:-sdpa}"
USE_REMOVE_PADDING="${USE_REMOVE_PADDING:-False}"
# False: MICRO_BATCH_SIZE sequences per forward; True: packs up to MAX_TOKEN_LEN_PER_GPU tokens.
USE_DYNAMIC_BSZ="${USE_DYNAMIC_BSZ:-False}"
MAX_TOKEN_LEN_PER_GPU="${MAX_TOKEN_LEN_PER_GPU:-$((MAX_LENGTH * MICRO_BATCH_SIZE))}"
SAVE_CONTENTS="${SAVE_CONTENTS:-[model,optimizer,extra]}"
MAX_CKPT_TO_KEEP="${MAX_CKPT_TO_KEEP:-null}"
LOGGER="${LOGGER:-[console,file,wandb]}"
for knob in TRAIN_BATCH_SIZE MICRO_BATCH_SIZE MAX_LENGTH EPOCHS; do
	require_int "$knob" "${!knob}" 1
done
[[ -z "$TOTAL_STEPS" ]] || require_int TOTAL_STEPS "$TOTAL_STEPS" 1
# verl drops the last partial batch: fewer rows than one batch would train nothing.
TRAIN_ROWS="$(parquet_rows "$TRAIN_DATA")"
((TRAIN_ROWS >= TRAIN_BATCH_SIZE)) ||
	die "training data has $TRAIN_ROWS rows, fewer than TRAIN_BATCH_SIZE=$TRAIN_BATCH_SIZE: not one step would run"

# ---- hardware-specific settings
build_torchrun
if [[ "$DEVICE_MODE" == cpu ]]; then
	# gloo collectives via the CPU platform; no dataloader worker processes on a small host
	DEVICE_ARGS=(trainer.device=cpu data.num_workers="${NUM_WORKERS:-0}")
else
	DEVICE_ARGS=(trainer.device=cuda data.num_workers="${NUM_WORKERS:-8}")
fi

# ---- experiment name, checkpoints, wandb, Hydra outputs
resolve_experiment sft "batch_size-$TRAIN_BATCH_SIZE-lr-$LR-epochs-$EPOCHS-max_length-$MAX_LENGTH"
setup_wandb sft
setup_hydra_outputs

DATA_ARGS=(
	data.train_files="$TRAIN_DATA"
	data.val_files="$VAL_FILES"
	data.messages_key=messages
	data.train_batch_size="$TRAIN_BATCH_SIZE"
	data.micro_batch_size_per_gpu="$MICRO_BATCH_SIZE"
	data.max_length="$MAX_LENGTH"
	data.truncation="$TRUNCATION"
	data.use_dynamic_bsz="$USE_DYNAMIC_BSZ"
	data.max_token_len_per_gpu="$MAX_TOKEN_LEN_PER_GPU"
)
MODEL_ARGS=(
	model.path="$MODEL_PATH"
	+model.override_config.attn_implementation="$ATTN_IMPL"
	model.use_remove_padding="$USE_REMOVE_PADDING"
)
ENGINE_ARGS=(
	engine.strategy="$ENGINE_STRATEGY"
	engine.dtype="$DTYPE"
)
OPTIM_ARGS=(
	optim.lr="$LR"
	optim.betas="$BETAS"
	optim.weight_decay="$WEIGHT_DECAY"
)
TRAINER_ARGS=(
	trainer.project_name="$WANDB_PROJECT"
	trainer.experiment_name="$WANDB_EXP"
	trainer.default_local_dir="$CHECKPOINT_DIR"
	trainer.resume_mode=auto
	trainer.total_epochs="$EPOCHS"
	trainer.save_freq="$SAVE_FREQ"
	trainer.test_freq="$TEST_FREQ"
	trainer.logger="$LOGGER"
	trainer.max_ckpt_to_keep="$MAX_CKPT_TO_KEEP"
	trainer.nnodes="$NNODES"
	trainer.n_gpus_per_node="$NPROC_PER_NODE"
	checkpoint.save_contents="$SAVE_CONTENTS"
)
[[ -n "$TOTAL_STEPS" ]] && TRAINER_ARGS+=(trainer.total_training_steps="$TOTAL_STEPS")
HYDRA_ARGS=(hydra.run.dir="$HYDRA_RUN_DIR")

# "$@" last: the caller's Hydra overrides win over everything above.
OVERRIDES=(
	"${DATA_ARGS[@]}"
	"${MODEL_ARGS[@]}"
	"${ENGINE_ARGS[@]}"
	"${OPTIM_ARGS[@]}"
	"${TRAINER_ARGS[@]}"
	"${DEVICE_ARGS[@]}"
	"${HYDRA_ARGS[@]}"
	"$@"
)

if [[ "$DRY_RUN" == 1 ]]; then
	compose_config sft_trainer "${OVERRIDES[@]}"
	print_cmd "${TORCHRUN_CMD[@]}" -m verl.trainer.sft_trainer "${OVERRIDES[@]}"
	log "dry run OK: nothing was trained"
	exit 0
fi

mkdir -p -- "$CHECKPOINT_DIR" "$HYDRA_RUN_DIR" "$WANDB_DIR"
run_cmd "${TORCHRUN_CMD[@]}" -m verl.trainer.sft_trainer "${OVERRIDES[@]}"
