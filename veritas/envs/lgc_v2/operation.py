"""LGC-V2 ``operation`` (type id 2): evaluate an expression built from newly defined operators.

A task defines one to four binary operators (△, ◇, ⊕, ...) on rational numbers by rules such as
``a △ b = 2a + b²``; some rules have cases (``if a > b ... otherwise ...``), some are defined
through an earlier operator (``a ◇ b = (a △ b) - a``), and the prompt states how the operators
group.  The model evaluates one expression, e.g. ``(3 △ 4) ◇ 5``, and answers in ``\\boxed{}``.

Ground truth is right by construction: every rule is a small AST (nested tuples, below) drawn from
a catalogue built once at import.  The prompt text is rendered from that AST and the answer is
computed from it by ONE evaluator (closures compiled from the same AST) over exact rationals
(int, or ``Fraction`` when not integral).  Every operator application is bounded (numerator and
denominator caps per level) so no value can blow up: exponents are constants 2 or 3 only, so one
rule body over capped inputs stays small, and the cap is checked after every application.  A
task whose values would exceed the cap is redrawn a bounded number of times, then replaced by a
fallback built from linear rules whose values provably stay under every cap.

AST of a rule body: ``"a"`` / ``"b"`` (the operands), an ``int`` constant, or a tuple
``("+", x, y)``, ``("-", x, y)``, ``("*", x, y)``, ``("/", x, k)`` (k a positive int),
``("^", x, k)`` (k in 2, 3), ``("abs", x)``, ``("call", x, y)`` (the operator's ``inner``
operator applied to x and y).  A condition: ``(">" | "<" | ">=" | "<=" | "=", x, y)`` or
``("even" | "odd" | "int", x)``; "even"/"odd" hold only for integers (the prompt says so).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from veritas.envs import extract
from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.expr import true_order
from veritas.envs.rand import below, pick


@dataclass(frozen=True)
class OperationKnobs:
    """One level's knobs; the comment on LEVELS says what each is."""

    ops: int
    conditional: int
    max_cases: int
    conditions: tuple[str, ...]
    derived: int
    apps: int
    operands: tuple[int, int]
    fraction_share: float
    bodies: tuple[str, ...]
    grouping: tuple[str, ...]
    right_assoc: bool
    value_cap: int
    den_cap: int


# Knobs per difficulty level.
#   ops: operators defined; conditional: how many of them have cases; max_cases: 2 or 3 cases;
#   conditions: condition families (cmp: a vs b, sign: against constants, parity: even/odd,
#   int: "is an integer"); derived: operators defined via an earlier one; apps: operator
#   applications in the expression; operands: integer operand range; fraction_share: chance an
#   operand is a fraction p/q; bodies: rule-body families; grouping: how the expression groups
#   (full: fully parenthesised, ltr: equal precedence left to right, ranked: stated precedence,
#   with right-associative operators when right_assoc); value_cap / den_cap: bound on |numerator|
#   and denominator of every intermediate value.
LEVELS: dict[int, OperationKnobs] = {
    1: OperationKnobs(ops=1, conditional=0, max_cases=1, conditions=(), derived=0, apps=1, operands=(1, 9),
            fraction_share=0.0, bodies=("lin", "prod", "pow2"), grouping=("full",), right_assoc=False,
            value_cap=10**4, den_cap=1),
    2: OperationKnobs(ops=1, conditional=0, max_cases=1, conditions=(), derived=0, apps=2, operands=(1, 9),
            fraction_share=0.0, bodies=("lin", "prod", "pow2"), grouping=("full",), right_assoc=False,
            value_cap=10**4, den_cap=1),
    3: OperationKnobs(ops=2, conditional=1, max_cases=2, conditions=("cmp",), derived=0, apps=2, operands=(1, 9),
            fraction_share=0.0, bodies=("lin", "prod", "pow2", "abs"), grouping=("full",),
            right_assoc=False, value_cap=10**4, den_cap=1),
    4: OperationKnobs(ops=2, conditional=1, max_cases=2, conditions=("cmp", "parity"), derived=0, apps=3,
            operands=(0, 12), fraction_share=0.0, bodies=("lin", "prod", "pow2", "abs"),
            grouping=("full",), right_assoc=False, value_cap=10**5, den_cap=1),
    5: OperationKnobs(ops=2, conditional=1, max_cases=2, conditions=("cmp", "parity", "sign"), derived=1, apps=3,
            operands=(-9, 9), fraction_share=0.0, bodies=("lin", "prod", "pow2", "abs"),
            grouping=("full", "ltr"), right_assoc=False, value_cap=10**5, den_cap=1),
    6: OperationKnobs(ops=3, conditional=2, max_cases=2, conditions=("cmp", "parity", "sign"), derived=1, apps=4,
            operands=(-12, 12), fraction_share=0.0, bodies=("lin", "prod", "pow2", "abs"),
            grouping=("ltr", "ranked"), right_assoc=False, value_cap=10**5, den_cap=1),
    7: OperationKnobs(ops=3, conditional=2, max_cases=3, conditions=("cmp", "parity", "sign", "int"), derived=1,
            apps=4, operands=(-12, 12), fraction_share=0.2, bodies=("lin", "prod", "pow2", "abs", "div"),
            grouping=("ranked",), right_assoc=False, value_cap=10**5, den_cap=10**3),
    8: OperationKnobs(ops=3, conditional=2, max_cases=3, conditions=("cmp", "parity", "sign", "int"), derived=2,
            apps=5, operands=(-15, 15), fraction_share=0.25,
            bodies=("lin", "prod", "pow2", "abs", "div", "pow3"), grouping=("ranked",), right_assoc=True,
            value_cap=10**6, den_cap=10**3),
    9: OperationKnobs(ops=4, conditional=3, max_cases=3, conditions=("cmp", "parity", "sign", "int"), derived=2,
            apps=5, operands=(-15, 15), fraction_share=0.3,
            bodies=("lin", "prod", "pow2", "abs", "div", "pow3"), grouping=("ranked",), right_assoc=True,
            value_cap=10**6, den_cap=10**3),
    10: OperationKnobs(ops=4, conditional=3, max_cases=3, conditions=("cmp", "parity", "sign", "int"), derived=3,
             apps=6, operands=(-20, 20), fraction_share=0.35,
             bodies=("lin", "prod", "pow2", "abs", "div", "pow3"), grouping=("ranked",), right_assoc=True,
             value_cap=10**6, den_cap=10**4),
}

SYMBOLS = ("△", "◇", "⊕", "⊗", "☆", "▽", "⊙", "□", "♢", "※")
_SYMBOL_STEPS = (1, 3, 7, 9)  # coprime with len(SYMBOLS): a start and a step give distinct symbols
_CALL_MARK = "@"  # placeholder for the inner operator's symbol in pre-rendered rule text

# Bounded work per task: expression redraws per rule set, rule-set redraws, then the fallback.
EXPR_TRIES = 3
RULE_TRIES = 4
EXPR_BUDGET = 12  # subtree redraws allowed within one expression attempt
# The fallback's operands: small positive integers, so its linear rules stay tiny (see _fallback).
_FALLBACK_OPERANDS = (1, 5)


class _Overflow(Exception):
    """A value left the level's bounds: the draw is discarded."""


# --------------------------------------------------------------------------- AST and evaluation

A, B = "a", "b"


def _add(x, y):
    return ("+", x, y)


def _sub(x, y):
    return ("-", x, y)


def _mul(x, y):
    return ("*", x, y)


def _term(k, x):
    return x if k == 1 else ("*", k, x)


def _div(x, k):
    return ("/", x, k)


def _pow(x, k):
    return ("^", x, k)


def _abs(x):
    return ("abs", x)


def _call(x, y):
    return ("call", x, y)


def _divide(v, k):
    # Stay in int arithmetic while the quotient is whole: Fraction is ~20x slower than int.
    if type(v) is int:
        q, r = divmod(v, k)
        return q if r == 0 else Fraction(v, k)
    return v / k


@lru_cache(maxsize=None)
def _compile(node):
    """AST -> closure f(a, b, inner) computing it exactly; ``inner`` serves "call" nodes."""
    if node == "a":
        return lambda a, b, f: a
    if node == "b":
        return lambda a, b, f: b
    if type(node) is int:
        return lambda a, b, f: node
    tag = node[0]
    x = _compile(node[1])
    if tag == "abs":
        return lambda a, b, f: abs(x(a, b, f))
    if tag in ("/", "^"):
        k = node[2]
        if tag == "/":
            return lambda a, b, f: _divide(x(a, b, f), k)
        return lambda a, b, f: x(a, b, f) ** k
    y = _compile(node[2])
    if tag == "+":
        return lambda a, b, f: x(a, b, f) + y(a, b, f)
    if tag == "-":
        return lambda a, b, f: x(a, b, f) - y(a, b, f)
    if tag == "*":
        return lambda a, b, f: x(a, b, f) * y(a, b, f)
    if tag == "call":
        return lambda a, b, f: f(x(a, b, f), y(a, b, f))
    raise ValueError(f"unknown rule node {node!r}")


@lru_cache(maxsize=None)
def _compile_condition(cond):
    """Condition AST -> predicate p(a, b), defined for every rational a, b."""
    tag = cond[0]
    x = _compile(cond[1])
    if tag == "even":  # int and Fraction both have numerator/denominator: no float path exists
        return lambda a, b: _is_even(x(a, b, None))
    if tag == "odd":
        return lambda a, b: _is_odd(x(a, b, None))
    if tag == "int":
        return lambda a, b: x(a, b, None).denominator == 1
    y = _compile(cond[2])
    if tag == ">":
        return lambda a, b: x(a, b, None) > y(a, b, None)
    if tag == "<":
        return lambda a, b: x(a, b, None) < y(a, b, None)
    if tag == ">=":
        return lambda a, b: x(a, b, None) >= y(a, b, None)
    if tag == "<=":
        return lambda a, b: x(a, b, None) <= y(a, b, None)
    if tag == "=":
        return lambda a, b: x(a, b, None) == y(a, b, None)
    raise ValueError(f"unknown condition {cond!r}")


def _is_even(v) -> bool:
    return v.denominator == 1 and v.numerator % 2 == 0


def _is_odd(v) -> bool:
    return v.denominator == 1 and v.numerator % 2 == 1


def _make_check(value_cap: int, den_cap: int):
    """The bound applied to every operator result; also normalises whole Fractions to int."""
    lo = -value_cap

    def check(v):
        if type(v) is int:
            if lo <= v <= value_cap:
                return v
            raise _Overflow
        n, d = v.numerator, v.denominator
        if d == 1:
            if lo <= n <= value_cap:
                return n
            raise _Overflow
        if d > den_cap or not lo <= n <= value_cap:
            raise _Overflow
        return v

    return check


def _make_op(cases, inner, check):
    """One operator as f(a, b); cases: (predicate or None, body closure) pairs, tried in order."""
    if len(cases) == 1:
        body = cases[0][1]
        return lambda a, b: check(body(a, b, inner))
    if len(cases) == 2:
        (p0, b0), (_, b1) = cases
        return lambda a, b: check(b0(a, b, inner) if p0(a, b) else b1(a, b, inner))
    (p0, b0), (p1, b1), (_, b2) = cases
    return lambda a, b: check(b0(a, b, inner) if p0(a, b) else (b1(a, b, inner) if p1(a, b) else b2(a, b, inner)))


def _build_ops(compiled_specs, check, wrap=None):
    """Operator functions in definition order (an operator's inner one is always defined earlier).

    compiled_specs: [(cases as (predicate or None, body closure) pairs, inner index or None)].
    """
    fns = []
    for i, (cases, inner_idx) in enumerate(compiled_specs):
        fn = _make_op(cases, None if inner_idx is None else fns[inner_idx], check)
        fns.append(fn if wrap is None else wrap(i, fn))
    return fns


# --------------------------------------------------------------------------- rendering

_SUPERSCRIPT = {2: "²", 3: "³"}
_REL_TEXT = {">": ">", "<": "<", ">=": "≥", "<=": "≤", "=": "="}


def _num_text(v) -> str:
    if type(v) is int or v.denominator == 1:
        return str(int(v))
    return f"{v.numerator}/{v.denominator}"


def _operand_text(v) -> str:
    """A number as an operand: negatives and fractions in parentheses, "(−3)", "(3/4)"."""
    t = _num_text(v)
    return t if (v >= 0 and "/" not in t) else "(" + t + ")"


def _render(node, sub=None, call_text=None):
    """(text, precedence) of a rule body.

    sub: operand values to substitute for a and b (worked solutions); call_text(node) -> text
    replaces a "call" node.  Precedence: 1 for + -, 2 for × /, 4 for powers, 9 for atoms.
    """
    if node == "a" or node == "b":
        return (node if sub is None else _operand_text(sub[node])), 9
    if type(node) is int:
        return str(node), 9
    tag = node[0]
    if tag == "val":  # a value worked out in an earlier stage of a worked solution
        return _operand_text(node[1]), 9
    if tag == "neg":  # an operation's sign written before it (_in_steps): "(-(130 - 25))" as an operand
        return "(" + _neg_text(node) + ")", 9
    if tag == "call":
        if call_text is not None:
            return call_text(node), 9
        x, _ = _render(node[1], sub)
        y, _ = _render(node[2], sub)
        return "(" + x + " " + _CALL_MARK + " " + y + ")", 9
    if tag == "abs":
        value = node[1][1] if type(node[1]) is tuple and node[1][0] == "val" else (
            sub[node[1]] if sub is not None and node[1] in ("a", "b") else None)
        if value is not None and type(value) is int:  # |-4|, not |(-4)|; fractions keep theirs
            return "|" + str(value) + "|", 9
        if type(node[1]) is tuple and node[1][0] == "neg":  # |-(7 - 1)|
            return "|" + _neg_text(node[1]) + "|", 9
        x, _ = _render(node[1], sub, call_text)
        return "|" + x + "|", 9
    if tag == "^":
        x, p = _render(node[1], sub, call_text)
        if p < 9:
            x = "(" + x + ")"
        return x + _SUPERSCRIPT[node[2]], 4
    if tag == "/":
        x, p = _render(node[1], sub, call_text)
        if p < 2:
            x = "(" + x + ")"
        return x + "/" + str(node[2]), 2
    x, xp = _render(node[1], sub, call_text)
    y, yp = _render(node[2], sub, call_text)
    if tag == "+" or tag == "-":
        if yp <= 1:  # "x - (a + b)"; "x + (a + b)" only in a worked solution's stages (_in_steps)
            y = "(" + y + ")"
        return x + " " + tag + " " + y, 1
    # "*": "2a", "3b²", "2(a - b)" read as products; anything else gets an explicit ×
    if xp < 2:
        x = "(" + x + ")"
    if yp <= 2:
        y = "(" + y + ")"
    if type(node[1]) is int and node[1] > 0 and not ("0" <= y[0] <= "9"):
        return x + y, 2
    return x + " × " + y, 2


def _neg_text(node) -> str:
    return "-(" + _render(node[1])[0] + ")"


def _body_text(node) -> str:
    return _render(node)[0]


def _cond_text(cond, language: str) -> str:
    """A condition as the rule states it."""
    tag = cond[0]
    x = _render(cond[1])[0]
    if tag in ("even", "odd", "int"):
        if language == "zh":
            return x + {"even": " 是偶数", "odd": " 是奇数", "int": " 是整数"}[tag]
        return x + {"even": " is an even integer", "odd": " is an odd integer", "int": " is an integer"}[tag]
    y = _render(cond[2])[0]
    return x + " " + _REL_TEXT[tag] + " " + y


# --------------------------------------------------------------------------- catalogue

def _catalogue():
    bodies: dict[str, list] = {k: [] for k in ("lin", "prod", "pow2", "pow3", "abs", "div")}
    lin = bodies["lin"]
    for p in (1, 2, 3):
        for q in (1, 2, 3):
            lin.append(_add(_term(p, A), _term(q, B)))
            lin.append(_sub(_term(p, A), _term(q, B)))
    for k in (1, 2, 3, 5):
        lin += [_add(_add(A, B), k), _sub(_sub(A, B), k), _add(_sub(_term(2, A), B), k),
                _sub(_add(A, _term(2, B)), k)]
    for k in (2, 3):
        lin += [_mul(k, _sub(A, B)), _mul(k, _add(A, B)), _sub(_term(k, B), A)]
    bodies["prod"] += [
        _mul(A, B), _add(_mul(A, B), A), _sub(_mul(A, B), B), _add(_mul(A, B), 1), _sub(_mul(A, B), 2),
        _sub(_mul(A, B), _add(A, B)), _mul(_add(A, 1), B), _mul(A, _sub(B, 1)), _mul(_term(2, A), B),
        _add(_mul(A, B), _term(2, A)), _sub(_term(3, A), _mul(A, B)),
    ]
    bodies["pow2"] += [
        _add(_pow(A, 2), B), _add(A, _pow(B, 2)), _add(_term(2, A), _pow(B, 2)), _sub(_pow(A, 2), B),
        _sub(_pow(A, 2), _pow(B, 2)), _add(_pow(A, 2), _pow(B, 2)), _pow(_sub(A, B), 2),
        _pow(_add(A, B), 2), _sub(_pow(B, 2), _term(2, A)), _add(_pow(A, 2), _mul(A, B)),
        _add(_pow(A, 2), 1), _sub(_pow(_sub(A, B), 2), A), _sub(_mul(2, _pow(B, 2)), A),
    ]
    bodies["pow3"] += [
        _sub(_pow(A, 3), B), _add(A, _pow(B, 3)), _pow(_sub(A, B), 3), _add(_pow(A, 3), _pow(B, 2)),
        _sub(_pow(B, 3), _pow(A, 2)), _sub(_pow(A, 3), _mul(A, B)),
    ]
    bodies["abs"] += [
        _abs(_sub(A, B)), _add(_abs(_sub(A, B)), A), _mul(2, _abs(_sub(A, B))), _abs(_sub(_term(2, A), B)),
        _add(_abs(A), _abs(B)), _sub(_abs(_add(A, B)), B), _sub(A, _abs(B)), _add(_abs(_sub(A, B)), 3),
    ]
    bodies["div"] += [
        _div(_add(A, B), 2), _div(_sub(A, B), 2), _add(_div(A, 2), B), _div(_add(_term(2, A), B), 3),
        _div(_mul(A, B), 2), _sub(A, _div(B, 3)), _div(_add(_pow(A, 2), B), 2), _div(_add(A, _term(2, B)), 4),
        _add(_div(A, 3), _div(B, 2)),
    ]
    c, cr = _call(A, B), _call(B, A)
    derived = [
        _add(c, A), _sub(c, B), _add(c, 1), _add(c, 3), _sub(c, 2), _mul(2, c), _sub(c, cr), _add(c, cr),
        _sub(cr, A), _add(cr, _term(2, B)), _add(_call(A, A), B), _sub(_call(B, B), A), _sub(c, _mul(A, B)),
        _mul(c, B), _add(_call(A, 1), B), _sub(_call(2, B), A), _sub(_term(3, A), c),
    ]
    derived_div = [_div(c, 2), _div(_add(c, A), 2), _sub(c, _div(B, 2))]
    conditions = {
        "cmp": [(">", A, B), ("<", A, B), (">=", A, B), ("<=", A, B), (">", A, B), ("<", A, B)],
        "sign": [(">", A, 0), ("<", A, 0), (">", B, 0), ("<", B, 0), (">", _add(A, B), 0),
                 (">", _add(A, B), 5), (">", _add(A, B), 10), ("<", _sub(A, B), 3), (">", _mul(A, B), 0),
                 ("<", _mul(A, B), 10)],
        "parity": [("even", A), ("even", B), ("odd", A), ("odd", B), ("even", _add(A, B)), ("odd", _add(A, B))],
        "int": [("int", A), ("int", B), ("int", _add(A, B))],
    }
    # The fallback's rules: gain |p| + |q| <= 2 and constants <= 3, so values stay tiny (_fallback).
    safe = [_add(A, B), _sub(A, B), _sub(B, A), _add(_add(A, B), 1), _sub(_sub(A, B), 2), _add(_sub(A, B), 3),
            _term(2, A), _term(2, B), _sub(_term(2, A), 3)]
    safe_derived = [_add(c, 1), _sub(c, 2), _add(cr, 3), _sub(cr, 1)]
    return bodies, derived, derived_div, conditions, safe, safe_derived


class _Body:
    """A catalogue rule body: its AST, its text split at the inner operator, its closure."""
    __slots__ = ("ast", "parts", "fn", "has_abs")

    def __init__(self, ast):
        text = _body_text(ast)
        self.ast = ast
        self.parts = text.split(_CALL_MARK)  # joined with the inner operator's symbol
        self.fn = _compile(ast)
        self.has_abs = "|" in text


class _Cond:
    """A catalogue condition: its AST, its text per language, its predicate."""
    __slots__ = ("ast", "text", "pred", "parity")

    def __init__(self, ast):
        self.ast = ast
        self.text = {"en": _cond_text(ast, "en"), "zh": _cond_text(ast, "zh")}
        self.pred = _compile_condition(ast)
        self.parity = ast[0] in ("even", "odd")


def _entries():
    bodies, derived, derived_div, conditions, safe, safe_derived = _catalogue()
    as_bodies = lambda group: tuple(_Body(b) for b in group)  # noqa: E731
    return ({k: as_bodies(v) for k, v in bodies.items()}, as_bodies(derived), as_bodies(derived_div),
            {k: tuple(_Cond(c) for c in v) for k, v in conditions.items()}, as_bodies(safe), as_bodies(safe_derived))


_BODIES, _DERIVED, _DERIVED_DIV, _CONDITIONS, _SAFE_BODIES, _SAFE_DERIVED = _entries()

# How often each rule-body family is drawn: fast-growing families are drawn less, so fewer
# expressions leave the value bounds and have to be redrawn.
FAMILY_WEIGHTS = {"lin": 3, "prod": 2, "pow2": 2, "abs": 2, "div": 2, "pow3": 1}


def _plan(knobs: dict, safe: bool = False):
    """What _draw_rules needs for a level, with each body pool flattened so that one random
    number picks a body and every family gets its FAMILY_WEIGHTS share."""
    if safe:
        plain, derived = _SAFE_BODIES, _SAFE_DERIVED
    else:
        plain = tuple(body for fam in knobs.bodies
                      for body in _BODIES[fam] * max(1, round(FAMILY_WEIGHTS[fam] * 120 / len(_BODIES[fam]))))
        derived = _DERIVED + (_DERIVED_DIV if "div" in knobs.bodies else ())
    conds = tuple(c for k in knobs.conditions for c in _CONDITIONS[k])
    return (knobs.ops, plain, derived, conds, knobs.ops - knobs.derived, knobs.conditional,
            knobs.max_cases == 3)


_PLANS = {level: _plan(k) for level, k in LEVELS.items()}
_SAFE_PLANS = {level: _plan(k, safe=True) for level, k in LEVELS.items()}
_CHECKS = {level: _make_check(k.value_cap, k.den_cap) for level, k in LEVELS.items()}
_PERMS = {1: ((0,),), 2: ((0, 1), (1, 0)), 3: ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))}
_PERMS[4] = tuple(p[:i] + (3,) + p[i:] for p in _PERMS[3] for i in range(4))

# --------------------------------------------------------------------------- prompt text

_EN_INTRO = (
    "Each symbol below is a new binary operation on rational numbers a and b:",
    "The following operations are defined for all rational numbers a and b:",
    "Define new operations on rational numbers as follows:",
    "Consider these newly defined operators (a and b stand for any rational numbers):",
)
_ZH_INTRO = (
    "对任意有理数 a、b，定义如下新运算：",
    "下面的符号表示新定义的二元运算（a、b 为任意有理数）：",
    "规定以下新运算（适用于所有有理数 a 和 b）：",
    "现定义几种新的运算（a、b 可以是任意有理数）：",
)
_EN_ARITH = "Inside each rule, ordinary arithmetic follows the usual order (powers, then × and /, then + and -), and 2a means 2 × a."
_ZH_ARITH = "规则中的普通运算按通常顺序进行（先乘方，再乘除，后加减），2a 表示 2 × a。"
_EN_ABS = "|x| is the absolute value of x."
_ZH_ABS = "|x| 表示 x 的绝对值。"
_EN_PARITY = "Only integers can be even or odd: a non-integer is neither even nor odd."
_ZH_PARITY = "只有整数才分奇偶：非整数既不是奇数也不是偶数。"
_EN_CASES = "When a rule has several cases, use the first one whose condition holds."
_ZH_CASES = "规则分多种情况时，按顺序取第一个条件成立的情况。"
_EN_PARENS = "Parts in parentheses are evaluated first."
_ZH_PARENS = "括号内的部分先算。"
_EN_LTR = "All of these operators have the same precedence and are applied from left to right (x {0} y {1} z means (x {0} y) {1} z); parentheses come first."
_ZH_LTR = "这些运算的优先级相同，按从左到右的顺序计算（x {0} y {1} z 表示 (x {0} y) {1} z）；括号优先。"
_EN_RANK = "Operator precedence, from highest (applied first) to lowest: {0}. Parentheses come first."
_ZH_RANK = "运算优先级从高到低（高者先算）依次为：{0}。括号优先。"
_EN_LEFT = "{0} {1} left-associative (x {2} y {2} z = (x {2} y) {2} z)"
_EN_RIGHT = "{0} {1} right-associative (x {2} y {2} z = x {2} (y {2} z))"
_ZH_LEFT = "{0} 为左结合（x {1} y {1} z = (x {1} y) {1} z）"
_ZH_RIGHT = "{0} 为右结合（x {1} y {1} z = x {1} (y {1} z)）"
_EN_QUESTION = ("Compute the exact value of:", "Evaluate the following expression:",
                "What is the value of the expression below?")
_ZH_QUESTION = ("计算下式的值：", "求下面表达式的精确值：", "请计算：")
_EN_ANSWER = (
    "Give the exact result (an integer or a fraction) inside \\boxed{}, for example \\boxed{-7/2}.",
    "Put the final exact answer in \\boxed{}, as an integer or a fraction such as \\boxed{5/3}.",
    "Write your final answer as \\boxed{value}, using an integer or a fraction p/q.",
)
_ZH_ANSWER = (
    "请把最终结果（整数或分数）写在 \\boxed{} 中，例如 \\boxed{-7/2}。",
    "最终答案请用 \\boxed{} 给出精确值（整数或分数，如 \\boxed{5/3}）。",
    "答案写成 \\boxed{数值} 的形式，可以是整数或分数 p/q。",
)
# Case layouts: {S} is "a ◇ b", {Bi} a body, {Ci} a condition; the middle part repeats per extra case.
_EN_CASE_STYLES = (
    ("{S} = {B} if {C}", "; otherwise, {S} = {B} if {C}", "; otherwise, {S} = {B}"),
    ("if {C}, then {S} = {B}", "; else if {C}, then {S} = {B}", "; otherwise {S} = {B}"),
    ("{S} = {B} when {C}", "; else {S} = {B} when {C}", "; else {S} = {B}"),
)
_ZH_CASE_STYLES = (
    ("若 {C}，则 {S} = {B}", "；否则若 {C}，则 {S} = {B}", "；否则 {S} = {B}"),
    ("当 {C} 时，{S} = {B}", "；否则当 {C} 时，{S} = {B}", "；其他情况下 {S} = {B}"),
    ("如果 {C}，{S} = {B}", "；否则如果 {C}，{S} = {B}", "；否则 {S} = {B}"),
)


def _notes_table():
    """The fixed part of the notes paragraph for each combination of what a task contains."""
    table = {}
    for zh in (False, True):
        for has_abs in (False, True):
            for has_parity in (False, True):
                for has_three in (False, True):
                    for grouping in ("full", "ltr", "ranked"):
                        parts = [_ZH_ARITH if zh else _EN_ARITH]
                        if has_abs:
                            parts.append(_ZH_ABS if zh else _EN_ABS)
                        if has_parity:
                            parts.append(_ZH_PARITY if zh else _EN_PARITY)
                        if has_three:
                            parts.append(_ZH_CASES if zh else _EN_CASES)
                        if grouping == "full":
                            parts.append(_ZH_PARENS if zh else _EN_PARENS)
                        text = ("" if zh else " ").join(parts)
                        table[(zh, has_abs, has_parity, has_three, grouping)] = text + (
                            "" if zh or grouping == "full" else " ")
    return table


def _case_formats():
    """Per language: per style, {n_cases: format string} with fields s, b0.., c0.."""
    out = {}
    for lang, styles in (("en", _EN_CASE_STYLES), ("zh", _ZH_CASE_STYLES)):
        per_style = []
        for first, middle, last in styles:
            forms = {}
            for n in (2, 3):
                t = first.replace("{B}", "{b0}").replace("{C}", "{c0}")
                for k in range(1, n - 1):
                    t += middle.replace("{B}", "{b%d}" % k).replace("{C}", "{c%d}" % k)
                t += last.replace("{B}", "{b%d}" % (n - 1))
                forms[n] = "- " + t.replace("{S}", "{s}")
            per_style.append(forms)
        out[lang] = per_style
    return out


_CASE_FORMATS = _case_formats()
_NOTES = _notes_table()


def _rule_line(symbol, inner_symbol, cases, language, style) -> str:
    """One "- a △ b = ..." line; cases: (_Cond or None, _Body) pairs."""
    s = "a " + symbol + " b"
    if inner_symbol is None:
        texts = [body.parts[0] for _, body in cases]
    else:
        texts = [inner_symbol.join(body.parts) for _, body in cases]
    if len(cases) == 1:
        return "- " + s + " = " + texts[0]
    form = _CASE_FORMATS[language][style][len(cases)]
    if len(cases) == 2:
        return form.format(s=s, b0=texts[0], c0=cases[0][0].text[language], b1=texts[1])
    return form.format(s=s, b0=texts[0], c0=cases[0][0].text[language], b1=texts[1],
                       c1=cases[1][0].text[language], b2=texts[2])


def _expr_text(node, symbols, grouping, ranks, right):
    """Text of an expression tree [op, left, right] (leaves: number text) under the stated grouping."""
    if type(node) is str:
        return node if node[0] != "-" and "/" not in node else "(" + node + ")"
    op, left, rgt = node
    lt = _expr_text(left, symbols, grouping, ranks, right)
    rt = _expr_text(rgt, symbols, grouping, ranks, right)
    if type(left) is list:
        if grouping == "full" or (grouping == "ranked" and (
                ranks[left[0]] < ranks[op] or (left[0] == op and right[op]))):
            lt = "(" + lt + ")"
    if type(rgt) is list:
        if grouping != "ranked" or ranks[rgt[0]] < ranks[op] or (rgt[0] == op and not right[op]):
            rt = "(" + rt + ")"
    return lt + " " + symbols[op] + " " + rt


# --------------------------------------------------------------------------- generation

def _op1(body, inner, check):
    return lambda a, b: check(body(a, b, inner))


def _op2(p0, b0, b1, inner, check):
    return lambda a, b: check(b0(a, b, inner) if p0(a, b) else b1(a, b, inner))


def _op3(p0, p1, b0, b1, b2, inner, check):
    return lambda a, b: check(b0(a, b, inner) if p0(a, b) else (b1(a, b, inner) if p1(a, b) else b2(a, b, inner)))


def _draw_rules(draw, plan, check):
    """(specs, operator functions): specs are [(cases as (_Cond or None, _Body) pairs, inner index
    or None)], drawn from a level plan (see _plan); the functions are built in the same pass."""
    n_ops, plain, derived, conds, first_derived, n_conditional, three = plan
    perm = pick(draw, _PERMS[n_ops])
    conditional = perm[:n_conditional]
    specs, fns = [], []
    for i in range(n_ops):
        if i >= first_derived:  # op 0 is never derived: a derived op calls an earlier one
            inner = below(draw(), i)
            inner_fn = fns[inner]
            b0 = pick(draw, derived)
        else:
            inner = inner_fn = None
            b0 = pick(draw, plain)
        if i not in conditional:
            specs.append((((None, b0),), inner))
            fns.append(_op1(b0.fn, inner_fn, check))
            continue
        c0 = pick(draw, conds)
        pool = derived if inner is not None and draw() < 26214 else plain
        b1 = pick(draw, pool)
        if b1 is b0:  # two identical cases would make the condition moot
            b1 = pick(draw, pool)
        if not three or draw() < 32768:
            specs.append((((c0, b0), (None, b1)), inner))
            fns.append(_op2(c0.pred, b0.fn, b1.fn, inner_fn, check))
            continue
        c1 = pick(draw, conds)
        if c1 is c0:
            c1 = pick(draw, conds)
        b2 = pick(draw, plain)
        if b2 is b1 or b2 is b0:
            b2 = pick(draw, plain)
        specs.append((((c0, b0), (c1, b1), (None, b2)), inner))
        fns.append(_op3(c0.pred, c1.pred, b0.fn, b1.fn, b2.fn, inner_fn, check))
    return specs, fns


def _operand_table(lo, hi):
    """Every operand a level can draw, as (value, text): integers, then per denominator 2..6 the
    fractions v/den (v = 0 becomes 1/den), so drawing one costs two random numbers, no Fraction()."""
    ints = tuple((v, str(v)) for v in range(lo, hi + 1))
    fracs = []
    for den in range(2, 7):
        row = []
        for v in range(lo, hi + 1):
            f = Fraction(v or 1, den)
            row.append((f.numerator, str(f.numerator)) if f.denominator == 1 else (f, str(f)))
        fracs.append(tuple(row))
    return ints, tuple(fracs)


_OPERAND_TABLES: dict = {}


def _operands(lo, hi):
    table = _OPERAND_TABLES.get((lo, hi))
    if table is None:
        table = _OPERAND_TABLES[(lo, hi)] = _operand_table(lo, hi)
    return table


def _draw_expression(draw, fns, n_ops, apps, lo, hi, fraction_share, budget=EXPR_BUDGET):
    """(tree, value): a random tree of `apps` applications, evaluated while it is built.

    Tree: [op index, left, right] with leaves as number text ("3", "-3/4").  A subtree whose value
    leaves the bounds is redrawn where it failed (not the whole tree), from a narrower operand
    range; after `budget` such redraws the attempt gives up with _Overflow.
    """
    perm = pick(draw, _PERMS[n_ops])
    if apps >= n_ops:  # every operator appears at least once
        seq = perm + tuple([below(draw(), n_ops) for _ in range(apps - n_ops)])
    else:
        seq = perm[:apps]
    state = [budget, _operands(lo, hi), lo, hi]  # redraws left, operand table, current range
    share16 = round(fraction_share * 65536)  # chance of a fraction operand, in 16-bit draws

    def build(n, start):
        # the n applications of this subtree use seq[start:start + n], the node itself the last
        if n == 0:
            ints, fracs = state[1]
            i = below(draw(), len(ints))
            v, t = ints[i] if not fraction_share or draw() >= share16 else fracs[below(draw(), 5)][i]
            return t, v
        op = seq[start + n - 1]
        fn = fns[op]
        while True:
            k = below(draw(), n)
            left, lv = build(k, start)
            right, rv = build(n - 1 - k, start + k)
            try:
                return [op, left, right], fn(lv, rv)
            except _Overflow:
                state[0] -= 1
                if state[0] <= 0:
                    raise
                # values grew too fast: redraw with operands from a narrower range
                state[2] = state[2] // 2 if state[2] < 0 else min(state[2], 1)
                state[3] = max(state[3] // 2, 2)
                state[1] = _operands(state[2], state[3])

    return build(apps, 0)


def _fallback(draw, knobs, plan, check):
    """Linear rules only, integer operands 1..5: every value stays under 1,076 (< every cap).

    Each application at most doubles the larger operand and adds at most 3 (the rule) plus 3 per
    derived layer (at most 3 layers), so after the 6 applications of a chain:
    |v| <= 2**6 * 5 + 12 * (2**6 - 1) = 1,076.  All values are integers: no denominator grows.
    """
    specs, fns = _draw_rules(draw, plan, check)
    tree, value = _draw_expression(draw, fns, knobs.ops, knobs.apps, *_FALLBACK_OPERANDS, 0.0)
    return specs, tree, value


def _draw_task(draw, level):
    """(operator specs, expression tree, value, used the fallback)."""
    knobs = LEVELS[level]
    plan = _PLANS[level]
    check = _CHECKS[level]
    lo, hi = knobs.operands
    n_ops, apps, share = knobs.ops, knobs.apps, knobs.fraction_share
    for _ in range(RULE_TRIES):
        specs, fns = _draw_rules(draw, plan, check)
        for _ in range(EXPR_TRIES):
            try:
                tree, value = _draw_expression(draw, fns, n_ops, apps, lo, hi, share)
            except _Overflow:
                continue
            return specs, tree, value, False
    return _fallback(draw, knobs, _SAFE_PLANS[level], check) + (True,)


def generate(rng, level: int, language: str) -> Generated:
    knobs = LEVELS[level]
    draw = rng.stream()  # 16-bit draws, scaled by below() and pick()
    specs, tree, value, fallback = _draw_task(draw, level)
    n_ops = knobs.ops

    start = below(draw(), len(SYMBOLS))
    step = pick(draw, _SYMBOL_STEPS)
    symbols = [SYMBOLS[(start + i * step) % len(SYMBOLS)] for i in range(n_ops)]
    groupings = knobs.grouping
    grouping = pick(draw, groupings) if len(groupings) > 1 else groupings[0]

    zh = language == "zh"
    style = below(draw(), 3)
    rule_lines = [pick(draw, _ZH_INTRO if zh else _EN_INTRO)]
    has_abs = has_parity = has_three = False
    meta_ops = []
    for i, (cases, inner) in enumerate(specs):
        rule_lines.append(_rule_line(symbols[i], None if inner is None else symbols[inner], cases, language, style))
        if len(cases) == 1:
            body = cases[0][1]
            meta_ops.append([[[None, body.ast]], inner])
            has_abs = has_abs or body.has_abs
            continue
        meta_ops.append([[[None if c is None else c.ast, body.ast] for c, body in cases], inner])
        for c, body in cases:
            has_abs = has_abs or body.has_abs
            has_parity = has_parity or (c is not None and c.parity)
        has_three = has_three or len(cases) == 3
    ranks = _PERMS[n_ops][0]
    right = (False,) * n_ops
    notes = _NOTES[(zh, has_abs, has_parity, has_three, grouping)]
    if grouping == "ltr":
        notes += (_ZH_LTR if zh else _EN_LTR).format(symbols[0], symbols[-1])
    elif grouping == "ranked":
        ranks = pick(draw, _PERMS[n_ops])  # higher rank binds tighter
        by_rank = sorted(range(n_ops), key=ranks.__getitem__, reverse=True)
        notes += (_ZH_RANK if zh else _EN_RANK).format(("、" if zh else ", ").join([symbols[i] for i in by_rank]))
        if knobs.right_assoc:
            right = tuple([draw() < 26214 for _ in range(n_ops)])
            notes += ("" if zh else " ") + _assoc_text(symbols, right, zh)
        else:
            notes += "所有运算均为左结合。" if zh else " Every operator is left-associative."
    expression = _expr_text(tree, symbols, grouping, ranks, right)
    prompt = "\n\n".join((
        "\n".join(rule_lines),
        notes,
        pick(draw, _ZH_QUESTION if zh else _EN_QUESTION),
        expression,
        pick(draw, _ZH_ANSWER if zh else _EN_ANSWER),
    ))
    answer = str(value)  # int, or Fraction whose str is "p/q"
    metadata = {
        "answer": answer,
        "symbols": symbols,
        "ops": meta_ops,
        "expression": expression,
        "tree": tree,
        "grouping": grouping,
        "ranks": list(ranks),
        "right_assoc": list(right),
        "fallback": fallback,
    }
    return Generated(prompt, "\\boxed{" + answer + "}", metadata)


def _assoc_text(symbols, right, zh: bool) -> str:
    left_syms = [s for s, r in zip(symbols, right) if not r]
    right_syms = [s for s, r in zip(symbols, right) if r]
    parts = []
    if zh:
        if left_syms:
            parts.append(_ZH_LEFT.format("、".join(left_syms), left_syms[0]))
        if right_syms:
            parts.append(_ZH_RIGHT.format("、".join(right_syms), right_syms[0]))
        return "；".join(parts) + "。"
    if left_syms:
        parts.append(_EN_LEFT.format(_en_list(left_syms), "is" if len(left_syms) == 1 else "are", left_syms[0]))
    if right_syms:
        parts.append(_EN_RIGHT.format(_en_list(right_syms), "is" if len(right_syms) == 1 else "are", right_syms[0]))
    return "; ".join(parts) + "."


def _en_list(items) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- verification

_MAX_BOXED = 200  # longer boxed content is no number of ours; bounds the work on hostile input
_BOX = "\\boxed{"


def _read_number(text: str):
    """The exact number in a boxed answer, tolerating "expr = value", -\\frac{}{}, \\dfrac and a
    Unicode minus."""
    s = text.strip()
    if not s or len(s) > _MAX_BOXED:
        return None
    if "=" in s:  # "\\boxed{(3 △ 4) ◇ 5 = 22}": the value is what the last "=" gives
        s = s[s.rfind("=") + 1:].strip()
    s = s.replace("−", "-").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = extract.strip_latex_wrappers(s)
    sign = 1
    if s[:1] in ("-", "+") and s[1:].lstrip().startswith("\\frac"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:].lstrip()
    value = extract.parse_number(s)
    return None if value is None else sign * value


def _expected(metadata) -> Fraction | None:
    try:
        ans = metadata["answer"]
        if not isinstance(ans, str) or len(ans) > _MAX_BOXED:
            return None
        return extract.parse_number(ans)
    except Exception:
        return None


def verify(answer_text: str, metadata: dict) -> Verdict:
    expected = _expected(metadata)
    if expected is None:
        return Verdict.bad_format("task metadata has no readable answer")
    if not isinstance(answer_text, str):
        return Verdict.bad_format("response is not text")
    start = answer_text.rfind(_BOX)
    if start < 0:
        return Verdict.bad_format("no \\boxed{} answer")
    # Only the last box counts, and no number of ours is longer than _MAX_BOXED: reading it from a
    # bounded window keeps a megabyte-long box from costing a megabyte-long brace scan.
    boxed = extract.last_boxed(answer_text[start:start + len(_BOX) + _MAX_BOXED + 1])
    if boxed is None:
        return Verdict.bad_format("the last \\boxed{} is unclosed or too long to be a number")
    value = _read_number(boxed)
    if value is None:
        return Verdict.bad_format("the last \\boxed{} does not hold an exact number")
    if value == expected:
        return Verdict.ok()
    return Verdict.wrong(f"boxed value {_num_text(value)} is not the value of the expression")


# --------------------------------------------------------------------------- worked solution

def _as_tuple(x):
    if isinstance(x, list):
        return tuple(_as_tuple(e) for e in x)
    return x


def _leaf_value(s):
    f = Fraction(s)
    return f.numerator if f.denominator == 1 else f


def _steps(metadata: dict):
    """(steps as (operator index, a, b, value, depth), the expression's value, operator specs,
    operator functions): the applications in evaluation order (a rule's inner applications before
    it), an application already made not repeated except the last one (the whole expression).
    depth: how many applications it is made inside (0 for the expression's own)."""
    specs = [(_as_tuple(cases), inner) for cases, inner in metadata["ops"]]
    # No cap here: the values were bounded when the task was generated.
    check = _make_check(10**30, 10**30)
    trace = []
    depth = 0

    def wrap(i, fn):
        def traced(a, b):
            nonlocal depth
            depth += 1
            v = fn(a, b)
            depth -= 1
            trace.append((i, a, b, v, depth))
            return v
        return traced

    compiled = [(tuple((None if c is None else _compile_condition(c), _compile(body)) for c, body in cases), inner)
                 for cases, inner in specs]
    fns = _build_ops(compiled, check, wrap)  # the generator's evaluator, recording each application
    plain = _build_ops(compiled, check)

    def evaluate(node):
        if not isinstance(node, list):
            return _leaf_value(node)
        return fns[node[0]](evaluate(node[1]), evaluate(node[2]))

    result = evaluate(metadata["tree"])
    steps, seen = [], set()
    for k, (i, a, b, v, d) in enumerate(trace):
        if (i, a, b) not in seen or k == len(trace) - 1:
            seen.add((i, a, b))
            steps.append((i, a, b, v, d))
    return steps, result, specs, plain


def applications(metadata: dict) -> list[tuple[str, object, object, object]]:
    """(operator symbol, a, b, value) of each application the worked solution works out, in the
    order their values are found."""
    symbols = metadata["symbols"]
    return [(symbols[i], a, b, v) for i, a, b, v, _ in _steps(metadata)[0]]


def worked_solution(metadata: dict, language: str) -> str:
    """Innermost-first evaluation steps, ending with the boxed answer."""
    zh = language == "zh"
    symbols = metadata["symbols"]
    steps, result, specs, plain = _steps(metadata)
    # Each application's lines, its inner applications' lines inside them: a step's inner
    # applications are the deeper steps just before it (those already made are not among them).
    blocks: list[tuple[int, list[str]]] = []
    for i, a, b, v, depth in steps:
        inner_lines = []
        while blocks and blocks[-1][0] > depth:
            inner_lines = blocks.pop()[1] + inner_lines
        blocks.append((depth, _step_lines(i, a, b, v, specs, symbols, plain, zh, inner_lines)))
    lines = ["从最内层的运算开始，逐步计算：" if zh else "Evaluate from the innermost operation outwards:"]
    lines += [line for _depth, block in blocks for line in block]
    if len("\n".join(lines)) > 1300:  # long chains: one short line per application
        lines = lines[:1] + ["- " + _operand_text(a) + " " + symbols[i] + " " + _operand_text(b) + " = " + _num_text(v)
                             for i, a, b, v, _ in steps]
    answer = _num_text(result)
    lines.append(("所以结果是 \\boxed{%s}。" if zh else "So the value is \\boxed{%s}.") % answer)
    return "\n".join(lines)


def _substituted(node, a, b, call_value):
    """A rule body with the operands' values ("val" nodes) for a and b, and each call replaced by
    its value ``call_value(call node)``."""
    if node == "a" or node == "b":
        return ("val", a if node == "a" else b)
    if type(node) is int:
        return node
    if node[0] == "call":
        return ("val", call_value(node))
    return (node[0],) + tuple(_substituted(e, a, b, call_value) for e in node[1:])


def _is_value(node) -> bool:
    return type(node) is int or node[0] == "val"


def _apply(tag, x, y):
    """One arithmetic operation of a rule body, exactly as _compile computes it."""
    if tag == "+":
        v = x + y
    elif tag == "-":
        v = x - y
    elif tag == "*":
        v = x * y
    elif tag == "/":
        v = _divide(x, y)
    elif tag == "^":
        v = x ** y
    else:  # abs
        v = abs(x)
    return v.numerator if type(v) is Fraction and v.denominator == 1 else v


# Arithmetic in small steps, as a person works it out in the head.  Written in one step by the SFT
# model of levels 1-5 (run 2026-12-06-grpo-greedy-failures: its sft evaluation and mine's 512 tasks,
# each operation worked from a right stage), these went wrong: a product of a one-place number and a
# two-place one 26 of 171 times (28 × 5 = 110), a two-digit square 23 of 61 (77² = 5289), a
# difference of numbers of two places or more 17 of 52 (80 - 14 = 64), such a sum 13 of 76 (36 + 12
# = 58), a sum or difference with a negative operand or result 69 of 495 (25 - 130 = -115); 37 of
# its 58 failed greedy answers first go wrong in arithmetic inside a line (python -m
# veritas.evaluation.operation_steps).  Products of one-place numbers (1 of 549; 20 × 5 is one), sums
# and differences of numbers >= 0 with a one-place operand (25 of 767) and absolute values (0 of 265)
# it gets right.  So an operation is written in the steps it is made of (_in_steps):
#   the sign first:  25 - 130 = -(130 - 25) = ...; (-8) + (-7) = -(8 + 7); 24 - (-9) = 24 + 9;
#                    (-21) × (-7) = 21 × 7 = ...; 9 × (-24) = -(9 × 24) = ...
#   a sum or difference of numbers of two places or more, the places of the second (of a sum:
#                    the one with fewer places) added or taken one at a time:  36 + 12 = 46 + 2 =
#                    48, 80 - 14 = 70 - 4 = 66 (a sum whose numbers share no place is one step:
#                    1200 + 34 = 1234)
#   a product by place value:  28 × 5 = 20 × 5 + 8 × 5 = 100 + 40 = 140, 24 × 29 = 20 × 20 +
#                    20 × 9 + 4 × 20 + 4 × 9 = ...; one of more than _MAX_PARTS partial products
#                    (148 × 148, rare below level 6) stays one step: its working would outgrow
#                    the 1,300 characters of worked_solution's long form
#   a power as a product first, where that product is written in steps:  79² = 79 × 79 = ...
# Fractions, divisions, absolute values, products by 0 or ±1 and one-place products stay one step
# (a sum or difference with a negative operand or result still goes sign first: 2 - 5 = -(5 - 2)).
# Each stage is still the whole expression, true, and a reader's " = " chain (operation_steps).
_MAX_PARTS = 4


def _places(n: int) -> list[int]:
    """The nonzero place values of n >= 0, largest first: 1060 -> [1000, 60]."""
    digits = str(n)
    return [int(d) * 10 ** (len(digits) - 1 - k) for k, d in enumerate(digits) if d != "0"] or [0]


def _chain(tag, values):
    """values[0] tag values[1] tag ..., left to right, as a node of "val" leaves (or of the nodes
    given)."""
    node = values[0]
    for v in values[1:]:
        node = (tag, node, v)
    return node


def _vals(*values):
    return [("val", v) for v in values]


def _in_steps(tag, x, y):
    """One operation of a stage written as the smaller ones it is made of: the node the next stage
    writes in its place (later stages work that out), or None where the operation is one step."""
    if tag not in ("+", "-", "*", "^") or x.denominator != 1 or y.denominator != 1:
        return None
    x, y = int(x), int(y)
    if tag == "^":
        return _chain("*", _vals(*[x] * y)) if _in_steps("*", x, x) is not None else None
    if x == 0 or y == 0 or (tag == "*" and (abs(x) == 1 or abs(y) == 1)):
        return None
    if tag == "*":
        parts = [("*",) + tuple(_vals(p, q)) for p in _places(abs(x)) for q in _places(abs(y))]
        if not 1 < len(parts) <= _MAX_PARTS:
            return None
        if x < 0 or y < 0:
            return _signed(("*",) + tuple(_vals(abs(x), abs(y))), x * y < 0)
        return _chain("+", parts)
    # x + s with numbers >= 0: both added, or the smaller taken from the larger
    s = y if tag == "+" else -y
    if (x < 0) == (s < 0):
        core = ("+", abs(x), abs(s))
    else:
        core = ("-", max(abs(x), abs(s)), min(abs(x), abs(s)))
    if core != (tag, x, y):
        return _signed((core[0],) + tuple(_vals(*core[1:])), x + s < 0)
    if tag == "-":  # x >= y > 0
        places = _places(y)
        return _chain("-", _vals(x - places[0], *places[1:])) if len(places) > 1 and x != y else None
    whole, split = (x, y) if len(_places(y)) <= len(_places(x)) else (y, x)
    places = _places(split)
    shared = any(a != "0" and b != "0" for a, b in zip(str(x)[::-1], str(y)[::-1]))
    return _chain("+", _vals(whole + places[0], *places[1:])) if len(places) > 1 and shared else None


def _signed(node, negative: bool):
    return ("neg", node) if negative else node


def _reduce_step(node, small_steps: bool = True, moves: list | None = None):
    """Every operation whose operands are values, worked out: one stage of a worked solution, so
    that each stage asks for single operations ("2 × 9 - 5 + 1 = 18 - 5 + 1 = 13 + 1 = 14"); with
    small_steps, an operation _in_steps writes smaller is replaced by its smaller ones instead.
    moves, when given, gets (tag, operand values, value or the node written instead) of each."""
    if _is_value(node):
        return node
    operands = node[1:]
    if all(_is_value(e) for e in operands):
        values = [e if type(e) is int else e[1] for e in operands]
        x, y = values[0], values[1] if len(values) > 1 else None
        done = (_in_steps(node[0], x, y) if small_steps else None) or ("val", _apply(node[0], x, y))
        if moves is not None:
            moves.append((node[0], values, done[1] if done[0] == "val" else done))
        return done
    reduced = (node[0],) + tuple(_reduce_step(e, small_steps, moves) for e in operands)
    if reduced[0] == "neg" and _is_value(reduced[1]):  # -(110 - 5) = -105: the sign goes with its value
        return ("val", -reduced[1][1])
    return reduced


def _stage_text(node) -> str:
    """One stage as the worked solution writes it: a value plainly ("-105"), a sign written first
    as "-(130 - 25)"."""
    if _is_value(node):
        return _num_text(node if type(node) is int else node[1])
    return _neg_text(node) if node[0] == "neg" else _render(node)[0]


def _stages(body, a, b, inner_fn, small_steps: bool = True, moves: list | None = None):
    """The texts of a substituted rule body, one operation layer worked out per stage, ending
    with its value; moves, when given, gets each stage's operations (a list per stage)."""
    node = _substituted(body, a, b, lambda call: inner_fn(_compile(call[1])(a, b, None),
                                                          _compile(call[2])(a, b, None)))
    texts = []
    while not _is_value(node):
        texts.append(_stage_text(node))
        done = []
        node = _reduce_step(node, small_steps, done)
        if moves is not None:
            moves.append(done)
    texts.append(_stage_text(node))
    return texts


# A rule that uses another operator is written first, its inner applications left as they are,
# then their lines, then its value from theirs:
#     - since -1 > -9, -1 ≥ -9 is true, (-1) △ (-9) = ((-1) ※ (-9)) - 2, where
#     - (-1) ※ (-9) = (-1) × (-9) + 2(-1) = 9 + (-2) = 7
#     - so (-1) △ (-9) = 7 - 2 = 5
# Written the other way round (the inner line first), the SFT model of levels 1-5 had to foresee
# which inner application a rule's case would need: 16 of its 24 failed level-5 answers (run
# 2026-12-06-grpo-from-level-5-t1.0, sft) first go wrong there: on the inner line, on the rule's
# inner value, or on another line where an inner line was due (python -m
# veritas.evaluation.operation_steps).  An inner application already made
# keeps the rule on one line.
WHERE = {False: ", where", True: "，其中"}
SO = {False: "so ", True: "所以 "}


def _step_lines(i, a, b, v, specs, symbols, plain, zh, inner_lines) -> list[str]:
    """One application's lines: "reasons, head = rule = stages = value"; or, where its rule needs
    inner applications not made before (inner_lines: their lines), the rule, those lines, and
    "so head = stages = value"."""
    cases, inner = specs[i]
    sub = {"a": a, "b": b}
    head = _operand_text(a) + " " + symbols[i] + " " + _operand_text(b)
    reason = ""
    body = cases[-1][1]
    if len(cases) > 1:
        reasons = []  # the conditions that failed, then the one that holds (if any)
        for cond, case_body in cases[:-1]:
            reasons.append(_case_reason(cond, a, b, zh))
            if _compile_condition(cond)(a, b):
                body = case_body
                break
        reason = ("因为 " + "；".join(reasons) + "，所以 ") if zh else ("since " + "; ".join(reasons) + ", ")
    rule = _render(body, sub, _call_text_fn(inner, symbols, sub))[0]
    stages = []
    for text in _stages(body, a, b, None if inner is None else plain[inner]):
        if text != (stages[-1] if stages else rule):
            stages.append(text)
    value = stages[-1] if stages else rule
    assert value == _num_text(v), (rule, stages, v)  # _apply is _compile's arithmetic, stage by stage
    if not inner_lines:
        return ["- " + reason + " = ".join([head, rule] + stages)]
    return (["- " + reason + head + " = " + rule + WHERE[zh]] + inner_lines
            + ["- " + SO[zh] + " = ".join([head] + stages)])


# A case condition's working: the side's value, then its true order or parity, then, where that
# is not already the condition, the condition's verdict.  Judged in one step ("since 9 > 6 is
# false") the SFT model of levels 1-5 (docs/results, 2026-12-06-sft-levels-1-5) got 14 of 71
# two-number conditions and 16 of 30 parities wrong (veritas.evaluation.operation_conditions); it writes a comparison's true order almost
# without error (boolean_expressions: 0.5 %).
_FACT_TEXT = {
    "en": {"even": " is even", "odd": " is odd", "int": " is an integer", "not int": " is not an integer"},
    "zh": {"even": " 是偶数", "odd": " 是奇数", "int": " 是整数", "not int": " 不是整数"},
}
_NOT_PARITY_TEXT = {"en": {"even": ", not even", "odd": ", not odd"}, "zh": {"even": "，不是偶数", "odd": "，不是奇数"}}
_VERDICT_TEXT = {"en": (", {} is false", ", {} is true"), "zh": ("，{} 不成立", "，{} 成立")}


def _side_working(node, a, b) -> tuple[str, object]:
    """A condition's side with a and b substituted, worked out ("3 + 4 = 7", or just "-3"), and
    its value."""
    return " = ".join(_stages(node, a, b, None)), _compile(node)(a, b, None)


def _case_reason(cond, a, b, zh: bool) -> str:
    """One case condition, worked out before it is judged: "6 < 9, 6 ≥ 9 is false", "3 + 4 = 7
    > 5", "3 + 4 = 7 is odd, not even"."""
    lang = "zh" if zh else "en"
    tag = cond[0]
    x_text, x = _side_working(cond[1], a, b)
    if tag in ("even", "odd", "int"):
        fact = "not int" if x.denominator != 1 else ("int" if tag == "int" else ("even" if x % 2 == 0 else "odd"))
        text = x_text + _FACT_TEXT[lang][fact]
        if tag != "int" and fact != tag:
            text += _NOT_PARITY_TEXT[lang][tag]
        return text
    y_text, y = _side_working(cond[2], a, b)
    xs, ys = _num_text(x), _num_text(y)
    # an expression on the right is worked out first, so the order compares two numbers
    order = true_order(x, y)
    text = (y_text + ("，" if zh else ", ") if y_text != ys else "") + x_text + " " + order + " " + ys
    holds = _compile_condition(cond)(a, b)
    if holds and _REL_TEXT[tag] == order:  # the true order is the condition itself
        return text
    return text + _VERDICT_TEXT[lang][holds].format(xs + " " + _REL_TEXT[tag] + " " + ys)


def _call_text_fn(inner, symbols, sub):
    """Shows a call of the inner operator with its operands worked out: "(4 ◇ 2)"."""
    def call_text(node):
        x = _compile(node[1])(sub["a"], sub["b"], None)
        y = _compile(node[2])(sub["a"], sub["b"], None)
        return "(" + _operand_text(x) + " " + symbols[inner] + " " + _operand_text(y) + ")"
    return call_text


TASK_TYPE = TaskType(
    name="operation", id_blocks=(2,), languages=("en", "zh"), zh_share=0.5, randomness="draws",
    levels=LEVELS, generate=generate, verify=verify, worked_solution=worked_solution,
    answer_formats={"en": _EN_ANSWER, "zh": _ZH_ANSWER},
)
