"""veritas.verl_ext.compiled_layers: the compiled RMSNorm, RoPE and SwiGLU give transformers' own
loss and gradients (CPU, torch.compile's aot_eager backend: the same graphs and autograd without
code generation; the GPU benchmark `bench_gpu.py layers` checks the Triton kernels).

Each case runs in a subprocess: the module patches transformers' classes for the whole process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

SHAPE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
             intermediate_size=96, vocab_size=128, max_position_embeddings=256)
which, act = sys.argv[1], sys.argv[2]
# both modeling modules are imported above, before the patch: compiled_layers patches them at once
if which == "qwen3":
    cls, config = Qwen3ForCausalLM, Qwen3Config(**SHAPE, hidden_act=act)
else:
    cls, config = LlamaForCausalLM, LlamaConfig(**SHAPE, hidden_act=act)

def loss_and_grads(model, length):
    torch.manual_seed(1)
    ids = torch.randint(0, 128, (2, length))
    model.zero_grad()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters()}

torch.manual_seed(0)
model = cls(config)
before = [loss_and_grads(model, n) for n in (12, 17)]
import importlib
modeling = importlib.import_module(type(model).__module__)
rotary_before = modeling.apply_rotary_pos_emb
import veritas.verl_ext.compiled_layers as compiled
modeling = importlib.import_module(type(model).__module__)
after = [loss_and_grads(model, n) for n in (12, 17)]
norm_cls, mlp_cls = (getattr(modeling, name) for name in compiled.MODELING[modeling.__name__])
compiled.patch(modeling)   # a second time: no change
print(json.dumps({
    "patched": getattr(modeling, compiled.MARK, False),
    "norm_forward": norm_cls.forward.__name__, "mlp_forward": mlp_cls.forward.__name__,
    "rotary": getattr(modeling.apply_rotary_pos_emb, "_torchdynamo_orig_callable", None) is rotary_before,
    "loss_diff": max(abs(a[0] - b[0]) for a, b in zip(before, after)),
    "grad_diff": max(float((a[1][n] - b[1][n]).abs().max()) for a, b in zip(before, after) for n in a[1]),
    "losses": [a[0] for a in after],
}))
"""


def run(which: str, act: str = "silu") -> dict:
    env = {**os.environ, "VERITAS_COMPILE_BACKEND": "aot_eager", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, which, act], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_qwen3_patched_after_import_same_loss_and_gradients():
    out = run("qwen3")
    assert out["patched"] is True
    assert (out["norm_forward"], out["mlp_forward"], out["rotary"]) == ("norm_forward", "mlp_forward_fused", True)
    assert out["loss_diff"] < 1e-5, out
    assert out["grad_diff"] < 1e-5, out
    assert out["losses"][0] != out["losses"][1]  # two lengths, one dynamic graph: both really ran


def test_llama_patched_same_loss_and_gradients():
    out = run("llama")
    assert out["patched"] is True
    assert out["mlp_forward"] == "mlp_forward_fused"
    assert out["loss_diff"] < 1e-5 and out["grad_diff"] < 1e-5, out


def test_mlp_of_another_activation_keeps_its_forward_result():
    out = run("llama", act="gelu")
    assert out["loss_diff"] < 1e-5 and out["grad_diff"] < 1e-5, out


def test_a_modeling_module_imported_later_is_patched_on_import():
    """verl imports the module before transformers has loaded the model's code: the import hook patches it then."""
    code = ("import sys, veritas.verl_ext.compiled_layers as c; "
            "assert 'transformers.models.llama.modeling_llama' not in sys.modules; "
            "import transformers.models.llama.modeling_llama as m; "
            "print(getattr(m, c.MARK, False), m.LlamaRMSNorm.forward.__name__, m.LlamaMLP.forward.__name__)")
    env = {**os.environ, "VERITAS_COMPILE_BACKEND": "aot_eager", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["True", "norm_forward", "mlp_forward_fused"]
