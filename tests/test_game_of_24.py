"""game_of_24: ground truth, perturbations, public-environment fault regressions, variants."""
from __future__ import annotations

import base64
import hashlib
import itertools
import os
import random
import re
import zlib
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veritas.envs import lgc_v2
from veritas.envs.expr import combine
from veritas.envs.lgc_v2 import game_of_24 as g24
from veritas.envs.lgc_v2.data import game_of_24_table as table_module

TYPE = "game_of_24"


def task(seed, level=None, language=None):
    return lgc_v2.generate_by_type(TYPE, seed, level, language)


def judge(t, response):
    return lgc_v2.verify_task(t, response)


def block(body, lang="python"):
    return f"```{lang}\n{body}\n```"


def brute_force_solvable(numbers, target, ops) -> bool:
    """Independent exhaustive search (pick two values, combine, recurse) over exact fractions.

    Different algorithm from the generator's subset DP; shares only the operation semantics
    (expr.combine), which is what the verifier uses.
    """
    target = Fraction(target)

    def rec(values):
        if len(values) == 1:
            return values[0] == target
        for i, j in itertools.permutations(range(len(values)), 2):
            rest = [v for k, v in enumerate(values) if k != i and k != j]
            for op in ops:
                if op in ("+", "*") and i > j:
                    continue
                r = combine(op, values[i], values[j])
                if r is not None and rec(rest + [r]):
                    return True
        return False

    return rec([Fraction(x) for x in numbers])


_LITERAL = re.compile(r"\d+")


def python_value(expression: str) -> Fraction:
    """Python's value of OUR OWN reference expression (never model output)."""
    return eval(_LITERAL.sub(lambda m: f"F({m.group()})", expression), {"__builtins__": {}, "F": Fraction})


# ------------------------------------------------------------------------------------------
# Levels, prompts, references
# ------------------------------------------------------------------------------------------

def test_levels_respect_their_knobs():
    for level, knobs in g24.LEVELS.items():
        for seed in range(40):
            t = task(seed, level, ("en", "zh")[seed % 2])
            m = t.metadata
            assert len(m["numbers"]) == knobs.count
            assert all(knobs.low <= x <= knobs.high for x in m["numbers"])
            assert m["target"] in knobs.targets and m["opset"] in knobs.opsets
            assert m["ops"] == list(g24.OPSETS[m["opset"]])
            if knobs.count != 4 or knobs.none_share == 0:
                assert not m["none_allowed"] and m["solvable"]
            if not m["none_allowed"]:
                assert m["solvable"]  # where None is not allowed every puzzle has a solution
            if m["solvable"]:
                assert python_value(m["solution"]) == m["target"]
                assert sorted(int(x) for x in _LITERAL.findall(m["solution"])) == sorted(m["numbers"])
                assert all(op in m["ops"] for op in re.findall(r"\*\*|[-+*/]", m["solution"]))


def test_none_share_and_unsolvable_share():
    counts = {lv: [0, 0, 0] for lv in (2, 4, 6, 8)}
    for level in counts:
        for seed in range(300):
            m = task(seed, level, "en").metadata
            counts[level][0] += 1
            counts[level][1] += m["none_allowed"]
            counts[level][2] += not m["solvable"]
    for level, (n, allowed, unsolvable) in counts.items():
        share = g24.LEVELS[level].none_share
        assert abs(allowed / n - share) < 0.1, (level, allowed)
        assert abs(unsolvable / max(allowed, 1) - 0.5) < 0.15, (level, allowed, unsolvable)


def test_prompts_state_numbers_target_rules_and_vary():
    heads = {"en": set(), "zh": set()}
    for seed in range(200):
        t = task(seed)
        m = t.metadata
        sep = ", " if t.language == "en" else "、"
        assert sep.join(str(x) for x in m["numbers"]) in t.prompt
        assert str(m["target"]) in t.prompt and "```python" in t.prompt
        assert ("None" in t.prompt) == m["none_allowed"]
        assert ("**" in t.prompt) == ("**" in m["ops"])
        if t.language == "zh":
            assert re.search(r"[\u4e00-\u9fff]", t.prompt)
        heads[t.language].add(t.prompt.split("\n")[0][:12])
    assert len(heads["en"]) >= 3 and len(heads["zh"]) >= 3


def test_answer_format_of_references():
    for seed in range(100):
        t = task(seed)
        assert t.answer.startswith("```python\n") and t.answer.endswith("\n```")
        assert (t.answer == block("None")) == (not t.metadata["solvable"])


def test_worked_solutions_are_short_and_verify():
    for seed in range(300):
        for language in ("en", "zh"):
            t = task(seed, None, language)
            w = lgc_v2.worked_solution(t)
            assert len(w) < 1200 and judge(t, w).correct, (t.task_id, w)
            if t.metadata["solvable"]:
                assert all(step in w for step in t.metadata["steps"])


# ------------------------------------------------------------------------------------------
# Ground truth: the table and the unsolvable tasks (public env: ~7% of its "None" tasks were solvable)
# ------------------------------------------------------------------------------------------

def test_table_decodes_to_the_recorded_hash():
    raw = zlib.decompress(base64.b64decode(table_module.DATA))
    assert hashlib.sha256(raw).hexdigest() == table_module.RAW_SHA256
    n_multisets = len(list(itertools.combinations_with_replacement(range(1, table_module.HIGH + 1), 4)))
    assert len(raw) == len(table_module.OPSET_NAMES) * len(table_module.TARGETS) * ((n_multisets + 7) // 8)


def test_table_agrees_with_published_counts():
    # Well-known counts for the classic game (+ - * /, target 24): 1362 of the 1820 multisets
    # of 1..13 and 566 of the 715 multisets of 1..10 are solvable.
    assert len(g24._class_members("basic", 24, 1, 13, True)) == 1362
    assert len(g24._class_members("basic", 24, 1, 13, False)) == 1820 - 1362
    assert len(g24._class_members("basic", 24, 1, 10, True)) == 566


def test_table_entries_agree_with_an_independent_brute_force():
    rng = random.Random(2024)
    multisets = list(itertools.combinations_with_replacement(range(1, table_module.HIGH + 1), 4))
    for _ in range(70):
        opset = rng.choice(table_module.OPSET_NAMES)
        target = rng.choice(table_module.TARGETS)
        m = rng.choice(multisets)
        assert g24.table_solvable(opset, target, m) == brute_force_solvable(m, target, g24.OPSETS[opset]), (opset, target, m)


def test_unsolvable_tasks_have_no_solution_by_independent_search():
    """Regression: answering None must never earn reward on a solvable puzzle."""
    checked = 0
    for seed in range(2000):
        m = task(seed).metadata
        if not m["solvable"]:
            assert m["none_allowed"]
            assert not brute_force_solvable(m["numbers"], m["target"], m["ops"]), m
            checked += 1
            if checked == 60:
                break
    assert checked == 60


def test_subset_search_agrees_with_brute_force_on_odd_targets():
    rng = random.Random(7)
    for _ in range(150):
        numbers = [rng.randint(1, 7) for _ in range(rng.choice((1, 2, 3, 4)))]
        target = rng.choice([0, 1, -1, 2, 5, -6, 9, 16, 24, Fraction(1, 2), Fraction(-3, 4), Fraction(1, 4)])
        ops = g24.OPSETS[rng.choice(list(g24.OPSETS))]
        tree = g24.solve(numbers, target, ops)
        assert (tree is not None) == brute_force_solvable(numbers, target, ops), (numbers, target, ops)
        if tree is not None:
            assert g24.tree_value(tree) == target and sorted(g24.tree_leaves(tree)) == sorted(numbers)
            meta = {"numbers": numbers, "target": target, "ops": list(ops), "none_allowed": False, "solvable": True}
            assert lgc_v2.verify(TYPE, block(g24.to_expression(tree)), meta).correct


def test_every_level_choice_is_generable():
    for level, k in g24.LEVELS.items():
        for opset, target in itertools.product(k.opsets, k.targets):
            if k.count == 4:
                # 4-number puzzles always come from the table, with both classes available
                assert g24.table_covers(4, k.low, k.high, opset, target)
                assert g24._class_members(opset, target, k.low, k.high, True)
                if k.none_share:
                    assert g24._class_members(opset, target, k.low, k.high, False)
            else:
                tree = g24._fallback_tree(target, k.count, k.low, k.high, g24.OPSETS[opset])
                assert tree is not None and g24.tree_value(tree) == target
                assert len(g24.tree_leaves(tree)) == k.count
                assert all(k.low <= x <= k.high for x in g24.tree_leaves(tree))


def test_constructor_does_not_need_its_fallback(monkeypatch):
    def no_fallback(*args):
        raise AssertionError(f"fallback used for {args}")

    monkeypatch.setattr(g24, "_fallback_tree", no_fallback)
    for level in (5, 7, 9, 10):
        for seed in range(300):
            t = task(seed, level, "en")
            assert len(set(re.findall(r"\*\*|[-+*/]", t.metadata["solution"]))) > 1  # not a bare sum/product


def test_pair_table_entries_are_right():
    for ops in g24.OPSETS.values():
        for value, entries in g24._pair_table(1, 25, ops).items():
            for op, a, b in entries:
                assert combine(op, Fraction(a), Fraction(b)) == value


# ------------------------------------------------------------------------------------------
# Public-environment faults: hanging verifier (the public env's 0.27 tasks per CPU-second and
# 21.5 s tasks: tests/benchmarks/bench_timings.py prints the figures)
# ------------------------------------------------------------------------------------------

HUGE = ["15**14**11**4", "9**9**9**9", "(9**9)**(9**9)", "2**2**2**2**2**2", "1/(9**9**9)",
        "9" * 5000, "(" * 100_000 + "1" + ")" * 100_000, "1+" * 500_000 + "1"]


@pytest.mark.parametrize("expression", HUGE)
def test_huge_power_and_literal_responses_are_refused_fast(expression):
    """Regression: the public verifier hung on ```python\\n15**14**11**4```."""
    for seed in range(4):
        t = task(seed, 8, "en")  # power is allowed at level 8 for some seeds
        for response in (block(expression), t.answer + "\n" + block(expression)):
            v = judge(t, response)
            assert not v.correct, (expression[:20], v)


def megabyte_responses(t) -> list[str]:
    """Megabyte responses to task ``t``; timed by tests/benchmarks/bench_timings.py."""
    return [
        "A" * 1_000_000,
        "```" * 333_333,
        "`" * 1_000_000,
        block("(" * 999_000),
        block("1+" * 499_000 + "1"),
        (block("(1+2)*3") + "\n") * 60_000,
        "x" * 999_000 + t.answer,
        t.answer + "#" * 1_000_000,
        block("8 " * 499_000),
    ]


def test_one_megabyte_responses_never_raise():
    t = task(3)
    for r in megabyte_responses(t):
        v = judge(t, r)
        assert isinstance(v.correct, bool) and not v.reason.startswith("verifier error"), r[:20]
    assert judge(t, "x" * 999_000 + t.answer).correct


def test_python_is_never_executed():
    marker = "/tmp/veritas_g24_pwned"
    t = task(1)
    for body in (f"__import__('os').system('touch {marker}')", f"open('{marker}', 'w')",
                 "exec('print(1)')", "print((8 - 4) * 6)", "lambda: 24", "eval('24')"):
        v = judge(t, block(body))
        assert not v.correct
    assert not os.path.exists(marker)


# ------------------------------------------------------------------------------------------
# Perturbations of the reference score incorrect
# ------------------------------------------------------------------------------------------

def _bump_first_literal(expression: str) -> str:
    m = _LITERAL.search(expression)
    return expression[:m.start()] + str(int(m.group()) + 1) + expression[m.end():]


def test_perturbations_of_the_reference_are_incorrect():
    for seed in range(2000):
        t = task(seed)
        m = t.metadata
        nums = m["numbers"]
        if m["solvable"]:
            sol = m["solution"]
            wrong = [
                "None",
                _bump_first_literal(sol),
                f"{sol} + 0",
                f"({sol}) * 1",
                f"{sol} + {nums[0]}",
                sol.rsplit(" ", 2)[0] if sol.count(" ") >= 2 else "0",  # drop the last operand
                f"{sol} = {m['target'] + 1}",
            ]
        else:
            wrong = [
                " + ".join(map(str, nums)),
                " * ".join(map(str, nums)),
                f"({nums[0]} - {nums[1]}) * {nums[2]} + {nums[3]}",
                str(m["target"]),
            ]
        for body in wrong:
            assert not judge(t, block(body)).correct, (t.task_id, body)
            # right, then wrong: the last block counts
            assert not judge(t, t.answer + "\nActually:\n" + block(body)).correct, (t.task_id, body)
            # wrong, then right
            assert judge(t, block(body) + "\nNo wait:\n" + t.answer).correct
        # an unfinished last block is not an answer
        assert not judge(t, t.answer[:-3]).correct
        assert not judge(t, t.answer.replace("```python", "```text")).correct
        if not m["none_allowed"]:
            assert judge(t, block("None")).reason.startswith("None is not allowed")


def test_operator_swaps_are_judged_by_exact_value():
    """Any expression that really evaluates to the target counts; others do not."""
    for seed in range(400):
        t = task(seed)
        m = t.metadata
        if not m["solvable"] or "**" in m["solution"]:
            continue
        positions = [i for i, c in enumerate(m["solution"]) if c in "+-*/"]
        for i in positions:
            for op in m["ops"]:
                if op == "**" or op == m["solution"][i]:
                    continue
                swapped = m["solution"][:i] + op + m["solution"][i + 1:]
                try:
                    expected = python_value(swapped) == m["target"]
                except ZeroDivisionError:
                    expected = False
                assert judge(t, block(swapped)).correct == expected, (swapped, m)


# ------------------------------------------------------------------------------------------
# Harmless variants are accepted
# ------------------------------------------------------------------------------------------

_FULL = str.maketrans("0123456789()+-*/", "０１２３４５６７８９（）＋－＊／")


def test_harmless_variants_are_accepted():
    for seed in range(300):
        t = task(seed)
        m = t.metadata
        if m["solvable"]:
            sol = m["solution"]
            variants = [
                block(sol.translate(_FULL)),
                block(sol.replace("*", "×").replace("/", "÷").replace("××", "**")),
                block(sol.replace(" ", "")),
                block("(\n    " + sol + "\n)"),
                block(f"answer = {sol}"),
                block(f"{sol} = {m['target']}"),
                block(f"{sol} == {m['target']}"),
                block(f"{sol}  # = {m['target']}"),
                block(f"# my answer\n{sol}\n"),
                block(sol, "py"),
                block(sol, "Python"),
                block(sol, ""),
                f"Let me think.\n\n{block(sol)}\n\nThat is my answer.",
                f"<think>try {block('1+1')}</think>\n{block(sol)}",
                f"{block(sol)}\n```text\nchecked: {m['target']}\n```",  # a non-python block after it
            ]
        else:
            variants = [block("none"), block("None  # no solution"), block("answer = None"),
                        block("NONE"), f"No expression works.\n{block('None')}"]
        for r in variants:
            v = judge(t, r)
            assert v.correct, (t.task_id, r, v)


def test_numbers_must_be_used_exactly_once():
    meta = {"numbers": [8, 8, 3, 3], "target": 24, "ops": ["+", "-", "*", "/"],
            "none_allowed": False, "solvable": True}
    ok = lambda body: lgc_v2.verify(TYPE, block(body), meta)  # noqa: E731
    assert ok("8 / (3 - 8 / 3)").correct
    assert not ok("8 * 3").correct                    # numbers missing
    assert not ok("8 * 3 + 8 - 8 + 3 - 3").correct    # numbers reused
    assert not ok("8 / (3 - 8 / 3) + 0").correct      # a number not given
    assert not ok("83 - 8 * 3 - 35").correct          # digits glued together
    assert ok("8 / (3 - 8 / 3)").format_ok and not ok("8 / (3 - ").format_ok


# ------------------------------------------------------------------------------------------
# Fuzz: hostile text never raises and never scores
# ------------------------------------------------------------------------------------------

_FUZZ_TASKS = [task(s) for s in range(12)]
_ALPHABET = "0123456789+-*/() \n`×÷（）None#=abc.^"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=st.one_of(st.text(), st.text(alphabet=_ALPHABET, max_size=80)),
       wrap=st.sampled_from(["{}", "```python\n{}\n```", "```\n{}\n```", "```python\n{}", "{}\n```"]),
       k=st.integers(0, len(_FUZZ_TASKS) - 1))
def test_fuzz_never_raises_never_scores(text, wrap, k):
    t = _FUZZ_TASKS[k]
    response = wrap.format(text)
    v = g24.verify(response, t.metadata)  # the module itself, so an exception would surface
    assert isinstance(v.correct, bool) and isinstance(v.reason, str)
    if v.correct:  # only a genuinely right answer may score: here, None on an unsolvable task
        assert not t.metadata["solvable"], (response, v)
        body = g24.last_fenced_block(response, g24._BLOCK_LANGUAGES)
        assert g24._read_block(body)[0].lower() == "none", (response, v)
