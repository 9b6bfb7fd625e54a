"""Fused RMSNorm, RoPE and SwiGLU for Qwen3 and Llama (SmolLM2) models, by ``torch.compile``.

Named in a run config as ``model.external_lib: veritas.verl_ext.compiled_layers`` (GRPO:
``actor_rollout_ref.model.external_lib``): verl imports it in each process that builds a model,
before it builds one. Why: in eager PyTorch these three pieces are a dozen memory-bound kernels
each, with fp32 copies of every activation: on the Qwen3-4B-shaped SFT step they took half of the
GPU's kernel time (docs/performance.md, "What bounds it"; Qwen3 normalises four times a layer,
``q_norm``/``k_norm`` included). Compiled, each becomes one or two fused Triton kernels forward and
backward, computed in the same precision (the norm in fp32, cast back before the weight, as
transformers does). Shapes are compiled dynamic, so packed micro-batches of any length reuse one
graph. On four such layers alone this is 1.46x faster than transformers' eager layers, liger-kernel's
1.53x (``bench_gpu.py layers``); through verl, ``model.use_liger`` made the whole step slower on
2026-12-07 for a reason not yet found; this module took 8 % off it on an H100, and 29 % together with
one gradient reduction a step and fused AdamW (2026-12-08; docs/performance.md).

Only the forwards of the classes change (the modules, parameters and checkpoints stay those of
transformers), and a module whose activation is not SiLU keeps its own MLP forward.
"""
from __future__ import annotations

import os

from veritas.verl_ext.import_hooks import call_after_import

# torch.compile's backend; the CPU tests set aot_eager (the same graphs and autograd, no code generation)
BACKEND = os.environ.get("VERITAS_COMPILE_BACKEND", "inductor")

# transformers module -> its RMSNorm and MLP classes (each has apply_rotary_pos_emb)
MODELING = {
    "transformers.models.qwen3.modeling_qwen3": ("Qwen3RMSNorm", "Qwen3MLP"),
    "transformers.models.llama.modeling_llama": ("LlamaRMSNorm", "LlamaMLP"),
}
MARK = "_veritas_compiled"


def rms_norm(hidden, weight, eps: float):
    """transformers' RMSNorm forward as a function of tensors (compiling the method itself would
    guard on each norm module, 145 of them in Qwen3-4B): normalise in fp32, cast back, then scale."""
    import torch

    dtype = hidden.dtype
    hidden = hidden.to(torch.float32)
    hidden = hidden * torch.rsqrt(hidden.pow(2).mean(-1, keepdim=True) + eps)
    return weight * hidden.to(dtype)


def swiglu(gate, up):
    import torch.nn.functional as F

    return F.silu(gate) * up


def patch(modeling, backend: str | None = None) -> None:
    """Swap the RMSNorm and MLP forwards and apply_rotary_pos_emb of one transformers modeling
    module for compiled ones (once; a second call changes nothing)."""
    import torch

    if getattr(modeling, MARK, False):
        return
    norm_cls, mlp_cls = (getattr(modeling, name) for name in MODELING[modeling.__name__])
    compile_ = lambda fn: torch.compile(fn, backend=backend or BACKEND, dynamic=True)  # noqa: E731
    # apply_rotary_pos_emb is a function already: transformers' own, compiled as it is
    fused_norm, fused_rotary, fused_swiglu = compile_(rms_norm), compile_(modeling.apply_rotary_pos_emb), compile_(swiglu)
    mlp_forward = mlp_cls.forward

    def norm_forward(self, hidden_states):
        return fused_norm(hidden_states, self.weight, self.variance_epsilon)

    def mlp_forward_fused(self, x):
        if getattr(self.config, "hidden_act", None) != "silu":
            return mlp_forward(self, x)
        return self.down_proj(fused_swiglu(self.gate_proj(x), self.up_proj(x)))

    norm_cls.forward = norm_forward
    mlp_cls.forward = mlp_forward_fused
    modeling.apply_rotary_pos_emb = fused_rotary
    setattr(modeling, MARK, True)


for _name in MODELING:
    call_after_import(_name, patch)
