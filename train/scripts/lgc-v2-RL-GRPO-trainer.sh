#!/usr/bin/env bash
# GRPO on LGC-V2 tasks with verl 0.9.1's PPO trainer (Ray + FSDP actor + vLLM rollout).
#
#   [RUN_CONFIG=<name|file.yaml>] train/scripts/lgc-v2-RL-GRPO-trainer.sh [--dry-run] [HYDRA_OVERRIDE ...]
#
# What to train and how is a run config, train/config/<name>.yaml (default
# grpo-qwen3-4b-instruct-8gpu), extending verl's ppo_trainer.yaml; any Hydra override goes at the
# end and wins, e.g.
#   train/scripts/lgc-v2-RL-GRPO-trainer.sh actor_rollout_ref.actor.clip_ratio_high=0.28 ++data.lgc_v2.difficulty_range=[1,6]
# Environment variables (shell or .env) describe the host only: model location, GPUs, nodes, Ray
# address, wandb, data files, output roots (docs/training.md, "Run configurations").  Before every
# run the config is composed exactly as main_ppo will compose it and validated (for a run, inside
# the trainer's own process: veritas.verl_adapters.main_ppo, then verl's main_ppo); --dry-run also
# checks .env, the model and parquet data, prints the resolved config and the command, and exits.
#
# Data: tasks generated on the fly by LGCV2DynamicDataset in train/tools/dataset-manager.py
# (lgc_v2://train, and the disjoint lgc_v2://val split for validation), or an RL parquet
# (`veritas generate --format rl`; a file or a directory of them) in TRAIN_DATA / VAL_DATA;
# VAL_DATA=none trains without validation.  Reward: compute_lgc_v2_score in
# train/tools/reward-manager.py.  train/scripts/lgc-v2-GRPO-trainer.sh is an alias of this script.
#
# Resuming: checkpoints go to train/artifacts/RL/checkpoints/$WANDB_EXP/global_step_N and verl
# resumes from the latest one (trainer.resume_mode=auto).  WANDB_EXP is auto-named per launch,
# so to continue a run either set WANDB_EXP to its name or set RESUME=1 (latest run of this model).
#
# A GPU is required (vLLM); only a dry run goes on without one.  RAY_ADDRESS=<address> joins an
# existing Ray cluster instead of starting one (see docs/training.md, "Ray cluster").
#
# The embedded 135M model on one GPU:
#   RUN_CONFIG=grpo-smollm2-135m-1gpu train/scripts/lgc-v2-RL-GRPO-trainer.sh

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

parse_launcher_args "$@"
set -- "${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"}"
init_common
select_run_config grpo-qwen3-4b-instruct-8gpu
check_retired_variables grpo
# What the launcher needs from the run config (with the caller's overrides).
config_values ppo actor_rollout_ref.model.path actor_rollout_ref.model.override_config.attn_implementation \
	actor_rollout_ref.model.use_remove_padding trainer.v1.trainer_mode transfer_queue.backend.storage_backend \
	transfer_queue.backend.SimpleStorage.num_data_storage_units ray_kwargs.ray_init.num_cpus \
	actor_rollout_ref.rollout.agent.default_agent_loop algorithm.adv_estimator \
	actor_rollout_ref.model.use_liger actor_rollout_ref.model.fused_kernel_options.impl_backend -- "$@"
# Our v1 trainers (per-type metrics, curriculum), agent loop (vLLM's final outputs only) and
# advantage estimator are registered by a module verl's processes import; it loads them only where
# verl's trainer, agent-loop package or core_algos is imported.
if [[ "${CONFIG_VALUES[3]}" == veritas_* || "${CONFIG_VALUES[7]}" == veritas_* || "${CONFIG_VALUES[8]}" == veritas_* ]]; then
	add_external_module veritas.verl_ext.registration
fi

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

# ---- model: MODEL_PATH (local), else MODEL_ID (default: the run config's) from train/models/ or the Hub
resolve_model "${CONFIG_VALUES[0]}"
check_attention actor_rollout_ref.model.override_config.attn_implementation "${CONFIG_VALUES[1]}" "${CONFIG_VALUES[2]}"
check_liger actor_rollout_ref.model "${CONFIG_VALUES[9]}" "${CONFIG_VALUES[10]}"

# ---- data: lgc_v2://<split> (generated on the fly) or our RL parquet (a file, or a directory of
# them), for training and validation; VAL_DATA=none: no validation at all.  Any other value is an
# error of the composed config (compose_config below), naming data.train_files / data.val_files.
TRAIN_DATA="${TRAIN_DATA:-lgc_v2://train}"
VAL_DATA="${VAL_DATA:-lgc_v2://val}"
check_rl_data() { # VALUE WHAT: `veritas check-data --kind rl` on each parquet file VALUE names
	local file
	if [[ -d "$1" ]]; then
		for file in "$1"/*.parquet; do
			if [[ -f "$file" ]]; then check_data rl "$file" "$2"; fi
		done
	elif [[ -f "$1" ]]; then
		check_data rl "$1" "$2"
	fi
}
check_rl_data "$TRAIN_DATA" "training data"
if [[ "$VAL_DATA" == none ]]; then
	# verl 0.9.1 still builds a validation set (ours: the val split, never served) and validates
	# only before training and every test_freq steps: both off (docs/training.md, "Running without validation")
	VAL_ARGS=(data.val_files=null trainer.val_before_train=false trainer.test_freq=-1)
	log "validation: none (VAL_DATA=none)"
else
	check_rl_data "$VAL_DATA" "validation data"
	VAL_ARGS=(data.val_files="$VAL_DATA")
fi

# vLLM's FlashInfer top-p/top-k sampler needs JIT kernels the image may lack; PyTorch's is enough.
export VLLM_USE_FLASHINFER_SAMPLER="${VLLM_USE_FLASHINFER_SAMPLER:-0}"
# Full Python tracebacks from Hydra apps instead of a one-line summary.
export HYDRA_FULL_ERROR="${HYDRA_FULL_ERROR:-1}"
# vLLM at its own level, INFO, where verl sets WARN: its start-up lines split the rollout servers'
# start into its processes (python -m veritas.verl_adapters.startup LOG), ~7 lines a step besides.
export VLLM_LOGGING_LEVEL="${VLLM_LOGGING_LEVEL:-INFO}"
# ...and all three in front of the printed command, so that it reruns as it ran.
SHOWN_ENV+=(VLLM_USE_FLASHINFER_SAMPLER HYDRA_FULL_ERROR VLLM_LOGGING_LEVEL)

# ---- the GPUs: nnodes x n_gpus_per_node, all shared by actor, reference and rollout
# (whether the batch sizes split over them is verl's validate_config, run by compose_config)
NNODES="${NNODES:-1}"
require_int NNODES "$NNODES" 1

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

# ---- Ray's CPUs on one node: held for the whole run by TransferQueue (its controller and each
# storage unit, @ray.remote(num_cpus=1)) and by verl's resource pool (3 a GPU:
# ResourcePoolManager.max_colocate_count), and the other actors need 1 free to be placed.  With
# fewer, main_ppo waits forever before its datasets and says nothing (verl's 8 units on an
# 8-CPU host; docs/performance.md).  Ray counts this host's CPUs unless ray_init.num_cpus says.
check_ray_cpus() {
	[[ -z "${RAY_ADDRESS:-}" && "$NNODES" == 1 && "${CONFIG_VALUES[4]}" == SimpleStorage ]] || return 0
	local units="${CONFIG_VALUES[5]}" cpus="${CONFIG_VALUES[6]}" need
	[[ "$units" =~ ^[0-9]+$ ]] || return 0
	[[ "$cpus" =~ ^[0-9]+$ ]] || cpus="$(nproc)"
	need=$((units + 1 + 3 * NPROC_PER_NODE + 1))
	((need <= cpus)) || die "Ray would have $cpus CPUs here and this run needs $need: $((units + 1)) for TransferQueue" \
		"(transfer_queue.backend.SimpleStorage.num_data_storage_units=$units, plus its controller), 3 for each of" \
		"$NPROC_PER_NODE GPU(s) and 1 to place the other actors; with fewer, main_ppo would wait for them forever," \
		"saying nothing: lower the storage units (the one-GPU configs use 2), or run on a host with more CPUs"
}

# ---- experiment name, checkpoints, wandb, Hydra outputs
CHECKPOINT_ROOT="${CHECKPOINT_ROOT:-$VERITAS_ROOT/train/artifacts/RL/checkpoints}"
resolve_experiment grpo "$RUN_CONFIG_NAME"
setup_wandb grpo
setup_hydra_outputs

if [[ -n "${RAY_ADDRESS:-}" ]]; then
	# Workers of an existing cluster do not inherit this shell's environment: forward the
	# non-secret settings.  Secrets (WANDB_API_KEY, HF_TOKEN) never go on a command line: export
	# them where the cluster's nodes were started (`ray start`).  NVLink multicast settings are the
	# caller's (never set here) and reach the workers as given: some hosts hang or fail with it on.
	for name in VLLM_USE_FLASHINFER_SAMPLER VLLM_LOGGING_LEVEL WANDB_MODE WANDB_PROJECT WANDB_DIR VERL_FILE_LOGGER_PATH VERL_USE_EXTERNAL_MODULES \
		FLASH_ATTENTION_CUTE_DSL_CACHE_ENABLED FLASH_ATTENTION_CUTE_DSL_CACHE_DIR NCCL_NVLS_ENABLE TORCH_SYMM_MEM_DISABLE_MULTICAST NVSHMEM_DISABLE_NVLS; do
		[[ -n "${!name:-}" ]] && RAY_ARGS+=("+ray_kwargs.ray_init.runtime_env.env_vars.$name=$(hydra_quote "$name" "${!name}")")
	done
fi

# What depends on this host and this launch; the run config holds everything else.  The dataset
# class and reward function are ours, by absolute path (train/tools/).
HOST_ARGS=(
	actor_rollout_ref.model.path="$MODEL_PATH"
	data.train_files="$TRAIN_DATA"
	"${VAL_ARGS[@]}"
	data.custom_cls.path="$VERITAS_ROOT/train/tools/dataset-manager.py"
	data.custom_cls.name=LGCV2DynamicDataset
	reward.custom_reward_function.path="$VERITAS_ROOT/train/tools/reward-manager.py"
	reward.custom_reward_function.name=compute_lgc_v2_score
	trainer.project_name="$WANDB_PROJECT"
	trainer.experiment_name="$WANDB_EXP"
	trainer.default_local_dir="$CHECKPOINT_DIR"
	trainer.resume_mode=auto
	trainer.nnodes="$NNODES"
	trainer.n_gpus_per_node="$NPROC_PER_NODE"
	"${RAY_ARGS[@]+"${RAY_ARGS[@]}"}"
	hydra.run.dir="$HYDRA_RUN_DIR"
)
# "$@" last: the caller's Hydra overrides win over everything above.
OVERRIDES=("${HOST_ARGS[@]}" "$@")

# The trainer command checks the composed config itself (verl's validate_config and ours) before
# it hands over to verl.trainer.main_ppo: one import of verl instead of one here and one there
# (9-14 s of start-up); secrets still never reach its command line.
check_no_secrets "${OVERRIDES[@]}"
TRAIN_CMD=("$PYTHON" -m veritas.verl_adapters.main_ppo "${RUN_CONFIG_ARGS[@]}" "${OVERRIDES[@]}")
if [[ "$DRY_RUN" == 1 ]]; then
	compose_config ppo "${OVERRIDES[@]}" # the checks alone, and the resolved config
	print_cmd "${TRAIN_CMD[@]}"
	log "dry run OK: nothing was trained"
	exit 0
fi

check_ray_cpus
mkdir -p -- "$CHECKPOINT_DIR" "$HYDRA_RUN_DIR" "$WANDB_DIR"
run_cmd "${TRAIN_CMD[@]}"
