"""LGC-V2 `operation`: prompt/answer agreement, perturbations, hostile input, public-env faults.

The central test re-reads every rule, the grouping statement and the expression from the RENDERED
prompt text with a parser written here (independent of the generator's AST and closures) and
re-evaluates them with Fraction: prompt and answer must agree.
"""
from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veritas.envs.lgc_v2 import operation as op
from veritas.envs.lgc_v2 import registry

# --------------------------------------------------------------------------- independent reader

_SYMS = set(op.SYMBOLS)
_TOKEN = re.compile(r"\s*(\d+|[ab]|[-+×/²³()|]|[%s])" % re.escape("".join(op.SYMBOLS)))


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"unreadable at {text[pos:]!r} in {text!r}"
        out.append(m.group(1))
        pos = m.end()
    return out


class _Body:
    """Recursive-descent reader of a rule body into a tree of Python tuples (own format)."""

    def __init__(self, text):
        self.toks = _tokens(text)
        self.i = 0
        self.open_bars = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected=None):
        t = self.peek()
        assert t is not None and (expected is None or t == expected), (expected, t, self.toks)
        self.i += 1
        return t

    def parse(self):
        node = self.expr()
        assert self.peek() is None, self.toks
        return node

    def expr(self):
        if self.peek() == "-":  # a negative value in a worked solution: "(-3)", "|-4|", "-2"
            self.take()
            node = ("neg", self.term())
        else:
            node = self.term()
        while self.peek() in ("+", "-"):
            node = (self.take(), node, self.term())
        return node

    def term(self):
        node = self.power()
        while True:
            t = self.peek()
            if t in ("×", "/"):
                self.take()
                node = ("*" if t == "×" else "/", node, self.power())
            elif (isinstance(node, tuple) and node[0] == "num" and t is not None and t in "ab(|"
                  and not (t == "|" and self.open_bars)):  # inside |...| a bar closes it
                node = ("*", node, self.power())  # "2a", "2(a - b)", "2|a - b|"
            else:
                return node

    def power(self):
        node = self.atom()
        while self.peek() in ("²", "³"):
            node = ("^", node, 2 if self.take() == "²" else 3)
        return node

    def atom(self):
        t = self.take()
        if t.isdigit():
            return ("num", int(t))
        if t in ("a", "b"):
            return ("var", t)
        if t == "|":
            self.open_bars += 1
            inner = self.expr()
            self.take("|")
            self.open_bars -= 1
            return ("abs", inner)
        assert t == "(", self.toks
        toks, k = self.toks, self.i + (self.peek() == "-")
        if toks[k:k + 4:2] and len(toks) > k + 3 and toks[k].isdigit() and toks[k + 1:k + 4:2] == ["/", ")"] \
                and toks[k + 2].isdigit():
            # a fraction value of a worked solution, "(7/2)" or "(-7/2)": one number, no division
            value = Fraction(int(toks[k]), int(toks[k + 2]))
            negative, self.i = k > self.i, k + 4
            return ("num", -value if negative else value)
        left = self.expr()
        if self.peek() in _SYMS:  # "(a ⊕ b)": another operator
            sym = self.take()
            right = self.expr()
            self.take(")")
            return ("op", sym, left, right)
        self.take(")")
        return left


def _eval(node, env, ops):
    kind = node[0]
    if kind == "num":
        return Fraction(node[1])
    if kind == "var":
        return env[node[1]]
    if kind == "abs":
        return abs(_eval(node[1], env, ops))
    if kind == "neg":
        return -_eval(node[1], env, ops)
    if kind == "op":
        return _apply(ops, node[1], _eval(node[2], env, ops), _eval(node[3], env, ops))
    x = _eval(node[1], env, ops)
    if kind == "^":
        return x ** node[2]
    y = _eval(node[2], env, ops)
    return {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else None}[kind]


def _condition(text: str):
    text = text.strip()
    for suffix, test in ((" is an even integer", "even"), (" is an odd integer", "odd"), (" is an integer", "int"),
                         (" 是偶数", "even"), (" 是奇数", "odd"), (" 是整数", "int")):
        if text.endswith(suffix):
            return (test, _Body(text[: -len(suffix)]).parse())
    for sym, name in ((" ≥ ", ">="), (" ≤ ", "<="), (" > ", ">"), (" < ", "<"), (" = ", "=")):
        if sym in text:
            left, right = text.split(sym)
            return (name, _Body(left).parse(), _Body(right).parse())
    raise AssertionError(f"unknown condition {text!r}")


def _holds(cond, env, ops):
    if cond[0] in ("even", "odd", "int"):
        v = _eval(cond[1], env, ops)
        if v.denominator != 1:  # the prompt: a non-integer is neither even nor odd
            return False
        return cond[0] == "int" or (v.numerator % 2 == 0) == (cond[0] == "even")
    x, y = _eval(cond[1], env, ops), _eval(cond[2], env, ops)
    return {">": x > y, "<": x < y, ">=": x >= y, "<=": x <= y, "=": x == y}[cond[0]]


_CASE_PATTERNS = [
    re.compile(r"^if (?P<c>.+), then (?P<s>a . b) = (?P<b>.+)$"),
    re.compile(r"^(?P<s>a . b) = (?P<b>.+) if (?P<c>.+)$"),
    re.compile(r"^(?P<s>a . b) = (?P<b>.+) when (?P<c>.+)$"),
    re.compile(r"^若 (?P<c>.+)，则 (?P<s>a . b) = (?P<b>.+)$"),
    re.compile(r"^当 (?P<c>.+) 时，(?P<s>a . b) = (?P<b>.+)$"),
    re.compile(r"^如果 (?P<c>.+)，(?P<s>a . b) = (?P<b>.+)$"),
    re.compile(r"^(?P<s>a . b) = (?P<b>.+)$"),
]
_CASE_PREFIXES = ("otherwise, ", "otherwise ", "else ", "否则", "其他情况下 ")


def _read_rule(line: str):
    """'- a △ b = ...' -> (symbol, [(condition or None, body)])."""
    assert line.startswith("- ")
    cases, symbol = [], None
    for clause in re.split(r"; |；", line[2:]):
        for prefix in _CASE_PREFIXES:
            if clause.startswith(prefix):
                clause = clause[len(prefix):].strip()
                break
        for pat in _CASE_PATTERNS:
            m = pat.match(clause)
            if m:
                break
        else:
            raise AssertionError(f"unreadable case {clause!r}")
        sym = m.group("s")[2]
        assert symbol in (None, sym)
        symbol = sym
        cond = m.groupdict().get("c")
        cases.append((None if cond is None else _condition(cond), _Body(m.group("b")).parse()))
    assert all(c is not None for c, _ in cases[:-1]) and cases[-1][0] is None, line
    return symbol, cases


def _apply(ops, sym, a, b):
    env = {"a": a, "b": b}
    for cond, body in ops[sym]:
        if cond is None or _holds(cond, env, ops):
            v = _eval(body, env, ops)
            _TRACE.append(v)
            return v
    raise AssertionError("no case applied")


_TRACE: list = []


def _read_grouping(notes: str, symbols):
    """(mode, rank by symbol, right-associative symbols) from the prompt's notes paragraph."""
    if "same precedence" in notes or "优先级相同" in notes:
        return "ltr", {}, set()
    m = re.search(r"(?:from highest \(applied first\) to lowest: |依次为：)([^.。]+)[.。]", notes)
    if not m:
        return "full", {}, set()
    order = [s for s in m.group(1) if s in _SYMS]
    ranks = {s: len(order) - k for k, s in enumerate(order)}
    right = set()
    for clause in re.split(r"; |；", notes[m.end():]):
        if "right-associative" in clause or "右结合" in clause:
            head = clause.split("(")[0].split("（")[0]
            right |= {s for s in head if s in _SYMS}
    return "ranked", ranks, right


def _read_expression(text: str, mode, ranks, right):
    """Precedence climbing over the prompt's expression, using only what the prompt states."""
    toks = _tokens(text)
    pos = [0]

    def primary():
        t = toks[pos[0]]
        pos[0] += 1
        if t.isdigit():
            return ("lit", Fraction(t))
        assert t == "(", toks
        # a parenthesised literal: (-3), (3/4), (-3/4)
        for shape in (("-", "d", "/", "d", ")"), ("d", "/", "d", ")"), ("-", "d", ")")):
            window = toks[pos[0]: pos[0] + len(shape)]
            if len(window) == len(shape) and all(
                    (w.isdigit() if s == "d" else w == s) for w, s in zip(window, shape)):
                pos[0] += len(shape)
                return ("lit", Fraction("".join(window[:-1])))
        node = climb(0)
        assert toks[pos[0]] == ")"
        pos[0] += 1
        return ("paren", node)

    def climb(min_rank):
        left = primary()
        count = 0
        while pos[0] < len(toks) and toks[pos[0]] in _SYMS:
            sym = toks[pos[0]]
            rank = ranks.get(sym, 1)
            if rank < min_rank:
                break
            pos[0] += 1
            count += 1
            if mode == "full":
                assert count == 1, f"unparenthesised chain in fully parenthesised mode: {text!r}"
            next_min = rank if sym in right else rank + 1
            left = ("app", sym, left, climb(next_min))
        return left

    node = climb(0)
    assert pos[0] == len(toks), text
    return node


def _eval_expr(node, ops):
    if node[0] == "lit":
        return node[1]
    if node[0] == "paren":
        return _eval_expr(node[1], ops)
    return _apply(ops, node[1], _eval_expr(node[2], ops), _eval_expr(node[3], ops))


def reevaluate_prompt(prompt: str):
    """(value, every operator result) computed from the prompt text alone."""
    paragraphs = prompt.split("\n\n")
    rule_lines = paragraphs[0].split("\n")[1:]
    ops = dict(_read_rule(line) for line in rule_lines)
    assert len(ops) == len(rule_lines)
    mode, ranks, right = _read_grouping(paragraphs[1], ops)
    if mode == "ranked":
        assert set(ranks) == set(ops)
    expression = paragraphs[3]
    _TRACE.clear()
    value = _eval_expr(_read_expression(expression, mode, ranks, right), ops)
    return value, list(_TRACE), mode, right


# --------------------------------------------------------------------------- prompt/answer agreement

def test_prompt_text_and_answer_agree_for_every_level_and_language():
    seen_modes, seen_right_chains, parity_on_fraction = set(), 0, 0
    for level in range(1, 11):
        knobs = op.LEVELS[level]
        for lang in op.TASK_TYPE.languages:
            for seed in range(40):
                task = registry.generate_by_type("operation", seed, level, lang)
                value, trace, mode, right = reevaluate_prompt(task.prompt)
                assert value == Fraction(task.metadata["answer"]), (task.task_id, level, lang, task.prompt)
                # every intermediate stays within the level's bounds
                for v in trace:
                    assert abs(v.numerator) <= knobs.value_cap and v.denominator <= knobs.den_cap, (level, v)
                seen_modes.add(mode)
                expr = task.metadata["expression"]
                for sym in right:  # a right-associative operator chained without parentheses
                    if re.search(r"[^()\s]+ %s [^()\s]+ %s" % (re.escape(sym), re.escape(sym)), expr):
                        seen_right_chains += 1
                if any(c and c[0] in ("even", "odd", "int") for o in task.metadata["ops"] for c, _ in o[0]) \
                        and "/" in expr:
                    parity_on_fraction += 1
    assert seen_modes == {"full", "ltr", "ranked"}
    # right associativity exercised, not only stated: an unparenthesised chain of a
    # right-associative operator is rare (~1 in 150 tasks of levels 8-10), so look further
    for seed in range(40, 2000):
        if seen_right_chains:
            break
        task = registry.generate_by_type("operation", seed, 8 + seed % 3, op.TASK_TYPE.languages[seed % 2])
        value, _, _, right = reevaluate_prompt(task.prompt)
        assert value == Fraction(task.metadata["answer"]), (task.task_id, task.prompt)
        expr = task.metadata["expression"]
        seen_right_chains += any(
            re.search(r"[^()\s]+ %s [^()\s]+ %s" % (re.escape(sym), re.escape(sym)), expr) for sym in right)
    assert seen_right_chains > 0
    assert parity_on_fraction > 0  # integer-only conditions meet fractions


def test_default_mix_prompts_agree():
    for seed in range(300):
        task = registry.generate_by_type("operation", 10_000 + seed)
        value, _, _, _ = reevaluate_prompt(task.prompt)
        assert value == Fraction(task.metadata["answer"]), task.task_id


# --------------------------------------------------------------------------- public-env faults

def test_no_exponent_tower_and_powers_are_small_constants():
    def walk(node):
        if isinstance(node, (list, tuple)):
            if node and node[0] == "^":
                assert node[2] in (2, 3)
                assert not (isinstance(node[1], (list, tuple)) and node[1][0] == "^")
            for child in node[1:]:
                walk(child)
    for seed in range(500):
        task = registry.generate_by_type("operation", seed)
        for cases, _ in task.metadata["ops"]:
            for cond, body in cases:
                walk(body)
        assert "**" not in task.prompt and "^" not in task.prompt


def test_fallback_keeps_every_guarantee(monkeypatch):
    """Forced fallback (every redraw budget spent): still bounded, consistent and verifiable."""
    monkeypatch.setattr(op, "RULE_TRIES", 0)
    for level in range(1, 11):
        for seed in range(20):
            task = registry.generate_by_type("operation", seed, level, ("en", "zh")[seed % 2])
            assert task.metadata["fallback"] is True
            value, trace, _, _ = reevaluate_prompt(task.prompt)
            assert value == Fraction(task.metadata["answer"])
            assert all(abs(v) <= 1076 and v.denominator == 1 for v in trace)
            assert registry.verify_task(task, task.answer).correct


def test_overflow_is_redrawn_never_returned():
    check = op._make_check(100, 10)
    assert check(100) == 100 and check(Fraction(4, 2)) == 2 and type(check(Fraction(4, 2))) is int
    for bad in (101, -101, Fraction(1, 11), Fraction(1001, 10)):
        with pytest.raises(op._Overflow):
            check(bad)


def test_integer_only_conditions_are_exact_on_fractions():
    """Public env: conditions were skipped for float operands; ours read exact rationals."""
    even, odd, integer = (op._compile_condition((t, "a")) for t in ("even", "odd", "int"))
    assert even(4, 0) and not odd(4, 0) and integer(4, 0)
    assert odd(-3, 0) and not even(-3, 0)
    for frac in (Fraction(5, 2), Fraction(-7, 3), Fraction(1, 2)):
        assert not even(frac, 0) and not odd(frac, 0) and not integer(frac, 0)
    assert even(Fraction(4, 1), 0)  # an integral Fraction is an integer
    ops = [(((op._compile_condition(("even", "a")), op._compile("a")), (None, op._compile("b"))), None)]
    fn = op._build_ops(ops, op._make_check(10**6, 10**6))[0]
    assert fn(Fraction(5, 2), 7) == 7 and fn(4, 7) == 4


def test_stated_associativity_is_applied():
    """Public env: ** was silently left-associative; ours groups exactly as the prompt states."""
    syms = ["△", "◇"]
    ranks, right = (1, 2), (True, False)
    chain_right = [0, "1", [0, "2", "3"]]
    chain_left = [0, [0, "1", "2"], "3"]
    assert op._expr_text(chain_right, syms, "ranked", ranks, right) == "1 △ 2 △ 3"
    assert op._expr_text(chain_left, syms, "ranked", ranks, right) == "(1 △ 2) △ 3"
    assert op._expr_text([1, [1, "1", "2"], "3"], syms, "ranked", ranks, right) == "1 ◇ 2 ◇ 3"
    assert op._expr_text([1, "1", [1, "2", "3"]], syms, "ranked", ranks, right) == "1 ◇ (2 ◇ 3)"
    # ◇ binds tighter than △ here
    assert op._expr_text([0, "1", [1, "2", "3"]], syms, "ranked", ranks, right) == "1 △ 2 ◇ 3"
    assert op._expr_text([1, [0, "1", "2"], "3"], syms, "ranked", ranks, right) == "(1 △ 2) ◇ 3"
    assert op._expr_text([0, "1", [1, "2", "3"]], syms, "ltr", ranks, right) == "1 △ (2 ◇ 3)"
    assert op._expr_text([1, [0, "1", "-2"], "3/4"], syms, "full", ranks, right) == "(1 △ (-2)) ◇ (3/4)"


# --------------------------------------------------------------------------- verification

def _wrong_values(x: Fraction):
    out = {x + 1, x - 1, x + Fraction(1, 2), 2 * x + 1, x * 10 + 1}
    if x != 0:
        out |= {-x, x * 2}
        if abs(x) != 1:
            out.add(1 / x)
    if x.denominator != 1:
        out |= {Fraction(x.numerator), Fraction(x.denominator, 1), Fraction(x.denominator, x.numerator)}
    out.discard(x)
    return out


def _text(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def test_perturbed_answers_are_wrong_for_many_seeds():
    for seed in range(2000):
        task = registry.generate_by_type("operation", seed)
        x = Fraction(task.metadata["answer"])
        for w in _wrong_values(x):
            v = registry.verify_task(task, f"So the value is \\boxed{{{_text(w)}}}.")
            assert not v.correct and v.format_ok, (task.task_id, w)
        right, wrong = _text(x), _text(x + 1)
        assert not registry.verify_task(task, f"\\boxed{{{right}}} ... on reflection \\boxed{{{wrong}}}").correct
        assert registry.verify_task(task, f"\\boxed{{{wrong}}} ... no, \\boxed{{{right}}}").correct
        assert not registry.verify_task(task, f"The answer is {right}.").format_ok  # no box
        assert not registry.verify_task(task, f"\\boxed{{{right}}} and \\boxed{{{right}").correct  # unclosed last
        assert not registry.verify_task(task, f"\\boxed{{{right} = {wrong}}}").correct  # the last "=" counts
        if x.denominator != 1:  # a rounded decimal is not the exact value
            approx = f"{float(x):.3f}"
            if Fraction(approx) != x:
                assert not registry.verify_task(task, f"\\boxed{{{approx}}}").correct


def _variants(x: Fraction):
    n, d = x.numerator, x.denominator
    out = [f"\\boxed{{ {_text(x)} }}", f"\\boxed{{${_text(x)}$}}", f"\\boxed{{\\text{{{_text(x)}}}}}",
           f"\\boxed{{{_text(x).replace('-', '−')}}}", f"Final: \\boxed{{{2 * n}/{2 * d}}} done",
           f"\\boxed{{x = {_text(x)}}}", f"\\boxed{{(3 △ 4) ◇ 5 = {_text(x)}}}",
           f"\\boxed{{{_text(x).translate(str.maketrans('0123456789/-', '０１２３４５６７８９／－'))}}}"]
    if d == 1:
        out += [f"\\boxed{{{n}.0}}", f"\\boxed{{{n}/1}}"]
    else:
        sign, a = ("-" if n < 0 else ""), abs(n)
        out += [f"\\boxed{{\\frac{{{n}}}{{{d}}}}}", f"\\boxed{{{sign}\\frac{{{a}}}{{{d}}}}}",
                f"\\boxed{{{sign}\\dfrac{{{a}}}{{{d}}}}}", f"\\boxed{{\\tfrac{{{n}}}{{{d}}}}}"]
        dd = d
        for p in (2, 5):
            while dd % p == 0:
                dd //= p
        if dd == 1:  # terminating decimal, exactly equal
            k = 0
            while (x * 10 ** k).denominator != 1:
                k += 1
            whole = x * 10 ** k
            digits = str(abs(whole.numerator)).rjust(k + 1, "0")
            out.append(f"\\boxed{{{sign}{digits[:-k]}.{digits[-k:]}}}")
    return out


def test_harmless_variants_are_accepted():
    fractions_seen = 0
    for seed in range(600):
        task = registry.generate_by_type("operation", seed)
        x = Fraction(task.metadata["answer"])
        fractions_seen += x.denominator != 1
        for resp in _variants(x):
            v = registry.verify_task(task, resp)
            assert v.correct, (task.task_id, resp, v)
    assert fractions_seen > 20


def megabyte_responses(task) -> tuple[str, ...]:
    """Megabyte responses to ``task``; timed by tests/benchmarks/bench_timings.py (target 50 ms)."""
    return ("x" * 1_000_000 + task.answer, "\\boxed{" * 150_000, "\\boxed{1}" * 120_000,
            task.answer + "{" * 1_000_000, "\\boxed{" + "9" * 1_000_000 + "}")


def test_megabyte_responses_never_raise():
    task = registry.generate_by_type("operation", 5, 10, "en")
    for resp in megabyte_responses(task):
        v = registry.verify_task(task, resp)
        assert isinstance(v.correct, bool) and not v.reason.startswith("verifier error"), resp[:20]


_TASKS = [registry.generate_by_type("operation", s) for s in range(8)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(list("\\boxed{}frac0123456789/-.+ −$") + ["\\boxed{", "\\frac{"]),
                max_size=60).map("".join) | st.text(max_size=200), st.integers(0, 7))
def test_fuzz_never_raises_and_never_wrongly_correct(resp, k):
    task = _TASKS[k]
    v = op.verify(resp, task.metadata)
    assert isinstance(v.correct, bool) and isinstance(v.reason, str)
    if v.correct:  # only a response whose last box holds the value may pass
        x = Fraction(task.metadata["answer"])
        inner = resp[resp.rfind("\\boxed{") + 7:]
        digits = "".join(c for c in inner if c.isdigit())
        assert str(abs(x.numerator)) in digits or x == 0, (resp, x)


def test_verify_never_raises_on_bad_metadata():
    for meta in ({}, {"answer": None}, {"answer": "x"}, {"answer": "1" * 10_000}, None, []):
        v = op.verify("\\boxed{1}", meta)
        assert not v.correct


# --------------------------------------------------------------------------- worked solutions

def test_worked_solutions_are_short_innermost_first_and_correct():
    for seed in range(400):
        for lang in op.TASK_TYPE.languages:
            task = registry.generate_by_type("operation", seed, None, lang)
            worked = op.worked_solution(task.metadata, lang)
            assert len(worked) < 1500, (task.task_id, len(worked))
            assert registry.verify_task(task, worked).correct
            steps = [line for line in worked.split("\n") if line.startswith("- ")]
            assert steps and steps[-1].endswith(" = " + task.metadata["answer"]), worked


def _number(node):
    """The value of a tree that is one number ("7", "(-7)", "(7/2)", "-7"), else None."""
    if node[0] == "num":
        return Fraction(node[1])
    if node[0] == "neg" and node[1][0] == "num":
        return -Fraction(node[1][1])
    return None


def _value_tree(value: Fraction):
    return ("neg", ("num", -value)) if value < 0 else ("num", value)


def _places(n: int) -> int:
    return sum(d != "0" for d in str(n))


def _one_step(tag, x, y) -> bool:
    """Whether a worked solution works out this operation at once (the rule the worked solutions
    follow, stated here independently of operation.py): fractions, divisions, absolute values,
    operands 0 and ±1, products of one-place numbers (and those of more than 4 partial products) at
    once; a sum or difference with a negative operand or result is written sign first, one of
    numbers of two places or more one place at a time (a sum: unless no place has a digit in both);
    a power as the product it is where that product is written in steps."""
    if tag in ("abs", "/") or x.denominator != 1 or (tag != "^" and y.denominator != 1):
        return True
    x, y = int(x), int(y)
    if tag == "^":
        return _one_step("*", Fraction(x), Fraction(x))
    if x == 0 or y == 0 or (tag == "*" and 1 in (abs(x), abs(y))):
        return True
    if tag == "*":
        return not 1 < _places(abs(x)) * _places(abs(y)) <= 4
    if x < 0 or y < 0 or (tag == "-" and x < y):
        return False
    if tag == "-":
        return _places(y) == 1 or x == y
    shared = any(a != "0" and b != "0" for a, b in zip(str(x)[::-1], str(y)[::-1]))
    return min(_places(x), _places(y)) == 1 or not shared


def _stage_moves(before, after, moves):
    """What one stage does to the tree of the stage before it: each operation over numbers is either
    worked out (a number in its place: ("at once", tag, x, y)) or written as smaller operations of
    its value ("in steps", tag, x, y); everything else keeps its shape."""
    if _number(before) is not None:
        assert _number(after) == _number(before), (before, after)
        return
    tag = before[0]
    if tag == "/" and _number(after) is not None and _number(before[1]) is None:
        # "(16 - 5)/2 = 11/2": the division's text and the value it gives are one text, written once
        moves.append(("at once", "/", None, None))
        _stage_moves(before[1], _value_tree(_number(after) * _number(before[2])), moves)
        return
    if all(_number(e) is not None for e in before[1:] if isinstance(e, tuple)):
        x = _number(before[1])
        y = (Fraction(before[2]) if tag == "^" else _number(before[2])) if len(before) > 2 else None
        assert _eval(after, {}, {}) == _eval(before, {}, {}), (before, after)
        moves.append(("at once" if _number(after) is not None else "in steps", tag, x, y))
        return
    assert after[0] == tag and len(after) == len(before), (before, after)
    for b, a in zip(before[1:], after[1:]):
        if isinstance(b, tuple):
            _stage_moves(b, a, moves)
        else:
            assert a == b, (before, after)


def _check_chain(stages: list[str], where: str) -> list[tuple]:
    """Stage texts of one working ("28 × 5", "20 × 5 + 8 × 5", "100 + 40", "140"), read back by the
    independent reader: every one has the last one's value, and each stage works out at once only
    what _one_step allows and writes in steps only what it does not.  Its moves."""
    value = Fraction(stages[-1])  # "-19/3" is the value, not a division
    trees = [_Body(st).parse() for st in stages[:-1]] + [_value_tree(value)]
    for stage, tree in zip(stages, trees):
        assert _eval(tree, {}, {}) == value, (stage, where)
    moves = []
    for before, after in zip(trees, trees[1:]):
        done: list = []
        _stage_moves(before, after, done)
        assert done, (before, where)  # every stage does something
        for kind, tag, x, y in done:
            assert (kind == "at once") == _one_step(tag, x, y), (kind, tag, x, y, where)
        moves += done
    return moves


_RELATION_CUT = re.compile(r" (?:[<>≥≤]|is )| ?(?:不?是)")


def _workings(line: str, lang: str) -> list[list[str]]:
    """The " = " chains of one step line: each case condition's worked-out side ("9 × (-24) =
    -(9 × 24) = ... = -216" before "< 10"), then its stages after the head and any inner calls."""
    body = line[2:]
    reasons = ""
    if body.startswith(("since ", "因为 ")):
        if lang == "zh":
            reasons, body = body[len("因为 "):].split("，所以 ", 1)
        else:
            at = min(body.index(s) for s in op.SYMBOLS if s in body)
            cut = body.rindex(", ", 0, at)
            reasons, body = body[len("since "):cut], body[cut + 2:]
    chains = []
    for piece in re.split(r", |; |，|；", reasons):
        side = _RELATION_CUT.split(piece, 1)[0].split(" = ")
        if len(side) > 2 and side[-1] == side[-2]:  # "... = 3 = 3": the working, then the true order "="
            side.pop()
        if len(side) > 1 and not re.fullmatch(r"-?\d+(?:/\d+)?", side[0]):  # "7 = 7" is an order, no working
            chains.append(side)
    body = body.removeprefix("so ").removeprefix("所以 ")
    _head, *stages = body.split(" = ")
    chains.append([st for st in stages if not _SYMS.intersection(st)])
    return chains


def test_worked_steps_are_true_and_work_out_one_step_at_a_time():
    """Each step line reads "x ◇ y = rule with the values = ... = value"; every stage after the calls
    of inner operators are replaced, and every case condition's worked-out side, is read back with
    the independent reader above: each has the value its chain ends in (exact Fractions, never
    eval), and each stage works out at once only single steps (2 × 9 - 5 + 1 = 18 - 5 + 1 = 13 + 1
    = 14), bigger arithmetic as the steps it is made of (28 × 5 = 20 × 5 + 8 × 5 = 100 + 40 = 140).
    Levels 1-10, both languages: 3,000 tasks."""
    lines = moves = 0
    kinds = set()
    for level in range(1, 11):
        for lang in op.TASK_TYPE.languages:
            for seed in range(150):
                task = registry.generate_by_type("operation", seed, level, lang)
                for line in op.worked_solution(task.metadata, lang).split("\n"):
                    if not line.startswith("- ") or line.endswith((", where", "，其中")):  # a rule announced
                        continue
                    chains = _workings(line, lang)
                    assert chains[-1][-1] == line.rsplit(" = ", 1)[-1], line
                    for chain in chains:
                        for kind, tag, _x, _y in _check_chain(chain, line):
                            kinds.add((kind, tag))
                            moves += 1
                    lines += 1
    assert lines > 10000 and moves > 30000
    assert {("in steps", t) for t in "+-*^"} | {("at once", t) for t in ("+", "-", "*", "^", "abs", "/")} <= kinds


@pytest.mark.parametrize("body, a, b, chain", [
    # what the SFT model got wrong written in one step (python -m veritas.evaluation.operation_steps)
    (("+", "a", "b"), 36, 12, "36 + 12 = 46 + 2 = 48"),
    (("*", "a", "b"), 28, 5, "28 × 5 = 20 × 5 + 8 × 5 = 100 + 40 = 140"),
    (("^", "a", 2), 79, 0, "79² = 79 × 79 = 70 × 70 + 70 × 9 + 9 × 70 + 9 × 9 = 4900 + 630 + 630 + 81 = "
                           "5500 + 30 + 630 + 81 = 5530 + 630 + 81 = 6130 + 30 + 81 = 6160 + 81 = 6240 + 1 = 6241"),
    (("-", "a", "b"), 25, 130, "25 - 130 = -(130 - 25) = -(110 - 5) = -105"),
    (("-", "a", "b"), 169, 9, "169 - 9 = 160"),
    (("-", "a", "b"), 80, 14, "80 - 14 = 70 - 4 = 66"),
    (("-", "a", "b"), 5625, 144, "5625 - 144 = 5525 - 40 - 4 = 5485 - 4 = 5481"),
    (("+", "a", "b"), 36, 9409, "36 + 9409 = 9439 + 6 = 9445"),
    (("+", "a", "b"), 1240, 43, "1240 + 43 = 1280 + 3 = 1283"),  # they share the tens
    # the sign first
    (("+", "a", "b"), -8, -7, "(-8) + (-7) = -(8 + 7) = -15"),
    (("-", "a", "b"), 24, -9, "24 - (-9) = 24 + 9 = 33"),
    (("+", "a", "b"), -2, 90, "(-2) + 90 = 90 - 2 = 88"),
    (("-", "a", "b"), 2, 5, "2 - 5 = -(5 - 2) = -3"),
    (("*", "a", "b"), -21, -7, "(-21) × (-7) = 21 × 7 = 20 × 7 + 1 × 7 = 140 + 7 = 147"),
    (("*", "a", "b"), 9, -24, "9 × (-24) = -(9 × 24) = -(9 × 20 + 9 × 4) = -(180 + 36) = -(210 + 6) = -216"),
    (("-", ("-", "a", "b"), 1), 8, 9, "8 - 9 - 1 = (-(9 - 8)) - 1 = (-1) - 1 = -(1 + 1) = -2"),
    (("abs", ("-", "a", "b")), 1, 7, "|1 - 7| = |-(7 - 1)| = |-6| = 6"),
    (("*", 2, ("^", "a", 2)), 12, 0, "2 × 12² = 2(12 × 12) = 2(10 × 10 + 10 × 2 + 2 × 10 + 2 × 2) = "
                                     "2(100 + 20 + 20 + 4) = 2(120 + 20 + 4) = 2(140 + 4) = 2 × 144 = "
                                     "2 × 100 + 2 × 40 + 2 × 4 = 200 + 80 + 8 = 280 + 8 = 288"),
    # one step: one-place numbers and operands, no shared place, 0 and ±1, big products, fractions
    (("+", "a", "b"), 3, 4, "3 + 4 = 7"),
    (("-", "a", "b"), 9, 5, "9 - 5 = 4"),
    (("*", "a", "b"), 3, 4, "3 × 4 = 12"),
    (("*", "a", "b"), -3, 4, "(-3) × 4 = -12"),
    (("^", "a", 2), 5, 0, "5² = 25"),
    (("^", "a", 2), -3, 0, "(-3)² = 9"),
    (("+", "a", "b"), 4, 9409, "4 + 9409 = 9413"),
    (("+", "a", "b"), 100, 40, "100 + 40 = 140"),
    (("+", "a", "b"), 3000, 180, "3000 + 180 = 3180"),
    (("+", "a", "b"), 1200, 34, "1200 + 34 = 1234"),
    (("*", "a", "b"), 20, 70, "20 × 70 = 1400"),
    (("*", "a", "b"), 1, 57, "1 × 57 = 57"),
    (("-", "a", "b"), 0, 57, "0 - 57 = -57"),
    (("-", "a", "b"), 57, 57, "57 - 57 = 0"),
    (("^", "a", 2), 148, 0, "148² = 21904"),
    (("+", "a", "b"), Fraction(1, 2), 13, "(1/2) + 13 = 27/2"),
    (("*", "a", "b"), Fraction(-5, 2), 12, "(-5/2) × 12 = -30"),
])
def test_arithmetic_is_written_in_small_steps(body, a, b, chain):
    assert " = ".join(op._stages(body, a, b, None)) == chain
    _check_chain(chain.split(" = "), chain)


@pytest.mark.parametrize("cond, a, b, en, zh", [
    # the true order first, then the verdict on the condition where the order is not the condition
    ((">=", "a", "b"), 6, 9, "6 < 9, 6 ≥ 9 is false", "6 < 9，6 ≥ 9 不成立"),
    ((">=", "a", "b"), 9, 6, "9 > 6, 9 ≥ 6 is true", "9 > 6，9 ≥ 6 成立"),
    ((">", "a", "b"), 9, 6, "9 > 6", "9 > 6"),
    (("<=", "a", "b"), 4, 4, "4 = 4, 4 ≤ 4 is true", "4 = 4，4 ≤ 4 成立"),
    (("<", "b", 0), 1, -3, "-3 < 0", "-3 < 0"),
    # an expression side is worked out before the order
    ((">", ("+", "a", "b"), 5), 3, 4, "3 + 4 = 7 > 5", "3 + 4 = 7 > 5"),
    # ... in the steps the stages write it in (test_arithmetic_is_written_in_small_steps)
    ((">", ("+", "a", "b"), 10), 3, -4, "3 + (-4) = -(4 - 3) = -1 < 10, -1 > 10 is false",
     "3 + (-4) = -(4 - 3) = -1 < 10，-1 > 10 不成立"),
    (("<", ("*", "a", "b"), 0), 12, -6, "12 × (-6) = -(12 × 6) = -(10 × 6 + 2 × 6) = -(60 + 12) = -72 < 0",
     "12 × (-6) = -(12 × 6) = -(10 × 6 + 2 × 6) = -(60 + 12) = -72 < 0"),
    (("<", ("*", "a", "b"), 10), Fraction(5, 2), 2, "(5/2) × 2 = 5 < 10", "(5/2) × 2 = 5 < 10"),
    # parity: the value's parity, then the verdict where it is not the condition
    (("even", ("+", "a", "b")), 3, 4, "3 + 4 = 7 is odd, not even", "3 + 4 = 7 是奇数，不是偶数"),
    (("odd", "a"), -3, 0, "-3 is odd", "-3 是奇数"),
    (("even", "b"), 1, Fraction(1, 2), "1/2 is not an integer, not even", "1/2 不是整数，不是偶数"),
    (("int", ("+", "a", "b")), Fraction(1, 2), 3, "(1/2) + 3 = 7/2 is not an integer", "(1/2) + 3 = 7/2 不是整数"),
    (("int", "a"), 4, 0, "4 is an integer", "4 是整数"),
])
def test_case_conditions_are_worked_out_before_they_are_judged(cond, a, b, en, zh):
    assert op._case_reason(cond, a, b, zh=False) == en
    assert op._case_reason(cond, a, b, zh=True) == zh


def test_three_case_reasons_are_separated_by_semicolons():
    cases = ((("<", "a", 0), ("+", "a", "b")), (("even", "a"), "b"), (None, "a"))
    specs = [(cases, None)]
    fn = op._build_ops([(tuple((None if c is None else op._compile_condition(c), op._compile(body))
                               for c, body in cases), None)], op._make_check(10**9, 10**9))
    (line,) = op._step_lines(0, 2, 5, 5, specs, ["△"], fn, zh=False, inner_lines=[])
    assert line == "- since 2 > 0, 2 < 0 is false; 2 is even, 2 △ 5 = 5"
    (line,) = op._step_lines(0, 3, 5, 3, specs, ["△"], fn, zh=True, inner_lines=[])
    assert line == "- 因为 3 > 0，3 < 0 不成立；3 是奇数，不是偶数，所以 3 △ 5 = 3"


def _step_head(line: str) -> str:
    """"x ◇ y" of a step line ("- since ..., x ◇ y = ...", "- 因为 ...，所以 x ◇ y = ...", "- so ...")."""
    text = line[2:].removesuffix(", where").removesuffix("，其中")
    text = text.split("所以 ", 1)[-1].rsplit(", ", 1)[-1].removeprefix("so ")
    return text.split(" = ", 1)[0]


def test_a_rule_using_another_operator_comes_before_its_inner_applications():
    """A rule whose inner applications are not made yet is written first ("x ◇ y = (x △ x) + y,
    where"), then each inner application's line, whose head the rule shows, then "so x ◇ y =
    ... = value"; the model does not have to foresee which inner application the case needs."""
    blocks = 0
    for level in (5, 6, 8, 10):
        for lang in op.TASK_TYPE.languages:
            for seed in range(80):
                task = registry.generate_by_type("operation", seed, level, lang)
                worked = op.worked_solution(task.metadata, lang)
                open_rules: list[tuple[str, str, int]] = []  # (head, rule, lines inside so far)
                for line in worked.splitlines()[1:-1]:
                    head = _step_head(line)
                    if line.startswith(("- so ", "- 所以 ")):
                        announced, _rule, inside = open_rules.pop()
                        assert head == announced and inside > 0, worked
                        blocks += 1
                        continue
                    if open_rules:  # an inner application: the rule above shows it
                        announced, rule, inside = open_rules[-1]
                        assert "(" + head + ")" in rule, (line, worked)
                        open_rules[-1] = (announced, rule, inside + 1)
                    if line.endswith((", where", "，其中")):
                        rule = line.rsplit(" = ", 1)[-1]
                        assert op._CALL_MARK not in rule and any(s in rule for s in op.SYMBOLS), line
                        open_rules.append((head, rule, 0))
                assert not open_rules, worked
    assert blocks > 200


def test_worked_solution_survives_json_roundtrip():
    import json
    task = registry.generate_by_type("operation", 77, 10, "zh")
    meta = json.loads(json.dumps(task.metadata))
    assert op.worked_solution(meta, "zh") == op.worked_solution(task.metadata, "zh")
