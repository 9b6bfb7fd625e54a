#!/usr/bin/env bash
# The GRPO launcher under the name the original project used: everything is in
# lgc-v2-RL-GRPO-trainer.sh (a wrapper rather than a symlink, which some Docker build contexts
# and Windows checkouts turn into a text file).
exec bash "$(dirname -- "${BASH_SOURCE[0]}")/lgc-v2-RL-GRPO-trainer.sh" "$@"
