"""LGC-V2 ``game_of_24``: combine the given numbers with the allowed operators to hit a target.

Each number is used exactly once; the answer is one Python expression in a final ```python
block, or ``None`` where the prompt allows it and no expression exists.  Any correct expression
counts: the verifier evaluates it exactly (veritas.envs.expr) and compares the multiset of
numbers used; it never compares with the reference.

Ground truth is right by construction:

* 4-number puzzles are drawn uniformly from the solvable or the unsolvable class of a table
  (data/game_of_24_table.py) that an exhaustive search built offline for every multiset of
  1..20, target and operator set; a solvable draw is then solved here by the same subset search
  (a few ms for 4 numbers), which yields the reference expression.
* 5- and 6-number puzzles are built from a random expression tree over the allowed operators
  that evaluates to the target, so they are solvable and "None" is never allowed for them.

The search and the verifier share one definition of an operation (``expr.combine_pair``), so
"unsolvable" means exactly "no expression the verifier accepts reaches the target".
"""
from __future__ import annotations

import base64
import itertools
import random
import zlib
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.expr import combine, combine_pair, evaluate, format_value
from veritas.envs.extract import last_fenced_block, normalize_width, parse_number


# Operator sets by name; the order of each tuple is the order the prompt lists them.
OPSETS: dict[str, tuple[str, ...]] = {
    "basic": ("+", "-", "*", "/"),
    "no_div": ("+", "-", "*"),
    "power": ("+", "-", "*", "/", "**"),
    "no_add": ("-", "*", "/"),
}
_COMMUTATIVE = frozenset(("+", "*"))

_ALL_TARGETS = (24, 36, 48, 60, 72, 100)

@dataclass(frozen=True)
class Game24Knobs:
    """One level's knobs; the comment on LEVELS says what each is."""

    count: int
    low: int
    high: int
    targets: tuple[int, ...]
    opsets: tuple[str, ...]
    none_share: float
    unsolvable_share: float


# count: how many numbers; low..high: their range; targets / opsets: drawn uniformly;
# none_share: share of prompts that allow the answer None; unsolvable_share: share of those
# whose puzzle has no solution.  None is only ever allowed for 4 numbers (the table's size).
LEVELS: dict[int, Game24Knobs] = {
    1: Game24Knobs(count=4, low=1, high=9, targets=(24,), opsets=("basic",), none_share=0.0, unsolvable_share=0.0),
    2: Game24Knobs(count=4, low=1, high=10, targets=(24,), opsets=("basic",), none_share=0.3, unsolvable_share=0.5),
    3: Game24Knobs(count=4, low=1, high=13, targets=(24,), opsets=("basic", "no_div"), none_share=0.4, unsolvable_share=0.5),
    4: Game24Knobs(count=4, low=1, high=13, targets=(24, 36, 48), opsets=("basic", "no_div"), none_share=0.5, unsolvable_share=0.5),
    5: Game24Knobs(count=5, low=1, high=13, targets=(24, 36, 48), opsets=("basic",), none_share=0.0, unsolvable_share=0.0),
    6: Game24Knobs(count=4, low=1, high=20, targets=_ALL_TARGETS, opsets=("basic", "no_div", "power"), none_share=0.5, unsolvable_share=0.5),
    7: Game24Knobs(count=5, low=1, high=20, targets=_ALL_TARGETS, opsets=("basic", "no_div", "power"), none_share=0.0, unsolvable_share=0.0),
    8: Game24Knobs(count=4, low=1, high=20, targets=_ALL_TARGETS, opsets=("power", "no_div"), none_share=0.7, unsolvable_share=0.5),
    9: Game24Knobs(count=6, low=1, high=20, targets=_ALL_TARGETS, opsets=("basic", "no_div", "no_add"), none_share=0.0, unsolvable_share=0.0),
    10: Game24Knobs(count=6, low=1, high=25, targets=_ALL_TARGETS + (120, 144), opsets=("basic", "power", "no_add"),
             none_share=0.0, unsolvable_share=0.0),
}

# An expression tree is an int leaf or a tuple (op, left, right).


# ---------------------------------------------------------------------------------------------
# Exhaustive search (subset DP over exact fractions)
# ---------------------------------------------------------------------------------------------

# Values in the search are reduced fractions as (numerator, denominator > 0) int pairs: they hash
# and combine several times faster than Fraction (expr.combine_pair defines the arithmetic).

def _subset_values(leaves: list[int], ops: tuple[str, ...]) -> list[dict]:
    """For every proper subset (bitmask) of ``leaves``: value -> how it was first made.

    Every expression tree over a set of numbers splits at its root into two non-empty subsets,
    so the values of a set are exactly ``combine(op, a, b)`` over its ordered splits and the
    values of the two parts.  Dicts keep insertion order, so reconstruction is deterministic.
    """
    n = len(leaves)
    full = (1 << n) - 1
    table: list[dict] = [{} for _ in range(1 << n)]
    for i, x in enumerate(leaves):
        table[1 << i] = {(x, 1): i}
    for mask in range(1, full):  # every proper submask of mask is numerically smaller
        if mask & (mask - 1) == 0:
            continue
        made: dict = {}
        sub = (mask - 1) & mask
        while sub:
            other = mask ^ sub
            for op in ops:
                if op in _COMMUTATIVE and sub > other:
                    continue  # the mirrored split gives the same values
                for a in table[sub]:
                    an, ad = a
                    for b in table[other]:
                        r = combine_pair(op, an, ad, b[0], b[1])
                        if r is not None and r not in made:
                            made[r] = (op, sub, a, other, b)
            sub = (sub - 1) & mask
        table[mask] = made
    return table


def _iroot(n: int, k: int) -> int | None:
    """The integer r >= 0 with r**k == n (n >= 0, k >= 1), or None."""
    if n < 2:
        return n
    lo, hi = 1, 1 << (n.bit_length() // k + 1)
    while lo <= hi:
        mid = (lo + hi) // 2
        p = mid**k
        if p == n:
            return mid
        if p < n:
            lo = mid + 1
        else:
            hi = mid - 1
    return None


def _bases_for(tn: int, td: int, e: int) -> list[tuple[int, int]]:
    """Every reduced a with a**e == tn/td, for an integer e != 0 (any a when the target is
    0 or +-1 is not handled here: the caller enumerates those)."""
    k = abs(e)
    if tn < 0 and k % 2 == 0:
        return []
    p, q = _iroot(abs(tn), k), _iroot(td, k)
    if p is None or q is None:
        return []
    if e < 0:
        p, q = q, p
    if tn < 0:
        return [(-p, q)]
    return [(p, q), (-p, q)] if k % 2 == 0 else [(p, q)]


def _partners(op: str, t: tuple[int, int], known: tuple[int, int], known_is_left: bool):
    """The value x with known op x == t (known_is_left) or x op known == t, or None.

    Any non-None result is re-checked with combine_pair by the caller, so this only needs to
    be complete, not careful about refusals.
    """
    tn, td = t
    kn, kd = known
    if known_is_left:
        if op == "+":
            return combine_pair("-", tn, td, kn, kd)
        if op == "-":
            return combine_pair("-", kn, kd, tn, td)
        if op == "*":
            return combine_pair("/", tn, td, kn, kd) if kn else None
        return combine_pair("/", kn, kd, tn, td) if kn and tn else None  # "/"
    if op == "+":
        return combine_pair("-", tn, td, kn, kd)
    if op == "-":
        return combine_pair("+", tn, td, kn, kd)
    if op == "*":
        return combine_pair("/", tn, td, kn, kd) if kn else None
    return combine_pair("*", tn, td, kn, kd) if kn else None  # "/"


def _root_hits(table: list[dict], full: int, target: tuple[int, int], ops: tuple[str, ...]):
    """First (op, sub, a, other, b) with a op b == target over the splits of ``full``, or None.

    Instead of enumerating pairs, loop over the smaller side of each split and solve for the
    partner value, which is then looked up (every candidate is re-checked with combine_pair).
    """
    tn, td = target
    # |a**e| reaches the target's size only for |e| <= its bit length, unless |a| == 1.
    max_exponent = max(abs(tn).bit_length(), td.bit_length())
    small_target = abs(tn) < 2 and td == 1  # 0, 1 or -1
    sub = (full - 1) & full
    while sub:
        other = full ^ sub
        left, right = table[sub], table[other]
        for op in ops:
            if op == "**":
                if small_target:  # no cheap inverse: enumerate
                    cands = [(a, b) for a in left for b in right]
                else:
                    cands = [(a, b) for b in right
                             if b[1] == 1 and 0 < abs(b[0]) <= max_exponent
                             for a in _bases_for(tn, td, b[0]) if a in left]
            elif len(right) <= len(left):
                cands = [(a, b) for b in right for a in (_partners(op, target, b, False),) if a in left]
            else:
                cands = [(a, b) for a in left for b in (_partners(op, target, a, True),) if b in right]
            for a, b in cands:
                if combine_pair(op, a[0], a[1], b[0], b[1]) == target:
                    return (op, sub, a, other, b)
        sub = (sub - 1) & full
    return None


def _rebuild(table: list[dict], mask: int, value: tuple[int, int], leaves: list[int]):
    how = table[mask][value]
    if isinstance(how, int):
        return leaves[how]
    op, sub, a, other, b = how
    return (op, _rebuild(table, sub, a, leaves), _rebuild(table, other, b, leaves))


def _as_pair(x) -> tuple[int, int]:
    f = Fraction(x)
    return (f.numerator, f.denominator)


def solve(numbers, target, ops) -> int | tuple | None:
    """An expression tree using every number once that evaluates to ``target``, or None if
    none exists (exhaustive over all trees; fast for 4 numbers, usable for 5)."""
    leaves = [int(x) for x in numbers]
    ops = tuple(ops)
    goal = _as_pair(target)
    if len(leaves) == 1:
        return leaves[0] if (leaves[0], 1) == goal else None
    table = _subset_values(leaves, ops)
    full = (1 << len(leaves)) - 1
    hit = _root_hits(table, full, goal, ops)
    if hit is None:
        return None
    op, sub, a, other, b = hit
    return (op, _rebuild(table, sub, a, leaves), _rebuild(table, other, b, leaves))


def solvable_targets(numbers, targets, ops) -> list[bool]:
    """For each target, whether some expression reaches it (one DP shared by all targets)."""
    leaves = [int(x) for x in numbers]
    ops = tuple(ops)
    if len(leaves) == 1:
        return [(leaves[0], 1) == _as_pair(t) for t in targets]
    table = _subset_values(leaves, ops)
    full = (1 << len(leaves)) - 1
    return [_root_hits(table, full, _as_pair(t), ops) is not None for t in targets]


# ---------------------------------------------------------------------------------------------
# Trees: value, expression text, steps
# ---------------------------------------------------------------------------------------------

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 3}


def tree_value(tree) -> Fraction | None:
    if isinstance(tree, int):
        return Fraction(tree)
    op, left, right = tree
    a, b = tree_value(left), tree_value(right)
    if a is None or b is None:
        return None
    return combine(op, a, b)


def tree_leaves(tree) -> list[int]:
    if isinstance(tree, int):
        return [tree]
    return tree_leaves(tree[1]) + tree_leaves(tree[2])


def tree_ops(tree) -> list[str]:
    if isinstance(tree, int):
        return []
    return [tree[0]] + tree_ops(tree[1]) + tree_ops(tree[2])


def to_expression(tree) -> str:
    """Python text that parses back to exactly this tree (parentheses only where needed)."""
    if isinstance(tree, int):
        return str(tree)
    op, left, right = tree
    p = _PREC[op]
    ltxt, rtxt = to_expression(left), to_expression(right)
    if not isinstance(left, int):
        lp = _PREC[left[0]]
        if lp < p or (lp == p and op == "**"):  # ** is right-associative
            ltxt = f"({ltxt})"
    if not isinstance(right, int):
        rp = _PREC[right[0]]
        if rp < p or (rp == p and op != "**"):  # keep the tree as built, e.g. a - (b - c)
            rtxt = f"({rtxt})"
    return f"{ltxt} {op} {rtxt}"


def _operand(x: Fraction) -> str:
    return format_value(x) if x.denominator == 1 else f"({format_value(x)})"


def tree_steps(tree) -> list[str]:
    """Post-order "a op b = r" lines, one per operation."""
    steps: list[str] = []

    def walk(t) -> Fraction:
        if isinstance(t, int):
            return Fraction(t)
        op, left, right = t
        a, b = walk(left), walk(right)
        r = combine(op, a, b)
        steps.append(f"{_operand(a)} {op} {_operand(b)} = {format_value(r)}")
        return r

    walk(tree)
    return steps


# ---------------------------------------------------------------------------------------------
# The precomputed solvability table (4 numbers)
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _table():
    from veritas.envs.lgc_v2.data import game_of_24_table as t

    multisets = list(itertools.combinations_with_replacement(range(1, t.HIGH + 1), t.COUNT))
    raw = zlib.decompress(base64.b64decode(t.DATA))
    stride = (len(multisets) + 7) // 8
    bits = {}
    for k, key in enumerate(itertools.product(t.OPSET_NAMES, t.TARGETS)):
        bits[key] = raw[k * stride:(k + 1) * stride]
    return t, multisets, bits


def table_solvable(opset: str, target: int, numbers) -> bool:
    """The table's verdict for a multiset of 4 numbers in 1..20 (KeyError outside the table)."""
    t, multisets, bits = _table()
    index = _multiset_index(tuple(sorted(numbers)), t.HIGH)
    row = bits[(opset, target)]
    return bool(row[index >> 3] >> (index & 7) & 1)


@lru_cache(maxsize=None)
def _multiset_rank_table(high: int):
    return {m: i for i, m in enumerate(itertools.combinations_with_replacement(range(1, high + 1), 4))}


def _multiset_index(sorted_numbers: tuple[int, ...], high: int) -> int:
    return _multiset_rank_table(high)[sorted_numbers]


@lru_cache(maxsize=None)
def _class_members(opset: str, target: int, low: int, high: int, solvable: bool) -> tuple[tuple[int, ...], ...]:
    """Multisets of 4 numbers in low..high whose solvability is ``solvable``, in table order."""
    t, multisets, bits = _table()
    row = bits[(opset, target)]
    out = []
    for i, m in enumerate(multisets):
        if m[0] >= low and m[-1] <= high and bool(row[i >> 3] >> (i & 7) & 1) == solvable:
            out.append(m)
    return tuple(out)


def table_covers(count: int, low: int, high: int, opset: str, target: int) -> bool:
    t = _table()[0]
    return count == t.COUNT and 1 <= low and high <= t.HIGH and opset in t.OPSET_NAMES and target in t.TARGETS


# ---------------------------------------------------------------------------------------------
# Construction of solvable puzzles with 5 or 6 numbers
# ---------------------------------------------------------------------------------------------

_VALUE_CAP = 5000       # intermediate values of built trees stay human-sized
_NODE_TRIES = 6         # operand choices tried per node
# Bounds on work: at most 5 x 200 node expansions (each a few microseconds) before the fallback.
# Over 12,000 sampled constructions the most any needed was 66 in all.
_BUILD_BUDGET = 200     # node expansions per construction attempt
_BUILD_ATTEMPTS = 5     # fresh attempts before the fallback


@lru_cache(maxsize=None)
def _pair_table(low: int, high: int, ops: tuple[str, ...]) -> dict[int, tuple]:
    """value -> every (op, a, b) with a, b in low..high and a op b == value, a positive int
    (identity steps excluded).

    Plain int arithmetic (cheap enough to build inside one task's time budget); tests check it
    against ``combine``.
    """
    out: dict[int, list] = {}
    for a in range(low, high + 1):
        for b in range(low, high + 1):
            for op in ops:
                # Identity steps (x * 1, x / 1, x ** 1, 1 ** x) are left out: they make dull puzzles.
                if op == "+":
                    r = a + b
                elif op == "-":
                    r = a - b
                elif op == "*":
                    r = a * b if a > 1 and b > 1 else 0
                elif op == "/":
                    r = a // b if b > 1 and a % b == 0 else 0
                else:  # "**": a**b <= cap needs b <= log2(cap)
                    r = a**b if a > 1 and 1 < b <= _VALUE_CAP.bit_length() else 0
                if 0 < r <= _VALUE_CAP:
                    out.setdefault(r, []).append((op, a, b))
    return {v: tuple(c) for v, c in out.items()}


@lru_cache(maxsize=None)
def _max_values(count: int, low: int, high: int, ops: tuple[str, ...]) -> tuple[int, ...]:
    """Loose upper bound of the positive integers m numbers can make (index m), capped."""
    mv = [0, high]
    for m in range(2, count + 1):
        best = 0
        for m1 in range(1, m):
            a, b = mv[m1], mv[m - m1]
            if "+" in ops:
                best = max(best, a + b)
            if "**" in ops:
                best = _VALUE_CAP
            elif "*" in ops:
                best = max(best, a * b)
            if "-" in ops or "/" in ops:
                best = max(best, a)
        mv.append(min(best, _VALUE_CAP))
    return tuple(mv)


@lru_cache(maxsize=None)
def _proper_divisors(v: int) -> tuple[int, ...]:
    """Divisors of v other than 1 and v (v <= _VALUE_CAP)."""
    return tuple(d for d in range(2, v) if v % d == 0)


@lru_cache(maxsize=None)
def _perfect_powers(v: int) -> tuple[tuple[int, int], ...]:
    """Every (base, exponent) with base, exponent >= 2 and base**exponent == v."""
    out = []
    for e in range(2, v.bit_length() + 1):
        base = round(v ** (1.0 / e))
        for c in (base - 1, base, base + 1):
            if c >= 2 and c**e == v:
                out.append((c, e))
    return tuple(out)


class _Builder:
    def __init__(self, rng: random.Random, count: int, low: int, high: int, ops: tuple[str, ...]):
        self.rng, self.low, self.high, self.ops = rng, low, high, ops
        self.pairs = _pair_table(low, high, ops)
        self.maxv = _max_values(count, low, high, ops)
        self.budget = 0

    def feasible(self, x: int, m: int) -> bool:
        if m == 1:
            return self.low <= x <= self.high
        if m == 2:
            return x in self.pairs
        return 1 <= x <= self.maxv[m]

    def operands(self, op: str, v: int, m1: int, m2: int):
        """One random (a, b) with a op b == v, or None."""
        rng, lo, hi = self.rng, self.low, self.high
        if op == "+":
            if v < 2:
                return None
            if m1 == 1:
                a = rng.randint(lo, min(hi, v - 1)) if lo <= v - 1 else None
                return None if a is None else (a, v - a)
            if m2 == 1:
                b = rng.randint(lo, min(hi, v - 1)) if lo <= v - 1 else None
                return None if b is None else (v - b, b)
            a = rng.randint(1, v - 1)
            return a, v - a
        if op == "-":
            if m2 == 1:
                b = rng.randint(lo, hi)
                return v + b, b
            if m1 == 1:
                if v + 1 > hi:
                    return None
                a = rng.randint(max(lo, v + 1), hi)
                return a, a - v
            b = rng.randint(1, max(2, min(v, 50)))
            return v + b, b
        if op == "*":  # no factor 1 (see _pair_table)
            divisors = _proper_divisors(v)
            if m1 == 1:
                divisors = [d for d in divisors if lo <= d <= hi]
            if m2 == 1:
                divisors = [d for d in divisors if lo <= v // d <= hi]
            if not divisors:
                return None
            a = rng.choice(divisors)
            return a, v // a
        if op == "/":
            if m2 == 1:
                if hi < 2:
                    return None
                b = rng.randint(max(lo, 2), hi)
                return v * b, b
            if m1 == 1:
                multiples = [a for a in range(max(lo, 2 * v), hi + 1) if a % v == 0]
                if not multiples:
                    return None
                a = rng.choice(multiples)
                return a, a // v
            b = rng.randint(2, 12)
            return v * b, b
        if op == "**":
            powers = _perfect_powers(v)
            return rng.choice(powers) if powers else None
        return None

    def build(self, v: int, m: int):
        if m == 1:
            return v if self.low <= v <= self.high else None
        if m == 2:
            choices = self.pairs.get(v)
            return self.rng.choice(choices) if choices else None
        for _ in range(_NODE_TRIES):
            self.budget -= 1
            if self.budget < 0:
                return None
            op = self.rng.choice(self.ops)
            m1 = self.rng.randint(1, m - 1)
            m2 = m - m1
            pair = self.operands(op, v, m1, m2)
            if pair is None:
                continue
            a, b = pair
            if not (self.feasible(a, m1) and self.feasible(b, m2)):
                continue
            left = self.build(a, m1)
            if left is None:
                continue
            right = self.build(b, m2)
            if right is None:
                continue
            return (op, left, right)
        return None


def _fallback_tree(target: int, count: int, low: int, high: int, ops: tuple[str, ...]):
    """A fixed solution a * b * 1 * ... * 1 (tests check it exists for every level's choices)."""
    if "*" not in ops or low > 1:
        return None
    for a in range(max(low, 1), high + 1):
        if target % a == 0 and low <= target // a <= high:
            tree = ("*", a, target // a)
            for _ in range(count - 2):
                tree = ("*", tree, 1)
            return tree
    return None


def construct(rng: random.Random, target: int, count: int, low: int, high: int, ops: tuple[str, ...]):
    """A random tree over ``ops`` with ``count`` leaves in low..high that evaluates to target."""
    builder = _Builder(rng, count, low, high, ops)
    for _ in range(_BUILD_ATTEMPTS):
        builder.budget = _BUILD_BUDGET
        tree = builder.build(target, count)
        if tree is not None and len(set(tree_ops(tree))) > 1:  # all-+ or all-* is a dull puzzle
            return tree
    return _fallback_tree(target, count, low, high, ops)


# ---------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------

_OPS_TEXT = {
    "en": {
        "basic": "+, -, * and /",
        "no_div": "+, - and * (no division)",
        "power": "+, -, *, / and ** (power)",
        "no_add": "-, * and / (no addition)",
    },
    "zh": {
        "basic": "+、-、*、/",
        "no_div": "+、-、*（不能用除法）",
        "power": "+、-、*、/ 以及 **（乘方）",
        "no_add": "-、*、/（不能用加法）",
    },
}

_RULES = {
    "en": "Parentheses are allowed; other operators, unary minus and gluing digits together are not.",
    "zh": "可以使用括号；不能使用其他运算符、负号（一元减号），也不能把数字拼接成新的数。",
}
_DIVISION_RULE = {
    "en": " / is exact division, so fractions may appear along the way.",
    "zh": "/ 是精确除法，中间结果可以是分数。",
}
_POWER_RULE = {
    "en": " ** needs a whole-number exponent, and no intermediate value may have more than 300 digits.",
    "zh": "** 的指数必须是整数，且任何中间结果都不能超过 300 位。",
}
_NONE_RULE = {
    "en": "If no such expression exists, put None in the code block instead.",
    "zh": "如果不存在这样的表达式，请在代码块中写 None。",
}
_SOLVABLE_NOTE = {
    "en": "A solution is guaranteed to exist.",
    "zh": "本题保证有解。",
}
_FORMAT = {
    "en": "Finish with the expression in a Python code block:\n```python\n<expression>\n```",
    "zh": "最后把表达式写在 Python 代码块中：\n```python\n<表达式>\n```",
}

_TEMPLATES = {
    "en": (
        "Use each of the numbers {nums} exactly once, together with {ops} and parentheses, "
        "to make an expression equal to {target}.",
        "Game of {target}: you are given the numbers {nums}. Combine all of them, each exactly once, "
        "using {ops}, so that the result is exactly {target}.",
        "Find an arithmetic expression whose value is {target}. It must use every one of the numbers "
        "{nums} exactly once; the allowed operators are {ops}.",
        "Numbers: {nums}\nTarget: {target}\nAllowed operators: {ops}\n"
        "Write an expression that uses each number exactly once and evaluates to the target.",
    ),
    "zh": (
        "请用数字 {nums}（每个数字恰好用一次），配合运算符 {ops} 和括号，组成一个结果等于 {target} 的算式。",
        "{target} 点游戏：给定数字 {nums}。把所有数字各用一次，只使用 {ops} 进行运算，使结果恰好等于 {target}。",
        "找出一个值为 {target} 的算术表达式，要求数字 {nums} 每个都恰好使用一次，允许的运算符：{ops}。",
        "数字：{nums}\n目标：{target}\n可用运算符：{ops}\n请写出一个每个数字恰好用一次、结果等于目标的表达式。",
    ),
}


def _prompt(rng: random.Random, language: str, numbers: list[int], target: int, opset: str,
            none_allowed: bool) -> str:
    sep = ", " if language == "en" else "、"
    nums = sep.join(str(x) for x in numbers)
    head = rng.choice(_TEMPLATES[language]).format(nums=nums, target=target, ops=_OPS_TEXT[language][opset])
    ops = OPSETS[opset]
    rules = (_RULES[language] + (_DIVISION_RULE[language] if "/" in ops else "")
             + (_POWER_RULE[language] if "**" in ops else ""))
    tail = _NONE_RULE[language] if none_allowed else _SOLVABLE_NOTE[language]
    gap = " " if language == "en" else ""
    return f"{head}\n\n{rules}{gap}{tail}\n\n{_FORMAT[language]}"


def _answer_block(expression: str | None) -> str:
    return f"```python\n{'None' if expression is None else expression}\n```"


# ---------------------------------------------------------------------------------------------
# Task interface
# ---------------------------------------------------------------------------------------------

def generate(rng: random.Random, level: int, language: str) -> Generated:
    knobs = LEVELS[level]
    count, low, high = knobs.count, knobs.low, knobs.high
    target = rng.choice(knobs.targets)
    opset = rng.choice(knobs.opsets)
    ops = OPSETS[opset]
    none_allowed = count == 4 and rng.random() < knobs.none_share
    want_unsolvable = none_allowed and rng.random() < knobs.unsolvable_share

    if table_covers(count, low, high, opset, target):
        members = _class_members(opset, target, low, high, not want_unsolvable)
        numbers = list(rng.choice(members))
        rng.shuffle(numbers)
        tree = None if want_unsolvable else solve(numbers, target, ops)
    else:  # 5 or 6 numbers (tests check no 4-number level leaves the table)
        tree = construct(rng, target, count, low, high, ops)
        numbers = tree_leaves(tree)
        rng.shuffle(numbers)

    solution = None if tree is None else to_expression(tree)
    metadata = {
        "numbers": numbers,
        "target": target,
        "opset": opset,
        "ops": list(ops),
        "none_allowed": none_allowed,
        "solvable": tree is not None,
        "solution": solution,
        "steps": [] if tree is None else tree_steps(tree),
    }
    prompt = _prompt(rng, language, numbers, target, opset, none_allowed)
    return Generated(prompt, _answer_block(solution), metadata)


_BLOCK_LANGUAGES = ("python", "py", "python3", "")
_MAX_BLOCK_CHARS = 20_000
_MAX_EXPRESSION_CHARS = 2_000


def _read_block(block: str) -> tuple[str | None, list[str], str | None]:
    """(expression text, claimed results after '=', error) from a code block's body."""
    if len(block) > _MAX_BLOCK_CHARS:
        return None, [], "code block too long"
    lines = []
    for line in normalize_width(block).split("\n"):
        cut = line.find("#")  # a Python comment
        if cut >= 0:
            line = line[:cut]
        line = line.strip()
        if line:
            lines.append(line)
    if not lines:
        return None, [], "empty code block"
    text = " ".join(lines)  # an expression may be wrapped over lines inside parentheses
    if len(text) > _MAX_EXPRESSION_CHARS:
        return None, [], "expression too long"
    parts = [p.strip() for p in text.replace("==", "=").split("=")]
    if len(parts) > 1 and parts[0].isidentifier() and parts[0] != "None":
        parts = parts[1:]  # "answer = <expression>" (also "答案 = ...")
    return parts[0], parts[1:], None


def verify(answer_text: str, metadata: dict) -> Verdict:
    block = last_fenced_block(answer_text, _BLOCK_LANGUAGES)
    if block is None:
        return Verdict.bad_format("no ```python code block")
    expression, claims, error = _read_block(block)
    if error:
        return Verdict.bad_format(error)
    target = Fraction(metadata["target"])
    for claim in claims:
        value = parse_number(claim)
        if value is None:
            return Verdict.bad_format("text after '=' is not a number")
        if value != target:
            return Verdict.wrong(f"claims the result is {claim}, the target is {metadata['target']}")
    if expression.lower() == "none":
        if not metadata["none_allowed"]:
            return Verdict.wrong("None is not allowed: this puzzle has a solution")
        if metadata["solvable"]:
            return Verdict.wrong("answered None, but a solution exists")
        return Verdict.ok()
    numbers = metadata["numbers"]
    result = evaluate(expression, tuple(metadata["ops"]), max_numbers=len(numbers),
                      max_length=_MAX_EXPRESSION_CHARS)
    if result.error:
        return (Verdict.wrong if result.syntax_ok else Verdict.bad_format)(result.error)
    if Counter(result.numbers) != Counter(numbers):
        return Verdict.wrong(f"uses {list(result.numbers)}; each of {sorted(numbers)} must be used exactly once")
    if result.value != target:
        return Verdict.wrong(f"evaluates to {format_value(result.value)}, not {metadata['target']}")
    return Verdict.ok()


def worked_solution(metadata: dict, language: str) -> str:
    numbers = metadata["numbers"]
    target = metadata["target"]
    ops_text = _OPS_TEXT[language][metadata["opset"]]
    sep = ", " if language == "en" else "、"
    nums = sep.join(str(x) for x in numbers)
    if not metadata["solvable"]:
        if language == "zh":
            text = (f"穷举搜索：把 {nums} 分成两组的每一种方式、每组用 {ops_text} 能得到的每一个值（精确分数），"
                    f"以及两组结果的每一种组合。没有任何表达式等于 {target}，所以答案是 None。")
        else:
            text = (f"Exhaustive search: every way to split {nums} into two groups, every exact value each "
                    f"group can make with {ops_text}, and every way to combine the two. No expression "
                    f"equals {target}, so the answer is None.")
        return f"{text}\n\n{_answer_block(None)}"
    steps = "\n".join(f"- {s}" for s in metadata["steps"])
    if language == "zh":
        text = f"每次取两个数运算，直到得到 {target}：\n{steps}\n{nums} 每个恰好用了一次，结果是 {target}。"
    else:
        text = (f"Combine two values at a time until {target} appears:\n{steps}\n"
                f"Each of {nums} is used exactly once and the result is {target}.")
    return f"{text}\n\n{_answer_block(metadata['solution'])}"


TASK_TYPE = TaskType(
    name="game_of_24", id_blocks=(1,), languages=("en", "zh"), zh_share=0.5, randomness="mt",
    levels=LEVELS, generate=generate, verify=verify, worked_solution=worked_solution,
    answer_formats={lang: (sentence,) for lang, sentence in _FORMAT.items()},
)
