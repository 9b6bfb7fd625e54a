"""verl's single-turn agent loop, asking vLLM for each response once, as token ids.

verl's vLLM server (``vllm_async_server.generate``) reads only the last ``RequestOutput`` of a
request, and only its token ids and log-probs.  By default vLLM still streams: at every decode step
its front-end process builds a cumulative ``RequestOutput`` per running request, detokenizes the new
token and wakes that request's coroutine, ~1,000 times a step in a GRPO batch of 128 prompts x 8.
For a small model a decode step is short, so that Python work bounds generation: on one H100,
benchmark (c)'s GRPO through verl generated in 8.1-9.5 s a step this way against 14.5-16.3 s
streamed (docs/performance.md, ninth lease).  This loop adds two vLLM sampling parameters to every
request and changes nothing else:

* ``output_kind=FINAL_ONLY``: one ``RequestOutput`` per request, when it finishes, holding all its
  token ids and log-probs (what the server reads);
* ``detokenize=False``: no text; verl decodes the token ids itself where it needs text.

Turned on in a run config (``actor_rollout_ref.rollout.agent.default_agent_loop: veritas_single_turn``,
as the GRPO run configs do);
the launchers then load ``veritas.verl_ext.registration`` in verl's processes through
``VERL_USE_EXTERNAL_MODULES``, which imports this module, registering the name, where verl's agent-loop
package is imported.  With another rollout engine (SGLang) the requests go out unchanged.  Not for
verl's fully-async rollouter: its abort barrier waits (up to 60 s) for every request's first output,
which now comes at its end.
"""
from __future__ import annotations

from typing import Any

from verl.experimental.agent_loop.agent_loop import register
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop

AGENT_NAME = "veritas_single_turn"


def final_only_params() -> dict[str, Any]:
    """The vLLM sampling parameters this loop adds (vLLM imported here, on first use: it is
    installed wherever the vLLM rollout runs, not on every machine that composes a config)."""
    from vllm.sampling_params import RequestOutputKind

    return {"output_kind": RequestOutputKind.FINAL_ONLY, "detokenize": False}


@register(AGENT_NAME)
class FinalOnlySingleTurnAgentLoop(SingleTurnAgentLoop):
    """``single_turn_agent`` whose vLLM requests return only their final output, without text."""

    async def run(self, sampling_params: dict[str, Any], **kwargs):
        if self.rollout_config.name == "vllm":
            # a copy: verl hands each sample its own dict, but the caller's stays as it was
            sampling_params = {**sampling_params, **final_only_params()}
        return await super().run(sampling_params, **kwargs)
