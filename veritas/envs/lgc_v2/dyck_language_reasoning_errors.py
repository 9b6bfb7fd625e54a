"""LGC-V2 ``dyck_language_reasoning_errors``: find the wrong steps of a stack trace.

The prompt shows a bracket prefix (some openers never closed) and a numbered trace of a stack
walk over it: an opening remark, "Stack: empty", one step per bracket showing the stack after
it, then a step stating the final stack and one stating the closers that complete the
sequence.  Some of those steps are wrong (always at least one).  A step is wrong when what it
states is false for the input -- judged against the true state, so a mistake never makes a
later step wrong.  Wrong steps show a stack that missed a push or pop, pushed or popped one too
many, changed the kind of an element or swapped two; or a wrong final stack; or closers in the
wrong order, of a wrong kind or one short/long.

Answer: the numbers of all wrong steps, comma-separated, on the last line of the response (the
public environment asks for the bare list, e.g. "4,9").  Order, spaces, repeats, a leading label
("Answer:"), "Thought"/"step" words, markdown, ``\\boxed{}`` and full-width commas are tolerated;
numbers have at most 64 digits.  Every trace has a wrong step, so "none" is a wrong answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.extract import is_ascii_int, last_boxed, normalize_width
from veritas.envs.lgc_v2._brackets import (
    BracketKnobs,
    BRACKET_CHARS,
    CLOSERS,
    OPENERS,
    closers_for,
    pairs_text,
    pick_shape,
    random_prefix_trace,
    shapes,
    spaced,
    stack_trace,
)
from veritas.envs.rand import HashDraws, below


@dataclass(frozen=True)
class ReasoningErrorsKnobs(BracketKnobs):
    """One level's knobs; the comment on LEVELS says what each is."""

    errors: tuple[int, int]


# kinds: bracket kinds (the first n of () [] {} <> ⟨⟩ ⟦⟧ ⦃⦄ ⦅⦆); length: input length range;
# open: openers left unclosed at the end; max_depth: deepest nesting; errors: wrong steps.
LEVELS: dict[int, ReasoningErrorsKnobs] = {
    1: ReasoningErrorsKnobs(kinds=2, length=(6, 8), open=(1, 2), max_depth=3, errors=(1, 1)),
    2: ReasoningErrorsKnobs(kinds=3, length=(8, 10), open=(1, 2), max_depth=4, errors=(1, 2)),
    3: ReasoningErrorsKnobs(kinds=3, length=(10, 14), open=(1, 3), max_depth=4, errors=(1, 2)),
    4: ReasoningErrorsKnobs(kinds=4, length=(12, 16), open=(1, 3), max_depth=5, errors=(1, 3)),
    5: ReasoningErrorsKnobs(kinds=4, length=(14, 20), open=(2, 4), max_depth=6, errors=(2, 3)),
    6: ReasoningErrorsKnobs(kinds=5, length=(18, 24), open=(2, 4), max_depth=6, errors=(2, 4)),
    7: ReasoningErrorsKnobs(kinds=6, length=(20, 28), open=(2, 5), max_depth=7, errors=(2, 4)),
    8: ReasoningErrorsKnobs(kinds=6, length=(24, 32), open=(3, 5), max_depth=8, errors=(3, 5)),
    9: ReasoningErrorsKnobs(kinds=7, length=(28, 36), open=(3, 6), max_depth=9, errors=(3, 5)),
    10: ReasoningErrorsKnobs(kinds=8, length=(32, 40), open=(3, 6), max_depth=10, errors=(4, 6)),
}

_SHAPES = {level: shapes(knobs) for level, knobs in LEVELS.items()}
# "%d,%d,%d" for three wrong steps: the answer in one formatting call
_ANSWER_TEXTS = tuple(",".join(["%d"] * n) for n in range(max(k.errors[1] for k in LEVELS.values()) + 1))

FIRST_CHECKED_STEP = 3  # steps 1 (the plan) and 2 ("Stack: empty") are always right

_TEXT = {
    "en": {
        "step": "Thought",
        "colon": ": ",
        "plan": "Go through the input one bracket at a time, keeping a stack of the brackets that are still open.",
        "start": "Stack: empty",
        "final": "That was the last bracket. Final stack: ",
        "closers": "Closing from the top of the stack down, the missing closers are: ",
        "empty": "empty",
        "mid": " ; Stack: ",
    },
    "zh": {
        "step": "步骤",
        "colon": "：",
        "plan": "逐个读取输入中的括号，用一个栈记录尚未闭合的括号。",
        "start": "栈：空",
        "final": "括号已全部读完。最终的栈：",
        "closers": "从栈顶往下依次闭合，需要补上的闭括号是：",
        "empty": "空",
        "mid": " ；栈：",
    },
}

# Lines of the trace, ready to join (each starts with the newline that ends the line before),
# per language and step number N: "\nThought N: <bracket> ; Stack: " per bracket (openers, then
# closers, in BRACKET_CHARS order) for random_prefix_trace to pick, and the heads of the
# final-stack and closers lines; then the first two lines.
_MAX_STEP = max(k.length[1] for k in LEVELS.values()) + 4


def _per_step(line) -> dict[str, tuple]:
    """{language: (line(text, "Thought N: ") for N = 0.._MAX_STEP)}"""
    return {lang: tuple(line(t, f"{t['step']} {n}{t['colon']}") for n in range(_MAX_STEP + 1)) for lang, t in _TEXT.items()}


_STEP_LINES = _per_step(lambda t, head: tuple(f"\n{head}{b}{t['mid']}" for b in BRACKET_CHARS))
_FINAL_LINES = _per_step(lambda t, head: f"\n{head}{t['final']}")
_CLOSER_LINES = _per_step(lambda t, head: f"\n{head}{t['closers']}")
_OPENING_LINES = {lang: f"{t['step']} 1{t['colon']}{t['plan']}\n{t['step']} 2{t['colon']}{t['start']}" for lang, t in _TEXT.items()}
# the steps that may be wrong, 3..N, for each N
_CHECKED_STEPS = tuple(tuple(range(FIRST_CHECKED_STEP, n + 1)) for n in range(_MAX_STEP + 1))

# the sentence ending each prompt template below, in the same order
_ANSWER_FORMATS = {
    "en": (
        "Give the numbers of all wrong steps, separated by commas (for example: 4,9), on the last "
        "line of your answer.",
        "Answer with the wrong thought numbers, comma-separated (like 3,7,12), as the final line.",
        "End your response with a line listing the numbers of all wrong steps separated by commas, e.g. 5,8.",
    ),
    "zh": (
        "请在回答的最后一行给出所有错误步骤的编号，用逗号分隔（例如：4,9）。",
        "在最后一行写出错误步骤的编号，用逗号分隔（如 3,7,12）。",
    ),
}
_PROMPTS = {
    "en": (
        "Below is a bracket sequence whose last opening brackets are never closed, followed by a "
        "numbered trace of someone working out how to close it with a stack: an opening bracket "
        "is pushed, a closing bracket pops the opening bracket on top. After the last bracket the "
        "trace states the final stack and the closing brackets that complete the sequence.\n\n"
        "Some steps of the trace are wrong. A step is wrong when what it states is false for the "
        "input: the stack it shows is not the real stack after that bracket, or the final stack or "
        "the closers it states are not the real ones. Judge every step on its own against the "
        "real state: a mistake does not make later steps wrong. At least one step is wrong.\n\n"
        "Input: {seq}\n{trace}\n\n" + _ANSWER_FORMATS["en"][0],
        "Task: audit a stack trace for bracket matching.\nBracket pairs: {pairs}\nInput: {seq}\n"
        "{trace}\n\nEach numbered thought claims the stack after one bracket (bottom to top), or, "
        "at the end, the final stack and the closers needed to finish the sequence. Find every "
        "thought whose claim does not match the truth for this input; compare each thought with "
        "the true state, not with the thought before it. There is at least one such thought.\n\n"
        + _ANSWER_FORMATS["en"][1],
        "A student closed the brackets of this sequence step by step, tracking a stack of open "
        "brackets, and made mistakes along the way.\n\nSequence: {seq}\n{trace}\n\nWhich steps "
        "are wrong? A step is wrong if the stack, final stack or closing brackets it gives differ "
        "from the correct ones for the sequence (check each step independently; errors do not "
        "carry over). At least one step is wrong. " + _ANSWER_FORMATS["en"][2],
    ),
    "zh": (
        "下面给出一个括号序列（末尾有若干左括号没有闭合），以及某人用栈推导如何闭合它的编号步骤："
        "遇到左括号就入栈，遇到右括号就弹出栈顶的左括号。"
        "读完全部括号后，推导给出最终的栈以及补全序列所需的右括号。\n\n"
        "其中有些步骤是错误的。如果某一步所说的内容与输入不符，"
        "即它给出的栈不是读完该括号后真实的栈，"
        "或它给出的最终栈、补全的右括号不正确，那么这一步就是错误的。"
        "请把每一步单独与真实状态比较："
        "前面的错误不会使后面的步骤算作错误。至少有一步是错误的。\n\n"
        "输入：{seq}\n{trace}\n\n" + _ANSWER_FORMATS["zh"][0],
        "任务：检查一个括号匹配的栈推导过程。\n括号种类：{pairs}\n输入：{seq}\n{trace}\n\n"
        "每一步给出读完一个括号后的栈（从栈底到栈顶），"
        "最后两步给出最终的栈和补全序列所需的右括号。"
        "找出所有与该输入的真实情况不符的步骤；"
        "每一步都与真实状态比较，而不是与上一步比较。至少有一步是错误的。\n\n" + _ANSWER_FORMATS["zh"][1],
    ),
}


def _corrupt_state(draw: Callable[[], int], true: str, before: str | None, n_kinds: int, empty: str) -> str:
    """A stack that differs from ``true`` (spaced, bottom first, ``empty`` when empty): a missed
    push/pop (``before``), one element too many or too few, an element of another kind, or two
    neighbours swapped.  At most four draws.  Works on the spaced text: element i is at 2i."""
    way = below(draw(), 4)
    size = 0 if true == empty else (len(true) + 1) >> 1
    shown = None  # None: one element too many (also when the chosen change is impossible here)
    if way == 0 and before is not None:
        shown = before
    elif way == 1 and size and n_kinds > 1:
        i = 2 * below(draw(), size)
        others = OPENERS[:n_kinds].replace(true[i], "")
        shown = true[:i] + others[below(draw(), len(others))] + true[i + 1:]
    elif way == 2 and size > 1 and draw() < 32768:
        shown = true[:-2]
    elif way == 3 and size > 1:
        i = 2 * below(draw(), size - 1)
        shown = true[:i] + true[i + 2] + " " + true[i] + true[i + 3:]
    if shown is None or shown == true:  # a swap of two equal neighbours changes nothing
        o = OPENERS[below(draw(), n_kinds)]
        shown = true + " " + o if size else o
    return shown


def _corrupt_closers(draw: Callable[[], int], true: str, n_kinds: int) -> str:
    """Closers that differ from the true ones: unreversed, one of another kind, or one short/long.
    At most three draws."""
    way = below(draw(), 3)
    shown = true
    if way == 0:
        shown = true[::-1]  # forgot to close the top first
    elif way == 1 and n_kinds > 1:
        i = below(draw(), len(true))
        others = CLOSERS[:n_kinds].replace(true[i], "")
        shown = true[:i] + others[below(draw(), len(others))] + true[i + 1:]
    if shown == true:
        shown = true[:-1] if len(true) > 1 else true + CLOSERS[below(draw(), n_kinds)]
    return shown


def generate(rng: HashDraws, level: int, language: str) -> Generated:
    knobs = LEVELS[level]
    n_kinds = knobs.kinds
    elo, ehi = knobs.errors
    # shape 2, one per bracket, error count 1, error steps, up to 4 per corruption, template 1
    draws = rng.take_iter(knobs.length[1] + 4 + 5 * ehi)
    draw = draws.__next__
    length, depth = pick_shape(draw, _SHAPES[level])
    empty = _TEXT[language]["empty"]
    last_step = length + 4  # plan, start, one per bracket, final stack, closers
    # lines: "\nThought N: <bracket> ; Stack: ", the true stack after it, for N = 3..length+2
    brackets, closers, lines = random_prefix_trace(
        draws, length, depth, n_kinds, knobs.max_depth, _STEP_LINES[language][FIRST_CHECKED_STEP:], empty)
    final = lines[-1]  # never empty: at least one opener is left open
    lines += (_FINAL_LINES[language][last_step - 1], final, _CLOSER_LINES[language][last_step], " ".join(closers))
    n_errors = elo + below(draw(), ehi - elo + 1)
    # n_errors distinct steps by a partial Fisher-Yates shuffle (cheaper than a full sample)
    steps = list(_CHECKED_STEPS[last_step])
    n_steps = len(steps)
    for k in range(n_errors):
        j = k + below(draw(), n_steps - k)
        steps[k], steps[j] = steps[j], steps[k]
    wrong_steps = sorted(steps[:n_errors])

    # The wrong steps' states overwritten in place (the i-th bracket's state is lines[2i + 1]),
    # each made from the true states (a missed push/pop shows the true state before it).
    truth = lines[1::2]
    for step in wrong_steps:
        i = step - FIRST_CHECKED_STEP
        if i < length:
            lines[2 * i + 1] = _corrupt_state(draw, truth[i], truth[i - 1] if i else empty, n_kinds, empty)
        elif i == length:
            lines[2 * i + 1] = _corrupt_state(draw, final, None, n_kinds, empty)
        else:
            lines[2 * i + 1] = spaced(_corrupt_closers(draw, "".join(closers), n_kinds))

    template = _PROMPTS[language][below(draw(), len(_PROMPTS[language]))]
    prompt = template.format(pairs=pairs_text(n_kinds), seq=" ".join(brackets),
                             trace=_OPENING_LINES[language] + "".join(lines))
    meta = {
        "sequence": "".join(brackets),
        "shown_states": lines[1::2],
        "wrong_steps": wrong_steps,
        "n_steps": last_step,
        "n_kinds": n_kinds,
    }
    return Generated(prompt, _ANSWER_TEXTS[n_errors] % tuple(wrong_steps), meta)


# --- verification ----------------------------------------------------------------------------

# Closing fences or bold markers under the answer line are skipped, a few at most (bounded work).
_MAX_DECORATION_LINES = 3
# Separators and markup between the numbers; Chinese "and" words included.
_TO_SPACE = str.maketrans({c: " " for c in ",;、*`$\"'[](){}#和与及"})
_FILLER_WORDS = frozenset(("and", "thought", "thoughts", "step", "steps", "&"))
_NO_ERROR_ANSWERS = frozenset(
    ("none", "no", "no errors", "no error", "no mistakes", "no wrong steps", "all correct", "empty",
     "无", "没有", "无错误", "没有错误", "全部正确")
)


def _answer_line(text: str) -> str | None:
    rest = text.rstrip()
    for _ in range(_MAX_DECORATION_LINES + 1):
        nl = rest.rfind("\n")
        line = rest[nl + 1:]
        if line.strip(" \t`*"):
            return line
        if nl < 0:
            return None
        rest = rest[:nl].rstrip()
    return None


def verify(answer_text: str, metadata: dict) -> Verdict:
    line = _answer_line(answer_text)
    if line is None:
        return Verdict.bad_format("no answer line")
    # A real list is short: repeats allowed, at most 64 digits a number (is_ascii_int's cap).
    max_numbers = 4 * metadata["n_steps"] + 8
    max_chars = 80 * max_numbers
    box = line.rfind("\\boxed{")
    if box >= 0:
        line = last_boxed(line[box:box + max_chars])  # bounded: a longer box is no answer
        if line is None:
            return Verdict.bad_format("unclosed or overlong \\boxed{}")
    line = line[max(line.rfind(":"), line.rfind("："), -1) + 1:]  # drop a label such as "Answer:"
    if len(line) > max_chars:
        return Verdict.wrong("the answer line is far longer than a list of step numbers")
    line = normalize_width(line).lower().replace("\\text{", " ").replace("步骤", " ").replace("思考", " ")
    tokens = [t.rstrip(".。") for t in line.translate(_TO_SPACE).split()]
    if " ".join(tokens) in _NO_ERROR_ANSWERS:
        return Verdict.wrong("claims no wrong steps, but every trace has at least one")
    if len(tokens) > max_numbers:
        return Verdict.wrong("far more numbers than the trace has steps")
    numbers = set()
    for tok in tokens:
        if not tok or tok in _FILLER_WORDS:
            continue
        if tok[0] in "+-" or not is_ascii_int(tok):
            return Verdict.bad_format("the last line is not a list of step numbers")
        numbers.add(int(tok))
    if not numbers:
        return Verdict.bad_format("no step numbers on the last line")
    expected = set(metadata["wrong_steps"])
    if numbers == expected:
        return Verdict.ok()
    missed, extra = len(expected - numbers), len(numbers - expected)
    return Verdict.wrong(f"{missed} wrong step(s) missed, {extra} right step(s) listed")


_WORKED = {
    "en": {
        "intro": "Recompute the real stack after every bracket and compare it with each step:",
        "final": "final stack",
        "closers": "closers",
        "ok": "{step} {n}: {what} → {true} ✓",
        "bad": "{step} {n}: {what} → {true}, but the step says {shown} ✗",
        "result": "Wrong steps:",
    },
    "zh": {
        "intro": "重新计算读完每个括号后真实的栈，并与每一步比较：",
        "final": "最终的栈",
        "closers": "补全的右括号",
        "ok": "{step} {n}：{what} → {true} ✓",
        "bad": "{step} {n}：{what} → {true}，但该步写的是 {shown} ✗",
        "result": "错误的步骤：",
    },
}


def worked_solution(metadata: dict, language: str) -> str:
    text, words = _TEXT[language], _WORKED[language]
    seq, shown = metadata["sequence"], metadata["shown_states"]
    trace = stack_trace(seq)
    true_states = [t or text["empty"] for t in trace] + [trace[-1], spaced(closers_for(trace[-1].split()))]
    labels = list(seq) + [words["final"], words["closers"]]
    lines = [words["intro"]]
    wrong = []
    for k, (what, true, says) in enumerate(zip(labels, true_states, shown)):
        n = k + FIRST_CHECKED_STEP
        if true == says:
            lines.append(words["ok"].format(step=text["step"], n=n, what=what, true=true))
        else:
            wrong.append(n)
            lines.append(words["bad"].format(step=text["step"], n=n, what=what, true=true, shown=says))
    lines.append(words["result"])
    lines.append(",".join(map(str, wrong)))
    return "\n".join(lines)


TASK_TYPE = TaskType(
    name="dyck_language_reasoning_errors", id_blocks=(8,), languages=("en", "zh"), zh_share=0.5,
    randomness="draws", levels=LEVELS, generate=generate, verify=verify, worked_solution=worked_solution,
    answer_formats=_ANSWER_FORMATS,
)
