"""The contract every LGC-V2 task type keeps (generation, reference answers, hostile input).

Type-specific perturbations and fault regressions live in tests/test_<type>.py.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from veritas.envs import lgc_v2
from veritas.envs.lgc_v2 import registry

N_SEEDS = int(os.environ.get("VERITAS_CONTRACT_SEEDS", "2000"))


TYPES = list(lgc_v2.task_types())


def test_task_id_mapping_roundtrip_and_bounds():
    for t in lgc_v2.task_types():
        for seed in (0, 1, 12345, 99_999_999):
            assert lgc_v2.split_task_id(lgc_v2.make_task_id(t, seed)) == (t, seed)
    assert lgc_v2.split_task_id(500_000_007) == ("dyck_language2", 100_000_007)
    assert lgc_v2.make_task_id("dyck_language2", 100_000_007) == 500_000_007
    past_the_end = lgc_v2.max_task_id() + 1  # derived: a ninth type would move it
    for bad in (-1, past_the_end, 10**12, 1.0, "5", True, None):
        with pytest.raises(lgc_v2.TaskIdError):
            lgc_v2.split_task_id(bad)
    with pytest.raises(lgc_v2.TaskIdError):
        lgc_v2.make_task_id("sudoku", 100_000_000)


def test_splits_are_disjoint():
    ranges = sorted(lgc_v2.SPLITS.values())
    for (a0, a1), (b0, b1) in zip(ranges, ranges[1:]):
        assert a1 <= b0


@pytest.mark.parametrize("task_type", TYPES)
def test_reference_answers_verify_for_many_seeds(task_type):
    langs_seen, levels_seen = set(), set()
    for seed in range(N_SEEDS):
        task = lgc_v2.generate_by_type(task_type, seed)
        assert task.prompt and task.answer
        # metadata travels through JSON (parquet, Ray): the verdict must not change on the way
        roundtripped = json.loads(json.dumps(task.metadata))
        v = lgc_v2.verify(task_type, task.answer, roundtripped)
        assert v.correct and v.format_ok, (task.task_id, v, task.answer)
        # the answer hidden only inside reasoning does not count
        hidden = lgc_v2.verify_task(task, "<think>" + task.answer + "</think>\nI am not sure.")
        assert not hidden.correct, task.task_id
        unterminated = lgc_v2.verify_task(task, "<think>" + task.answer)
        assert not unterminated.correct and not unterminated.format_ok
        # reasoning before the answer is fine
        assert lgc_v2.verify_task(task, "<think>hmm</think>\n" + task.answer).correct
        langs_seen.add(task.language)
        levels_seen.add(task.difficulty)
    assert levels_seen == set(range(1, 11))
    mod = lgc_v2.task_module(task_type)
    assert langs_seen == set(mod.TASK_TYPE.languages)


@pytest.mark.parametrize("task_type", TYPES)
def test_every_level_and_language_generates_and_verifies(task_type):
    mod = lgc_v2.task_module(task_type)
    assert set(mod.LEVELS) == set(range(1, 11))
    for level in range(1, 11):
        for lang in mod.TASK_TYPE.languages:
            for seed in range(20):
                task = lgc_v2.generate_by_type(task_type, seed, level, lang)
                assert task.difficulty == level and task.language == lang
                assert lgc_v2.verify_task(task, task.answer).correct


@pytest.mark.parametrize("task_type", TYPES)
def test_worked_solutions_verify(task_type):
    if not hasattr(lgc_v2.task_module(task_type), "worked_solution"):
        pytest.skip(f"{task_type} has no worked solution")
    for seed in range(300):
        task = lgc_v2.generate_by_type(task_type, seed)
        worked = lgc_v2.worked_solution(task)
        assert worked and worked != task.answer
        assert lgc_v2.verify_task(task, worked).correct, (task.task_id, worked)


_DUMP = """
import json, sys
from veritas.envs import lgc_v2
out = []
for t in sys.argv[1].split(","):
    for seed in range(0, 4000, 97):
        out.append(lgc_v2.generate_by_type(t, seed).to_dict())
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
"""


def test_generation_identical_across_processes_and_hash_seeds():
    if not TYPES:
        pytest.skip("no task types")
    outs = []
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        r = subprocess.run([sys.executable, "-c", _DUMP, ",".join(TYPES)], env=env, capture_output=True, check=True)
        outs.append(r.stdout)
    assert outs[0] == outs[1]
    assert len(json.loads(outs[0])) == len(TYPES) * len(range(0, 4000, 97))


HOSTILE = [
    "",
    " ",
    "\x00" * 100,
    "(" * 1_000_000,
    "\\boxed{" * 10_000,
    "```" * 10_000,
    "`" * 100_001,
    "[" * 50_000 + "]" * 50_000,
    "9" * 5_000,
    "²³¹" * 100,
    "٣٤٥",
    "__import__('os').system('echo pwned > /tmp/veritas_pwned')",
    "\\boxed{__import__('os').system('echo pwned > /tmp/veritas_pwned')}",
    "```python\n__import__('os').system('echo pwned > /tmp/veritas_pwned')\n```",
    "```python\n15**14**11**4\n```",
    "\\boxed{9**9**9**9}",
    "The answer is " + "1" * 100_000,
    "答案是" + "=" * 100_000,
    "Thought 1: " * 50_000,
    "\\boxed{" + "{" * 100_000 + "}" * 100_000 + "}",
    "A" * 1_000_000,
    "<think>" * 1000,
    "</think>" * 1000,
    "\ud800",
]


@pytest.mark.parametrize("task_type", TYPES)
def test_hostile_responses_never_raise_never_execute(task_type):
    """Their times: tests/benchmarks/bench_timings.py."""
    tasks = [lgc_v2.generate_by_type(task_type, s) for s in range(3)]
    for task in tasks:
        for resp in HOSTILE + [task.answer + "\n" + h for h in HOSTILE[:8]]:
            v = registry.verify(task.task_type, resp, task.metadata)
            assert isinstance(v.correct, bool) and isinstance(v.reason, str)
            assert not v.reason.startswith("verifier error"), (task_type, resp[:40], v)
            # a share of parts right is for wrong answers only, below a right answer's 1
            assert v.partial is None or (not v.correct and 0 <= v.partial < 1), (task_type, resp[:40], v)
            if resp not in (task.answer,) and not resp.startswith(task.answer + "\n"):
                assert not v.correct, (task_type, resp[:60])
    assert not os.path.exists("/tmp/veritas_pwned")


# --- the random sources (veritas.envs.rand) ---------------------------------------------------

def test_every_type_names_its_random_source():
    for t in TYPES:
        assert registry.task_type_contract(t).randomness in ("mt", "draws"), t


def test_seeded_random_is_random_random_of_the_key():
    import random

    from veritas.envs.rand import seeded_random

    for key in ("lgc-v2/operation/0/task/1/en", "", "ключ/键/🔑" * 20):
        rng = seeded_random(key)
        assert rng.getstate() == random.Random(key).getstate()
        rng.gauss(0, 1)  # leaves a cached normal deviate behind, which the next seeding must drop
        assert seeded_random(key).gauss(0, 1) == random.Random(key).gauss(0, 1)


def test_hash_draws_are_little_endian_shake128_blocks():
    import hashlib

    from veritas.envs.rand import HashDraws

    draws = HashDraws("lgc-v2/x/7/task/3/en")
    first, second = draws.take(5), draws.take(3)
    for block, n, take in ((0, 5, first), (1, 3, second)):
        raw = hashlib.shake_128(f"lgc-v2/x/7/task/3/en/{block}".encode()).digest(2 * n)
        assert [take() for _ in range(n)] == [int.from_bytes(raw[i:i + 2], "little") for i in range(0, 2 * n, 2)]
        with pytest.raises(StopIteration):  # the registry turns this into a RuntimeError
            take()


def test_hash_draws_take_iter_and_bytes_keys_read_the_same_blocks():
    from veritas.envs.rand import HashDraws, seeded_random

    by_str, by_bytes = HashDraws("lgc-v2/x/7/task/3/en"), HashDraws(b"lgc-v2/x/7/task/3/en")
    first = by_str.take(5)
    assert [first() for _ in range(5)] == list(by_bytes.take_iter(5))  # block 0 both ways
    assert list(by_str.take_iter(3)) == list(by_bytes.take_iter(3))  # block 1: the counter moved on
    key = "lgc-v2/operation/0/task/1/zh·键"
    assert seeded_random(key.encode()).getstate() == seeded_random(key).getstate()


def test_bad_seeds_are_task_id_errors():
    for bad in (-1, 100_000_000, 2.0, "3", None, True):
        with pytest.raises(registry.TaskIdError):
            registry.generate_by_type("sudoku", bad)
    with pytest.raises(registry.TaskIdError):
        registry.make_task_id("dyck_language2", 200_000_000)
    assert registry.make_task_id("dyck_language2", 199_999_999) == 599_999_999


def test_docs_examples_are_what_the_generator_makes():
    """Every `veritas show ID --difficulty D --language L` example in docs/environments.md: the
    first block after it is that task's prompt, and its reference answer (and worked solution,
    where shown) follow before the next example."""
    import pathlib
    import re

    doc = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "environments.md").read_text()
    show = re.compile(r"`veritas show (\d+) --difficulty (\d+) --language (\w+)`")
    fence = re.compile(r"^(`{3,})(?:text)?\n(.*?)\n\1$", re.S | re.M)
    marks = list(show.finditer(doc))
    assert len(marks) >= 10
    for k, m in enumerate(marks):
        task = registry.generate(int(m.group(1)), int(m.group(2)), m.group(3))
        end = marks[k + 1].start() if k + 1 < len(marks) else len(doc)
        section = doc[m.end():end]
        blocks = [b.group(2) for b in fence.finditer(section)]
        assert blocks and blocks[0] == task.prompt, f"stale prompt for {m.group(0)}"
        assert task.answer in section, f"stale answer for {m.group(0)}"
        worked = registry.worked_solution(task)
        if worked is not None and "Worked solution" in section:
            assert worked in blocks, f"stale worked solution for {m.group(0)}"


def test_hash_draw_stream_is_endless_and_made_of_keyed_blocks():
    import hashlib

    from veritas.envs.rand import HashDraws

    draw = HashDraws("lgc-v2/operation/3/task/8/zh").stream()
    got = [draw() for _ in range(200)]  # past three block boundaries (64 draws a block)
    raw = b"".join(hashlib.shake_128(f"lgc-v2/operation/3/task/8/zh/s{i}".encode()).digest(128) for i in range(4))
    assert got == [int.from_bytes(raw[i:i + 2], "little") for i in range(0, 400, 2)]
