"""LGC-V2 ``boolean_expressions``: which lettered statements are true?

Each statement nests not/and/or over facts that code checks -- arithmetic, primality, parity,
divisibility, digit sums, comparisons of integers and fractions, remainders, perfect squares,
and facts about spelled-out strings (length, palindromes, letter counts).  No fact depends on
world knowledge.  Generation is constructive: a truth value is chosen for every statement (at
least one true and, from two statements on, at least one false), then each tree is built top
down so that its children have values that give it that value, down to facts made to be true or
false.  The recorded truth of every fact and statement is then recomputed from the facts
themselves (``fact_value``/``evaluate``), never taken from the plan.

Answer: the letters of all true statements in ``\\boxed{}``, e.g. ``\\boxed{A, C, F}``.
"""
from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from fractions import Fraction
from math import isqrt

from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.expr import true_order
from veritas.envs.extract import last_boxed, normalize_width


# statements: how many (letters A..); depth: operator nesting of every statement (its deepest
# path has exactly this many not/and/or); atoms: most facts in one statement; kinds: the kinds
# of facts drawn; number_max: scale of the numbers in facts.
_BASIC = ("compare", "parity", "sum")
@dataclass(frozen=True)
class BooleanKnobs:
    """One level's knobs; the comment on LEVELS says what each is."""

    statements: int
    depth: int
    atoms: int
    number_max: int
    kinds: tuple[str, ...]


LEVELS: dict[int, BooleanKnobs] = {
    1: BooleanKnobs(statements=3, depth=1, atoms=2, number_max=20, kinds=_BASIC),
    2: BooleanKnobs(statements=3, depth=1, atoms=2, number_max=30, kinds=_BASIC + ("product",)),
    3: BooleanKnobs(statements=4, depth=2, atoms=3, number_max=50,
        kinds=_BASIC + ("product", "prime", "divisible")),
    4: BooleanKnobs(statements=4, depth=2, atoms=3, number_max=100,
        kinds=_BASIC + ("product", "prime", "divisible", "digit_sum", "length")),
    5: BooleanKnobs(statements=5, depth=2, atoms=3, number_max=100,
        kinds=_BASIC + ("product", "prime", "divisible", "digit_sum", "length", "palindrome", "fraction")),
    6: BooleanKnobs(statements=5, depth=3, atoms=4, number_max=200,
        kinds=_BASIC + ("product", "prime", "divisible", "digit_sum", "length", "palindrome", "fraction",
                           "mod", "letter_count")),
    7: BooleanKnobs(statements=6, depth=3, atoms=4, number_max=300,
        kinds=_BASIC + ("product", "prime", "divisible", "digit_sum", "length", "palindrome", "fraction",
                           "mod", "letter_count", "square", "difference")),
    8: BooleanKnobs(statements=6, depth=3, atoms=5, number_max=500,
        kinds=_BASIC + ("product", "prime", "divisible", "digit_sum", "length", "palindrome", "fraction",
                           "mod", "letter_count", "square", "difference")),
    9: BooleanKnobs(statements=7, depth=4, atoms=5, number_max=1000,
        kinds=_BASIC + ("product", "prime", "divisible", "digit_sum", "length", "palindrome", "fraction",
                           "mod", "letter_count", "square", "difference")),
    10: BooleanKnobs(statements=8, depth=4, atoms=6, number_max=1000,
         kinds=_BASIC + ("product", "prime", "divisible", "digit_sum", "length", "palindrome", "fraction",
                            "mod", "letter_count", "square", "difference")),
}

LETTERS = "ABCDEFGH"
# A box listing at most eight letters is short; longer content is not an answer.
MAX_BOX_CHARS = 400

# Plain lowercase words for string facts (letters only, so "letters" and "length" agree).
WORDS = (
    "apple", "banana", "cherry", "orange", "grape", "lemon", "mango", "melon", "peach", "river",
    "mountain", "forest", "garden", "window", "pencil", "rocket", "planet", "bottle", "candle",
    "dragon", "guitar", "island", "jacket", "kitten", "ladder", "marble", "needle", "pepper",
    "puzzle", "rabbit", "tomato", "turtle", "violin", "yellow", "coffee", "balloon", "letter",
    "summer", "butter", "tennis", "hammer", "mirror", "pillow", "carrot", "cotton", "button",
    "kettle", "bubble", "little", "middle", "coconut", "committee", "address", "success",
    "mississippi", "bookkeeper", "parallel", "strawberry", "elephant", "umbrella", "keyboard",
    "calendar", "library", "triangle", "sandwich", "chocolate", "volcano", "penguin", "whisper",
    "blossom", "zigzag", "giraffe", "cinnamon", "broccoli", "tortoise", "avocado", "papaya",
    "harmony", "lantern", "meadow", "pebble", "shadow", "thunder", "velvet", "walnut",
)
PALINDROME_WORDS = (
    "level", "radar", "civic", "kayak", "refer", "rotor", "madam", "noon", "racecar", "stats",
    "tenet", "deed", "peep", "solos", "minim", "redder", "reviver", "repaper", "sagas", "rotator",
)


def _sieve(limit: int) -> list[bool]:
    flags = [True] * (limit + 1)
    flags[0] = flags[1] = False
    for p in range(2, isqrt(limit) + 1):
        if flags[p]:
            flags[p * p::p] = [False] * len(range(p * p, limit + 1, p))
    return flags


_IS_PRIME = _sieve(1000)
_PRIMES = tuple(n for n in range(2, 1001) if _IS_PRIME[n])
# Composites that do not give themselves away by an even last digit or a final 5.
_ODD_COMPOSITES = tuple(n for n in range(9, 1001) if not _IS_PRIME[n] and n % 2 and n % 5)
_COMPOSITES = tuple(n for n in range(4, 1001) if not _IS_PRIME[n])


def _is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n <= 1000:
        return _IS_PRIME[n]
    return all(n % p for p in range(2, isqrt(n) + 1))


def _digit_sum(n: int) -> int:
    return sum(int(ch) for ch in str(n))


_COMPARE = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "≤": lambda a, b: a <= b,
    "≥": lambda a, b: a >= b,
}


def fact_value(kind: str, args: list) -> bool:
    """The truth of a fact, computed from its arguments (the one source of truth)."""
    if kind == "prime":
        return _is_prime(args[0])
    if kind == "even":
        return args[0] % 2 == 0
    if kind == "odd":
        return args[0] % 2 == 1
    if kind == "divisible":
        return args[0] % args[1] == 0
    if kind == "sum":
        return args[0] + args[1] == args[2]
    if kind == "difference":
        return args[0] - args[1] == args[2]
    if kind == "product":
        return args[0] * args[1] == args[2]
    if kind == "compare":
        return _COMPARE[args[1]](args[0], args[2])
    if kind == "fraction":
        return _COMPARE[args[2]](Fraction(args[0], args[1]), Fraction(args[3], args[4]))
    if kind == "digit_sum":
        return _digit_sum(args[0]) == args[1]
    if kind == "length":
        return len(args[0]) == args[1]
    if kind == "palindrome":
        return args[0] == args[0][::-1]
    if kind == "letter_count":
        return args[0].count(args[1]) == args[2]
    if kind == "mod":
        return args[0] % args[1] == args[2]
    if kind == "square":
        return isqrt(args[0]) ** 2 == args[0]
    raise ValueError(f"unknown fact kind {kind!r}")


# kind -> phrasings per language; {0}, {1}, ... are the fact's arguments.
_FACT_TEXT = {
    "prime": {"en": ("{0} is prime", "{0} is a prime number"), "zh": ("{0} 是质数", "{0} 是素数")},
    "even": {"en": ("{0} is even", "{0} is an even number"), "zh": ("{0} 是偶数",)},
    "odd": {"en": ("{0} is odd", "{0} is an odd number"), "zh": ("{0} 是奇数",)},
    "divisible": {"en": ("{0} is divisible by {1}", "{1} divides {0}"),
                  "zh": ("{0} 能被 {1} 整除", "{1} 整除 {0}")},
    "sum": {"en": ("{0} + {1} = {2}",), "zh": ("{0} + {1} = {2}",)},
    "difference": {"en": ("{0} - {1} = {2}",), "zh": ("{0} - {1} = {2}",)},
    "product": {"en": ("{0} × {1} = {2}",), "zh": ("{0} × {1} = {2}",)},
    "compare": {"en": ("{0} {1} {2}",), "zh": ("{0} {1} {2}",)},
    "fraction": {"en": ("{0}/{1} {2} {3}/{4}",), "zh": ("{0}/{1} {2} {3}/{4}",)},
    "digit_sum": {"en": ("the digit sum of {0} is {1}", "the digits of {0} add up to {1}"),
                  "zh": ("{0} 的各位数字之和是 {1}", "{0} 的数字和为 {1}")},
    "length": {"en": ("'{0}' has {1} letters", "the word '{0}' is {1} letters long"),
               "zh": ("'{0}' 有 {1} 个字母", "单词 '{0}' 由 {1} 个字母组成")},
    "palindrome": {"en": ("'{0}' is a palindrome", "'{0}' reads the same backwards"),
                   "zh": ("'{0}' 是回文", "'{0}' 倒过来读和原来一样")},
    "letter_count": {"en": ("'{0}' contains the letter '{1}' exactly {2} times",
                            "the letter '{1}' occurs {2} times in '{0}'"),
                     "zh": ("'{0}' 中字母 '{1}' 恰好出现 {2} 次",)},
    "mod": {"en": ("{0} mod {1} = {2}", "the remainder of {0} divided by {1} is {2}"),
            "zh": ("{0} mod {1} = {2}", "{0} 除以 {1} 的余数是 {2}")},
    "square": {"en": ("{0} is a perfect square",), "zh": ("{0} 是完全平方数",)},
}


def _near(rng: random.Random, x: int, floor: int = 0) -> int:
    """A plausible wrong value close to ``x`` (never ``x``, never below ``floor``)."""
    for delta in rng.sample((1, -1, 2, -2, 10, -10), 6):
        if x + delta >= floor:
            return x + delta
    return x + 1


def _make_fact(rng: random.Random, kind: str, want: bool, nmax: int) -> tuple[str, list]:
    """(kind, args) of a fact meant to have truth ``want`` (checked again by fact_value)."""
    if kind == "parity":
        kind = rng.choice(("even", "odd"))
        n = rng.randint(1, nmax)
        if (n % 2 == 0) != ((kind == "even") == want):
            n += 1
        return kind, [n]
    if kind == "prime":
        pool = _PRIMES if want else (_ODD_COMPOSITES if rng.random() < 0.75 else _COMPOSITES)
        return kind, [pool[rng.randrange(_count_upto(pool, max(30, nmax)))]]
    if kind == "divisible":
        d = rng.randint(2, 12 if nmax <= 100 else 19)
        k = rng.randint(2, max(3, nmax // d))
        n = d * k if want else d * k + rng.randint(1, d - 1)
        return kind, [n, d]
    if kind in ("sum", "difference"):
        a, b = rng.randint(1, nmax), rng.randint(1, nmax)
        if kind == "difference" and a < b:
            a, b = b, a
        exact = a + b if kind == "sum" else a - b
        return kind, [a, b, exact if want else _near(rng, exact)]
    if kind == "product":
        top = 9 if nmax <= 50 else (19 if nmax <= 300 else 30)
        a, b = rng.randint(2, top), rng.randint(2, top)
        exact = a * b
        # off by one factor or by a little: positive and never exact since a, b >= 2
        wrong = rng.choice((exact + a, exact - a, exact + b, exact - b, _near(rng, exact, 1)))
        return kind, [a, b, exact if want else wrong]
    if kind == "compare":
        a = rng.randint(0, nmax)
        if rng.random() < 0.15:  # equal sides: only the non-strict comparisons hold
            op = rng.choice(("≤", "≥") if want else ("<", ">"))
            return kind, [a, op, a]
        delta = rng.randint(1, max(2, nmax // 3))
        b = a - delta if a >= delta and rng.random() < 0.5 else a + delta
        op = rng.choice(("<", ">", "≤", "≥"))
        if _COMPARE[op](a, b) != want:
            a, b = b, a
        return kind, [a, op, b]
    if kind == "fraction":
        top = 9 if nmax <= 200 else 15
        q = rng.randint(2, top)
        p = rng.randint(1, q - 1)
        for _ in range(8):  # bounded: a fresh draw is almost never equal
            s = rng.randint(2, top)
            r = rng.randint(1, s - 1)
            if Fraction(p, q) != Fraction(r, s):
                break
        else:
            p, q, r, s = 1, 2, 2, 3
        op = rng.choice(("<", ">"))
        if _COMPARE[op](Fraction(p, q), Fraction(r, s)) != want:
            op = "<" if op == ">" else ">"
        return kind, [p, q, op, r, s]
    if kind == "digit_sum":
        n = rng.randint(10, 10 * nmax)
        exact = _digit_sum(n)
        return kind, [n, exact if want else _near(rng, exact, 1)]
    if kind == "length":
        word = rng.choice(WORDS)
        return kind, [word, len(word) if want else len(word) + rng.choice((-1, 1))]
    if kind == "palindrome":
        if rng.random() < 0.5:
            text = rng.choice(PALINDROME_WORDS)
        else:
            half = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 2)))
            text = half + half[-2::-1] if rng.random() < 0.5 else half + half[::-1]
        if not want:
            if rng.random() < 0.4:
                text = rng.choice(WORDS)
            else:  # change one character of the outer half: no longer a palindrome
                i = rng.randrange(len(text) // 2)
                alphabet = "123456789" if text.isdigit() else "abcdefghijklmnopqrstuvwxyz"
                text = text[:i] + rng.choice(alphabet.replace(text[i], "").replace(text[-1 - i], "")) + text[i + 1:]
        return kind, [text]
    if kind == "letter_count":
        word = rng.choice(WORDS)
        letter = rng.choice(word)
        exact = word.count(letter)
        if want:
            return kind, [word, letter, exact]
        absent = [c for c in "aeioulnrst" if c not in word]
        if absent and rng.random() < 0.25:  # a letter the word lacks, claimed present
            return kind, [word, rng.choice(absent), rng.randint(1, 2)]
        return kind, [word, letter, exact + 1 if exact == 1 else exact + rng.choice((-1, 1))]
    if kind == "mod":
        m = rng.randint(2, 12)
        a = rng.randint(m + 1, max(m + 2, nmax))
        exact = a % m
        return kind, [a, m, exact if want else rng.choice([r for r in range(m) if r != exact])]
    if kind == "square":
        k = rng.randint(2, max(4, isqrt(nmax * 4)))
        return kind, [k * k if want else k * k + rng.choice((-1, 1)) * rng.randint(1, k)]
    raise ValueError(f"unknown fact kind {kind!r}")


def _count_upto(pool: tuple[int, ...], top: int) -> int:
    """How many of the sorted ``pool`` are <= ``top`` (at least 1)."""
    return max(bisect_right(pool, top), 1)


def _min_atoms(depth: int) -> int:
    """Fewest facts a statement of this depth needs (two "not"s never stack)."""
    return depth // 2 + 1


class _Builder:
    """Builds statement trees as JSON-ready lists:
    ["fact", kind, args, text, value] | ["not", node] | ["and"|"or", [nodes]]."""

    def __init__(self, rng: random.Random, level: int, language: str):
        self.rng, self.language = rng, language
        cfg = LEVELS[level]
        self.kinds, self.nmax = cfg.kinds, cfg.number_max

    def fact(self, want: bool) -> list:
        kind, args = _make_fact(self.rng, self.rng.choice(self.kinds), want, self.nmax)
        text = self.rng.choice(_FACT_TEXT[kind][self.language]).format(*args)
        if kind == "letter_count" and args[2] == 1 and self.language == "en":
            text = text.replace("exactly 1 times", "exactly once").replace("1 times", "once")
        return ["fact", kind, args, text, fact_value(kind, args)]

    def node(self, want: bool, depth: int, budget: int, under_not: bool = False) -> list:
        if depth == 0:
            return self.fact(want)
        can_not = not under_not
        can_join = budget >= _min_atoms(depth - 1) + 1
        if can_not and (not can_join or self.rng.random() < 0.35):
            return ["not", self.node(not want, depth - 1, budget, under_not=True)]
        op = self.rng.choice(("and", "or"))
        width = 3 if budget >= _min_atoms(depth - 1) + 2 and self.rng.random() < 0.3 else 2
        # "and" is true / "or" false only when all children are; otherwise some child carries it
        if want == (op == "and"):
            values = [want] * width
        else:
            values = [self.rng.random() < 0.5 for _ in range(width)]
            if want not in values:
                values[self.rng.randrange(width)] = want
        main = self.rng.randrange(width)
        spare = budget - _min_atoms(depth - 1) - (width - 1)
        children = []
        for k in range(width):
            if k == main:
                continue
            extra_budget = 1
            extra_depth = 0
            if depth >= 2 and spare > 0 and self.rng.random() < 0.5:
                extra_budget, spare = 2, spare - 1
                extra_depth = 1
            elif depth >= 2 and self.rng.random() < 0.3:
                extra_depth = 1  # "not fact" costs no more facts
            children.append((k, self.node(values[k], extra_depth, extra_budget)))
        main_node = self.node(values[main], depth - 1, _min_atoms(depth - 1) + spare)
        children.append((main, main_node))
        children.sort(key=lambda kc: kc[0])
        return [op, [c for _, c in children]]


def evaluate(node: list) -> bool:
    if node[0] == "fact":
        return fact_value(node[1], node[2])
    if node[0] == "not":
        return not evaluate(node[1])
    values = [evaluate(c) for c in node[1]]
    return all(values) if node[0] == "and" else any(values)


# operator words per style and language
_STYLES = {
    "en": {"words": ("not", "and", "or"), "upper": ("NOT", "AND", "OR"), "symbols": ("¬", "∧", "∨")},
    "zh": {"words": ("非", "且", "或"), "upper": ("NOT", "AND", "OR"), "symbols": ("¬", "∧", "∨")},
}
_TRUTH = {"en": ("False", "True"), "zh": ("假", "真")}


def render(node, ops: tuple[str, str, str], truth: tuple[str, str], top: bool = True) -> str:
    """A statement with explicit parentheses; a bool node (partly evaluated) prints its value."""
    if isinstance(node, bool):
        return truth[node]
    if node[0] == "fact":
        return node[3] if top else f"({node[3]})"
    if node[0] == "not":
        inner = render(node[1], ops, truth, top=False)
        return f"{ops[0]}{inner}" if ops[0] == "¬" else f"{ops[0]} {inner}"
    word = ops[1] if node[0] == "and" else ops[2]
    text = f" {word} ".join(render(c, ops, truth, top=False) for c in node[1])
    return text if top else f"({text})"


_INTRO = {
    "en": (
        "Decide which of the statements below are true. Each one combines simple facts with {ops}; "
        "parentheses show the grouping.",
        "Below are {n} lettered statements built from checkable facts joined by {ops}. Work out the "
        "truth value of each, respecting the parentheses.",
        "Evaluate each statement. The facts inside the parentheses are about numbers and words, and "
        "they are combined with {ops}.",
    ),
    "zh": (
        "判断下列陈述中哪些为真。每条陈述用 {ops} 把简单事实组合起来，括号表示运算的先后。",
        "下面有 {n} 条带字母编号的陈述，由可以验证的事实通过 {ops} 组合而成。请按括号计算每条陈述的真假。",
        "请逐条计算下列陈述的真值。括号里的事实都是关于数字和单词的，它们用 {ops} 连接。",
    ),
}
# "not X and not Y" must have one reading: say that negation binds to what directly follows.
_SCOPE = {
    "en": "\"{neg}\" applies only to the parenthesised part right after it.",
    "zh": "“{neg}”只作用于紧跟在它后面的括号部分。",
}
_FORMAT = {
    "en": (
        "At least one statement is true. Give the letters of all true statements, separated by "
        "commas, in \\boxed{}, e.g. \\boxed{B, D}.",
        "At least one of them is true. Answer with every true statement's letter inside \\boxed{}, "
        "comma-separated (for example \\boxed{A, C}).",
        "One or more statements are true. Put the letters of exactly the true ones in \\boxed{}, "
        "separated by commas, like \\boxed{A, B}.",
    ),
    "zh": (
        "至少有一条陈述为真。请把所有为真的陈述的字母用逗号隔开写在 \\boxed{} 中，例如 \\boxed{B, D}。",
        "其中至少一条为真。请给出全部为真陈述的字母，用逗号分隔，放在 \\boxed{} 里（例如 \\boxed{A, C}）。",
        "一条或多条陈述为真。请在 \\boxed{} 中恰好写出为真的陈述字母，以逗号分隔，如 \\boxed{A, B}。",
    ),
}


def _plan_values(rng: random.Random, n: int) -> list[bool]:
    values = [rng.random() < 0.5 for _ in range(n)]
    if True not in values:
        values[rng.randrange(n)] = True
    if n >= 2 and False not in values:
        values[rng.randrange(n)] = False
    return values


def generate(rng: random.Random, level: int, language: str) -> Generated:
    cfg = LEVELS[level]
    n, depth = cfg.statements, cfg.depth
    builder = _Builder(rng, level, language)
    statements = [builder.node(want, depth, cfg.atoms) for want in _plan_values(rng, n)]
    letters = list(LETTERS[:n])
    truths = [evaluate(s) for s in statements]
    if True not in truths:  # unreachable while facts are built right; keeps the promise anyway
        statements[0] = ["not", statements[0]] if statements[0][0] != "not" else statements[0][1]
        truths[0] = evaluate(statements[0])
    true_letters = [letter for letter, t in zip(letters, truths) if t]
    style = rng.choice(("words", "upper", "symbols"))
    ops = _STYLES[language][style]
    ops_text = (f"{ops[0]} / {ops[1]} / {ops[2]}")
    lines = [f"{letter}: {render(s, ops, _TRUTH[language])}" for letter, s in zip(letters, statements)]
    prompt = (
        rng.choice(_INTRO[language]).format(ops=ops_text, n=n)
        + (" " if language == "en" else "") + _SCOPE[language].format(neg=ops[0])
        + "\n\n" + "\n".join(lines) + "\n\n"
        + rng.choice(_FORMAT[language])
    )
    answer = "\\boxed{" + ", ".join(true_letters) + "}"
    metadata = {
        "letters": letters,
        "true_letters": true_letters,
        "statements": statements,
        "style": style,
    }
    return Generated(prompt, answer, metadata)


# Words that join letters inside the box; "none" words mean the empty selection.
_JOINERS = ("and", "以及", "和", "与", "及")
_NONE_WORDS = ("none", "无", "没有", "emptyset", "varnothing", "∅")
_LATEX_WRAPPERS = ("\\text{", "\\textbf{", "\\textrm{", "\\mathrm{", "\\mathbf{", "\\textsf{", "\\quad", "\\qquad")
_TO_SPACE = {ord(c): " " for c in "{}$\\,;&、；"}


def parse_letters(content: str) -> list[str] | None:
    """Upper-case letters named in a box's content (with repeats), or None when it is not a list
    of letters.  Separators: commas (ASCII or full-width), spaces, ``;``, ``、``, ``&``, "and",
    "和"/"与"/"及"/"以及".  ``\\text{..}`` and similar wrappers are ignored.  "none"/"无"/``\\emptyset``
    alone means no letters."""
    s = normalize_width(content)
    for w in _LATEX_WRAPPERS:
        s = s.replace(w, " ")
    for w in _JOINERS[1:]:
        s = s.replace(w, " ")
    tokens = s.translate(_TO_SPACE).split()
    if len(tokens) == 1 and tokens[0].lower() in _NONE_WORDS:
        return []
    letters = []
    for tok in tokens:
        if tok.lower() == "and":
            continue
        if len(tok) != 1 or not ("a" <= tok.lower() <= "z"):
            return None
        letters.append(tok.upper())
    return letters


def verify(answer_text: str, metadata: dict) -> Verdict:
    content = last_boxed(answer_text)
    if content is None:
        return Verdict.bad_format("no complete \\boxed{...} answer")
    if len(content) > MAX_BOX_CHARS:
        return Verdict.bad_format("boxed answer too long to be a list of letters")
    letters = parse_letters(content)
    if letters is None:
        return Verdict.bad_format("boxed answer is not a list of statement letters")
    known = metadata["letters"]
    for letter in letters:
        if letter not in known:
            return Verdict.wrong(f"there is no statement {letter}")
    chosen = sorted(dict.fromkeys(letters))  # repeats name the same statement once
    expected = sorted(metadata["true_letters"])
    if chosen == expected:
        return Verdict.ok()
    missing = [x for x in expected if x not in chosen]
    extra = [x for x in chosen if x not in expected]
    parts = []
    if missing:
        parts.append("missing true " + ", ".join(missing))
    if extra:
        parts.append("includes false " + ", ".join(extra))
    # each statement is one true/false call: the share of calls the answer got right
    return Verdict.wrong("; ".join(parts), partial=1 - (len(missing) + len(extra)) / len(known))


def _reduce_step(node):
    """Evaluate every operator whose operands are all values (innermost first)."""
    if isinstance(node, bool):
        return node
    if node[0] == "not":
        if isinstance(node[1], bool):
            return not node[1]
        return ["not", _reduce_step(node[1])]
    if all(isinstance(c, bool) for c in node[1]):
        return all(node[1]) if node[0] == "and" else any(node[1])
    return [node[0], [_reduce_step(c) for c in node[1]]]


def _facts_to_values(node):
    if node[0] == "fact":
        return bool(node[4])
    if node[0] == "not":
        return ["not", _facts_to_values(node[1])]
    return [node[0], [_facts_to_values(c) for c in node[1]]]


def _spelled(word: str) -> str:
    return "-".join(word)


def fact_line(kind: str, args: list, text: str, language: str) -> str:
    """A fact of a worked solution with the working that settles it and its truth value: a small
    model judges "6 + 7 = 12" far more reliably after writing "6 + 7 = 13" than in one step."""
    zh = language == "zh"
    truth = _TRUTH[language][fact_value(kind, args)]
    if kind in ("sum", "difference", "product"):  # the sum itself, then what the fact claims
        a, b, claimed = args
        sign, value = {"sum": ("+", a + b), "difference": ("-", a - b), "product": ("×", a * b)}[kind]
        if value == claimed:
            return f"{a} {sign} {b} = {value} → {truth}"
        return f"{a} {sign} {b} = {value}" + (f"，不是 {claimed}" if zh else f", not {claimed}") + f" → {truth}"
    return text + ("：" if zh else ": ") + fact_working(kind, args, language) + f" → {truth}"


def fact_working(kind: str, args: list, language: str) -> str:
    """The working that settles a fact of any kind but sum, difference and product.  Where a fact
    mixes two questions (is 18 even, and does the claim say even?) the working answers the first,
    so that the truth value only sets it against the claim."""
    zh = language == "zh"
    if kind in ("even", "odd"):  # the number's parity in words, then set against the claim
        n = args[0]
        if zh:
            return f"{n} 的个位是 {n % 10}，是" + ("偶数" if n % 2 == 0 else "奇数")
        return f"{n} ends in {n % 10}, " + ("even" if n % 2 == 0 else "odd")
    if kind == "compare":  # which way the two numbers really go, then set against the claim
        a, b = args[0], args[2]
        return f"{a} {true_order(a, b)} {b}"
    if kind == "prime":
        n = args[0]
        factor = next((p for p in range(2, isqrt(n) + 1) if n % p == 0), None)
        if factor is not None:
            return f"{n} = {factor} × {n // factor}"
        if n < 9:  # 2, 3, 5, 7: "no divisor from 2 to 2" would read oddly
            return f"{n} 只有 1 和 {n} 两个因数" if zh else f"{n} has no divisor but 1 and {n}"
        return f"{n} 没有 2 到 {isqrt(n)} 之间的因数" if zh else f"{n} has no divisor from 2 to {isqrt(n)}"
    if kind == "divisible":
        # the multiples of d at n, products first: as "n = q × d + r" the SFT model of levels 1-5
        # made up 15 % of these lines (84 = 7 × 12 + 2); its products are wrong 3 % of the time
        n, d = args[0], args[1]
        q = n // d
        if q * d == n:
            return f"{d} × {q} = {n}"
        return f"{d} × {q} = {q * d}, {d} × {q + 1} = {(q + 1) * d}"
    if kind == "mod":
        n, d = args[0], args[1]
        q, r = divmod(n, d)
        return f"{n} = {q} × {d} + {r}"
    if kind == "digit_sum":  # one addition a step: in one line the model often wrote the claimed sum
        digits = [int(c) for c in str(args[0])]
        steps, total = [], digits[0]
        for digit in digits[1:]:
            steps.append(f"{total} + {digit} = {total + digit}")
            total += digit
        return ", ".join(steps) or str(total)
    if kind == "length":
        word = args[0]
        return f"{_spelled(word)}，{len(word)} 个字母" if zh else f"{_spelled(word)} has {len(word)} letters"
    if kind == "palindrome":
        text = args[0]
        return f"倒过来是 '{text[::-1]}'" if zh else f"backwards it is '{text[::-1]}'"
    if kind == "letter_count":
        word, letter = args[0], args[1]
        count = word.count(letter)
        if zh:
            return f"{_spelled(word)} 中有 {count} 个 '{letter}'"
        return f"{_spelled(word)} has '{letter}' " + ("once" if count == 1 else f"{count} times")
    if kind == "square":
        n = args[0]
        k = isqrt(n)
        if k * k == n:
            return f"{n} = {k} × {k}"
        return f"{k} × {k} = {k * k}, {k + 1} × {k + 1} = {(k + 1) ** 2}"
    if kind == "fraction":
        # cross products, their order, and so the fractions' true order, as a comparison's working
        # gives: with the products alone the SFT model of levels 1-5 judged 57 % of these wrongly
        p, q, _, r, t = args
        left, right = p * t, r * q
        rel = true_order(left, right)
        so = "，所以" if zh else ", so"
        return f"{p} × {t} = {left}, {r} × {q} = {right}, {left} {rel} {right}{so} {p}/{q} {rel} {r}/{t}"
    raise ValueError(f"unknown fact kind {kind!r}")  # sum, difference and product: fact_line


def _facts(node) -> list:
    if node[0] == "fact":
        return [node]
    if node[0] == "not":
        return _facts(node[1])
    return [f for child in node[1] for f in _facts(child)]


def _fact_lines(metadata: dict, language: str, response: str) -> tuple[list[str], list] | None:
    """The response's fact lines (``- `` lines with a ``→``, in its first 20,000 characters) and the
    task's facts in the statements' order; None for an unknown language or unreadable metadata."""
    if _TRUTH.get(language) is None or not isinstance(response, str):
        return None
    try:
        facts = [f for statement in metadata["statements"] for f in _facts(statement)]
    except (KeyError, TypeError, IndexError):
        return None
    return [line for line in response[:20_000].splitlines() if line.startswith("- ") and "→" in line], facts


def fact_line_counts(metadata: dict, language: str, response: str) -> tuple[int, int] | None:
    """(fact lines written, facts the task has), by fact_lines_judged's line rule: why a response's
    lines do not pair.  None where fact_lines_judged cannot read the task or language either."""
    found = _fact_lines(metadata, language, response)
    return None if found is None else (len(found[0]), len(found[1]))


def fact_lines_judged(metadata: dict, language: str, response: str) -> list[tuple[str, bool]] | None:
    """(fact kind, whether the response's verdict on it is right) for each fact of a response in
    the worked style: its ``- `` lines ending in ``→ <truth value>``, one per fact in the
    statements' order.  None when the lines do not pair one to one with the facts (another
    style, a lost or extra line).  Model output: read line by line, never evaluated."""
    found = _fact_lines(metadata, language, response)
    if found is None or len(found[0]) != len(found[1]):
        return None
    truth = _TRUTH[language]
    return [(kind, line.rsplit("→", 1)[1].strip() == truth[bool(value)])
            for (_, kind, _args, _text, value), line in zip(found[1], found[0])]


def worked_solution(metadata: dict, language: str) -> str:
    """Per statement: each fact with its working and truth value, then the statement evaluated
    from the innermost parentheses out (the statement itself is in the prompt: restating it would
    make the answer longer by a third for nothing a short model needs), then the true statements
    so far.  That running list makes the answer a copy of its last line: collected only at the
    end, from statement lines that fact lines keep apart, the list was where the GPU recipe's SFT
    model went wrong most and GRPO made it worse (docs/results.md, fifth and sixth runs)."""
    zh = language == "zh"
    ops = _STYLES[language][metadata["style"]]
    truth = _TRUTH[language]
    so_far_label, nothing = ("目前为真：", "无") if zh else ("True so far: ", "none")
    lines, so_far = [], []
    for letter, statement in zip(metadata["letters"], metadata["statements"]):
        lines += ["- " + fact_line(kind, args, text, language) for _, kind, args, text, _ in _facts(statement)]
        stages = []
        current = _facts_to_values(statement)
        while True:
            stages.append(render(current, ops, truth))
            if isinstance(current, bool):
                break
            current = _reduce_step(current)
        lines.append(f"{letter}: " + " → ".join(stages))
        if stages[-1] == truth[True]:
            so_far.append(letter)
        lines.append(so_far_label + (", ".join(so_far) or nothing))
    chosen = ", ".join(metadata["true_letters"])
    assert so_far == list(metadata["true_letters"]), (so_far, metadata["true_letters"])
    if zh:
        head = "每条陈述：先判断其中每个事实的真假，再从最内层括号开始计算："
        tail = f"为真的陈述：{chosen}。"
    else:
        head = "For each statement, check every fact in it, then evaluate it from the innermost parentheses out:"
        tail = f"True statements: {chosen}."
    return head + "\n" + "\n".join(lines) + "\n\n" + tail + "\n\n\\boxed{" + chosen + "}"


TASK_TYPE = TaskType(
    name="boolean_expressions", id_blocks=(6,), languages=("en", "zh"), zh_share=0.5, randomness="mt",
    levels=LEVELS, generate=generate, verify=verify, worked_solution=worked_solution,
    answer_formats=_FORMAT,
)
