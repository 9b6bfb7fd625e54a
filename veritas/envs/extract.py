"""The one place that reads answers out of model responses.

Model output is hostile input: every function here accepts any ``str``, never raises on one,
never evaluates it, and runs in time linear in its length (``str.rfind``/``find`` and single
forward scans; no regex that can backtrack).  Every reader returns the LAST answer of its kind,
so "right, then wrong" counts as wrong.
"""
from __future__ import annotations

from fractions import Fraction

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

# Longest run of digits accepted as a number: int() of thousands of digits is slow and no
# answer of ours is that long.
MAX_NUMBER_DIGITS = 64
# Longest \\boxed{} content read; every answer of ours is far shorter.
MAX_BOXED_CHARS = 100_000
# Fenced blocks examined, from the last one back, when looking for a block of one language.
MAX_FENCED_BLOCKS = 1_000

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９＋－＊／（）＝，：．",
    "0123456789+-*/()=,:.",
)


def strip_think(response: str) -> str | None:
    """The part of ``response`` after its reasoning, or None when there is no answer part.

    Text after the last ``</think>`` is the answer (chat templates may put the opening tag in
    the prompt, so a lone ``</think>`` counts too).  A ``<think>`` that is never closed means the
    model was still thinking: no answer.
    """
    if not isinstance(response, str):
        return None
    close = response.rfind(THINK_CLOSE)
    tail = response[close + len(THINK_CLOSE):] if close >= 0 else response
    if THINK_OPEN in tail:
        return None
    return tail


def last_boxed(text: str, command: str = "\\boxed") -> str | None:
    """Content of the last ``\\boxed{...}`` with balanced braces, or None.

    An unclosed last box is a truncated answer: None, never an earlier box.  Boxes longer than
    ``MAX_BOXED_CHARS`` are not answers of ours (None), which bounds the scan.
    """
    start = text.rfind(command + "{")
    if start < 0:
        return None
    i = start + len(command) + 1
    limit = min(len(text), i + MAX_BOXED_CHARS + 1)
    depth, j = 1, i
    # jump from one closing brace to the next; str.find/count run in C
    while True:
        k = text.find("}", j, limit)
        if k < 0:
            return None
        depth += text.count("{", j, k) - 1
        if depth == 0:
            return text[i:k]
        j = k + 1


def last_fenced_block(text: str, languages: tuple[str, ...] | None = None) -> str | None:
    """Body of the last complete triple-backtick block.

    ``languages``: info strings accepted after the opening fence (case-insensitive; "" means a
    bare fence).  None accepts any.  Fences pair up from the start of the text, so an odd
    trailing fence (an unfinished block) is ignored.  Only the last ``MAX_FENCED_BLOCKS``
    blocks are looked at: a response with more is noise, and the bound keeps the scan short.
    """
    parts = text.split("```")  # parts[1], parts[3], ... lie between an opening and a closing fence
    last_complete = len(parts) - 2 if len(parts) % 2 == 1 else len(parts) - 3
    for k in range(last_complete, max(0, last_complete - 2 * MAX_FENCED_BLOCKS), -2):
        inside = parts[k]
        newline = inside.find("\n")
        if newline < 0:  # ```inline``` on one line
            info, body = "", inside
        else:
            info, body = inside[:newline].strip(), inside[newline + 1:]
        if languages is None or info.lower() in languages:
            return body
    return None


def last_backtick_span(text: str) -> str | None:
    """Content of the last single-backtick span `...` (fences stripped first)."""
    cleaned = text.replace("```", "\n")
    close = cleaned.rfind("`")
    if close < 0:
        return None
    open_ = cleaned.rfind("`", 0, close)
    if open_ < 0:
        return None
    return cleaned[open_ + 1:close]


def after_last_marker(text: str, markers: tuple[str, ...], case_insensitive: bool = True) -> str | None:
    """Text after the last occurrence of any marker, up to the end of that line."""
    if case_insensitive:
        hay = text.lower()
        if len(hay) != len(text):
            # some characters (e.g. 'İ') lower-case to two: positions in `hay` would not match
            # `text`, so search the common spellings of each marker in the original instead
            variants = tuple({v: None for m in markers for v in (m, m.lower(), m.capitalize(), m.upper())})
            return after_last_marker(text, variants, case_insensitive=False)
        needles = [m.lower() for m in markers]
    else:
        hay, needles = text, list(markers)
    best_pos, best_len = -1, 0
    for m in needles:
        p = hay.rfind(m)
        if p > best_pos:
            best_pos, best_len = p, len(m)
    if best_pos < 0:
        return None
    start = best_pos + best_len
    end = text.find("\n", start)
    return text[start:] if end < 0 else text[start:end]


def strip_latex_wrappers(s: str) -> str:
    """Remove wrappers models put around plain answers: \\text{..}, \\mathrm{..}, $..$."""
    out = s.strip()
    for _ in range(4):  # bounded: wrappers nest at most a few deep in practice
        before = out
        for cmd in ("\\text{", "\\textbf{", "\\mathrm{", "\\mathbf{"):
            if out.startswith(cmd) and out.endswith("}"):
                out = out[len(cmd):-1].strip()
        if len(out) >= 2 and out[0] == "$" and out[-1] == "$":
            out = out.strip("$").strip()
        if out == before:
            break
    return out


def normalize_width(s: str) -> str:
    """Map full-width digits and operators (common in Chinese answers) to ASCII."""
    return s.translate(_FULLWIDTH)


def is_ascii_int(s: str) -> bool:
    """True for an optionally signed run of ASCII digits (``str.isdigit`` accepts '²' and '٣')."""
    if s[:1] in ("+", "-"):
        s = s[1:]
    return 0 < len(s) <= MAX_NUMBER_DIGITS and all("0" <= c <= "9" for c in s)


def parse_number(s: str) -> Fraction | None:
    """An exact number from ``s``: integer, decimal, or ``a/b``; None when it is not one.

    ASCII digits only, at most ``MAX_NUMBER_DIGITS`` digits per part.
    """
    s = normalize_width(strip_latex_wrappers(s)).replace(" ", "").replace(",", "")
    if not s or len(s) > 2 * MAX_NUMBER_DIGITS + 3:
        return None
    if s.startswith("\\frac{") and s.endswith("}"):
        inner = s[6:-1]
        mid = inner.find("}{")
        if mid < 0:
            return None
        s = inner[:mid] + "/" + inner[mid + 2:]
    if "/" in s:
        num, _, den = s.partition("/")
        a, b = parse_number(num), parse_number(den)
        if a is None or b is None or b == 0:
            return None
        return a / b
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    whole, dot, frac = s.partition(".")
    if not whole and not frac:
        return None
    if (whole and not is_ascii_int(whole)) or (frac and not is_ascii_int(frac)) or (dot and not frac and not whole):
        return None
    value = Fraction(int(whole) if whole else 0)
    if frac:
        value += Fraction(int(frac), 10 ** len(frac))
    return sign * value


def last_span_between_backticks(text: str, wanted: str) -> str | None:
    """Raw text between the backticks around the last ``wanted`` character that comes before
    the final backtick of ``text``; None when there is none.

    Tolerant of stray backticks and fences where ``last_backtick_span`` is not: a run of any
    number of backticks delimits (```x```, `x``, a fenced block all give x, the fence's info line
    included), and spans holding no ``wanted`` character (prose such as `S`) are passed over.
    Text after the final backtick never counts, so the answer must sit inside backticks.
    Linear: one ``rfind`` per wanted character and two backtick searches, no Python loop over
    the text.
    """
    last_tick = text.rfind("`")
    if last_tick < 0:
        return None
    p = -1
    for ch in wanted:
        q = text.rfind(ch, p + 1, last_tick)
        if q > p:
            p = q
    if p < 0:
        return None
    open_at = text.rfind("`", 0, p)
    if open_at < 0:
        return None
    return text[open_at + 1:text.find("`", p)]
