"""Safe arithmetic expressions: tokenize, parse and evaluate exactly, never ``eval``.

Model output is hostile input, so :func:`evaluate` accepts any ``str`` and never raises:

* numbers are runs of ASCII or full-width digits (no decimals, no signs); a run longer than
  ``max_literal_digits`` is refused before ``int()`` sees it;
* binary ``+ - * /`` and, where the caller allows it, ``**`` (Python precedence and
  associativity) with parentheses; ``×`` ``÷`` and the Unicode minus are read as ``* / -``;
  unary operators, ``//``, ``%``, ``^``, names and calls are refused;
* arithmetic is exact (:class:`fractions.Fraction`); division by zero, non-integer exponents
  and any intermediate value whose numerator or denominator reaches ``VALUE_LIMIT`` are
  refused; a power is sized up before it is computed, so ``9**9**9**9`` costs microseconds;
* the parser is a shunting-yard loop over explicit stacks (no recursion), and the input is
  capped at ``max_length`` characters, so time is linear and small.

:func:`combine_pair` (and its Fraction face :func:`combine`) is the single definition of what one
operation does; exhaustive searches must use it too, so that "no expression reaches the
target" means exactly "no expression the verifier would accept reaches it".
"""
from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import NamedTuple

from veritas.envs.extract import normalize_width

ALL_OPS: tuple[str, ...] = ("+", "-", "*", "/", "**")
BASIC_OPS: tuple[str, ...] = ("+", "-", "*", "/")

# |numerator| and denominator of every value must stay below this (301 digits).
VALUE_LIMIT = 10**300
# Any int with more than _LIMIT_BITS bits is >= 2**_LIMIT_BITS > VALUE_LIMIT: a power proven to
# have more bits than this is refused uncomputed.
_LIMIT_BITS = VALUE_LIMIT.bit_length()

_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 3}
_RIGHT_ASSOC = frozenset(("**",))
# Extra spellings models use, mapped before scanning (full-width forms go through normalize_width).
_EXTRA_SYMBOLS = str.maketrans({"×": "*", "÷": "/", "−": "-", "∗": "*", "／": "/"})
_WHITESPACE = frozenset(" \t\r\n\f\v\u3000\u00a0")
_DIGITS = frozenset("0123456789")


class Evaluation(NamedTuple):
    value: Fraction | None       # None when the expression was refused
    numbers: tuple[int, ...]     # the literals used, sorted (empty on a syntax error)
    error: str | None            # why it was refused
    syntax_ok: bool              # False: not a well-formed expression at all


def combine_pair(op: str, an: int, ad: int, bn: int, bd: int) -> tuple[int, int] | None:
    """``a op b`` on reduced fractions given as (numerator, denominator > 0) int pairs; the
    reduced result pair, or None when the operation is refused.  The one definition of what an
    operation does: :func:`combine` and the exhaustive searches are built on it (int pairs hash
    and add several times faster than Fraction, which matters for searches)."""
    if op == "+":
        n, d = an * bd + bn * ad, ad * bd
    elif op == "-":
        n, d = an * bd - bn * ad, ad * bd
    elif op == "*":
        n, d = an * bn, ad * bd
    elif op == "/":
        if not bn:
            return None
        n, d = an * bd, ad * bn
        if d < 0:
            n, d = -n, -d
    elif op == "**":
        if bd != 1:
            return None  # non-integer exponent
        e = bn
        if not an:
            return None if e < 0 else ((1, 1) if e == 0 else (0, 1))
        if e == 0 or (an == 1 and ad == 1):
            return (1, 1)
        if an == -1 and ad == 1:
            return (1, 1) if e % 2 == 0 else (-1, 1)
        big = max(abs(an), ad)  # >= 2 here
        # big**|e| has at least |e|*(bits(big)-1)+1 bits: refuse without computing when too many.
        if abs(e) * (big.bit_length() - 1) + 1 > _LIMIT_BITS:
            return None
        if e > 0:
            n, d = an**e, ad**e
        else:
            n, d = ad ** (-e), an ** (-e)
            if d < 0:
                n, d = -n, -d
        # a power of a reduced fraction is reduced
        return (n, d) if -VALUE_LIMIT < n < VALUE_LIMIT and d < VALUE_LIMIT else None
    else:
        return None
    g = gcd(n, d)
    if g != 1:
        n //= g
        d //= g
    return (n, d) if -VALUE_LIMIT < n < VALUE_LIMIT and d < VALUE_LIMIT else None


def combine(op: str, a: Fraction, b: Fraction) -> Fraction | None:
    """``a op b`` exactly, or None when the operation is refused (see :func:`refusal_reason`)."""
    r = combine_pair(op, a.numerator, a.denominator, b.numerator, b.denominator)
    return None if r is None else Fraction(*r)


def refusal_reason(op: str, a: Fraction, b: Fraction) -> str:
    """Why :func:`combine` refused ``a op b`` (only called after it returned None)."""
    if op == "/" and not b:
        return "division by zero"
    if op == "**":
        if b.denominator != 1:
            return "non-integer exponent"
        if not a and b < 0:
            return "division by zero (0 to a negative power)"
    if op not in _PRECEDENCE:
        return f"unknown operator {op!r}"
    return "intermediate value too large (over 300 digits)"


def format_value(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def true_order(a, b) -> str:
    """How two numbers really go, "<", ">" or "=": worked solutions write it before judging a
    comparison, which a small model does far more reliably than judging it in one step."""
    return "<" if a < b else (">" if a > b else "=")


def _refuse(error: str, syntax_ok: bool, numbers: list[int] | None = None) -> Evaluation:
    return Evaluation(None, tuple(sorted(numbers)) if numbers else (), error, syntax_ok)


def _reduce(ops: list[str], values: list[Fraction]) -> str | None:
    """Apply the operator on top of ``ops`` to the two top values; the refusal reason if any."""
    op = ops.pop()
    b = values.pop()
    a = values.pop()
    r = combine(op, a, b)
    if r is None:
        return refusal_reason(op, a, b)
    values.append(r)
    return None


def evaluate(
    text: str,
    allowed_ops: tuple[str, ...] | frozenset[str] = BASIC_OPS,
    max_numbers: int = 64,
    max_length: int = 4096,
    max_literal_digits: int = 30,
) -> Evaluation:
    """Evaluate ``text`` exactly.  Never raises; never executes anything.

    ``allowed_ops``: binary operators that may appear (a subset of ``ALL_OPS``); others are a
    refusal with ``syntax_ok=True`` (well-formed, but not allowed).  More than ``max_numbers``
    literals is refused before any arithmetic.
    """
    if not isinstance(text, str):
        return _refuse("not a string", False)
    if len(text) > 4 * max_length:  # before translating: keep the cost bounded by max_length
        return _refuse(f"expression longer than {max_length} characters", False)
    s = normalize_width(text).translate(_EXTRA_SYMBOLS).strip()
    if len(s) > max_length:
        return _refuse(f"expression longer than {max_length} characters", False)
    if not s:
        return _refuse("empty expression", False)
    allowed = frozenset(allowed_ops).intersection(_PRECEDENCE)

    # Pass 1: tokens and the whole syntax check (so a syntax error is always reported as one).
    # Numbers become ints, operators and parentheses stay str.
    tokens: list[int | str] = []
    numbers: list[int] = []
    forbidden: str | None = None  # first operator the caller does not allow
    expect_operand = True
    depth = 0
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c in _WHITESPACE:
            i += 1
            continue
        if c in _DIGITS:
            j = i + 1
            while j < n and s[j] in _DIGITS:
                j += 1
                if j - i > max_literal_digits:  # stop scanning: never int() a huge literal
                    return _refuse(f"number with more than {max_literal_digits} digits", False)
            if j < n and (s[j] == "." or s[j] == "_" or s[j].isalnum()):
                return _refuse(f"malformed number near position {i}", False)
            if not expect_operand:
                return _refuse("missing operator between operands", False)
            if len(numbers) >= max_numbers:
                return _refuse(f"more than {max_numbers} numbers", True)
            value = int(s[i:j])
            numbers.append(value)
            tokens.append(value)
            expect_operand = False
            i = j
            continue
        if c == "(":
            if not expect_operand:
                return _refuse("missing operator before '('", False)
            depth += 1
            tokens.append(c)
            i += 1
            continue
        if c == ")":
            if expect_operand:
                return _refuse("')' without an operand before it", False)
            if depth == 0:
                return _refuse("unbalanced ')'", False)
            depth -= 1
            tokens.append(c)
            i += 1
            continue
        if c == "*" and i + 1 < n and s[i + 1] == "*":
            op = "**"
        elif c == "/" and i + 1 < n and s[i + 1] == "/":
            op = "//"
        elif c in "+-*/":
            op = c
        else:
            return _refuse(f"unexpected character {c!r}", False)
        if expect_operand:
            if op in ("+", "-"):
                return _refuse("unary plus/minus is not allowed", False)
            return _refuse(f"operator {op} without a left operand", False)
        if forbidden is None and op not in allowed:
            forbidden = op
        tokens.append(op)
        expect_operand = True
        i += len(op)
    if expect_operand:
        return _refuse("expression ends without an operand", False)
    if depth:
        return _refuse("unbalanced '('", False)
    if forbidden is not None:
        return _refuse(f"operator {forbidden} is not allowed here", True, numbers)

    # Pass 2: shunting-yard over well-formed tokens, reducing as operators pop (explicit stacks).
    values: list[Fraction] = []
    ops: list[str] = []
    for tok in tokens:
        if isinstance(tok, int):
            values.append(Fraction(tok))
            continue
        if tok == "(":
            ops.append(tok)
            continue
        if tok == ")":
            while ops[-1] != "(":
                err = _reduce(ops, values)
                if err:
                    return _refuse(err, True, numbers)
            ops.pop()
            continue
        prec = _PRECEDENCE[tok]
        while ops and ops[-1] != "(":
            top = _PRECEDENCE[ops[-1]]
            if top < prec or (top == prec and tok in _RIGHT_ASSOC):
                break
            err = _reduce(ops, values)
            if err:
                return _refuse(err, True, numbers)
        ops.append(tok)
    while ops:
        err = _reduce(ops, values)
        if err:
            return _refuse(err, True, numbers)
    return Evaluation(values[0], tuple(sorted(numbers)), None, True)
