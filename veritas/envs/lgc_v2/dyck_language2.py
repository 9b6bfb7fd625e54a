"""LGC-V2 ``dyck_language2`` (type ids 4 and 5): restore the missing beginning of a bracket sequence.

The prompt shows the end of a balanced bracket sequence: some of its closers have lost their
openers.  The answer is the complete sequence: the fewest openers that balance it, followed by
the given ending.  That beginning is unique (the first unmatched closer needs the innermost
opener), so verification is an exact comparison.

Answer: the complete sequence in single backticks.  The span between backticks that holds the
last bracket before the final backtick is read, spaces ignored; backtick runs of any length
delimit, so ```x```, `x`` and a fenced block all read as x, and prose spans without brackets
(such as `S`) are passed over.  A later bracket span replaces an earlier one.
"""
from __future__ import annotations

from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.extract import last_span_between_backticks
from veritas.envs.lgc_v2._brackets import (
    COMPLETION_LEVELS,
    BRACKET_CHARS,
    CLOSER_OF,
    OPENER_OF,
    clean_span,
    describe_mismatch,
    mirror,
    pairs_text,
    pick_shape,
    random_prefix,
    shapes,
    spaced,
)
from veritas.envs.rand import HashDraws, below

LEVELS = COMPLETION_LEVELS  # documented in _brackets.py
_SHAPES = {level: shapes(knobs) for level, knobs in LEVELS.items()}

_FORMAT = (
    "Put the complete sequence (your opening brackets followed by the given ending) in single "
    "backticks, like `...`, at the end of your answer."
)

_PROMPTS = (
    "Below is the end of a balanced bracket sequence; its beginning was cut off, so some closing "
    "brackets have no partner. Prepend the fewest opening brackets that make the whole sequence "
    "balanced and properly nested.\n\nBracket pairs: {pairs}\nEnding: {seq}\n\n" + _FORMAT,
    "Only the tail of this bracket string survived:\n\n{seq}\n\nRestore the missing start: add as "
    "few opening brackets as possible in front so that every bracket is matched by its own kind "
    "(pairs: {pairs}). " + _FORMAT,
    "Reverse Dyck completion.\nPairs: {pairs}\nSuffix: {seq}\n\nFind the shortest string of "
    "opening brackets P such that P followed by the suffix is a well-formed bracket sequence. "
    + _FORMAT,
    "Which opening brackets must come before\n\n{seq}\n\nto turn it into a correctly matched "
    "bracket sequence? Use the minimum number (pairs: {pairs}) and do not change the given part. "
    + _FORMAT,
)


def generate(rng: HashDraws, level: int, language: str) -> Generated:
    knobs = LEVELS[level]
    draws = rng.take_iter(knobs.length[1] + 4)  # shape 2, one per bracket, spacing, template
    draw = draws.__next__
    length, depth = pick_shape(draw, _SHAPES[level])
    # The mirror image of a random Dyck prefix is a random Dyck suffix; its closers mirror into
    # the openers it lacks.
    prefix, closers = random_prefix(draws, length, depth, knobs.kinds, knobs.max_depth)
    suffix, head = mirror(prefix), mirror(closers)
    is_spaced = draw() < 32768
    template = _PROMPTS[below(draw(), len(_PROMPTS))]
    prompt = template.format(pairs=pairs_text(knobs.kinds), seq=spaced(suffix) if is_spaced else suffix)
    full = head + suffix
    meta = {"suffix": suffix, "openers": head, "full": full, "n_kinds": knobs.kinds, "spaced": is_spaced}
    return Generated(prompt, f"`{full}`", meta)


def verify(answer_text: str, metadata: dict) -> Verdict:
    span = last_span_between_backticks(answer_text, BRACKET_CHARS)
    if span is None:
        return Verdict.bad_format("no bracket sequence in backticks found")
    full = metadata["full"]
    if len(span) > 4 * len(full) + 64:  # room for spaces and a fence's info line
        return Verdict.wrong("the span in backticks is far longer than the answer")
    got = clean_span(span)
    if got == full:
        return Verdict.ok()
    if got == metadata["openers"]:
        return Verdict.wrong("only the opening brackets were given; the complete sequence is asked for")
    if got == metadata["suffix"]:
        return Verdict.wrong("the given ending was repeated without the missing opening brackets")
    return Verdict.wrong(describe_mismatch(got, full, metadata["suffix"], fixed_at_start=False))


def worked_solution(metadata: dict, language: str) -> str:
    """The scan with its stack on every line, and the openers to put in front written out whole each
    time a closer has no partner: the last such line is the answer's front as it stands.  (Collecting
    the unmatched closers at the end and reversing them was a quarter of the SFT model's greedy
    errors on this type, docs/results.md, ninth run.)"""
    suffix = metadata["suffix"]
    lines = ["Scan the ending from left to right, keeping a stack of the opening brackets it contains "
             "and the openers it needs in front:"]
    stack: list[str] = []
    front = ""
    for ch in suffix:
        if ch in CLOSER_OF:
            stack.append(ch)
            lines.append(f"{ch} → open, stack: {' '.join(stack)}")
        elif stack:
            stack.pop()
            lines.append(f"{ch} → closes {OPENER_OF[ch]}, stack: {' '.join(stack) or 'empty'}")
        else:
            # a later closer without a partner closes an opener further out: its opener goes first
            front = OPENER_OF[ch] + front
            lines.append(f"{ch} → nothing open to close: put {OPENER_OF[ch]} first, in front now: {spaced(front)}")
    lines.append(f"Openers in front: {spaced(front)}")
    lines.append(f"Complete sequence: `{front + suffix}`")
    return "\n".join(lines)


TASK_TYPE = TaskType(
    name="dyck_language2", id_blocks=(4, 5), languages=("en",), zh_share=0.0, randomness="draws",
    levels=LEVELS, generate=generate, verify=verify, worked_solution=worked_solution,
    answer_formats={"en": (_FORMAT,)},
)
