"""Turn ``veritas eval --model`` into a local Hugging Face model directory.

The work is :func:`veritas.models.resolve.resolve`, the implementation the launchers use too
(``train/scripts/common.sh``, ``train/scripts/merge.sh``): a HF model directory as it is; a verl
checkpoint (experiment, ``global_step_N`` or ``actor/`` directory) by its ``huggingface/`` weights
when saved, else merged once with verl's merger into ``global_step_N/merged_hf``; a hub id from
``train/models/<org>/<name>`` (``MODELS_DIR``), converted there (the embedded SmolLM2) or downloaded
when absent.  Progress goes to stderr as ``eval: ...`` lines.
"""
from __future__ import annotations

import sys
from pathlib import Path

from veritas.models.resolve import ModelResolutionError, resolve

__all__ = ["ModelResolutionError", "resolve_model"]


def resolve_model(spec: str) -> Path:
    return resolve(spec, log=lambda message: print(f"eval: {message}", file=sys.stderr))
