"""veritas_single_turn (veritas/verl_ext/agent_loop.py), on CPU, through verl's own registry and
hydra instantiation: its vLLM requests carry output_kind=FINAL_ONLY and detokenize=False and
nothing else changes; with another engine they go out as verl's.  Compose refusing a name no
process would know: test_verl_config.py; the launcher loading the module: test_grpo_launcher.py."""
from __future__ import annotations

import asyncio
import enum
import importlib.util
import sys
import types
from pathlib import Path

import pytest
from _shared import byte_tokenizer_dir

pytestmark = [pytest.mark.verl, pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed")]
ROOT = Path(__file__).resolve().parents[1]
CHAT = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"


class RequestOutputKind(enum.Enum):  # vLLM's (vllm.sampling_params), which this CPU machine lacks
    CUMULATIVE = 0
    DELTA = 1
    FINAL_ONLY = 2


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm.sampling_params")
    module.RequestOutputKind = RequestOutputKind
    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", module)


class RecordingServer:
    """verl's LLM server client, as the agent loop calls it: records each request's sampling
    parameters and answers with fixed tokens."""

    def __init__(self):
        self.requests = []

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
        from verl.workers.rollout.replica import TokenOutput

        self.requests.append(dict(sampling_params))
        return TokenOutput(token_ids=[65, 66, 67], log_probs=[-0.1, -0.2, -0.3], stop_reason="completed")


def _run(tmp_path, engine: str, sampling_params: dict):
    import hydra
    from omegaconf import open_dict
    from transformers import AutoTokenizer
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap, _agent_loop_registry

    import veritas.verl_ext.agent_loop as ours
    from veritas.verl_adapters.compose import compose_run_config

    cfg = compose_run_config(str(ROOT / "train" / "config"), "grpo-smollm2-135m-1gpu",
                             [f"actor_rollout_ref.rollout.agent.default_agent_loop={ours.AGENT_NAME}"])
    with open_dict(cfg):
        cfg.actor_rollout_ref.rollout.name = engine
    server = RecordingServer()
    tokenizer = AutoTokenizer.from_pretrained(byte_tokenizer_dir(tmp_path / "tok", CHAT))

    async def in_a_worker():  # built and run in one event loop, as in verl's AgentLoopWorker
        loop = hydra.utils.instantiate(  # as the worker builds every sample's loop
            _agent_loop_registry[cfg.actor_rollout_ref.rollout.agent.default_agent_loop],
            trainer_config=DictConfigWrap(config=cfg), server_manager=server, tokenizer=tokenizer, processor=None,
            hf_model_type="llama", dataset_cls=None, data_config=DictConfigWrap(cfg.data))
        assert isinstance(loop, ours.FinalOnlySingleTurnAgentLoop)
        return await loop.run(sampling_params, raw_prompt=[{"role": "user", "content": "(()"}])

    output = asyncio.run(in_a_worker())
    return server.requests, output


VERL_PARAMS = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": True}


def test_vllm_requests_ask_for_the_final_output_only_without_text(tmp_path, fake_vllm):
    given = dict(VERL_PARAMS)
    requests, output = _run(tmp_path, "vllm", given)
    assert requests == [{**VERL_PARAMS, "output_kind": RequestOutputKind.FINAL_ONLY, "detokenize": False}]
    assert given == VERL_PARAMS, "the caller's dict was changed"
    # the response is the server's tokens and log-probs, as with verl's single_turn_agent
    assert list(output.response_ids) == [65, 66, 67]
    assert list(output.response_logprobs) == pytest.approx([-0.1, -0.2, -0.3])


def test_other_engines_get_verls_requests_unchanged(tmp_path):
    requests, _ = _run(tmp_path, "sglang", dict(VERL_PARAMS))
    assert requests == [VERL_PARAMS]


def test_the_module_registers_its_name_with_verl():
    from verl.experimental.agent_loop.agent_loop import _agent_loop_registry

    import veritas.verl_ext.agent_loop as ours

    assert _agent_loop_registry[ours.AGENT_NAME] == {"_target_": "veritas.verl_ext.agent_loop.FinalOnlySingleTurnAgentLoop"}


def test_verls_vllm_server_passes_the_keys_on_and_reads_the_last_output_only():
    """What the loop relies on in verl's server (vllm_async_server.py, read as text: importing it
    needs vLLM): each request's dict becomes vLLM's SamplingParams as it is, and of the outputs a
    request yields only the last is read.  If this fails, read the new generate() first."""
    import ast

    spec = importlib.util.find_spec("verl.workers.rollout.vllm_rollout")
    path = Path(spec.submodule_search_locations[0]) / "vllm_async_server.py"
    tree = ast.parse(path.read_text())
    generate = next(node for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef) and node.name == "generate"
                    and {"prompt_ids", "sampling_params"} <= {a.arg for a in node.args.args})
    source = ast.unparse(generate)
    assert "SamplingParams(max_tokens=max_tokens, **sampling_params)" in source
    loops = [node for node in ast.walk(generate) if isinstance(node, ast.AsyncFor)]
    assert len(loops) == 1 and ast.unparse(loops[0].body[-1]) == f"final_res = {loops[0].target.id}"
    assert "final_res.outputs[0].token_ids" in source and "final_res.outputs[0].text" not in source
