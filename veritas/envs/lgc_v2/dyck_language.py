"""LGC-V2 ``dyck_language``: close the open brackets of a bracket prefix.

The prompt shows a prefix of a balanced bracket sequence (several kinds: () [] {} <> and, at
higher levels, ⟨⟩ ⟦⟧ ⦃⦄ ⦅⦆) in which some openers are never closed.  The answer is the complete
sequence: the prefix followed by the fewest closers that balance it.  That completion is unique
(each closer must close the innermost open bracket), so verification is an exact comparison.

Answer: free form.  The last line of the response that holds a bracket is the answer line
(its ``\\boxed{}`` content if it has one); the last run of brackets on it, spaces between brackets
ignored, is the answer.  So "Answer: `( [ ] )`" reads as "([])", and a wrong final line after a
right one is wrong.
"""
from __future__ import annotations

from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.lgc_v2._brackets import (
    COMPLETION_LEVELS,
    OVERLONG,
    describe_mismatch,
    last_bracket_run,
    pairs_text,
    pick_shape,
    random_prefix,
    shapes,
    spaced,
    stack_trace,
)
from veritas.envs.rand import HashDraws, below

LEVELS = COMPLETION_LEVELS  # documented in _brackets.py
_SHAPES = {level: shapes(knobs) for level, knobs in LEVELS.items()}

# the sentence ending each prompt template below, in the same order
_ANSWER_FORMATS = (
    "Give the complete sequence (the given part followed by your closing brackets) as the last "
    "line of your answer.",
    "End your reply with the full resulting string on its own line.",
    "Finish with the entire completed sequence, prefix included, and put nothing after it.",
    "Write out the whole sequence with your closers appended as the final line of your response.",
)
_PROMPTS = (
    "Complete the bracket sequence below. Some of its opening brackets are never closed; append "
    "the fewest closing brackets that make the whole sequence balanced, every bracket closed by "
    "its own kind in the right order.\n\nBracket pairs: {pairs}\nSequence: {seq}\n\n" + _ANSWER_FORMATS[0],
    "This string of brackets stops before all of its brackets are closed:\n\n{seq}\n\n"
    "The pairs are {pairs}. Extend it with as few closing brackets as possible so that it becomes "
    "properly nested and matched. " + _ANSWER_FORMATS[1],
    "Dyck-language completion.\nPairs: {pairs}\nPrefix: {seq}\n\nAdd the shortest tail of closing "
    "brackets that turns the prefix into a well-formed sequence. " + _ANSWER_FORMATS[2],
    "Close every bracket that is still open in\n\n{seq}\n\nusing the minimum number of closing "
    "brackets (pairs: {pairs}). " + _ANSWER_FORMATS[3],
)


def generate(rng: HashDraws, level: int, language: str) -> Generated:
    knobs = LEVELS[level]
    draws = rng.take_iter(knobs.length[1] + 4)  # shape 2, one per bracket, spacing, template
    draw = draws.__next__
    length, depth = pick_shape(draw, _SHAPES[level])
    prefix, closers = random_prefix(draws, length, depth, knobs.kinds, knobs.max_depth)
    # Spaced brackets tokenize one per token; compact is how the public environment shows them.
    is_spaced = draw() < 32768
    template = _PROMPTS[below(draw(), len(_PROMPTS))]
    prompt = template.format(pairs=pairs_text(knobs.kinds), seq=spaced(prefix) if is_spaced else prefix)
    full = prefix + closers
    meta = {"prefix": prefix, "closers": closers, "full": full, "n_kinds": knobs.kinds, "spaced": is_spaced}
    return Generated(prompt, full, meta)


def verify(answer_text: str, metadata: dict) -> Verdict:
    full = metadata["full"]
    # room for a space between every two brackets; anything longer is wrong without reading it
    got = last_bracket_run(answer_text, limit=4 * len(full) + 64)
    if not got:
        return Verdict.bad_format("no bracket sequence found in the answer")
    if got is OVERLONG:
        return Verdict.wrong("the bracket sequence is far longer than the answer")
    if got == full:
        return Verdict.ok()
    if got == metadata["closers"]:
        return Verdict.wrong("only the closing brackets were given; the complete sequence is asked for")
    return Verdict.wrong(describe_mismatch(got, full, metadata["prefix"], fixed_at_start=True))


def worked_solution(metadata: dict, language: str) -> str:
    prefix, closers = metadata["prefix"], metadata["closers"]
    trace = stack_trace(prefix)
    lines = ["Read the brackets from left to right, keeping a stack of the ones still open:"]
    lines += [f"{ch} → {stack or 'empty'}" for ch, stack in zip(prefix, trace)]
    lines.append(f"Still open at the end (bottom to top): {trace[-1]}")
    lines.append(f"Close them from the top down: {spaced(closers)}")
    lines.append("Complete sequence:")
    lines.append(metadata["full"])
    return "\n".join(lines)


TASK_TYPE = TaskType(
    name="dyck_language", id_blocks=(0,), languages=("en",), zh_share=0.0, randomness="draws",
    levels=LEVELS, generate=generate, verify=verify, worked_solution=worked_solution,
    answer_formats={"en": _ANSWER_FORMATS},
)
