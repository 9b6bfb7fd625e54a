"""LGC-V2 ``cryptarithm`` (type id 3): letters stand for distinct digits in an equation.

A puzzle is an addition (``SEND + MORE = MONEY``), a subtraction (``ABCD - EFG = HIJ``,
optionally with several subtrahends) or a product of two factors (``AB × C = DEB``).  Different
letters are different digits, the first letter of every number is non-zero, and the puzzle has
exactly one solution.  The answer is the equation with digits:
``The answer is 9567 + 1085 = 10652`` (zh: ``答案是9567 + 1085 = 10652``).

Generation draws random numbers whose digits come from a small pool (repeated digits make
unique puzzles likelier), letters them, and proves uniqueness with an exact solver that stops
at a second solution:

* addition/subtraction are one linear equation ``sum(weight[letter] * digit) == 0`` (weights
  are place values, + for addends, - for the sum); a branch-and-bound over letters in order of
  falling |weight| tries only digits that keep the rest of the sum within reach of the
  remaining letters, and looks the last two letters up in a table of their possible sums;
* products are solved column by column from the units up with the carry: a result letter seen
  first in a column is fixed by the column sum mod 10, and otherwise one new factor letter is
  solved from it.

All the work of one ``generate`` call (candidates drawn, solver set-ups, solver nodes) is
charged to one budget, so its worst case is bounded whatever the seed.  When the budget runs
out, the puzzle is drawn from a precomputed table of proven-unique puzzles of the same level
and shape (``data/cryptarithm_table.json``, built and independently re-checked by
``data/cryptarithm_build_table.py``) and relettered, which keeps every guarantee.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.extract import after_last_marker, last_boxed, normalize_width, strip_latex_wrappers


PLUS, MINUS, TIMES = "+", "-", "×"

@dataclass(frozen=True)
class CryptarithmKnobs:
    """One level's knobs; the comment on LEVELS says what each is."""

    shapes: list[tuple[str, tuple[int, ...], tuple[int, int], int]]  # (op, lengths, letters, weight)


# Level knobs: the shapes a level draws from, each (operator, operand digit counts, inclusive
# range of distinct letters, weight).  For "+" the digit counts are the addends'; for "-" the
# subtrahends' and then the difference's (the minuend is their sum, so it has as many digits or
# one more); for "×" the two factors'.  Harder levels have more and longer operands, products
# and more letters.
LEVELS: dict[int, CryptarithmKnobs] = {
    1: CryptarithmKnobs(shapes=[(PLUS, (2, 2), (3, 4), 2), (PLUS, (3, 2), (3, 5), 2), (TIMES, (2, 1), (3, 4), 1)]),
    2: CryptarithmKnobs(shapes=[(PLUS, (3, 3), (4, 5), 2), (MINUS, (3, 2), (3, 5), 1), (TIMES, (3, 1), (4, 5), 1)]),
    3: CryptarithmKnobs(shapes=[(PLUS, (4, 4), (5, 6), 2), (MINUS, (3, 3), (4, 6), 1), (TIMES, (2, 2), (4, 5), 1)]),
    4: CryptarithmKnobs(shapes=[(PLUS, (4, 4), (6, 7), 2), (MINUS, (4, 4), (5, 7), 1), (TIMES, (3, 1), (5, 6), 1)]),
    5: CryptarithmKnobs(shapes=[(PLUS, (5, 5), (6, 8), 2), (MINUS, (5, 5), (6, 8), 1), (TIMES, (4, 1), (6, 7), 1),
                   (TIMES, (3, 2), (5, 6), 1)]),
    6: CryptarithmKnobs(shapes=[(PLUS, (4, 4, 4), (6, 8), 2), (MINUS, (5, 4), (6, 8), 1), (TIMES, (3, 2), (6, 7), 1)]),
    7: CryptarithmKnobs(shapes=[(PLUS, (6, 6), (7, 9), 1), (PLUS, (5, 5, 4), (7, 9), 1), (MINUS, (6, 5), (7, 9), 1),
                   (TIMES, (3, 3), (7, 8), 1)]),
    8: CryptarithmKnobs(shapes=[(PLUS, (5, 5, 5), (7, 9), 2), (MINUS, (6, 6), (8, 9), 1), (TIMES, (4, 2), (7, 9), 1)]),
    9: CryptarithmKnobs(shapes=[(PLUS, (6, 6, 6), (8, 10), 1), (PLUS, (5, 5, 5, 5), (7, 9), 1), (MINUS, (6, 6, 5), (8, 10), 1),
                   (TIMES, (3, 3), (8, 9), 1)]),
    10: CryptarithmKnobs(shapes=[(PLUS, (6, 6, 6, 6), (9, 10), 1), (PLUS, (7, 7, 7), (10, 10), 1), (MINUS, (7, 6, 6), (9, 10), 1),
                    (TIMES, (4, 3), (9, 10), 1)]),
}

# Work one ``generate`` call may spend before it falls back to the table, in solver nodes
# (0.5-1.3 us each in CPython 3.12 on an idle server core, so under 25 ms); drawing a
# candidate and setting up a solver run are charged as that many nodes.
NODE_BUDGET = 16_000
SOLVE_COST = 80


def candidate_cost(lengths: tuple[int, ...]) -> int:
    """Budget units charged for drawing and lettering one candidate of this shape."""
    return 8 + 3 * sum(lengths)


# Letters used in puzzles: no I/O (read as 1/0) and no X (read as a times sign).
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWYZ"

ANSWER_MARKERS = ("The answer is", "答案是")
TABLE_PATH = Path(__file__).resolve().parent / "data" / "cryptarithm_table.json"

# ----------------------------------------------------------------------------- puzzle model


def addition_form(op: str, operands: list, result):
    """(addends, sum) of the equivalent addition: ``a - b - c = d`` is ``b + c + d = a``."""
    if op == MINUS:
        return list(operands[1:]) + [result], operands[0]
    return list(operands), result


def pattern_of(numbers: list[int]) -> tuple[list[list[int]], int]:
    """Letter pattern of numbers: each number as a list of letter ids (0, 1, ... in order of
    first appearance, most significant digit first), and the count of letters."""
    ids: dict[str, int] = {}
    words = []
    for x in numbers:
        word = []
        for ch in str(x):
            if ch not in ids:
                ids[ch] = len(ids)
            word.append(ids[ch])
        words.append(word)
    return words, len(ids)


def count_linear_solutions(addends: list[list[int]], total: list[int], n_letters: int,
                           limit: int = 2, budget: int = 10**9) -> tuple[int | None, int]:
    """Solutions (capped at ``limit``) of ``sum(addends) == total`` over letter patterns, and
    the nodes spent; (None, nodes) when the budget ran out first.

    The equation is ``sum(weight[letter] * digit) == 0``.  Letters are assigned in order of
    falling |weight|; each step only tries the digits that leave the rest of the sum within
    reach of the remaining letters, and the last two letters are looked up in a table of their
    possible sums instead of being searched.
    """
    n = n_letters
    weight = [0] * n
    leading = [False] * n
    for word in addends:
        for place, letter in enumerate(reversed(word)):
            weight[letter] += 10**place
    for place, letter in enumerate(reversed(total)):
        weight[letter] -= 10**place
    for word in addends + [total]:  # one-letter numbers included: no number is 0
        leading[word[0]] = True
    order = sorted(range(n), key=lambda c: (-abs(weight[c]), c))
    ws = [weight[c] for c in order]
    first = [1 if leading[c] else 0 for c in order]
    head = max(n - 2, 0)
    # tail_masks[s]: digit masks of the tail letters whose weighted sum is s
    tail_masks: dict[int, list[int]] = {}
    if n - head == 2:
        w1, w2 = ws[head], ws[head + 1]
        for d1 in range(first[head], 10):
            for d2 in range(first[head + 1], 10):
                if d1 != d2:
                    tail_masks.setdefault(w1 * d1 + w2 * d2, []).append(1 << d1 | 1 << d2)
    elif n - head == 1:
        for d1 in range(first[head], 10):
            tail_masks.setdefault(ws[head] * d1, []).append(1 << d1)
    # reach_lo[k] <= sum(ws[j] * digit_j for j >= k) <= reach_hi[k] (distinctness ignored)
    reach_hi = [0] * (n + 1)
    reach_lo = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        reach_hi[k] = reach_hi[k + 1] + 9 * max(ws[k], 0)
        reach_lo[k] = reach_lo[k + 1] + 9 * min(ws[k], 0)
    found = 0
    nodes = 0

    def search(k: int, partial: int, used: int) -> bool:
        """False when the budget ran out."""
        nonlocal found, nodes
        if k == head:
            for mask in tail_masks.get(-partial, ()):
                if not mask & used:
                    found += 1
            return True
        w = ws[k]
        # digits d with reach_lo[k+1] <= -(partial + w*d) <= reach_hi[k+1]
        a, b = -partial - reach_hi[k + 1], -partial - reach_lo[k + 1]
        if w > 0:
            d_lo, d_hi = -(-a // w), b // w
        elif w < 0:
            d_lo, d_hi = -(b // -w), a // w
        else:
            d_lo, d_hi = (0, 9) if a <= 0 <= b else (1, 0)
        for d in range(max(d_lo, first[k]), min(d_hi, 9) + 1):
            if used >> d & 1:
                continue
            nodes += 1
            if nodes > budget:
                return False
            if not search(k + 1, partial + w * d, used | 1 << d):
                return False
            if found >= limit:
                return True
        return True

    if not search(0, 0, 0):
        return None, nodes
    return min(found, limit), nodes


# _DIGITS_SOLVING[k][t]: digits x with k·x ≡ t (mod 10)
_DIGITS_SOLVING = [[tuple(x for x in range(10) if k * x % 10 == t) for t in range(10)] for k in range(10)]


def count_product_solutions(a: list[int], b: list[int], c: list[int], n_letters: int,
                            limit: int = 2, budget: int = 10**9) -> tuple[int | None, int]:
    """Solutions (capped at ``limit``) of ``a × b == c`` over letter patterns, column by column
    from the units with the carry; (None, nodes) when the budget ran out first.

    In each column the new factor letters are tried digit by digit, except that the result
    letter, when new, is fixed by the column sum mod 10; when it is already known, one new
    factor letter that enters the column linearly (as ``x·y`` with ``y`` known) is solved from
    the column sum mod 10 instead of tried.
    """
    leading = [False] * n_letters
    for word in (a, b, c):
        leading[word[0]] = True
    known = [False] * n_letters
    columns = []
    for i in range(len(c)):
        products = [(a[-1 - j], b[-1 - (i - j)]) for j in range(min(i + 1, len(a))) if i - j < len(b)]
        fresh = []
        for letter in ([a[-1 - i]] if i < len(a) else []) + ([b[-1 - i]] if i < len(b) else []):
            if not known[letter] and letter not in fresh:
                fresh.append(letter)
        r = c[-1 - i]
        r_forced = not known[r] and r not in fresh
        solved, partner = -1, -1
        if not r_forced:
            for x in fresh:
                uses = [pq for pq in products if x in pq]
                if x != r and len(uses) == 1 and uses[0][0] != uses[0][1]:
                    solved, partner = x, uses[0][1] if uses[0][0] == x else uses[0][0]
                    break
        branch = tuple(x for x in fresh if x != solved)
        others = tuple(pq for pq in products if solved not in pq)
        for letter in fresh + [r]:
            known[letter] = True
        columns.append((branch, solved, partner, tuple(products), others, r, r_forced))
    if not all(known):
        return 0, 0
    value = [0] * n_letters
    first = [1 if lead else 0 for lead in leading]
    found = 0
    nodes = 0
    n_cols = len(columns)

    def column(i: int, carry: int, used: int) -> bool:
        nonlocal found
        if i == n_cols:
            if carry == 0:
                found += 1
            return True
        return assign(i, 0, carry, used)

    def assign(i: int, k: int, carry: int, used: int) -> bool:
        nonlocal nodes
        branch, solved, partner, products, others, r, r_forced = columns[i]
        if k < len(branch):
            letter = branch[k]
            for d in range(first[letter], 10):
                if used >> d & 1:
                    continue
                nodes += 1
                if nodes > budget:
                    return False
                value[letter] = d
                if not assign(i, k + 1, carry, used | 1 << d):
                    return False
                if found >= limit:
                    return True
            return True
        if solved >= 0:
            s0 = carry
            for x, y in others:
                s0 += value[x] * value[y]
            coef = value[partner]
            for d in _DIGITS_SOLVING[coef][(value[r] - s0) % 10]:
                if used >> d & 1 or d < first[solved]:
                    continue
                nodes += 1
                if nodes > budget:
                    return False
                value[solved] = d
                if not column(i + 1, (s0 + coef * d) // 10, used | 1 << d):
                    return False
                if found >= limit:
                    return True
            return True
        s = carry
        for x, y in products:
            s += value[x] * value[y]
        digit = s % 10
        if r_forced:
            if used >> digit & 1 or digit < first[r]:
                return True
            value[r] = digit
            return column(i + 1, s // 10, used | 1 << digit)
        if value[r] != digit:
            return True
        return column(i + 1, s // 10, used)

    if not column(0, 0, 0):
        return None, nodes
    return min(found, limit), nodes


def count_solutions(op: str, operand_words: list[list[int]], result_word: list[int], n_letters: int,
                    limit: int = 2, budget: int = 10**9) -> tuple[int | None, int]:
    if op == TIMES:
        return count_product_solutions(operand_words[0], operand_words[1], result_word, n_letters, limit, budget)
    addends, total = addition_form(op, operand_words, result_word)
    if max(len(w) for w in addends) > len(total):
        return 0, 0
    return count_linear_solutions(addends, total, n_letters, limit, budget)


# ----------------------------------------------------------------------------- generation


def _random_number(rng: random.Random, length: int, pool: list[int]) -> int:
    lead_pool = [d for d in pool if d != 0]
    digits = [rng.choice(lead_pool)] + [rng.choice(pool) for _ in range(length - 1)]
    return int("".join(map(str, digits)))


def candidate(rng: random.Random, op: str, lengths: tuple[int, ...], letters: tuple[int, int]):
    """(operands, result) of a random equation of this shape, digits drawn from a random pool."""
    lo, hi = letters
    pool = rng.sample(range(10), rng.randint(max(2, lo - 2), hi))  # >= 2 digits: one is not 0
    nums = [_random_number(rng, n, pool) for n in lengths]
    if any(x >= 100 and len(set(str(x))) == 1 for x in nums):  # "SSS + SS" is no puzzle
        return None
    if op != TIMES and len(set(nums[: len(nums) - (op == MINUS)])) < len(nums) - (op == MINUS):
        return None  # nor "AB + AB + CD": the same addend (or subtrahend) twice
    if op == PLUS:
        return nums, sum(nums)
    if op == MINUS:  # nums = subtrahends + [difference]; the minuend is their sum
        return [sum(nums)] + nums[:-1], nums[-1]
    if 1 in nums:  # "ABC × D = ABC" is no puzzle
        return None
    return nums, nums[0] * nums[1]


def search_puzzle(rng: random.Random, op: str, lengths: tuple[int, ...], letters: tuple[int, int],
                  budget: int | None = None):
    """(operands, result) of a proven-unique puzzle of this shape, or None when the budget
    (default ``NODE_BUDGET``) ran out."""
    budget = NODE_BUDGET if budget is None else budget
    lo, hi = letters
    draw_cost = candidate_cost(lengths)
    while True:
        budget -= draw_cost
        if budget <= 0:
            return None
        drawn = candidate(rng, op, lengths, letters)
        if drawn is None:
            continue
        operands, result = drawn
        words, n_letters = pattern_of(operands + [result])
        if not lo <= n_letters <= hi:
            continue
        budget -= SOLVE_COST
        count, spent = count_solutions(op, words[:-1], words[-1], n_letters, limit=2, budget=budget)
        budget -= spent
        if count == 1:
            return operands, result
        if count is None:
            return None


@lru_cache(maxsize=1)
def load_table() -> dict[int, list[list]]:
    """level -> shape index -> proven-unique puzzles [operands, result] of that shape."""
    with open(TABLE_PATH, encoding="utf-8") as f:
        raw = json.load(f)
    return {int(level): shapes for level, shapes in raw["levels"].items()}


def letter_words(rng: random.Random, numbers: list[int]) -> tuple[list[str], dict[str, int]]:
    """Random letters for the digits of ``numbers``: the words and the letter -> digit map."""
    words, n_letters = pattern_of(numbers)
    letters = rng.sample(ALPHABET, n_letters)
    mapping: dict[str, int] = {}
    for x, word in zip(numbers, words):
        for ch, letter_id in zip(str(x), word):
            mapping[letters[letter_id]] = int(ch)
    return ["".join(letters[i] for i in word) for word in words], dict(sorted(mapping.items()))


def format_equation(op: str, operands: list, result) -> str:
    return f" {op} ".join(str(x) for x in operands) + f" = {result}"


# the sentence ending each prompt template below, in the same order
_ANSWER_FORMATS = {
    "en": (
        "End your response with a final line of the form \"The answer is <equation>\", where <equation> is the "
        "equation above with every letter replaced by its digit.",
        "Finish with a last line \"The answer is \" followed by the equation written in digits.",
        "Give your final answer as the last line, in the form: "
        "The answer is <the equation with digits in place of the letters>",
        "Work it out, then write it on the last line as \"The answer is <equation in digits>\".",
    ),
    "zh": (
        "最后一行请写成“答案是<等式>”，其中<等式>是把上面算式中的每个字母换成对应数字后的等式。",
        "最后一行写“答案是”，后面接用数字写出的整个等式。",
        "请在最后一行给出答案，格式为：答案是<用数字代替字母后的等式>",
    ),
}
_PROMPTS = {
    "en": [
        "Solve this cryptarithm:\n\n    {eq}\n\nEach letter stands for a digit from 0 to 9. Different letters stand for "
        "different digits, the same letter always stands for the same digit, and no number starts with 0. "
        "{op_note}The puzzle has exactly one solution.\n\n" + _ANSWER_FORMATS["en"][0],
        "In the equation below every letter hides a digit:\n\n{eq}\n\nDistinct letters hide distinct digits, "
        "and the leading letter of each number is not zero. {op_note}Find the only assignment that makes the "
        "equation true.\n\n" + _ANSWER_FORMATS["en"][1],
        "Letter arithmetic. Replace each letter by a digit so that\n\n{eq}\n\nbecomes a correct equation. "
        "Rules: one digit per letter, no two letters share a digit, numbers have no leading zeros. "
        "{op_note}Exactly one replacement works.\n\n" + _ANSWER_FORMATS["en"][2],
        "Here is an alphametic puzzle: {eq}\n\nEvery letter represents a single digit, different letters "
        "represent different digits, and the first digit of a number is never 0. {op_note}There is a unique "
        "solution. " + _ANSWER_FORMATS["en"][3],
    ],
    "zh": [
        "请解下面的字母算式：\n\n    {eq}\n\n每个字母代表 0 到 9 中的一个数字，不同的字母代表不同的数字，相同的字母代表"
        "相同的数字，每个数的最高位不是 0。{op_note}本题恰有一个解。\n\n" + _ANSWER_FORMATS["zh"][0],
        "下面的等式中，每个字母都代表一个数字：\n\n{eq}\n\n不同字母对应不同数字，每个数的首位字母不为 0。{op_note}"
        "请找出使等式成立的唯一填法。\n\n" + _ANSWER_FORMATS["zh"][1],
        "字母算术题：把每个字母换成一个数字，使\n\n{eq}\n\n成为正确的等式。规则：一个字母对应一个数字，两个不同的字母"
        "不能对应同一个数字，数不能以 0 开头。{op_note}只有一种填法成立。\n\n" + _ANSWER_FORMATS["zh"][2],
    ],
}

_OP_NOTES = {
    "en": {PLUS: "", MINUS: "", TIMES: "Here × means multiplication. "},
    "zh": {PLUS: "", MINUS: "", TIMES: "其中 × 表示乘法。"},
}


def generate(rng: random.Random, level: int, language: str) -> Generated:
    shapes = LEVELS[level].shapes
    shape_index = rng.choices(range(len(shapes)), weights=[shape[3] for shape in shapes])[0]
    op, lengths, letters, _weight = shapes[shape_index]
    found = search_puzzle(rng, op, lengths, letters)
    source = "search"
    if found is None:
        operands, result = rng.choice(load_table()[level][shape_index])
        found = list(operands), result
        source = "table"
    operands, result = found
    if op in (PLUS, MINUS):
        # order of addends (or of subtrahends) does not change the solutions
        head = operands[:1] if op == MINUS else []
        rest = operands[len(head):]
        rng.shuffle(rest)
        operands = head + rest
    words, mapping = letter_words(rng, operands + [result])
    equation = format_equation(op, words[:-1], words[-1])
    solution = format_equation(op, operands, result)
    template = rng.choice(_PROMPTS[language])
    prompt = template.format(eq=equation, op_note=_OP_NOTES[language][op])
    marker = ANSWER_MARKERS[0] + " " if language == "en" else ANSWER_MARKERS[1]
    metadata = {
        "op": op,
        "operands": words[:-1],
        "result": words[-1],
        "equation": equation,
        "mapping": mapping,
        "solution": solution,
        "letters": len(mapping),
        "source": source,
    }
    return Generated(prompt, marker + solution, metadata)


# ----------------------------------------------------------------------------- verification

# Longest answer segment read: a correct one is under 80 characters; the bound keeps reading cheap.
_MAX_SEGMENT = 300
_OPERATOR_SYNONYMS = {
    "+": PLUS,
    "-": MINUS, "−": MINUS, "–": MINUS,
    "×": TIMES, "*": TIMES, "x": TIMES, "X": TIMES, "·": TIMES, "⋅": TIMES, "∙": TIMES,
}


_LATEX_PLAIN = (("\\(", ""), ("\\)", ""), ("\\[", ""), ("\\]", ""), ("\\times", "×"), ("\\cdot", "·"),
                ("\\,", " "), ("\\;", " "), ("\\ ", " "))


def _clean_segment(segment: str) -> str:
    """The equation part of an answer line: markdown, LaTeX wrappers, a leading colon, a
    trailing full stop and full-width characters removed."""
    s = segment.replace("**", "").replace("__", "").replace("`", "").strip()
    s = s.lstrip(":：").strip()
    if "\\boxed{" in s:
        boxed = last_boxed(s)
        if boxed is None:
            return ""
        s = boxed
    s = s.rstrip(" .。!！")
    s = strip_latex_wrappers(s)
    for latex, plain in _LATEX_PLAIN:
        s = s.replace(latex, plain)
    s = normalize_width(s).replace("\u3000", " ")
    return s.strip().rstrip(" .。")


def parse_equation(s: str) -> tuple[list[str], list[str], str] | None:
    """(numbers left of '=', operators between them, number right of '=') read in one forward
    pass, or None when ``s`` is not such an equation.  Numbers stay digit strings."""
    numbers: list[str] = []
    operators: list[str] = []
    result = None
    expect_number = True
    seen_equals = False
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch == " " or ch == "\t":
            i += 1
            continue
        if "0" <= ch <= "9":
            if not expect_number:
                return None
            j = i
            while j < n and "0" <= s[j] <= "9":
                j += 1
            if seen_equals:
                if result is not None:
                    return None
                result = s[i:j]
            else:
                numbers.append(s[i:j])
            expect_number = False
            i = j
            continue
        if expect_number:
            return None
        if ch == "=":
            if seen_equals:
                return None
            seen_equals = True
        elif ch in _OPERATOR_SYNONYMS and not seen_equals:
            operators.append(_OPERATOR_SYNONYMS[ch])
        else:
            return None
        expect_number = True
        i += 1
    if not seen_equals or result is None or expect_number:
        return None
    return numbers, operators, result


def verify(answer_text: str, metadata: dict) -> Verdict:
    segment = after_last_marker(answer_text, ANSWER_MARKERS)
    if segment is None:
        return Verdict.bad_format("no 'The answer is' / '答案是' line")
    segment = segment.strip()
    if len(segment) > _MAX_SEGMENT:
        return Verdict.bad_format("answer line too long")
    parsed = parse_equation(_clean_segment(segment))
    if parsed is None:
        return Verdict.bad_format("answer is not an equation in digits")
    numbers, operators, result = parsed
    op = metadata["op"]
    words = list(metadata["operands"]) + [metadata["result"]]
    digits = numbers + [result]
    if len(numbers) != len(metadata["operands"]) or any(o != op for o in operators):
        return Verdict.wrong("equation does not have the puzzle's operands and operators")
    if any(len(d) != len(w) for d, w in zip(digits, words)):
        return Verdict.wrong("a number does not have the length of its word")
    letter_digit: dict[str, str] = {}
    digit_letter: dict[str, str] = {}
    for word, ds in zip(words, digits):
        if ds[0] == "0":
            return Verdict.wrong(f"{word} may not start with 0")
        for letter, d in zip(word, ds):
            if letter_digit.setdefault(letter, d) != d:
                return Verdict.wrong(f"letter {letter} stands for two digits")
            if digit_letter.setdefault(d, letter) != letter:
                return Verdict.wrong(f"digit {d} stands for two letters")
    values = [int(d) for d in numbers]  # lengths equal the words', so a few digits each
    if op == PLUS:
        lhs = sum(values)
    elif op == MINUS:
        lhs = values[0] - sum(values[1:])
    else:
        lhs = values[0] * values[1]
    if lhs != int(result):
        return Verdict.wrong("the equation with these digits is false")
    expected = {k: str(v) for k, v in metadata["mapping"].items()}
    if letter_digit != expected:  # unreachable while the puzzle is unique; kept as a guard
        return Verdict.wrong("digits differ from the solution")
    return Verdict.ok()


# ----------------------------------------------------------------------------- worked solution

_PLACE_NAMES = {
    "en": ["units", "tens", "hundreds", "thousands", "ten-thousands", "hundred-thousands", "millions",
           "ten-millions"],
    "zh": ["个位", "十位", "百位", "千位", "万位", "十万位", "百万位", "千万位"],
}

_WORDS = {
    "en": {
        "puzzle": "Puzzle: {eq}. Different letters are different digits; leading letters are not 0.",
        "sum_intro": "Column by column from the right (c = carry):",
        "difference_intro": "Column by column from the right (b = borrow):",
        "product_intro": "Multiply column by column from the right (c = carry):",
        "carry": "carry", "borrow": "borrow", "sep": ", ", "colon": ": ",
        "no_digit": " (no digit of the difference here)",
        "sum_end": "The last column leaves no carry, so every column checks.",
        "difference_end": "The last column needs no borrow, so every column checks.",
        "factors": "{a} = {av}, {b} = {bv}. Partial products:",
        "shift": ", shifted {i} place{s}: {p}",
        "partial_sum": "Sum of the partial products: {total} = {result}.",
        "letters": "Letters: {mapping}.",
    },
    "zh": {
        "puzzle": "题目：{eq}。不同字母代表不同数字，首位字母不为 0。",
        "sum_intro": "从右往左逐列计算（c 表示进位）：",
        "difference_intro": "从右往左逐列计算（b 表示借位）：",
        "product_intro": "从右往左逐位相乘（c 表示进位）：",
        "carry": "进位", "borrow": "借位", "sep": "，", "colon": "：",
        "no_digit": "（差在这一位没有数字）",
        "sum_end": "最高位没有多余的进位，每一列都成立。",
        "difference_end": "最高位不再借位，每一列都成立。",
        "factors": "{a} = {av}，{b} = {bv}。部分积：",
        "shift": "，左移 {i} 位：{p}",
        "partial_sum": "部分积之和：{total} = {result}。",
        "letters": "字母对应：{mapping}。",
    },
}


def _place(language: str, i: int) -> str:
    names = _PLACE_NAMES[language]
    if i < len(names):
        return names[i]
    return f"column {i + 1}" if language == "en" else f"第{i + 1}位"


def _digit_at(word: str, i: int) -> str | None:
    """The letter of ``word`` in column ``i`` (0 = units), or None past its first letter."""
    return word[-1 - i] if i < len(word) else None


def _column_line(language: str, i: int, last: bool, body: str, letter: str | None, value: dict,
                 carry_word: str, carry_name: str, carry_out: int) -> str:
    words = _WORDS[language]
    found = words["no_digit"] if letter is None else f" → {letter} = {value[letter]}"
    tail = found if last else f"{found}{words['sep']}{words[carry_word]} {carry_name} = {carry_out}"
    return f"- {_place(language, i)}{words['colon']}{body}{tail}"


def _sum_columns(operands: list[str], result: str, value: dict, language: str) -> list[str]:
    """Addition checked column by column: letters + carry in = result letter + 10·carry out."""
    lines, carry = [], 0
    for i in range(len(result)):
        col = [c for c in (_digit_at(w, i) for w in operands) if c]
        s = carry + sum(value[c] for c in col)
        r = result[-1 - i]
        if col:
            letters_expr = " + ".join(col + ([f"c{i}"] if i else []))
            digits_expr = " + ".join([str(value[c]) for c in col] + ([str(carry)] if i else []))
            body = f"{letters_expr} = {digits_expr} = {s} = {r} + 10·{s // 10}"
        else:  # the sum is longer than every addend: its first digit is the last carry
            body = f"c{i} = {carry} = {r}"
        lines.append(_column_line(language, i, i == len(result) - 1, body, r, value, "carry", f"c{i + 1}", s // 10))
        carry = s // 10
    return lines


def _difference_columns(operands: list[str], result: str, value: dict, language: str) -> list[str]:
    """Subtraction checked column by column: top − bottoms − borrow in = result − 10·borrow out."""
    lines, borrow = [], 0
    n_cols = len(operands[0])
    for i in range(n_cols):
        top = _digit_at(operands[0], i)
        subs = [c for c in (_digit_at(w, i) for w in operands[1:]) if c]
        s = value[top] - sum(value[c] for c in subs) - borrow
        borrow_out = (9 - s) // 10  # the borrow that makes s + 10·borrow a digit
        letters_expr = " − ".join([top] + subs + ([f"b{i}"] if i else []))
        digits_expr = " − ".join([str(value[top])] + [str(value[c]) for c in subs] + ([str(borrow)] if i else []))
        shown = f"−{-s}" if s < 0 else str(s)
        r = _digit_at(result, i)
        body = f"{letters_expr} = {digits_expr} = {shown} = {r or 0} − 10·{borrow_out}"
        lines.append(_column_line(language, i, i == n_cols - 1, body, r, value, "borrow", f"b{i + 1}", borrow_out))
        borrow = borrow_out
    return lines


def _short_product_columns(a: str, b: str, result: str, value: dict, language: str) -> list[str]:
    """A product by a one-digit factor, column by column with the carry."""
    lines, carry = [], 0
    bv = value[b]
    for i in range(len(result)):
        ai = _digit_at(a, i)
        s = carry + (value[ai] * bv if ai else 0)
        if ai:
            body = f"{ai} × {b}{f' + c{i}' if i else ''} = {value[ai]} × {bv}{f' + {carry}' if i else ''} = {s}"
        else:
            body = f"c{i} = {carry}"
        r = result[-1 - i]
        lines.append(_column_line(language, i, i == len(result) - 1, body, r, value, "carry", f"c{i + 1}", s // 10))
        carry = s // 10
    return lines


def _partial_products(a: str, b: str, result: str, value: dict, language: str) -> list[str]:
    words = _WORDS[language]
    av = int("".join(str(value[c]) for c in a))
    bv = int("".join(str(value[c]) for c in b))
    lines = [words["factors"].format(a=a, av=av, b=b, bv=bv)]
    total = 0
    for i in range(len(b)):
        bi = b[-1 - i]
        p = av * value[bi]
        total += p * 10**i
        shift = words["shift"].format(i=i, s="s" if i > 1 else "", p=p * 10**i) if i else ""
        lines.append(f"- {a} × {bi} = {av} × {value[bi]} = {p}{shift}")
    lines.append(words["partial_sum"].format(total=total, result=result))
    return lines


def worked_solution(metadata: dict, language: str) -> str:
    """The solution checked step by step (columns with carries or borrows, or partial
    products), every letter's digit, and the answer line.  It is derived from the stored
    solution, which the generator proved to be the only one."""
    words = _WORDS[language]
    op = metadata["op"]
    operands = list(metadata["operands"])
    result = metadata["result"]
    value = {k: int(v) for k, v in metadata["mapping"].items()}
    lines = [words["puzzle"].format(eq=metadata["equation"])]
    if op == PLUS:
        lines += [words["sum_intro"], *_sum_columns(operands, result, value, language), words["sum_end"]]
    elif op == MINUS:
        lines += [words["difference_intro"], *_difference_columns(operands, result, value, language),
                  words["difference_end"]]
    elif len(operands[1]) == 1:
        lines += [words["product_intro"], *_short_product_columns(operands[0], operands[1], result, value, language)]
    else:
        lines += _partial_products(operands[0], operands[1], result, value, language)
    by_digit = sorted(value.items(), key=lambda kv: (kv[1], kv[0]))
    lines.append(words["letters"].format(mapping=", ".join(f"{k} = {v}" for k, v in by_digit)))
    marker = ANSWER_MARKERS[0] + " " if language == "en" else ANSWER_MARKERS[1]
    lines.append(marker + metadata["solution"])
    return "\n".join(lines)


TASK_TYPE = TaskType(
    name="cryptarithm", id_blocks=(3,), languages=("en", "zh"), zh_share=0.5, randomness="mt",
    levels=LEVELS, generate=generate, verify=verify, worked_solution=worked_solution,
    answer_formats=_ANSWER_FORMATS,
)
