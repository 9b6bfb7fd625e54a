"""Batched text generation for evaluation: vLLM on a GPU, transformers ``generate`` otherwise.

Both take chat prompts (lists of ``{role, content}``) and return, per prompt, ``n`` completions
with their token counts and whether they ran out of budget (``max_new_tokens``).  Both render
prompts with the model's own chat template through its transformers tokenizer, so the two
backends see the same token ids.  Greedy when ``temperature == 0``; sampling is seeded, so a run
is repeatable.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Completion:
    text: str
    tokens: int
    truncated: bool  # stopped by max_new_tokens, not by an end-of-sequence token


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


def render_chats(tokenizer, prompts: list[list[dict]]) -> list[str]:
    """Prompt texts as the model's chat template writes them, ready for the assistant's turn."""
    return [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]


def stop_or_budget(ids: list[int], stop_ids: set[int]) -> tuple[int, bool]:
    """(tokens generated up to and including the first stop token, whether no stop token came).

    Batched ``generate`` pads finished rows after their stop token (the pad id is often the stop
    id itself), so the first stop token, not the row length, ends a completion; a row without one
    ran until ``max_new_tokens``."""
    for i, token in enumerate(ids):
        if token in stop_ids:
            return i + 1, False
    return len(ids), True


class HFBackend:
    name = "hf"
    default_batch_size = 16  # padded batches: larger ones waste compute on the longest prompt/answer

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
        enc = self.tokenizer(render_chats(self.tokenizer, prompts), return_tensors="pt", padding=True,
                             add_special_tokens=False).to(self.device)
        kwargs = dict(max_new_tokens=max_new_tokens, num_return_sequences=n,
                      pad_token_id=self.tokenizer.pad_token_id, eos_token_id=self.tokenizer.eos_token_id)
        if temperature > 0:
            torch.manual_seed(self.seed)
            kwargs.update(do_sample=True, temperature=temperature, top_p=1.0, top_k=0)
        else:
            kwargs.update(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        new = out[:, enc["input_ids"].shape[1]:].tolist()
        stop_ids = {self.tokenizer.eos_token_id}  # the only stop id passed to generate above
        results: list[list[Completion]] = []
        for i in range(len(prompts)):
            group = []
            for ids in new[i * n:(i + 1) * n]:
                tokens, truncated = stop_or_budget(ids, stop_ids)
                group.append(Completion(self.tokenizer.decode(ids[:tokens], skip_special_tokens=True), tokens, truncated))
            results.append(group)
        return results

    def close(self) -> None:
        """Nothing to stop: the model lives in this process."""


class VLLMBackend:
    """vLLM's offline engine, given every prompt of a call at once: its scheduler keeps as many
    sequences running as the KV cache holds (continuous batching), which small per-call batches
    would cap at the batch size."""

    name = "vllm"
    default_batch_size = None  # all pending prompts in one call

    def __init__(self, llm, tokenizer, sampling_params_type, seed: int = 0):
        # llm and sampling_params_type are vllm.LLM and vllm.SamplingParams; passed in so that
        # tests can drive the batching with stand-ins where vLLM is not installed
        self.llm = llm
        self.tokenizer = tokenizer
        self.sampling_params_type = sampling_params_type
        self.seed = seed

    @classmethod
    def load(cls, model_dir: Path, seed: int = 0, gpu_memory_utilization: float | None = None) -> "VLLMBackend":
        from transformers import AutoTokenizer
        from vllm import LLM, SamplingParams

        # eager: no torch.compile / CUDA-graph capture at start-up (tens of seconds per model);
        # at hundreds of concurrent sequences a 135M model's decode step is bound by KV-cache reads
        memory = {} if gpu_memory_utilization is None else {"gpu_memory_utilization": gpu_memory_utilization}
        llm = LLM(model=str(model_dir), seed=seed, enforce_eager=True, **memory)
        return cls(llm, AutoTokenizer.from_pretrained(model_dir), SamplingParams, seed)

    def generate(self, prompts: list[list[dict]], n: int, temperature: float, max_new_tokens: int) -> list[list[Completion]]:
        # token ids, not text: vLLM would tokenize text with special tokens added (a second BOS
        # for templates that already write one)
        requests = [{"prompt_token_ids": self.tokenizer(text, add_special_tokens=False)["input_ids"]}
                    for text in render_chats(self.tokenizer, prompts)]
        params = self.sampling_params_type(n=n, temperature=temperature, max_tokens=max_new_tokens, seed=self.seed)
        outs = self.llm.generate(requests, params, use_tqdm=True)
        return [[Completion(c.text, len(c.token_ids), c.finish_reason == "length") for c in o.outputs] for o in outs]

    def close(self) -> None:
        """Stop vLLM's engine-core process now rather than at interpreter exit: beside a starting
        GRPO run an evaluation once wrote its results and then did not exit (docs/results.md,
        sixth run), holding its share of the GPU until the recipe stopped it."""
        engine_core = getattr(getattr(self.llm, "llm_engine", None), "engine_core", None)
        if engine_core is not None:
            engine_core.shutdown()


def load_backend(name: str, model_dir: Path, seed: int, gpu_memory_utilization: float | None = None):
    if name == "vllm":
        return VLLMBackend.load(model_dir, seed, gpu_memory_utilization)
    return HFBackend(model_dir, seed)
