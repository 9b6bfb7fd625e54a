#!/usr/bin/env bash
# GRPO on LGC-V2 tasks with verl 0.9.1's PPO trainer (Ray + FSDP actor + vLLM rollout).
#
#   train/scripts/lgc-v2-RL-GRPO-trainer.sh [--dry-run] [HYDRA_OVERRIDE ...]
#
# Every knob below is an environment variable with the default shown (set them in the shell or
# in .env); anything else goes to verl as a Hydra override at the end of the command line, e.g.
#   train/scripts/lgc-v2-RL-GRPO-trainer.sh actor_rollout_ref.actor.clip_ratio_high=0.28
# --dry-run checks .env, the model, the data (when a parquet is used) and the complete verl
# config composed from verl's own Hydra files, prints the command and exits without training.
#
# Data: tasks generated on the fly by train/tools/dataset-manager.py (lgc_v2://train, and the
# disjoint lgc_v2://val split for validation), or an RL parquet (`veritas generate --format rl`)
# in TRAIN_DATA / VAL_DATA.  Reward: train/tools/reward-manager.py.
#
# Resuming: checkpoints go to train/artifacts/RL/checkpoints/$WANDB_EXP/global_step_N and verl
# resumes from the latest one (trainer.resume_mode=auto).  WANDB_EXP is auto-named per launch,
# so to continue a run either set WANDB_EXP to its name or set RESUME=1 (latest run of this model).
#
# A GPU is required (vLLM); only a dry run goes on without one.  RAY_ADDRESS=<address> joins an
# existing Ray cluster instead of starting one (see docs/training.md, "Ray cluster").
#
# The defaults are sized for a 4B model on 4-8 80 GB GPUs; the embedded demo model on one GPU:
#   MODEL_PATH=train/models/HuggingFaceTB/SmolLM2-135M-Instruct TRAIN_BATCH_SIZE=8 \
#     PPO_MINI_BATCH_SIZE=8 TOTAL_STEPS=4 train/scripts/lgc-v2-RL-GRPO-trainer.sh

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

parse_launcher_args "$@"
set -- "${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"}"
init_common

# ---- hardware: GPUs only (vLLM has no CPU path here); a dry run may compose without one
# ALLOW_CPU is an SFT knob: GRPO never switches verl to the CPU platform.
ALLOW_CPU=0
[[ -z "${GPU_COUNT:-}" ]] || require_int GPU_COUNT "$GPU_COUNT"
# Count in a subshell, where detect_gpus's CPU fallback changes nothing of this shell.
if [[ "$(ALLOW_CPU=1 && detect_gpus >/dev/null 2>&1 && echo "$GPU_COUNT")" == 0 ]]; then
	[[ "$DRY_RUN" == 1 ]] ||
		die "no GPU found (nvidia-smi lists none; GPU_COUNT overrides detection): GRPO needs one for the vLLM rollout"
	GPU_COUNT="${DRY_RUN_GPU_COUNT:-4}"
	require_int DRY_RUN_GPU_COUNT "$GPU_COUNT" 1
	notice "no GPU found: a real run stops here (the vLLM rollout needs a GPU); the dry run composes for GPU_COUNT=$GPU_COUNT"
fi
detect_gpus

# ---- model: MODEL_PATH (local), else MODEL_ID from train/models/ or the Hub (needs HF_TOKEN)
resolve_model "Qwen/Qwen3-4B-Instruct-2507"

# ---- data: lgc_v2://<split> (generated on the fly) or an RL parquet, for training and validation
TRAIN_DATA="${TRAIN_DATA:-lgc_v2://train}"
VAL_DATA="${VAL_DATA:-lgc_v2://val}"
is_dynamic() { [[ "$1" == lgc_v2://* || "$1" == lgc-v2://* ]]; }
is_dynamic "$TRAIN_DATA" || check_data rl "$TRAIN_DATA" "training data"
is_dynamic "$VAL_DATA" || check_data rl "$VAL_DATA" "validation data"
# data.lgc_v2 settings of the dynamic dataset (docs/training.md, "verl adapters"); empty = the dataset's default
TASK_TYPES="${TASK_TYPES:-}"             # comma-separated type names
DIFFICULTY="${DIFFICULTY:-}"             # one level 1..10
DIFFICULTY_RANGE="${DIFFICULTY_RANGE:-}" # lo-hi, e.g. 1-6
LANGUAGE="${LANGUAGE:-}"                 # en | zh
DATA_SEED="${DATA_SEED:-}"               # which tasks
DATASET_SIZE="${DATASET_SIZE:-}"         # virtual train length (100000)
VAL_SIZE="${VAL_SIZE:-}"                 # virtual val length (256)
REASONING="${REASONING:-}"               # true: ask for <think>...</think> before the answer
FORMAT_PENALTY="${FORMAT_PENALTY:-}"     # reward of an unreadable answer is -FORMAT_PENALTY (0.0)

# ---- hyper-parameters (GRPO: no critic; KL to the reference as a loss term)
TRAIN_BATCH_SIZE="${TRAIN_BATCH_SIZE:-64}"       # prompts per step
ROLLOUT_N="${ROLLOUT_N:-8}"                      # responses per prompt (the GRPO group)
PPO_MINI_BATCH_SIZE="${PPO_MINI_BATCH_SIZE:-16}" # prompts per actor update: 64/16 = 4 updates a step
PPO_MICRO_BATCH_SIZE_PER_GPU="${PPO_MICRO_BATCH_SIZE_PER_GPU:-2}"
LOG_PROB_MICRO_BATCH_SIZE_PER_GPU="${LOG_PROB_MICRO_BATCH_SIZE_PER_GPU:-4}"
# The longest LGC-V2 prompt is ~1.8k tokens; verl left-truncates longer ones (cutting the task).
MAX_PROMPT_LENGTH="${MAX_PROMPT_LENGTH:-2048}"
MAX_RESPONSE_LENGTH="${MAX_RESPONSE_LENGTH:-2048}"
USE_DYNAMIC_BSZ="${USE_DYNAMIC_BSZ:-False}"
LR="${LR:-1e-6}"
USE_KL_LOSS="${USE_KL_LOSS:-True}"
KL_LOSS_COEF="${KL_LOSS_COEF:-0.001}"
KL_LOSS_TYPE="${KL_LOSS_TYPE:-low_var_kl}"
ENTROPY_COEFF="${ENTROPY_COEFF:-0}"
TEMPERATURE="${TEMPERATURE:-1.0}"
TOTAL_EPOCHS="${TOTAL_EPOCHS:-1}"
# The dataset is virtual (DATASET_SIZE // TRAIN_BATCH_SIZE steps an epoch): steps decide.  Empty: epochs.
TOTAL_STEPS="${TOTAL_STEPS-500}"
SAVE_FREQ="${SAVE_FREQ:-50}"
TEST_FREQ="${TEST_FREQ:-25}"
VAL_BEFORE_TRAIN="${VAL_BEFORE_TRAIN:-True}"
LOG_VAL_GENERATIONS="${LOG_VAL_GENERATIONS:-10}"
# A 4B actor checkpoint with optimizer state is ~50 GB: keep the last few only (null: all).
MAX_CKPT_TO_KEEP="${MAX_CKPT_TO_KEEP:-2}"
LOGGER="${LOGGER:-[console,wandb]}"

# ---- models in memory: FSDP2 actor and reference, vLLM rollout sharing the GPUs
ACTOR_STRATEGY="${ACTOR_STRATEGY:-fsdp2}"
ROLLOUT_TP="${ROLLOUT_TP:-1}" # a 4B model fits one GPU: tensor parallel 1 gives the most vLLM replicas
GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.6}"
ENFORCE_EAGER="${ENFORCE_EAGER:-False}" # True: no CUDA graphs (faster start, slower generation)
GRADIENT_CHECKPOINTING="${GRADIENT_CHECKPOINTING:-True}"
ACTOR_PARAM_OFFLOAD="${ACTOR_PARAM_OFFLOAD:-False}"
ACTOR_OPTIMIZER_OFFLOAD="${ACTOR_OPTIMIZER_OFFLOAD:-False}"
REF_PARAM_OFFLOAD="${REF_PARAM_OFFLOAD:-True}"
# vLLM's FlashInfer top-p/top-k sampler needs JIT kernels the image may lack; PyTorch's is enough.
export VLLM_USE_FLASHINFER_SAMPLER="${VLLM_USE_FLASHINFER_SAMPLER:-0}"
# Full Python tracebacks from Hydra apps instead of a one-line summary.
export HYDRA_FULL_ERROR="${HYDRA_FULL_ERROR:-1}"
# ...and both in front of the printed command, so that it reruns as it ran.
SHOWN_ENV+=(VLLM_USE_FLASHINFER_SAMPLER HYDRA_FULL_ERROR)

# Attention: flash-attn when it imports (and then padding-free batches), else PyTorch sdpa with
# padded batches.  find_spec first: no torch import when flash-attn is not even installed.
has_flash_attn() {
	"$PYTHON" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("flash_attn") is None)' 2>/dev/null &&
		"$PYTHON" -c 'import flash_attn' >/dev/null 2>&1
}
if [[ -z "${ATTN_IMPL:-}" ]]; then
	if has_flash_attn; then ATTN_IMPL=flash_attention_2; else ATTN_IMPL=sdpa; fi
elif [[ "$ATTN_IMPL" == flash_attention* ]] && ! has_flash_attn; then
	die "ATTN_IMPL=$ATTN_IMPL but flash_attn does not import with $PYTHON: use ATTN_IMPL=sdpa"
fi
# verl removes padding through its flash-attention varlen patch: with sdpa it must stay off.
case "$ATTN_IMPL" in
flash_attention*) USE_REMOVE_PADDING="${USE_REMOVE_PADDING:-True}" ;;
*) USE_REMOVE_PADDING="${USE_REMOVE_PADDING:-False}" ;;
esac
log "attention: $ATTN_IMPL (use_remove_padding=$USE_REMOVE_PADDING)"

# Integers are checked before any shell arithmetic sees them.
for knob in TRAIN_BATCH_SIZE ROLLOUT_N PPO_MINI_BATCH_SIZE PPO_MICRO_BATCH_SIZE_PER_GPU \
	LOG_PROB_MICRO_BATCH_SIZE_PER_GPU MAX_PROMPT_LENGTH MAX_RESPONSE_LENGTH TOTAL_EPOCHS ROLLOUT_TP; do
	require_int "$knob" "${!knob}" 1
done
[[ -z "$TOTAL_STEPS" ]] || require_int TOTAL_STEPS "$TOTAL_STEPS" 1
# Token budget of one micro-batch when USE_DYNAMIC_BSZ=True: four full-length sequences.
PPO_MAX_TOKEN_LEN_PER_GPU="${PPO_MAX_TOKEN_LEN_PER_GPU:-$(((MAX_PROMPT_LENGTH + MAX_RESPONSE_LENGTH) * 4))}"

# ---- the GPUs: nnodes x n_gpus_per_node, all shared by actor, reference and rollout
NNODES="${NNODES:-1}"
require_int NNODES "$NNODES" 1
TOTAL_GPUS=$((NNODES * NPROC_PER_NODE))
# What verl checks at start-up, said in launcher terms before any model is loaded.
((TRAIN_BATCH_SIZE % PPO_MINI_BATCH_SIZE == 0)) ||
	die "TRAIN_BATCH_SIZE=$TRAIN_BATCH_SIZE is not a multiple of PPO_MINI_BATCH_SIZE=$PPO_MINI_BATCH_SIZE"
((PPO_MINI_BATCH_SIZE * ROLLOUT_N % TOTAL_GPUS == 0)) ||
	die "PPO_MINI_BATCH_SIZE*ROLLOUT_N=$((PPO_MINI_BATCH_SIZE * ROLLOUT_N)) responses per update do not split evenly over $TOTAL_GPUS GPUs"
((NPROC_PER_NODE % ROLLOUT_TP == 0)) ||
	die "ROLLOUT_TP=$ROLLOUT_TP does not divide the $NPROC_PER_NODE GPUs per node"

# ---- Ray: a fresh local cluster, or the existing one at RAY_ADDRESS
# Hydra value in single quotes (addresses have ':' and '[...]'); quotes in it cannot be escaped safely.
hydra_quote() { # NAME VALUE
	[[ "$2" != *"'"* && "$2" != *\\* ]] || die "$1 must not contain quotes or backslashes"
	printf "'%s'" "$2"
}
RAY_ARGS=()
if [[ -n "${RAY_ADDRESS:-}" ]]; then
	# ray.init() would read RAY_ADDRESS itself; passing it makes the config say what runs where.
	RAY_ARGS+=("+ray_kwargs.ray_init.address=$(hydra_quote RAY_ADDRESS "$RAY_ADDRESS")")
	log "Ray: joining the cluster at $RAY_ADDRESS"
fi

# ---- experiment name, checkpoints, wandb, Hydra outputs
CHECKPOINT_ROOT="${CHECKPOINT_ROOT:-$VERITAS_ROOT/train/artifacts/RL/checkpoints}"
resolve_experiment grpo "grpo-batch_size-$TRAIN_BATCH_SIZE-n-$ROLLOUT_N-lr-$LR-max_response_length-$MAX_RESPONSE_LENGTH"
setup_wandb grpo
setup_hydra_outputs

if [[ -n "${RAY_ADDRESS:-}" ]]; then
	# Workers of an existing cluster do not inherit this shell's environment: forward the
	# non-secret settings.  Secrets (WANDB_API_KEY, HF_TOKEN) never go on a command line: export
	# them where the cluster's nodes were started (`ray start`).
	for name in VLLM_USE_FLASHINFER_SAMPLER WANDB_MODE WANDB_PROJECT WANDB_DIR VERL_FILE_LOGGER_PATH; do
		[[ -n "${!name:-}" ]] && RAY_ARGS+=("+ray_kwargs.ray_init.runtime_env.env_vars.$name=$(hydra_quote "$name" "${!name}")")
	done
fi

ALGORITHM_ARGS=(
	algorithm.adv_estimator=grpo
	algorithm.use_kl_in_reward=False
)
DATA_ARGS=(
	data.train_files="$TRAIN_DATA"
	data.val_files="$VAL_DATA"
	data.custom_cls.path="$VERITAS_ROOT/train/tools/dataset-manager.py"
	data.custom_cls.name=LGCV2DynamicDataset
	data.train_batch_size="$TRAIN_BATCH_SIZE"
	data.max_prompt_length="$MAX_PROMPT_LENGTH"
	data.max_response_length="$MAX_RESPONSE_LENGTH"
)
[[ -n "$TASK_TYPES" ]] && DATA_ARGS+=("+data.lgc_v2.task_types=[${TASK_TYPES// /}]")
[[ -n "$DIFFICULTY" ]] && DATA_ARGS+=("+data.lgc_v2.difficulty=$DIFFICULTY")
if [[ -n "$DIFFICULTY_RANGE" ]]; then
	[[ "$DIFFICULTY_RANGE" =~ ^([0-9]+)-([0-9]+)$ ]] || die "DIFFICULTY_RANGE=$DIFFICULTY_RANGE is not of the form lo-hi (e.g. 1-6)"
	DATA_ARGS+=("+data.lgc_v2.difficulty_range=[${BASH_REMATCH[1]},${BASH_REMATCH[2]}]")
fi
[[ -n "$LANGUAGE" ]] && DATA_ARGS+=("+data.lgc_v2.language=$LANGUAGE")
[[ -n "$DATA_SEED" ]] && DATA_ARGS+=("+data.lgc_v2.seed=$DATA_SEED")
[[ -n "$DATASET_SIZE" ]] && DATA_ARGS+=("+data.lgc_v2.size=$DATASET_SIZE")
[[ -n "$VAL_SIZE" ]] && DATA_ARGS+=("+data.lgc_v2.val_size=$VAL_SIZE")
[[ -n "$REASONING" ]] && DATA_ARGS+=("+data.lgc_v2.reasoning=$REASONING")
REWARD_ARGS=(
	reward.custom_reward_function.path="$VERITAS_ROOT/train/tools/reward-manager.py"
	reward.custom_reward_function.name=compute_lgc_v2_score
)
[[ -n "$FORMAT_PENALTY" ]] && REWARD_ARGS+=("+reward.custom_reward_function.reward_kwargs.format_penalty=$FORMAT_PENALTY")
MODEL_ARGS=(
	actor_rollout_ref.model.path="$MODEL_PATH"
	+actor_rollout_ref.model.override_config.attn_implementation="$ATTN_IMPL"
	actor_rollout_ref.model.use_remove_padding="$USE_REMOVE_PADDING"
	actor_rollout_ref.model.enable_gradient_checkpointing="$GRADIENT_CHECKPOINTING"
)
ACTOR_ARGS=(
	actor_rollout_ref.actor.strategy="$ACTOR_STRATEGY"
	actor_rollout_ref.actor.optim.lr="$LR"
	actor_rollout_ref.actor.ppo_mini_batch_size="$PPO_MINI_BATCH_SIZE"
	actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu="$PPO_MICRO_BATCH_SIZE_PER_GPU"
	actor_rollout_ref.actor.use_dynamic_bsz="$USE_DYNAMIC_BSZ"
	actor_rollout_ref.actor.ppo_max_token_len_per_gpu="$PPO_MAX_TOKEN_LEN_PER_GPU"
	actor_rollout_ref.actor.use_kl_loss="$USE_KL_LOSS"
	actor_rollout_ref.actor.kl_loss_coef="$KL_LOSS_COEF"
	actor_rollout_ref.actor.kl_loss_type="$KL_LOSS_TYPE"
	actor_rollout_ref.actor.entropy_coeff="$ENTROPY_COEFF"
	actor_rollout_ref.actor.fsdp_config.param_offload="$ACTOR_PARAM_OFFLOAD"
	actor_rollout_ref.actor.fsdp_config.optimizer_offload="$ACTOR_OPTIMIZER_OFFLOAD"
	actor_rollout_ref.actor.checkpoint.save_contents="${SAVE_CONTENTS:-[model,optimizer,extra]}"
	actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu="$LOG_PROB_MICRO_BATCH_SIZE_PER_GPU"
	actor_rollout_ref.ref.fsdp_config.param_offload="$REF_PARAM_OFFLOAD"
)
ROLLOUT_ARGS=(
	actor_rollout_ref.rollout.name=vllm
	actor_rollout_ref.rollout.n="$ROLLOUT_N"
	actor_rollout_ref.rollout.temperature="$TEMPERATURE"
	actor_rollout_ref.rollout.tensor_model_parallel_size="$ROLLOUT_TP"
	actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEMORY_UTILIZATION"
	actor_rollout_ref.rollout.enforce_eager="$ENFORCE_EAGER"
	actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu="$LOG_PROB_MICRO_BATCH_SIZE_PER_GPU"
)
TRAINER_ARGS=(
	trainer.project_name="$WANDB_PROJECT"
	trainer.experiment_name="$WANDB_EXP"
	trainer.default_local_dir="$CHECKPOINT_DIR"
	trainer.resume_mode=auto
	trainer.total_epochs="$TOTAL_EPOCHS"
	trainer.save_freq="$SAVE_FREQ"
	trainer.test_freq="$TEST_FREQ"
	trainer.val_before_train="$VAL_BEFORE_TRAIN"
	trainer.log_val_generations="$LOG_VAL_GENERATIONS"
	trainer.max_actor_ckpt_to_keep="$MAX_CKPT_TO_KEEP"
	trainer.logger="$LOGGER"
	trainer.nnodes="$NNODES"
	trainer.n_gpus_per_node="$NPROC_PER_NODE"
)
[[ -n "$TOTAL_STEPS" ]] && TRAINER_ARGS+=(trainer.total_training_steps="$TOTAL_STEPS")
HYDRA_ARGS=(hydra.run.dir="$HYDRA_RUN_DIR")

# "$@" last: the caller's Hydra overrides win over everything above.
OVERRIDES=(
	"${ALGORITHM_ARGS[@]}"
	"${DATA_ARGS[@]}"
	"${REWARD_ARGS[@]}"
	"${MODEL_ARGS[@]}"
	"${ACTOR_ARGS[@]}"
	"${ROLLOUT_ARGS[@]}"
	"${TRAINER_ARGS[@]}"
	"${RAY_ARGS[@]+"${RAY_ARGS[@]}"}"
	"${HYDRA_ARGS[@]}"
	"$@"
)

if [[ "$DRY_RUN" == 1 ]]; then
	compose_config ppo_trainer "${OVERRIDES[@]}"
	print_cmd "$PYTHON" -m verl.trainer.main_ppo "${OVERRIDES[@]}"
	log "dry run OK: nothing was trained"
	exit 0
fi

ensure_flashinfer
mkdir -p -- "$CHECKPOINT_DIR" "$HYDRA_RUN_DIR" "$WANDB_DIR"
run_cmd "$PYTHON" -m verl.trainer.main_ppo "${OVERRIDES[@]}"
