"""Helpers shared by the launcher and integration tests (imported as `_shared`; not a test module)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def python_with(*modules: str) -> str | None:
    """This interpreter if it has the modules, else the repo's .venv one if that has them."""
    if all(importlib.util.find_spec(m) for m in modules):
        return sys.executable
    venv = REPO / ".venv" / "bin" / "python"
    if venv.exists():
        code = "import importlib.util, sys; sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))"
        if subprocess.run([str(venv), "-c", code, *modules]).returncode == 0:
            return str(venv)
    return None


def load_bench_gpu():
    """tests/benchmarks/bench_gpu.py as a module (a script, not a package): its CPU-testable parts."""
    spec = importlib.util.spec_from_file_location("bench_gpu", REPO / "tests" / "benchmarks" / "bench_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_launcher_fails(result, message: str):
    """A launcher failed with exit 1 and, as its last stderr line, one `error: ...` line holding ``message``."""
    rc, out, err = result
    assert rc == 1, (rc, out, err)
    assert message in err, err
    assert "Traceback" not in out + err
    assert err.rstrip("\n").splitlines()[-1].startswith("error: "), err


def retired_variable_rows() -> list[tuple[str, str, list[str], str]]:
    """train/scripts/retired-variables.tsv: (launcher, variable, verl keys, value regex or "")."""
    rows = []
    for line in (REPO / "train" / "scripts" / "retired-variables.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            who, var, keys, *pattern = line.split("\t")
            rows.append((who, var, keys.split(), pattern[0] if pattern else ""))
    return rows


def fake_site(root, dist: str, version: str, modules: list[str]) -> Path:
    """A folder with an installed-looking distribution: its dist-info and empty packages."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "top_level.txt").write_text("flash_attn\n")
    records = []
    for module in modules:
        pkg = root.joinpath(*module.split("."))
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text("")
        records.append(f"{'/'.join(module.split('.'))}/__init__.py,,")
    (info / "RECORD").write_text("\n".join(records) + "\n")
    return root


def fake_checkpoint(exp_dir: Path, step: int, world_size: int | None, sub: str = "", latest: bool = True) -> Path:
    """verl's layout of one checkpoint step: empty FSDP shard files of ``world_size`` ranks in
    global_step_N/<sub> (SFT: "", GRPO: "actor"), or only a Hugging Face model when None."""
    d = exp_dir / f"global_step_{step}" / sub
    d.mkdir(parents=True, exist_ok=True)
    if world_size is None:
        (d / "huggingface").mkdir(exist_ok=True)
        (d / "huggingface" / "config.json").write_text("{}")
    else:
        for kind in ("model", "optim", "extra_state"):
            for rank in range(world_size):
                (d / f"{kind}_world_size_{world_size}_rank_{rank}.pt").write_bytes(b"")
    if latest:
        (exp_dir / "latest_checkpointed_iteration.txt").write_text(str(step))
    return d


_VOCAB = ["<unk>", "<pad>", "</s>", "the", "cat", "sat", "on", "mat"]


def tiny_llama_checkpoint(step_dir: Path) -> dict:
    """A world-size-1 FSDP checkpoint of a 1-layer Llama in GRPO's layout, written by hand:
    plain tensors in model_world_size_1_rank_0.pt, config and tokenizer in huggingface/."""
    import torch

    shards = step_dir / "actor"
    hf = shards / "huggingface"
    hf.mkdir(parents=True)
    h, inter, v = 8, 16, len(_VOCAB)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": v, "hidden_size": h,
              "intermediate_size": inter, "num_hidden_layers": 1, "num_attention_heads": 2,
              "num_key_value_heads": 2, "max_position_embeddings": 32, "tie_word_embeddings": False,
              "eos_token_id": 2, "pad_token_id": 1}
    (hf / "config.json").write_text(json.dumps(config))
    (hf / "tokenizer.json").write_text(json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None, "decoder": None,
        "model": {"type": "WordLevel", "vocab": {w: i for i, w in enumerate(_VOCAB)}, "unk_token": "<unk>"},
    }))
    (hf / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "<unk>", "pad_token": "<pad>", "eos_token": "</s>"}))
    gen = torch.Generator().manual_seed(0)
    shapes = {"model.embed_tokens.weight": (v, h), "lm_head.weight": (v, h), "model.norm.weight": (h,),
              "model.layers.0.input_layernorm.weight": (h,), "model.layers.0.post_attention_layernorm.weight": (h,),
              "model.layers.0.mlp.gate_proj.weight": (inter, h), "model.layers.0.mlp.up_proj.weight": (inter, h),
              "model.layers.0.mlp.down_proj.weight": (h, inter)}
    for name in ("q", "k", "v", "o"):
        shapes[f"model.layers.0.self_attn.{name}_proj.weight"] = (h, h)
    state = {k: torch.randn(*s, generator=gen).to(torch.bfloat16) for k, s in shapes.items()}
    torch.save(state, shards / "model_world_size_1_rank_0.pt")
    (shards / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    (step_dir.parent / "latest_checkpointed_iteration.txt").write_text(step_dir.name.split("_")[-1])
    return state


def byte_tokenizer_dir(path: Path, chat_template: str | None = None) -> str:
    """A byte-level tokenizer saved like a model's, so verl's hf_tokenizer(path) and
    AutoTokenizer load it offline.  No merges: every byte is a token, decode(encode(s)) == s for
    any text, and a text of n UTF-8 bytes is n tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", pad_token="<pad>")
    if chat_template is not None:
        fast.chat_template = chat_template
    fast.save_pretrained(path)
    return str(path)
