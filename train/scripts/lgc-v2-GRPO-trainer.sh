#!/usr/bin/env bash
# An alias of the GRPO launcher, train/scripts/lgc-v2-RL-GRPO-trainer.sh, where everything is
# (a wrapper rather than a symlink, which some Docker build contexts and Windows checkouts turn
# into a text file).
exec bash "$(dirname -- "${BASH_SOURCE[0]}")/lgc-v2-RL-GRPO-trainer.sh" "$@"
