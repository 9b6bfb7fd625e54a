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
# Relative paths are taken from the repository root.
#
# The merge itself is verl's:
#   python -m verl.model_merger merge --backend fsdp --local_dir <shards> --target_dir <out>
# (it reads <shards>/fsdp_config.json, model_world_size_W_rank_R.pt and huggingface/; CPU only),
# run from veritas/models/resolve.py, which `veritas eval` uses for checkpoints too: the checks
# above, the command, the load check.  Each error is one line.

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

parse_launcher_args "$@"
set -- "${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"}"
(($# >= 1 && $# <= 2)) || die "usage: $VERITAS_LAUNCHER [--dry-run] CHECKPOINT [TARGET_DIR]"
init_common

MERGE_ARGS=(merge --log-name "$VERITAS_LAUNCHER")
[[ "$DRY_RUN" == 1 ]] && MERGE_ARGS+=(--dry-run)
[[ "${OVERWRITE:-0}" == 1 ]] && MERGE_ARGS+=(--overwrite)
MERGE_ARGS+=(-- "$1")
TARGET_DIR="${2:-${TARGET_DIR:-}}"
[[ -z "$TARGET_DIR" ]] || MERGE_ARGS+=("$TARGET_DIR")
exec "$PYTHON" -m veritas.models.resolve "${MERGE_ARGS[@]}"
