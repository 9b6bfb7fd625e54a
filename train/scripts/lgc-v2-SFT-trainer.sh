#!/usr/bin/env bash
# Supervised fine-tuning on LGC-V2 tasks with verl 0.9.1's SFT trainer (torchrun + FSDP).
#
#   [RUN_CONFIG=<name|file.yaml>] train/scripts/lgc-v2-SFT-trainer.sh [--dry-run] [HYDRA_OVERRIDE ...]
#
# What to train and how is a run config, train/config/<name>.yaml (default
# sft-qwen3guard-gen-8b-8gpu), extending verl's sft_trainer_engine.yaml; any Hydra override goes
# at the end and wins, e.g.
#   train/scripts/lgc-v2-SFT-trainer.sh optim.lr=1e-5 trainer.total_training_steps=200
# Environment variables (shell or .env) describe the host only: model location, GPUs, nodes,
# wandb, data files, output roots (docs/training.md, "Run configurations").  Before every run the
# config is composed exactly as the trainer will compose it and validated; --dry-run also checks
# .env, the data and the model, prints the resolved config and the command, and trains nothing.
#
# Resuming: checkpoints go to train/artifacts/checkpoints/$WANDB_EXP/global_step_N and verl
# resumes from the latest one (trainer.resume_mode=auto).  WANDB_EXP is auto-named per launch,
# so to continue a run either set WANDB_EXP to its name or set RESUME=1 (latest run of this model).
#
# No GPU: refused unless ALLOW_CPU=1, which trains on CPU (the embedded 135M model):
#   ALLOW_CPU=1 RUN_CONFIG=sft-smollm2-135m-cpu train/scripts/lgc-v2-SFT-trainer.sh

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

parse_launcher_args "$@"
set -- "${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"}"
init_common
select_run_config sft-qwen3guard-gen-8b-8gpu
check_retired_variables sft
# What the launcher needs from the run config (with the caller's overrides).
config_values sft model.path model.override_config.attn_implementation model.use_remove_padding \
	data.max_length data.truncation model.use_liger model.fused_kernel_options.impl_backend -- "$@"

# ---- hardware: GPUs, or CPU when explicitly allowed
detect_gpus

# ---- model: MODEL_PATH (local), else MODEL_ID (default: the run config's) from train/models/ or the Hub
resolve_model "${CONFIG_VALUES[0]}"
check_attention model.override_config.attn_implementation "${CONFIG_VALUES[1]}" "${CONFIG_VALUES[2]}"
check_liger model "${CONFIG_VALUES[5]}" "${CONFIG_VALUES[6]}"

# ---- data: chat `messages` rows written by `veritas generate --format sft`
TRAIN_DATA="${TRAIN_DATA:-$VERITAS_ROOT/train/parquet/train.parquet}"
VAL_DATA="${VAL_DATA:-$VERITAS_ROOT/train/parquet/val.parquet}"
# with data.truncation=error verl stops at the first batch holding a row over data.max_length,
# possibly long into the run: every row is counted here instead, with the model's chat template
# (a model still to be fetched from the Hub is counted by verl alone)
LENGTH_ARGS=()
if [[ "${CONFIG_VALUES[4]}" == error && -f "$MODEL_PATH/tokenizer_config.json" ]]; then
	LENGTH_ARGS=(--max-length "${CONFIG_VALUES[3]}" --tokenizer "$MODEL_PATH")
fi
check_data sft "$TRAIN_DATA" "training data" ${LENGTH_ARGS[@]+"${LENGTH_ARGS[@]}"}
if [[ "$VAL_DATA" == none ]]; then
	VAL_FILES=null
else
	check_data sft "$VAL_DATA" "validation data" ${LENGTH_ARGS[@]+"${LENGTH_ARGS[@]}"}
	VAL_FILES="$VAL_DATA"
fi

# ---- hardware-specific settings
build_torchrun
if [[ "$DEVICE_MODE" == cpu ]]; then
	# gloo collectives via the CPU platform; no dataloader worker processes on a small host
	DEVICE_ARGS=(trainer.device=cpu data.num_workers=0)
else
	DEVICE_ARGS=(trainer.device=cuda)
fi

# ---- experiment name, checkpoints, wandb, Hydra outputs
resolve_experiment sft "$RUN_CONFIG_NAME"
setup_wandb sft
setup_hydra_outputs

# What depends on this host and this launch; the run config holds everything else.
HOST_ARGS=(
	model.path="$MODEL_PATH"
	data.train_files="$TRAIN_DATA"
	data.val_files="$VAL_FILES"
	trainer.project_name="$WANDB_PROJECT"
	trainer.experiment_name="$WANDB_EXP"
	trainer.default_local_dir="$CHECKPOINT_DIR"
	trainer.resume_mode=auto
	trainer.nnodes="$NNODES"
	trainer.n_gpus_per_node="$NPROC_PER_NODE"
	"${DEVICE_ARGS[@]}"
	hydra.run.dir="$HYDRA_RUN_DIR"
)
# "$@" last: the caller's Hydra overrides win over everything above.
OVERRIDES=("${HOST_ARGS[@]}" "$@")

compose_config sft "${OVERRIDES[@]}"
TRAIN_CMD=("${TORCHRUN_CMD[@]}" -m verl.trainer.sft_trainer "${RUN_CONFIG_ARGS[@]}" "${OVERRIDES[@]}")
if [[ "$DRY_RUN" == 1 ]]; then
	print_cmd "${TRAIN_CMD[@]}"
	log "dry run OK: nothing was trained"
	exit 0
fi

mkdir -p -- "$CHECKPOINT_DIR" "$HYDRA_RUN_DIR" "$WANDB_DIR"
run_cmd "${TRAIN_CMD[@]}"
