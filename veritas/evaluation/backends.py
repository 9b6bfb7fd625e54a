"""Batched text generation for evaluation: vLLM on a GPU, transformers ``generate`` otherwise.

Both take chat prompts (lists of ``{role, content}``) and return, per prompt, ``n`` completions
with their token counts.  Greedy when ``temperature == 0``; sampling is seeded, so a run is
repeatable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Completion:
    text: str
    tokens: int


def pick_backend(requested: str) -> str:
    if requested != "auto":
        return requested
    try:
        import torch

        if not torch.cuda.is_available():
            return "hf"
        import vllm  # noqa: F401
    except Exception:
        return "hf"
    return "vllm"


def cpu_dtype(torch):
    """bfloat16 where the CPU computes it natively (AVX512-BF16 / AMX: about 2x the float32
    speed for a 135M model), float32 elsewhere, where bfloat16 is emulated and slower.
    VERITAS_EVAL_DTYPE=float32|bfloat16 overrides the choice."""
    forced = os.environ.get("VERITAS_EVAL_DTYPE", "").strip().lower()
    if forced in ("float32", "fp32"):
        return torch.float32
    if forced in ("bfloat16", "bf16"):
        return torch.bfloat16
    native = False
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None)
        try:
            native = native or bool(fn and fn())
        except Exception:
            pass
    return torch.bfloat16 if native else torch.float32


class HFBackend:
    name = "hf"

    def __init__(self, model_dir: Path, seed: int = 0):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.tokenizer.padding_side = "left"  # batched decoder-only generation pads on the left
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.dtype = torch.bfloat16 if self.device == "cuda" else cpu_dtype(torch)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=self.dtype).to(self.device).eval()
        self.seed = seed

    def generate(self, prompts: list[list[dict]], n: int, temperature: float, max_new_tokens: int) -> list[list[Completion]]:
        torch = self.torch
        texts = [self.tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs = dict(max_new_tokens=max_new_tokens, num_return_sequences=n,
                      pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id)
        if temperature > 0:
            torch.manual_seed(self.seed)
            kwargs.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0)
        else:
            kwargs.update(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1]:]
        results: list[list[Completion]] = []
        for i in range(len(prompts)):
            group = []
            for j in range(n):
                ids = new[i * n + j]
                n_tokens = int((ids != self.tokenizer.pad_token_id).sum())
                # a completion that stopped at eos has eos == pad; count it as one token
                if n_tokens < len(ids):
                    n_tokens += 1
                group.append(Completion(self.tokenizer.decode(ids, skip_special_tokens=True), min(n_tokens, len(ids))))
            results.append(group)
        return results


class VLLMBackend:
    name = "vllm"

    def __init__(self, model_dir: Path, seed: int = 0):
        from vllm import LLM

        self.llm = LLM(model=str(model_dir), seed=seed, enforce_eager=True)
        self.seed = seed

    def generate(self, prompts: list[list[dict]], n: int, temperature: float, max_new_tokens: int) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = SamplingParams(n=n, temperature=temperature, max_tokens=max_new_tokens, seed=self.seed)
        outs = self.llm.chat(prompts, params, use_tqdm=False)
        return [[Completion(c.text, len(c.token_ids)) for c in o.outputs] for o in outs]


def load_backend(name: str, model_dir: Path, seed: int):
    return VLLMBackend(model_dir, seed) if name == "vllm" else HFBackend(model_dir, seed)
