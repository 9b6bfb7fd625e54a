#!/usr/bin/env bash
# Merge a verl FSDP checkpoint (SFT or GRPO) into a Hugging Face model directory.
#
#   train/scripts/merge.sh [--dry-run] CHECKPOINT [TARGET_DIR]
#
# CHECKPOINT is one of
#   an experiment directory      train/artifacts/{,RL/}checkpoints/<exp>: its latest step, read
#                                from latest_checkpointed_iteration.txt (written once a save is complete)
#   a step directory             .../<exp>/global_step_N: the shards are in it (SFT) or in its actor/ (GRPO)
#   the shard directory itself   .../global_step_N/actor
# TARGET_DIR (or env TARGET_DIR) defaults to <global_step_N>/merged_hf.  An existing merged model
# there is kept unless OVERWRITE=1.  After the merge, the config and tokenizer are loaded with
# transformers and a weights file must exist, so a broken output fails here, not in evaluation.
#
# The merge itself is verl's:
#   python -m verl.model_merger merge --backend fsdp --local_dir <shards> --target_dir <out>
# (it reads <shards>/fsdp_config.json, model_world_size_W_rank_R.pt and huggingface/; CPU only).

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

parse_launcher_args "$@"
set -- "${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"}"
(($# >= 1 && $# <= 2)) || die "usage: $VERITAS_LAUNCHER [--dry-run] CHECKPOINT [TARGET_DIR]"
init_common

CHECKPOINT="$1"
[[ -e "$CHECKPOINT" ]] || die "checkpoint $CHECKPOINT does not exist"
[[ -d "$CHECKPOINT" ]] || die "checkpoint $CHECKPOINT is not a directory"
CHECKPOINT="$(cd -- "$CHECKPOINT" && pwd -P)"

# an experiment directory: its latest complete step
if [[ -f "$CHECKPOINT/latest_checkpointed_iteration.txt" ]]; then
	step="$(head -c 32 "$CHECKPOINT/latest_checkpointed_iteration.txt" | tr -d '[:space:]')"
	[[ "$step" =~ ^[0-9]+$ ]] || die "$CHECKPOINT/latest_checkpointed_iteration.txt does not hold a step number"
	[[ -d "$CHECKPOINT/global_step_$step" ]] ||
		die "$CHECKPOINT/latest_checkpointed_iteration.txt names step $step but $CHECKPOINT/global_step_$step is missing"
	log "experiment $(basename -- "$CHECKPOINT"): latest step $step"
	CHECKPOINT="$CHECKPOINT/global_step_$step"
elif compgen -G "$CHECKPOINT/global_step_*" >/dev/null; then
	die "$CHECKPOINT has no latest_checkpointed_iteration.txt (no save finished there): pass one of its global_step_N directories"
fi

# the directory with the FSDP shards: GRPO keeps them in actor/, SFT in the step directory
if [[ -f "$CHECKPOINT/actor/fsdp_config.json" ]]; then
	LOCAL_DIR="$CHECKPOINT/actor"
	STEP_DIR="$CHECKPOINT"
elif [[ -f "$CHECKPOINT/fsdp_config.json" ]]; then
	LOCAL_DIR="$CHECKPOINT"
	STEP_DIR="$CHECKPOINT"
	[[ "$(basename -- "$CHECKPOINT")" == actor ]] && STEP_DIR="$(dirname -- "$CHECKPOINT")"
else
	die "$CHECKPOINT is not a verl FSDP checkpoint: no fsdp_config.json in it or in its actor/ (pass an experiment, global_step_N or actor directory)"
fi
compgen -G "$LOCAL_DIR/model_world_size_*_rank_0.pt" >/dev/null ||
	die "$LOCAL_DIR has fsdp_config.json but no model_world_size_*_rank_0.pt shard"
[[ -f "$LOCAL_DIR/huggingface/config.json" ]] ||
	die "$LOCAL_DIR/huggingface/config.json is missing: the merge needs the model config saved with the checkpoint"

TARGET_DIR="${2:-${TARGET_DIR:-$STEP_DIR/merged_hf}}"
if [[ -f "$TARGET_DIR/config.json" && "${OVERWRITE:-0}" != 1 ]]; then
	die "$TARGET_DIR already holds a merged model (OVERWRITE=1 merges again into it)"
fi

MERGE_CMD=("$PYTHON" -m verl.model_merger merge --backend fsdp --local_dir "$LOCAL_DIR" --target_dir "$TARGET_DIR")
if [[ "$DRY_RUN" == 1 ]]; then
	print_cmd "${MERGE_CMD[@]}"
	log "dry run OK: nothing was merged"
	exit 0
fi

print_cmd "${MERGE_CMD[@]}"
"${MERGE_CMD[@]}" || die "verl's model merger failed on $LOCAL_DIR (see above)"

# The output loads: config, tokenizer, and weights written next to them.
"$PYTHON" - "$TARGET_DIR" <<'PY' || die "the merged model in $TARGET_DIR does not load (see above)"
import glob, os, sys
target = sys.argv[1]
try:
    from transformers import AutoConfig, AutoTokenizer
    config = AutoConfig.from_pretrained(target)
    tokenizer = AutoTokenizer.from_pretrained(target)
except Exception as exc:
    first = (str(exc).strip().splitlines() or [""])[0]
    sys.stderr.write(f"error: {type(exc).__name__}: {first}\n")
    sys.exit(1)
weights = sorted(glob.glob(os.path.join(target, "*.safetensors")) + glob.glob(os.path.join(target, "*.bin")))
if not weights:
    sys.stderr.write(f"error: no *.safetensors or *.bin weights in {target}\n")
    sys.exit(1)
size = sum(os.path.getsize(w) for w in weights)
print(f"merged model OK: {target} ({config.model_type}, vocab {len(tokenizer)}, {len(weights)} weight file(s), {size / 2**20:.1f} MiB)")
PY
