"""boolean_expressions: facts and statements re-checked independently, perturbations of the
reference answer, accepted answer spellings, worked solutions, hostile input, and regressions for
the public environment's faults."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from math import isqrt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veritas.envs import expr, lgc_v2
from veritas.envs.extract import last_boxed
from veritas.envs.lgc_v2 import boolean_expressions as be

N_SEEDS = 2000


def _task(seed, level=None, language=None):
    return lgc_v2.generate_by_type("boolean_expressions", seed, level, language)


def _box(letters):
    return "\\boxed{" + ", ".join(letters) + "}"


# --- independent truth of facts --------------------------------------------------------------

def _trial_division_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


def _digits_total(n):
    total = 0
    while n:
        total, n = total + n % 10, n // 10
    return total


def _mirror(s):
    return all(s[i] == s[len(s) - 1 - i] for i in range(len(s)))


def _cmp(a, op, b):
    return {"<": a < b, ">": a > b, "≤": a <= b, "≥": a >= b}[op]


def independent_fact(kind, args):
    if kind == "prime":
        return _trial_division_prime(args[0])
    if kind == "even":
        return args[0] % 2 == 0
    if kind == "odd":
        return args[0] % 2 != 0
    if kind == "divisible":
        return (args[0] // args[1]) * args[1] == args[0]
    if kind == "sum":
        return args[2] - args[1] == args[0]
    if kind == "difference":
        return args[2] + args[1] == args[0]
    if kind == "product":
        return sum(args[0] for _ in range(args[1])) == args[2]
    if kind == "compare":
        return _cmp(args[0], args[1], args[2])
    if kind == "fraction":
        p, q, op, r, s = args
        return _cmp(p * s, op, r * q)  # cross-multiplied (q, s > 0): exact without Fraction
    if kind == "digit_sum":
        return _digits_total(args[0]) == args[1]
    if kind == "length":
        return sum(1 for ch in args[0] if ch.isalpha()) == args[1] and args[0].isalpha()
    if kind == "palindrome":
        return _mirror(args[0])
    if kind == "letter_count":
        return sum(1 for ch in args[0] if ch == args[1]) == args[2]
    if kind == "mod":
        return args[0] - (args[0] // args[1]) * args[1] == args[2]
    if kind == "square":
        k = 0
        while k * k < args[0]:
            k += 1
        return k * k == args[0]
    raise AssertionError(kind)


def _walk_facts(node):
    if node[0] == "fact":
        yield node
    elif node[0] == "not":
        yield from _walk_facts(node[1])
    else:
        for child in node[1]:
            yield from _walk_facts(child)


def _depth(node):
    if node[0] == "fact":
        return 0
    if node[0] == "not":
        assert node[1][0] != "not"  # never "not not"
        return 1 + _depth(node[1])
    assert len(node[1]) >= 2
    return 1 + max(_depth(c) for c in node[1])


def _eval(node):
    if node[0] == "fact":
        return independent_fact(node[1], node[2])
    if node[0] == "not":
        return not _eval(node[1])
    vals = [_eval(c) for c in node[1]]
    return all(vals) if node[0] == "and" else any(vals)


def _ints_in(text):
    out, cur = [], ""
    for ch in text + " ":
        if "0" <= ch <= "9":
            cur += ch
        elif cur:
            out.append(int(cur))
            cur = ""
    return out


def test_facts_and_statements_recomputed_independently():
    kinds_seen = set()
    for seed in range(N_SEEDS):
        task = _task(seed)
        meta, cfg = task.metadata, be.LEVELS[task.difficulty]
        assert meta["letters"] == list("ABCDEFGH"[:cfg.statements])
        truths = []
        for letter, statement in zip(meta["letters"], meta["statements"]):
            assert _depth(statement) == cfg.depth
            facts = list(_walk_facts(statement))
            assert 1 <= len(facts) <= cfg.atoms
            for _, kind, args, text, value in facts:
                kinds_seen.add(kind)
                assert value is independent_fact(kind, args), (seed, text, value)
                shown = text
                for a in args:
                    if isinstance(a, str) and a not in "<>≤≥":
                        assert f"'{a}'" in text, (text, args)
                        shown = shown.replace(f"'{a}'", "")
                numbers = _ints_in(shown) + ([1] if "once" in shown else [])
                assert sorted(numbers) == sorted(a for a in args if isinstance(a, int)), (text, args)
                assert text in task.prompt
            truths.append(_eval(statement))
        assert meta["true_letters"] == [x for x, t in zip(meta["letters"], truths) if t]
        assert True in truths  # the prompt promises at least one true statement
        assert False in truths  # and answering "all of them" is never right
    assert kinds_seen >= {"prime", "even", "odd", "divisible", "sum", "difference", "product", "compare",
                          "fraction", "digit_sum", "length", "palindrome", "letter_count", "mod", "square"}


def test_word_lists_are_sound():
    assert all(w.isalpha() and w.islower() and not _mirror(w) for w in be.WORDS)
    assert all(w.isalpha() and _mirror(w) for w in be.PALINDROME_WORDS)
    assert len(set(be.WORDS)) == len(be.WORDS)


def test_levels_grow():
    rows = [be.LEVELS[k] for k in range(1, 11)]
    for a, b in zip(rows, rows[1:]):
        assert b.statements >= a.statements and b.depth >= a.depth and b.atoms >= a.atoms
        assert set(a.kinds) <= set(b.kinds)
    assert rows[0].statements < rows[-1].statements <= 8
    assert rows[0].depth < rows[-1].depth


# --- perturbations ---------------------------------------------------------------------------

def test_perturbed_answers_score_incorrect():
    for seed in range(N_SEEDS):
        task = _task(seed)
        meta = task.metadata
        true, letters = meta["true_letters"], meta["letters"]
        false = [x for x in letters if x not in true]
        beyond = "ABCDEFGHIJ"[len(letters)]
        wrong_answers = [
            _box(true[1:]),  # one true statement left out
            _box(true[:-1]),
            _box(true + false[:1]),  # a false statement added
            _box(false),
            _box(letters),
            _box(true + [beyond]),  # a letter that is not a statement
            _box(true + ["Z"]),
            _box(true[1:] + false[:1]),  # one swapped
            "\\boxed{}",
            "\\boxed{none}",
        ]
        for text in wrong_answers:
            v = be.verify(text, meta)
            assert not v.correct and v.format_ok, (seed, text, v)
        for text in (", ".join(true), "Answer: " + ", ".join(true), "\\boxed{" + ", ".join(true),
                     "\\boxed{A1}", "\\boxed{Statements " + ", ".join(true) + "}"):
            v = be.verify(text, meta)
            assert not v.correct and not v.format_ok, (seed, text, v)


def test_right_then_wrong_is_wrong():
    for seed in range(300):
        meta = _task(seed).metadata
        right = _box(meta["true_letters"])
        wrong = _box(meta["letters"])
        assert not be.verify(right + " ... no wait, " + wrong, meta).correct
        assert be.verify(wrong + " ... no wait, " + right, meta).correct


# --- accepted spellings ----------------------------------------------------------------------

def test_harmless_variants_accepted():
    """Fault: the public env rejected \\boxed{\\text{C,D}}."""
    checked = 0
    for seed in range(400):
        meta = _task(seed).metadata
        t = meta["true_letters"]
        if len(t) < 2:
            continue
        checked += 1
        variants = [
            "\\boxed{" + ",".join(t) + "}",
            "\\boxed{" + ", ".join(reversed(t)) + "}",
            "\\boxed{" + " , ".join(x.lower() for x in t) + "}",
            "\\boxed{\\text{" + ",".join(t) + "}}",
            "\\boxed{" + ", ".join("\\text{" + x + "}" for x in t) + "}",
            "\\boxed{\\textbf{" + ", ".join(t) + "}}",
            "\\boxed{\\mathrm{" + ", ".join(t) + "}}",
            "\\boxed{" + ", ".join(t[:-1]) + " and " + t[-1] + "}",
            "\\boxed{" + " ".join(t) + "}",
            "\\boxed{" + "、".join(t) + "}",
            "\\boxed{" + "，".join(t) + "}",
            "\\boxed{" + "; ".join(t) + "}",
            "\\boxed{" + "和".join(t) + "}",
            "\\boxed{" + ", ".join(t + t[:1]) + "}",  # a repeat names the same statement
            "$\\boxed{" + ", ".join(t) + "}$",
            "\\[\\boxed{" + ", ".join(t) + "}\\]",
            "Evaluating each statement...\nSo the true ones are:\n\\boxed{ " + ", ".join(t) + " }\n",
        ]
        for text in variants:
            v = be.verify(text, meta)
            assert v.correct, (text, v)
        if checked > 40:
            break
    assert checked > 40


def test_text_wrapped_box_regression():
    meta = {"letters": list("ABCDE"), "true_letters": ["C", "D"]}
    assert be.verify("\\boxed{\\text{C,D}}", meta).correct
    assert be.verify("\\boxed{\\text{C, D}}", meta).correct
    assert be.verify("\\boxed{C and D}", meta).correct
    assert not be.verify("\\boxed{\\text{C}}", meta).correct


def test_none_spelling_is_read_but_never_right():
    meta = _task(1).metadata
    for text in ("\\boxed{none}", "\\boxed{None}", "\\boxed{无}", "\\boxed{\\emptyset}", "\\boxed{}"):
        v = be.verify(text, meta)
        assert not v.correct and v.format_ok


# --- worked solutions ------------------------------------------------------------------------

def test_worked_solutions_verify_and_stay_short():
    for level in range(1, 11):
        for lang in be.TASK_TYPE.languages:
            for seed in range(40):
                task = _task(seed, level, lang)
                worked = lgc_v2.worked_solution(task)
                assert lgc_v2.verify_task(task, worked).correct
                lines = [ln for ln in worked.split("\n") if ln[:2] in {x + ":" for x in task.metadata["letters"]}]
                assert len(lines) == len(task.metadata["letters"])
                truth = be._TRUTH[lang]
                for line, letter in zip(lines, task.metadata["letters"]):
                    final = line.rsplit(" → ", 1)[1]
                    assert final == truth[letter in task.metadata["true_letters"]], line
                # each statement's line is followed by the true statements so far, read from the
                # statement lines above it (the last one is the answer)
                all_lines = worked.split("\n")
                seen = []
                for line in lines:
                    seen.append(line)
                    so_far = all_lines[all_lines.index(line) + 1]
                    label, listed = so_far.split("：" if lang == "zh" else ": ", 1)
                    assert label == ("目前为真" if lang == "zh" else "True so far"), so_far
                    true_above = [ln[0] for ln in seen if ln.endswith(" → " + truth[True])]
                    assert listed == (", ".join(true_above) or ("无" if lang == "zh" else "none")), (so_far, seen)
                assert true_above == list(task.metadata["true_letters"])
                if level <= 5:
                    assert len(worked) < 1700, len(worked)


_EQUALITY = re.compile(r"([\d +×-]+?) = ([\d +×-]+)")


def test_worked_solutions_check_every_fact_before_its_statement():
    """Before each statement's line, one line per fact of it, in the statement's order, ending in
    the fact's truth value; every equation in a line's working holds (read with the package's safe
    evaluator, not the generator), a claimed sum the working refutes differs from it, a comparison's
    working is the numbers' true order, a parity's the number's parity, and "no divisor from 2 to
    k" names k = isqrt(n) of a prime."""
    checked = 0
    for level in range(1, 11):
        for lang in be.TASK_TYPE.languages:
            truth = be._TRUTH[lang]
            for seed in range(30):
                task = _task(seed, level, lang)
                block = []
                for line in lgc_v2.worked_solution(task).split("\n")[1:]:
                    if line.startswith("- "):
                        block.append(line[2:])
                        continue
                    if not line[:2].rstrip(":") in task.metadata["letters"]:
                        continue
                    statement = task.metadata["statements"][task.metadata["letters"].index(line[0])]
                    facts = be._facts(statement)
                    assert len(block) == len(facts), (line, block)
                    for text, (_, kind, args, fact_text, value) in zip(block, facts):
                        assert text.endswith(" → " + truth[value]), (text, fact_text)
                        assert text.startswith(fact_text) or kind in ("sum", "difference", "product"), text
                        body = text.rsplit(" → ", 1)[0]
                        working = body[len(fact_text):] if text.startswith(fact_text) else body
                        for left, right in _EQUALITY.findall(working):
                            assert expr.evaluate(left).value == expr.evaluate(right).value, text
                        refuted = re.search(r"(?:, not|，不是) (\d+)$", body)
                        if refuted:
                            assert expr.evaluate(body.split(" = ")[0]).value != int(refuted.group(1)), text
                        if kind == "compare":  # the numbers' true order, whatever the claim says
                            a, rel, b = re.fullmatch(r"(?:: |：)(\d+) ([<>=]) (\d+)", working).groups()
                            a, b = int(a), int(b)
                            assert (a, b) == (args[0], args[2]), text
                            assert {"<": -1, "=": 0, ">": 1}[rel] == (a > b) - (a < b), text
                        if kind == "fraction":  # the cross products' order, then the fractions' true order
                            m = re.fullmatch(r"(?:: |：)\d+ × \d+ = (\d+), \d+ × \d+ = (\d+), (\d+) ([<>=]) (\d+)"
                                             r"(?:, so|，所以) (\d+)/(\d+) ([<>=]) (\d+)/(\d+)", working)
                            assert m, text
                            left, right, a, rel, b, p, q, rel2, r, t = m.groups()
                            assert (left, right) == (a, b) and rel == rel2, text
                            assert (int(p), int(q), int(r), int(t)) == (args[0], args[1], args[3], args[4]), text
                            order = (Fraction(int(p), int(q)) > Fraction(int(r), int(t))) - (Fraction(int(p), int(q)) < Fraction(int(r), int(t)))
                            assert {"<": -1, "=": 0, ">": 1}[rel] == order, text
                        if kind == "divisible":  # multiples of d: n itself, or the two around it
                            products = re.findall(r"(\d+) × (\d+) = (\d+)", working)
                            n, d = args[0], args[1]
                            assert all(int(a) == d for a, _, _ in products), text
                            values = [int(v) for _, _, v in products]
                            assert values == ([n] if n % d == 0 else [n // d * d, n // d * d + d]), text
                        if kind == "digit_sum":  # one addition a step, ending in the digits' true sum
                            steps = re.findall(r"(\d+) \+ (\d) = (\d+)", working)
                            assert len(steps) == len(str(args[0])) - 1, text
                            assert int(steps[-1][2]) == sum(map(int, str(args[0]))), text
                        if kind in ("even", "odd"):
                            assert working.endswith(("even", "偶数") if args[0] % 2 == 0 else ("odd", "奇数")), text
                        if "no divisor from 2 to" in text or "之间的因数" in text:
                            numbers = re.findall(r"\d+", working)  # n, 2, k
                            n, k = int(numbers[0]), int(numbers[2])
                            assert k == isqrt(n) and all(n % p for p in range(2, k + 1)), text
                        checked += 1
                    block = []
    assert checked > 3000


# --- determinism (fault: answers changed per process; speed: tests/benchmarks/bench_timings.py) ---

_DUMP = """
import json
from veritas.envs import lgc_v2
out = [lgc_v2.generate_by_type("boolean_expressions", s, 1 + s % 10).to_dict() for s in range(0, 3000, 29)]
print(json.dumps(out, ensure_ascii=False, sort_keys=True))
"""


def test_same_tasks_and_answers_in_every_process():
    outs = []
    for hash_seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        outs.append(subprocess.run([sys.executable, "-c", _DUMP], env=env, capture_output=True, check=True).stdout)
    assert outs[0] == outs[1]
    here = [_task(s, 1 + s % 10).to_dict() for s in range(0, 3000, 29)]
    assert json.loads(outs[0]) == json.loads(json.dumps(here, ensure_ascii=False))


# --- hostile input ---------------------------------------------------------------------------

_META = _task(21, 7).metadata
_TRUE = set(_META["true_letters"])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_fuzz_never_raises_never_correct(text):
    for candidate in (text, "\\boxed{" + text + "}", text + "\\boxed{"):
        v = be.verify(candidate, _META)
        assert isinstance(v.correct, bool) and isinstance(v.reason, str)
        if v.correct:  # only a box naming exactly the true letters can be right
            assert set(be.parse_letters(last_boxed(candidate))) == _TRUE


_NO_TRUE_LETTER = "".join(ch for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz ,;&{}\\$和、，text"
                          if ch.upper() not in _TRUE)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_NO_TRUE_LETTER, max_size=60))
def test_fuzz_box_contents_without_true_letters_never_correct(content):
    v = be.verify("\\boxed{" + content + "}", _META)
    assert not v.correct


# megabyte responses; tests/benchmarks/bench_timings.py times them
HUGE_INPUTS = ("\\boxed{" * 100_000, "A" * 1_000_000, "\\boxed{\\text{" * 60_000 + "}" * 120_000,
               "\\boxed{A}" * 100_000 + "\\boxed{" + "A, " * 200 + "}")
HUGE_BOXES = ("\\boxed{" + "A, " * 400_000 + "}", "\\boxed{" + "{" * 500_000 + "}" * 500_000 + "}")


def test_huge_inputs_are_never_right():
    for text in HUGE_INPUTS:
        assert not be.verify(text, _META).correct


def test_huge_box_never_raises():
    for text in HUGE_BOXES:
        v = be.verify(text, _META)
        assert not v.correct and not v.format_ok


# --- reading a response's fact verdicts (veritas.evaluation.boolean_facts) ----------------------

def test_fact_verdicts_of_a_worked_response_are_read_line_by_line():
    for lang in be.TASK_TYPE.languages:
        task = _task(7, 5, lang)
        worked = lgc_v2.worked_solution(task)
        judged = be.fact_lines_judged(task.metadata, lang, worked)
        facts = [f for st in task.metadata["statements"] for f in be._facts(st)]
        assert [kind for kind, _ in judged] == [f[1] for f in facts] and all(right for _, right in judged)
        # one verdict flipped: exactly that fact is wrong
        lines = worked.split("\n")
        i = next(n for n, line in enumerate(lines) if line.startswith("- "))
        truth = be._TRUTH[lang]
        head, said = lines[i].rsplit("→ ", 1)
        lines[i] = head + "→ " + (truth[False] if said == truth[True] else truth[True])
        flipped = be.fact_lines_judged(task.metadata, lang, "\n".join(lines))
        assert [right for _, right in flipped] == [False] + [True] * (len(facts) - 1)
        # a lost line: nothing is paired, and the counts say why
        assert be.fact_lines_judged(task.metadata, lang, "\n".join(lines[:i] + lines[i + 1:])) is None
        assert be.fact_line_counts(task.metadata, lang, "\n".join(lines[:i] + lines[i + 1:])) == (len(facts) - 1, len(facts))
        assert be.fact_line_counts(task.metadata, lang, worked) == (len(facts), len(facts))


@pytest.mark.parametrize("response", ["", "\\boxed{A}", "- → " * 5000, None, "- x → True\n" * 3, "→\n" * 10_000])
def test_fact_verdicts_of_hostile_responses_never_raise(response):
    task = _task(3, 4)
    judged = be.fact_lines_judged(task.metadata, "en", response)
    assert judged is None or all(isinstance(right, bool) for _, right in judged)
    assert be.fact_lines_judged({"statements": "nonsense"}, "en", "- a → True") is None
    assert be.fact_lines_judged(task.metadata, "fr", lgc_v2.worked_solution(task)) is None
    counts = be.fact_line_counts(task.metadata, "en", response)
    assert counts is None if response is None else counts[0] <= 10_000
    assert be.fact_line_counts({"statements": "nonsense"}, "en", "- a → True") is None


def test_boolean_facts_tallies_a_samples_file(tmp_path, capsys):
    from veritas.evaluation import boolean_facts

    rows = []
    for seed in range(6):
        task = _task(seed, 5, "en")
        response = lgc_v2.worked_solution(task)
        correct = seed % 2 == 0
        if not correct:  # the first fact's verdict flipped
            head, said = response.split("\n- ", 1)[1].split("\n", 1)[0].rsplit("→ ", 1)
            first = "- " + head + "→ " + said
            response = response.replace(first, "- " + head + "→ " + ("False" if said == "True" else "True"), 1)
        rows.append({"task_id": task.task_id, "task_type": "boolean_expressions", "difficulty": 5, "language": "en",
                     "response": response, "correct": correct})
    rows.append({"task_id": 1, "task_type": "operation", "difficulty": 1, "language": "en", "response": "", "correct": False})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    t = boolean_facts.tally([json.loads(line) for line in samples.read_text().splitlines()])
    assert (t["responses"], t["paired"]) == (6, 6) and sum(t["wrong"].values()) == 3
    assert sum(t["failed_with"].values()) == 3 and "(no wrong verdict)" not in t["failed_with"]
    assert boolean_facts.main([str(tmp_path)]) == 0
    assert "6 boolean_expressions responses, 6 with one line per fact" in capsys.readouterr().out
    assert boolean_facts.main([str(tmp_path / "nowhere")]) == 2
