"""Turn ``--model`` into a local Hugging Face model directory.

Accepted: a HF model directory; a verl checkpoint directory (``global_step_N`` from the SFT
trainer, or from GRPO with an ``actor/`` subfolder), whose ``huggingface/`` weights are used when
they were saved and which is otherwise merged once with ``python -m verl.model_merger merge`` into
``<checkpoint>/merged_hf``; or a hub id, resolved to ``train/models/<org>/<name>`` and downloaded
there with huggingface_hub when absent.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")


class ModelResolutionError(RuntimeError):
    pass


def is_hf_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(any(path.glob(p)) for p in WEIGHT_PATTERNS)


def is_verl_checkpoint(path: Path) -> bool:
    ckpt = path / "actor" if (path / "actor").is_dir() else path
    return any(ckpt.glob("model_world_size_*_rank_*.pt")) or (ckpt / "huggingface").is_dir()


def models_root() -> Path:
    from veritas.models.embedded import repo_root

    return repo_root() / "train" / "models"


def merge_verl_checkpoint(ckpt: Path) -> Path:
    """Merge FSDP shards to HF weights once; the result is reused on later calls."""
    target = ckpt / "merged_hf"
    if is_hf_dir(target):
        return target
    tmp = ckpt / "merged_hf.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
           "--local_dir", str(ckpt), "--target_dir", str(tmp)]
    print("eval: merging verl checkpoint:", " ".join(cmd), file=sys.stderr)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 or not is_hf_dir(tmp):
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelResolutionError(f"{ckpt}: verl model merger failed: {tail[0]}")
    os.replace(tmp, target)
    return target


def resolve_model(spec: str) -> Path:
    path = Path(spec).expanduser()
    if path.is_dir():
        if is_hf_dir(path):
            return path
        if is_verl_checkpoint(path):
            ckpt = path / "actor" if (path / "actor").is_dir() else path
            if is_hf_dir(ckpt / "huggingface"):
                return ckpt / "huggingface"
            return merge_verl_checkpoint(ckpt)
        raise ModelResolutionError(f"{path}: neither a Hugging Face model directory (config.json + weights) "
                                   "nor a verl checkpoint (global_step_N)")
    if spec.count("/") == 1 and not spec.startswith((".", "/")):
        local = models_root() / spec
        if is_hf_dir(local):
            return local
        try:
            from huggingface_hub import snapshot_download
        except ImportError as exc:  # pragma: no cover - huggingface_hub comes with transformers
            raise ModelResolutionError(f"{spec}: huggingface_hub is not installed") from exc
        try:
            snapshot_download(spec, local_dir=str(local), token=os.environ.get("HF_TOKEN") or None)
        except Exception as exc:
            raise ModelResolutionError(f"{spec}: download to {local} failed: {type(exc).__name__}: {exc}") from exc
        return local
    raise ModelResolutionError(f"{spec}: no such directory, and not a hub id of the form org/name")
