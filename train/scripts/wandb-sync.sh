#!/usr/bin/env bash
# Upload offline wandb runs (WANDB_API_KEY unset at training time logs offline) with `wandb sync`.
#
#   train/scripts/wandb-sync.sh [--dry-run] [PATH ...]
#
# PATH is an offline run directory (.../wandb/offline-run-YYYYmmdd_HHMMSS-<id>) or any folder
# holding such runs (a WANDB_DIR, or train/artifacts/wandb).  Without PATH: every offline run
# under WANDB_ROOT (default train/artifacts/wandb).  Runs wandb already marked synced
# (a run-*.wandb.synced file) are skipped unless INCLUDE_SYNCED=1.
#
# WANDB_API_KEY comes from the environment or .env; wandb reads it from the environment, so it
# is never on the command line or printed.  --dry-run lists the runs and prints the command.

# shellcheck source=train/scripts/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

parse_launcher_args "$@"
set -- "${LAUNCHER_ARGS[@]+"${LAUNCHER_ARGS[@]}"}"
init_common

WANDB_ROOT="${WANDB_ROOT:-$VERITAS_ROOT/train/artifacts/wandb}"
INCLUDE_SYNCED="${INCLUDE_SYNCED:-0}"
(($#)) || set -- "$WANDB_ROOT"

is_offline_run() { # DIR: named like one and holding wandb's run file
	[[ "$(basename -- "$1")" == offline-run-* ]] && compgen -G "$1/run-*.wandb" >/dev/null
}

RUNS=()
SKIPPED=0
add_run() {
	if [[ "$INCLUDE_SYNCED" != 1 ]] && compgen -G "$1/run-*.wandb.synced" >/dev/null; then
		SKIPPED=$((SKIPPED + 1))
		return 0
	fi
	RUNS+=("$1")
}
for path in "$@"; do
	[[ -d "$path" ]] || die "$path is not a directory (pass an offline run directory or a folder of them)"
	path="$(cd -- "$path" && pwd -P)"
	if is_offline_run "$path"; then
		add_run "$path"
		continue
	fi
	[[ "$(basename -- "$path")" != offline-run-* ]] || die "$path has no run-*.wandb file: not a complete offline wandb run"
	found=0
	# -type d: wandb's latest-run symlink is not followed, so no run is listed twice.
	while IFS= read -r -d '' dir; do
		if is_offline_run "$dir"; then
			add_run "$dir"
			found=$((found + 1))
		fi
	done < <(find "$path" -maxdepth 4 -type d -name 'offline-run-*' -print0 | sort -z)
	((found)) || die "no offline wandb runs under $path"
done
((SKIPPED == 0)) || log "skipping $SKIPPED run(s) already synced (INCLUDE_SYNCED=1 uploads them again)"
if ((${#RUNS[@]} == 0)); then
	log "nothing to sync"
	exit 0
fi
log "runs to sync: ${#RUNS[@]}"

# the wandb CLI: WANDB_BIN, else on PATH, else next to the Python in use
if [[ -n "${WANDB_BIN:-}" ]]; then
	command -v "$WANDB_BIN" >/dev/null 2>&1 || die "WANDB_BIN=$WANDB_BIN is not an executable"
else
	WANDB_BIN="$(command -v wandb || true)"
	beside_python="$(dirname -- "$(command -v "$PYTHON")")/wandb"
	[[ -z "$WANDB_BIN" && -x "$beside_python" ]] && WANDB_BIN="$beside_python"
	[[ -n "$WANDB_BIN" ]] || die "the wandb command is not installed (pip install wandb)"
fi

SYNC_ARGS=(sync)
[[ "$INCLUDE_SYNCED" == 1 ]] && SYNC_ARGS+=(--include-synced)
SYNC_CMD=("$WANDB_BIN" "${SYNC_ARGS[@]}" "${RUNS[@]}")

if [[ -z "${WANDB_API_KEY:-}" ]]; then
	[[ "$DRY_RUN" == 1 ]] || die "WANDB_API_KEY is not set: put it in .env (or the environment) to upload runs"
	notice "WANDB_API_KEY is not set: a real sync stops here"
fi
# WANDB_MODE=offline (from training settings in .env) must not turn the upload itself off.
unset WANDB_MODE
if [[ "$DRY_RUN" == 1 ]]; then
	print_cmd "${SYNC_CMD[@]}"
	log "dry run OK: nothing was uploaded"
	exit 0
fi
run_cmd "${SYNC_CMD[@]}"
