"""Generation backends of `veritas eval` without a GPU: the vLLM path driven by a stand-in engine
(all prompts in one generate call, outputs kept in prompt order, truncation from finish_reason),
and where a transformers completion ends."""
from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace

from veritas.evaluation import backends
from veritas.evaluation.backends import VLLMBackend, stop_or_budget


class CharTokenizer:
    """One token per character, and a chat template that joins the messages' contents."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        assert not tokenize and add_generation_prompt
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"

    def __call__(self, text, add_special_tokens=True):
        assert not add_special_tokens  # the template already wrote what the model expects
        return {"input_ids": [ord(c) for c in text]}

    @staticmethod
    def text_of(ids) -> str:
        return "".join(map(chr, ids))


@dataclass
class FakeSamplingParams:
    n: int
    temperature: float
    max_tokens: int
    seed: int


class FakeLLM:
    """Stands in for vllm.LLM: records each generate call; ``answer(prompt_text, j)`` gives the
    j-th completion of a prompt as (text, finish_reason)."""

    def __init__(self, answer):
        self.answer = answer
        self.calls = []

    def generate(self, requests, params, use_tqdm=True):
        self.calls.append((requests, params))
        outs = []
        for req in requests:
            prompt = CharTokenizer.text_of(req["prompt_token_ids"])
            completions = []
            for j in range(params.n):
                text, finish = self.answer(prompt, j)
                completions.append(SimpleNamespace(text=text, token_ids=list(range(len(text))), finish_reason=finish))
            outs.append(SimpleNamespace(outputs=completions))
        return outs


def test_vllm_backend_sends_every_prompt_in_one_call_and_keeps_their_order():
    llm = FakeLLM(lambda prompt, j: (f"{prompt[-14:-11]}#{j}", "length" if j == 1 else "stop"))
    backend = VLLMBackend(llm, CharTokenizer(), FakeSamplingParams, seed=7)
    prompts = [[{"role": "system", "content": "sys"}, {"role": "user", "content": f"q{i:02d}"}] for i in range(40)]
    groups = backend.generate(prompts, n=3, temperature=0.0, max_new_tokens=64)
    assert len(llm.calls) == 1
    requests, params = llm.calls[0]
    assert len(requests) == 40 and params == FakeSamplingParams(n=3, temperature=0.0, max_tokens=64, seed=7)
    assert CharTokenizer.text_of(requests[5]["prompt_token_ids"]) == "<system>sys<user>q05<assistant>"
    assert [[c.text for c in g] for g in groups[:2]] == [["q00#0", "q00#1", "q00#2"], ["q01#0", "q01#1", "q01#2"]]
    assert [c.truncated for c in groups[39]] == [False, True, False]
    assert groups[39][0].tokens == len("q39#0")


def test_stop_or_budget_ends_at_the_first_stop_token():
    eos = 2
    assert stop_or_budget([5, 6, eos, eos, eos], {eos}) == (3, False)  # padded after stopping
    assert stop_or_budget([5, 6, 7, 8], {eos}) == (4, True)            # ran out of budget
    assert stop_or_budget([5, 6, 7, eos], {eos}) == (4, False)         # stopped on its last allowed token
    assert stop_or_budget([eos, 0, 0], {eos, 0}) == (1, False)


def test_eval_cli_on_the_vllm_path_judges_each_response_against_its_own_task(tmp_path, monkeypatch):
    """The whole `veritas eval` run through the vLLM backend with a stand-in engine: one generate
    call, and each verdict and truncation flag lands on the task whose prompt produced it."""
    from veritas.cli import main
    from veritas.data.formats import chat_prompt
    from veritas.evaluation import cli

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x")
    tasks = cli.heldout_tasks(["dyck_language", "operation"], 6, None, seed=0)
    tok = CharTokenizer()
    by_prompt = {tok.apply_chat_template(chat_prompt(t)): t for t in tasks}
    # right answers for even seeds; odd seeds ramble until the budget runs out
    llm = FakeLLM(lambda prompt, j: (by_prompt[prompt].answer, "stop") if by_prompt[prompt].seed % 2 == 0
                  else ("I think the answer is", "length"))
    loaded = []

    def load_backend(name, model_dir, seed, gpu_memory_utilization=None):
        loaded.append((name, gpu_memory_utilization))
        return VLLMBackend(llm, tok, FakeSamplingParams, seed)

    monkeypatch.setattr(backends, "load_backend", load_backend)
    out = tmp_path / "eval"
    # vLLM's engine is shut down once, after the results are on disk
    shutdowns = []
    llm.llm_engine = SimpleNamespace(engine_core=SimpleNamespace(
        shutdown=lambda: shutdowns.append((out / "results.json").exists())))
    assert main(["eval", "--model", str(model), "--task-types", "dyck_language,operation", "--n-per-type", "6",
                 "--backend", "vllm", "--max-new-tokens", "32", "--output", str(out),
                 "--gpu-memory-utilization", "0.25"]) == 0
    assert loaded == [("vllm", 0.25)]  # beside a training run, vLLM takes only this share of the GPU
    assert shutdowns == [True]
    assert len(llm.calls) == 1 and len(llm.calls[0][0]) == 12
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 12
    seeds = {t.task_id: t.seed for t in tasks}
    assert {s % 2 for s in seeds.values()} == {0, 1}  # both kinds of answer occur
    for row in rows:
        even = seeds[row["task_id"]] % 2 == 0
        assert row["correct"] is even and row["truncated"] is (not even)
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["max_new_tokens"] == 32
    for t in ("dyck_language", "operation"):
        odd = sum(seeds[r["task_id"]] % 2 for r in rows if r["task_type"] == t)
        assert results["per_type"][t]["truncation_rate"] == odd / 6
        assert results["per_type"][t]["accuracy"] == (6 - odd) / 6
    assert "| format rate | truncated |" in (out / "results.md").read_text()
