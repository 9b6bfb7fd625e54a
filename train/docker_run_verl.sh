#!/usr/bin/env bash
# Run a command (default: a shell) in the veritas-rl GPU image, with this checkout mounted.
#
#   train/docker_run_verl.sh [COMMAND ...]
#   train/docker_run_verl.sh train/scripts/lgc-v2-RL-GRPO-trainer.sh --dry-run
#
# The image is built from docker/Dockerfile (FROM verlai/verl:vllm024.latest) and tagged
# VERITAS_IMAGE, or, when IMAGE is set, pulled and used as is.  SKIP_BUILD=1 uses the image
# without building or pulling it.  Knobs (environment, defaults shown):
#   VERITAS_IMAGE=veritas-rl:latest  BASE_IMAGE=(the Dockerfile's)  IMAGE=  SKIP_BUILD=0
#   GPUS=all (empty: no --gpus)  SHM_SIZE=32g  HF_CACHE=~/.cache/huggingface  ENV_FILE=<repo>/.env
# The container: --gpus, --shm-size, --ipc=host (PyTorch and Ray share memory between
# processes; with the host's IPC namespace --shm-size is moot but harmless), --env-file for .env
# when it exists, the checkout at /workspace/veritas-rl (the working directory), the Hugging
# Face cache at /root/.cache/huggingface, -it only when stdin and stdout are a terminal.
# This script runs on the host and needs only bash and docker (no Python).
set -euo pipefail

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}
notice() {
	printf 'notice: %s\n' "$*" >&2
}

REPO="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
WORKDIR=/workspace/veritas-rl
DOCKER="${DOCKER:-docker}"
VERITAS_IMAGE="${VERITAS_IMAGE:-veritas-rl:latest}"
IMAGE="${IMAGE:-}"
BASE_IMAGE="${BASE_IMAGE:-}"
SKIP_BUILD="${SKIP_BUILD:-0}"
GPUS="${GPUS-all}"
SHM_SIZE="${SHM_SIZE:-32g}"
HF_CACHE="${HF_CACHE:-${HOME:?HOME is not set}/.cache/huggingface}"
ENV_FILE="${ENV_FILE:-$REPO/.env}"

command -v "$DOCKER" >/dev/null 2>&1 || die "$DOCKER not found: install Docker (with the NVIDIA container toolkit for --gpus)"

show() { # the command, shell-quoted, on stderr; no secret is ever an argument here
	printf '+' >&2
	printf ' %q' "$@" >&2
	printf '\n' >&2
}

# ---- the image
if [[ -n "$IMAGE" ]]; then
	RUN_IMAGE="$IMAGE"
	if [[ "$SKIP_BUILD" != 1 ]]; then
		show "$DOCKER" pull "$IMAGE"
		"$DOCKER" pull "$IMAGE" || die "docker pull $IMAGE failed"
	fi
else
	RUN_IMAGE="$VERITAS_IMAGE"
	if [[ "$SKIP_BUILD" != 1 ]]; then
		BUILD=(build -f "$REPO/docker/Dockerfile" -t "$VERITAS_IMAGE")
		[[ -n "$BASE_IMAGE" ]] && BUILD+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
		BUILD+=("$REPO")
		show "$DOCKER" "${BUILD[@]}"
		"$DOCKER" "${BUILD[@]}" || die "docker build of $VERITAS_IMAGE failed (see above)"
	fi
fi

# ---- the container
RUN=(run --rm)
[[ -n "$GPUS" ]] && RUN+=(--gpus "$GPUS")
RUN+=(--shm-size "$SHM_SIZE" --ipc=host)
if [[ -f "$ENV_FILE" ]]; then
	# docker reads KEY=VALUE literally: quotes stay part of the value and `export` is not
	# understood (the launchers' own .env parser handles both, but variables docker sets win).
	bad_keys="$(sed -nE "s/^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=[\"'].*/\2/p; s/^[[:space:]]*export[[:space:]]+([A-Za-z_][A-Za-z0-9_]*)=.*/\1/p" "$ENV_FILE" | sort -u | tr '\n' ' ')"
	[[ -z "$bad_keys" ]] ||
		notice "$ENV_FILE: docker --env-file takes values literally; write ${bad_keys% } as plain KEY=value (no quotes, no export)"
	RUN+=(--env-file "$ENV_FILE")
fi
mkdir -p -- "$HF_CACHE" # else docker creates it, owned by root
RUN+=(-v "$REPO:$WORKDIR" -v "$HF_CACHE:/root/.cache/huggingface" -w "$WORKDIR")
[[ -t 0 && -t 1 ]] && RUN+=(-it)
RUN+=("$RUN_IMAGE")
if (($#)); then
	RUN+=("$@")
else
	RUN+=(bash)
fi
show "$DOCKER" "${RUN[@]}"
exec "$DOCKER" "${RUN[@]}"
