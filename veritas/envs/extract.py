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

    An unclosed last box is a truncated answer: None, never an earlier box.
    """
    start = text.rfind(command + "{")
    if start < 0:
        return None
    i = start + len(command) + 1
    depth = 1
    n = len(text)
    j = i
    while j < n:
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i:j]
        j += 1
    return None


def last_fenced_block(text: str, languages: tuple[str, ...] | None = None) -> str | None:
    """Body of the last complete triple-backtick block.

    ``languages``: info strings accepted after the opening fence (case-insensitive; "" means a
    bare fence).  None accepts any.  Blocks are paired from the start of the text, so an odd
    trailing fence (an unfinished block) is ignored.
    """
    fences = []
    pos = text.find("```")
    while pos >= 0:
        fences.append(pos)
        pos = text.find("```", pos + 3)
    best = None
    for k in range(0, len(fences) - 1, 2):
        open_at, close_at = fences[k], fences[k + 1]
        body_start = text.find("\n", open_at + 3, close_at)
        if body_start < 0:  # ```inline``` on one line
            info, body = "", text[open_at + 3:close_at]
        else:
            info, body = text[open_at + 3:body_start].strip(), text[body_start + 1:close_at]
        if languages is None or info.lower() in languages:
            best = body
    return best


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
    hay = text.lower() if case_insensitive else text
    best_pos, best_len = -1, 0
    for m in markers:
        p = hay.rfind(m.lower() if case_insensitive else m)
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
