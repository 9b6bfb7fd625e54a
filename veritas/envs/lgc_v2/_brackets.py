"""Brackets shared by the three Dyck task types: kinds, matching, minimal completion, stack traces,
random prefixes, and reading a bracket sequence out of a response.

A *Dyck prefix* is a string that some closers turn into a balanced sequence (it reduces to openers
only); a *Dyck suffix* is one that some openers in front turn balanced (it reduces to closers
only).  Mirroring (reverse, then swap each bracket for its partner) maps one onto the other, so
one completion routine serves both directions.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterator, NamedTuple, Sequence

from veritas.envs.extract import last_boxed, strip_latex_wrappers
from veritas.envs.rand import below

# Kinds in the order levels add them: the ASCII four first, then look-alike Unicode pairs.
PAIRS: tuple[tuple[str, str], ...] = (
    ("(", ")"),
    ("[", "]"),
    ("{", "}"),
    ("<", ">"),
    ("⟨", "⟩"),
    ("⟦", "⟧"),
    ("⦃", "⦄"),
    ("⦅", "⦆"),
)
OPENERS = "".join(o for o, _ in PAIRS)
CLOSERS = "".join(c for _, c in PAIRS)
BRACKET_CHARS = OPENERS + CLOSERS
CLOSER_OF = {o: c for o, c in PAIRS}
OPENER_OF = {c: o for o, c in PAIRS}
_SWAP = str.maketrans(OPENERS + CLOSERS, CLOSERS + OPENERS)
# Whitespace tolerated between brackets of an answer (never a newline: an answer is one line).
_INLINE_SPACE = " \t\u00a0\u3000\u2009\u200b"
_RUN_CHARS = BRACKET_CHARS + _INLINE_SPACE


_PAIRS_TEXTS = tuple(" ".join(o + c for o, c in PAIRS[:n]) for n in range(len(PAIRS) + 1))


def pairs_text(n_kinds: int) -> str:
    """'() [] {}' for the first ``n_kinds`` kinds."""
    return _PAIRS_TEXTS[n_kinds]


def spaced(seq: str) -> str:
    return " ".join(seq)


def mirror(seq: str) -> str:
    """Reverse and swap each bracket for its partner: Dyck suffixes <-> Dyck prefixes."""
    return seq[::-1].translate(_SWAP)


def open_stack(seq: str) -> list[str] | None:
    """Openers still unclosed after ``seq`` (bottom first); None when a closer does not match."""
    stack: list[str] = []
    push, pop = stack.append, stack.pop
    for ch in seq:
        if ch in CLOSER_OF:
            push(ch)
        elif not stack or OPENER_OF.get(ch) != stack[-1]:
            return None
        else:
            pop()
    return stack


def is_balanced(seq: str) -> bool:
    return open_stack(seq) == []


def closers_for(stack) -> str:
    """The minimal completion of a stack of openers: their closers, top of the stack first."""
    return "".join([CLOSER_OF[o] for o in reversed(stack)])


def closing_tail(prefix: str) -> str:
    """Fewest closers that make a Dyck prefix balanced (unique: each must close the top)."""
    stack = open_stack(prefix)
    if stack is None:
        raise ValueError("not a Dyck prefix")
    return closers_for(stack)


def opening_head(suffix: str) -> str:
    """Fewest openers that, put in front of a Dyck suffix, make it balanced (unique)."""
    return mirror(closing_tail(mirror(suffix)))


def stack_trace(seq: str, sep: str = " ") -> list[str]:
    """The stack after each bracket of a Dyck prefix, each as its openers joined by ``sep``
    (bottom first, "" when empty).  Built incrementally: one join per push, none per pop.
    Only for sequences known to be Dyck prefixes: a closer is not checked against the top."""
    shown = [""]
    out: list[str] = []
    push, pop, emit = shown.append, shown.pop, out.append
    for ch in seq:
        if ch in CLOSER_OF:
            top = shown[-1]
            push(top + sep + ch if top else ch)
        elif len(shown) > 1:
            pop()
        else:
            raise ValueError("not a Dyck prefix")
        emit(shown[-1])
    return out


# Share of the opening probability given to opening regardless of the walk (see random_prefix),
# in 16-bit units: 0.15.
NEST_BIAS16 = 9830
_KEEP16 = 65536 - NEST_BIAS16


@lru_cache(maxsize=4096)
def _thresholds(length: int, depth: int, max_depth: int) -> tuple[tuple[int, ...], ...]:
    """Per step (r = length..1 steps left), per height h: the 16-bit threshold below which
    ``random_prefix`` opens.  A table, so the walk does one lookup a bracket instead of the
    arithmetic (a level has a few dozen shapes; the cache holds every level's)."""
    rows = []
    for r in range(length, 0, -1):
        row = []
        for h in range(max_depth + 1):
            if h == 0:
                t = 65536
            elif h >= max_depth or h >= r + depth:  # closing forced: the cap, or the end depth
                t = 0
            else:  # the bridge probability, leaned towards opening (deeper, fewer flat "()()" runs)
                t = NEST_BIAS16 + _KEEP16 * (r + depth - h) // (2 * r)
            row.append(t)
        rows.append(tuple(row))
    return tuple(rows)


# The kinds by index, as tuples: indexing a tuple hands back the same one-character string each
# time (indexing a str makes a new one for a non-Latin-1 bracket).
_OPENER_T = tuple(OPENERS)
_CLOSER_T = tuple(CLOSERS)
_SPACED_OPENER_T = tuple(" " + o for o in OPENERS)


def _check_shape(length: int, depth: int, max_depth: int) -> None:
    if (length - depth) % 2 or not 0 <= depth <= max_depth or depth > length:
        raise ValueError("impossible prefix shape")


def random_prefix(
    draws: Iterator[int], length: int, depth: int, n_kinds: int, max_depth: int
) -> tuple[str, str]:
    """(prefix, its minimal closers): a random Dyck prefix of ``length`` brackets that leaves
    exactly ``depth`` openers unclosed and never nests deeper than ``max_depth``.

    A random walk of heights from 0 to ``depth``: opening with probability (r + depth - h) / 2r
    (r steps left, h the height) is the uniform bridge between the two ends, so openers and
    closers mix evenly instead of piling up at the end; it is nudged towards opening by
    ``NEST_BIAS16``/65536 except where closing is forced.  Height 0 forces an opener and
    ``max_depth`` a closer; the bridge probability itself is 1 or 0 exactly where the end depth
    forces a step, so every walk ends at ``depth``.  One 16-bit draw from ``draws`` per bracket
    decides both the step and the kind.  Needs ``length - depth`` even and
    ``0 <= depth <= max_depth``.  ``random_prefix_trace`` is the same walk (the same brackets
    from the same draws) that also writes out the stack after every bracket.
    """
    _check_shape(length, depth, max_depth)
    opener, closer = _OPENER_T, _CLOSER_T
    open_kinds: list[int] = []  # the stack, as kind indices
    out: list[str] = []
    h = 0
    for row, u in zip(_thresholds(length, depth, max_depth), draws):
        t = row[h]
        if u < t:
            k = u * n_kinds // t
            open_kinds.append(k)
            out.append(opener[k])
            h += 1
        else:
            out.append(closer[open_kinds.pop()])
            h -= 1
    if len(out) != length:  # zip ends quietly when the draws run out
        raise RuntimeError("random_prefix ran out of draws")
    return "".join(out), "".join([closer[k] for k in reversed(open_kinds)])


def random_prefix_trace(
    draws: Iterator[int],
    length: int,
    depth: int,
    n_kinds: int,
    max_depth: int,
    labels: Sequence[Sequence[str]],
    empty: str,
) -> tuple[list[str], list[str], list[str]]:
    """``random_prefix``'s walk (the same brackets from the same draws) that also writes its
    trace: (brackets, closers, lines), the prefix and its minimal closers as lists of brackets
    (the caller joins them, spaced or not, without splitting a string again), and ``lines``
    holding, for the i-th bracket b, ``labels[i][BRACKET_CHARS.index(b)]`` followed by the
    stack after b (spaced, bottom first, as ``stack_trace`` shows it; ``empty`` for the empty
    stack).  The labels are the caller's line heads, so the trace is ready to join without a
    second pass over the brackets."""
    _check_shape(length, depth, max_depth)
    opener, closer, spaced_opener = _OPENER_T, _CLOSER_T, _SPACED_OPENER_T
    n_all = len(OPENERS)
    state = empty  # the stack, spaced: "( [ {"
    states_below: list[str] = []  # the states it was pushed from (a pop restores one: no slicing)
    open_kinds: list[int] = []  # the stack, as kind indices
    out: list[str] = []
    lines: list[str] = []
    h = 0
    for row, u, label in zip(_thresholds(length, depth, max_depth), draws, labels):
        t = row[h]
        if u < t:
            k = u * n_kinds // t
            states_below.append(state)
            state = state + spaced_opener[k] if h else opener[k]
            open_kinds.append(k)
            out.append(opener[k])
            lines.append(label[k])
            h += 1
        else:
            k = open_kinds.pop()
            out.append(closer[k])
            lines.append(label[n_all + k])
            h -= 1
            state = states_below.pop()
        lines.append(state)
    if len(out) != length:
        raise RuntimeError("random_prefix_trace ran out of draws or labels")
    return out, [closer[k] for k in reversed(open_kinds)], lines


class Shapes(NamedTuple):
    """A level's prefix shapes, worked out once: ``table[i][j]`` is the (length, unclosed depth)
    for the i-th depth and j-th length of its ranges, with the parities ``random_prefix`` needs."""

    n_depths: int
    n_lengths: int
    table: tuple[tuple[tuple[int, int], ...], ...]


def shapes(knobs: BracketKnobs) -> Shapes:
    lo, hi = knobs.length
    dlo, dhi = knobs.open
    table = []
    for depth in range(dlo, dhi + 1):
        row = []
        for length in range(lo, hi + 1):
            if (length - depth) % 2:  # the length is at most the level's longest
                length += 1 if length < hi else -1
            row.append((max(length, depth), depth))
        table.append(tuple(row))
    return Shapes(dhi - dlo + 1, hi - lo + 1, tuple(table))


def pick_shape(draw: Callable[[], int], level_shapes: Shapes) -> tuple[int, int]:
    """(length, unclosed depth) of a level (see ``shapes``): two draws, the depth's first."""
    n_depths, n_lengths, table = level_shapes
    return table[below(draw(), n_depths)][below(draw(), n_lengths)]


# --- reading answers -------------------------------------------------------------------------

def _last_of_any(text: str, chars: str, end: int, start: int = 0) -> int:
    """Index of the last character of ``text[start:end]`` that is in ``chars`` (-1 if none).
    One C-speed ``rfind`` per character: linear, no Python loop over the text."""
    best = start - 1
    for ch in chars:
        p = text.rfind(ch, best + 1, end)
        if p > best:
            best = p
    return best if best >= start else -1


# A lone bracket is never a whole answer but often prose, as in "X (done)": up to this many
# runs are tried from the end of the answer line for one of two or more brackets (bounded work).
_RUNS_TRIED = 4
# Returned by ``last_bracket_run`` for a run longer than its limit: never a correct answer.
OVERLONG = "\x00overlong"


def last_bracket_run(text: str, limit: int) -> str | None:
    """The bracket sequence a free-form answer ends with, whitespace removed; None if none.

    The last line holding a bracket is the answer line (a wrong final line after a right one
    is wrong).  If that line has ``\\boxed{...}`` its content is read instead.  The answer is
    the last run of brackets and spaces on it, so labels, backticks, quotes, bold markers and
    trailing punctuation around the sequence are ignored.  Brackets glued to a word (the
    parentheses of a remark like "X (done)") are prose, not part of a run, and runs left with
    fewer than two brackets are passed over, up to ``_RUNS_TRIED`` runs.  A markdown quote
    marker "> " before the run is dropped (no complete sequence starts with a closer).  Only the last
    ``limit`` characters before the run's end are looked at (C-speed scans, bounded slices): a
    longer run or box is ``OVERLONG``, an unclosed box None.
    """
    p = _last_of_any(text, BRACKET_CHARS, len(text))
    if p < 0:
        return None
    line_start = text.rfind("\n", 0, p) + 1
    line_end = text.find("\n", p)
    if line_end < 0:
        line_end = len(text)
    box = text.rfind("\\boxed{", line_start, line_end)
    if box >= 0:
        window_end = box + len("\\boxed{") + limit + 1
        content = last_boxed(text[box:min(line_end, window_end)])
        if content is None:
            return OVERLONG if line_end > window_end else None
        text = strip_latex_wrappers(content).replace("\\{", "{").replace("\\}", "}")
        line_start = 0
        p = _last_of_any(text, BRACKET_CHARS, len(text))
        if p < 0:
            return None
    first = None
    for _ in range(_RUNS_TRIED):
        window_start = max(line_start, p + 1 - limit)
        seg = text[window_start:p + 1]
        run = seg[len(seg.rstrip(_RUN_CHARS)):]
        if len(run) == len(seg) and window_start > line_start and text[window_start - 1] in _RUN_CHARS:
            return OVERLONG
        run_start = p + 1 - len(run)
        pieces = run.split()
        # brackets glued to a word belong to prose: the "(" of "(done)", the ")" of "f(x)"
        if p + 1 < len(text) and _is_word_char(text[p + 1]):
            pieces.pop()
        if pieces and run_start > line_start and not run[0].isspace() and _is_word_char(text[run_start - 1]):
            pieces.pop(0)
        if pieces and pieces[0] == ">" and not text[line_start:run_start].strip():
            pieces.pop(0)  # a markdown quote marker, not a bracket
        got = "".join(pieces)
        if len(got) >= 2:
            return got
        if first is None and got:
            first = got
        p = _last_of_any(text, BRACKET_CHARS, run_start, line_start)
        if p < 0:
            break
    return first


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def clean_span(span: str) -> str:
    """A backtick span's bracket text: a fence's info line dropped, whitespace removed."""
    nl = span.find("\n")
    if nl >= 0 and _last_of_any(span, BRACKET_CHARS, nl) < 0:
        span = span[nl + 1:]
    return "".join(span.split())


def only_brackets(s: str) -> bool:
    return not s.strip(BRACKET_CHARS)


def describe_mismatch(given: str, full: str, fixed_part: str, fixed_at_start: bool) -> str:
    """Why ``given`` (already known != ``full``) is wrong, in one line; cheap on huge inputs."""
    if len(given) != len(full):
        if not only_brackets(given):
            return "the answer contains characters other than brackets"
        return f"expected {len(full)} brackets, got {len(given)}"
    if not only_brackets(given):
        return "the answer contains characters other than brackets"
    keeps = given.startswith(fixed_part) if fixed_at_start else given.endswith(fixed_part)
    if not keeps:
        return "the given part of the sequence was changed"
    if not is_balanced(given):
        return "the sequence is not balanced"
    return "balanced, but not the given part plus the fewest brackets"


@dataclass(frozen=True)
class BracketKnobs:
    """One level's knobs; the comment on COMPLETION_LEVELS says what each is."""

    kinds: int
    length: tuple[int, int]
    open: tuple[int, int]
    max_depth: int


# Levels of the two completion types (dyck_language closes a prefix, dyck_language2 opens an
# ending; one is the mirror of the other).  kinds: bracket kinds used (the first n of
# () [] {} <> ⟨⟩ ⟦⟧ ⦃⦄ ⦅⦆); length: length range of the shown part; open: range of brackets to
# add; max_depth: deepest nesting anywhere in the shown part.
COMPLETION_LEVELS: dict[int, BracketKnobs] = {
    1: BracketKnobs(kinds=2, length=(4, 6), open=(1, 2), max_depth=3),
    2: BracketKnobs(kinds=3, length=(6, 10), open=(2, 3), max_depth=4),
    3: BracketKnobs(kinds=4, length=(8, 14), open=(2, 4), max_depth=5),
    4: BracketKnobs(kinds=4, length=(12, 18), open=(3, 5), max_depth=6),
    5: BracketKnobs(kinds=5, length=(16, 24), open=(3, 6), max_depth=7),
    6: BracketKnobs(kinds=5, length=(20, 30), open=(4, 7), max_depth=8),
    7: BracketKnobs(kinds=6, length=(26, 36), open=(5, 8), max_depth=9),
    8: BracketKnobs(kinds=7, length=(30, 44), open=(6, 10), max_depth=11),
    9: BracketKnobs(kinds=8, length=(36, 52), open=(7, 12), max_depth=13),
    10: BracketKnobs(kinds=8, length=(44, 64), open=(8, 14), max_depth=16),
}
