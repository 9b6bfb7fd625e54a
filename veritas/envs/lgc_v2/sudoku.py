"""LGC-V2 ``sudoku``: complete a 9×9 Sudoku that has exactly one solution.

Generation never searches.  ``data/sudoku_table.txt`` holds 200 base puzzles per level, each
proven unique offline by ``data/sudoku_build_table.py``.  A task picks one and applies random
symmetries of Sudoku that keep a grid valid and a solution unique: digit relabelling (9!), row
order inside each band and band order (6^4), the same for columns and stacks (6^4), and
transposition (2) -- about 1.2·10^12 variants per base puzzle.

Answer: the completed grid, 9 lines of 9 digits, in a triple-backtick block; the last complete
block of the response counts.  A grid is correct when it obeys the Sudoku rules and keeps every
given clue (with one solution, that is the solution).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from veritas.envs.base import Generated, TaskType, Verdict
from veritas.envs.extract import last_fenced_block, normalize_width


@dataclass(frozen=True)
class SudokuKnobs:
    """One level's knobs; the comment on LEVELS says what each is."""

    clues: int
    technique: str


# clues: given digits; technique: what solving needs (checked offline by the table builder):
#   naked = naked singles suffice, singles = naked + hidden singles suffice,
#   any = no restriction, hard = naked + hidden singles alone get stuck.
LEVELS: dict[int, SudokuKnobs] = {
    1: SudokuKnobs(clues=45, technique="naked"),
    2: SudokuKnobs(clues=42, technique="naked"),
    3: SudokuKnobs(clues=39, technique="singles"),
    4: SudokuKnobs(clues=36, technique="singles"),
    5: SudokuKnobs(clues=33, technique="singles"),
    6: SudokuKnobs(clues=31, technique="singles"),
    7: SudokuKnobs(clues=29, technique="any"),
    8: SudokuKnobs(clues=27, technique="any"),
    9: SudokuKnobs(clues=25, technique="any"),
    10: SudokuKnobs(clues=24, technique="hard"),
}

TABLE_PATH = Path(__file__).with_name("data") / "sudoku_table.txt"
# A 9×9 grid with labels and separators fits in far less; longer blocks are not a grid.
MAX_BLOCK_CHARS = 8000

_BLANK_LETTERS = "abcdefghi"
# Characters that may separate digits inside a row line: dropped before reading the row.
_SEPARATORS = {ord(c): None for c in " \t\r\f\v,|;、│┃║｜"}
_DIGITS = frozenset("0123456789")
_ROW_CHARS = frozenset("0123456789.")


@lru_cache(maxsize=1)
def _table() -> dict[int, tuple[str, ...]]:
    """level -> base puzzles in the table's encoding (clue digit, or letter a-i for a blank)."""
    by_level: dict[int, list[str]] = {level: [] for level in LEVELS}
    for line in TABLE_PATH.read_text(encoding="ascii").splitlines():
        level, _, cells = line.partition(" ")
        by_level[int(level)].append(cells)
    return {level: tuple(cells) for level, cells in by_level.items()}


def _line_order(rng: random.Random) -> list[int]:
    """A permutation of 0..8 that keeps the three groups of three (bands or stacks) together."""
    groups = [0, 1, 2]
    rng.shuffle(groups)
    order = []
    for g in groups:
        inner = [3 * g, 3 * g + 1, 3 * g + 2]
        rng.shuffle(inner)
        order.extend(inner)
    return order


def _transform(cells: str, rng: random.Random) -> tuple[str, str]:
    """(puzzle with '.' blanks, solution digits) of a random symmetric variant of ``cells``."""
    relabel = list("123456789")
    rng.shuffle(relabel)
    rows, cols = _line_order(rng), _line_order(rng)
    transpose = rng.random() < 0.5
    puzzle, solution = [], []
    for r in range(9):
        for c in range(9):
            src = cells[rows[c] * 9 + cols[r]] if transpose else cells[rows[r] * 9 + cols[c]]
            if src in _BLANK_LETTERS:
                digit = relabel[_BLANK_LETTERS.index(src)]
                puzzle.append(".")
            else:
                digit = relabel[int(src) - 1]
                puzzle.append(digit)
            solution.append(digit)
    return "".join(puzzle), "".join(solution)


def _rows(grid81: str) -> list[str]:
    return [grid81[r * 9:(r + 1) * 9] for r in range(9)]


def _render_compact(puzzle: str) -> str:
    return "\n".join(_rows(puzzle))


def _render_boxed(puzzle: str) -> str:
    lines = []
    for r, row in enumerate(_rows(puzzle)):
        if r in (3, 6):
            lines.append("------+-------+------")
        lines.append(" | ".join(" ".join(row[k:k + 3]) for k in (0, 3, 6)))
    return "\n".join(lines)


_INTRO = {
    "en": (
        "Solve this Sudoku. Fill each blank cell (shown as `.`) with a digit from 1 to 9 so that "
        "every row, every column and every 3×3 box contains each digit exactly once.",
        "Here is a 9×9 Sudoku puzzle; `.` marks an empty cell. Complete it: each row, column and "
        "3×3 box must hold the digits 1-9 once each.",
        "Complete the Sudoku grid below. Empty cells are written as `.`. In the finished grid no "
        "digit may repeat within a row, a column or one of the nine 3×3 boxes.",
    ),
    "zh": (
        "请解下面的数独。用 1 到 9 的数字填满每个空格（用 `.` 表示），使每一行、每一列和每个 3×3 宫都恰好包含 1-9 各一次。",
        "下面是一个 9×9 数独，`.` 表示空格。请把它填完整：每行、每列、每个 3×3 宫中 1-9 各出现一次。",
        "完成下面的数独盘面，空格写作 `.`。填好后，任何一行、一列或九个 3×3 宫内都不能有重复数字。",
    ),
}
_UNIQUE = {
    "en": "The puzzle has exactly one solution.",
    "zh": "该谜题有且只有一个解。",
}
_FORMAT = {
    "en": (
        "Give the completed grid as 9 lines of 9 digits inside a ``` code block.",
        "Write your final answer as the full grid, one row per line (9 digits each), in a triple-backtick code block.",
        "Finish with the solved grid in a ``` block: 9 lines, 9 digits per line, no blanks.",
    ),
    "zh": (
        "请把完成后的盘面写在 ``` 代码块中：共 9 行，每行 9 个数字。",
        "最终答案请给出完整盘面，每行一行（每行 9 个数字），放在三个反引号包围的代码块里。",
        "最后用 ``` 代码块给出填好的盘面：9 行，每行 9 个数字，不留空格子。",
    ),
}


def generate(rng: random.Random, level: int, language: str) -> Generated:
    entries = _table()[level]
    base_index = rng.randrange(len(entries))
    puzzle, solution = _transform(entries[base_index], rng)
    grid = _render_boxed(puzzle) if rng.random() < 0.5 else _render_compact(puzzle)
    space = " " if language == "en" else ""
    prompt = (
        f"{rng.choice(_INTRO[language])}{space}{_UNIQUE[language]}\n\n```\n{grid}\n```\n\n"
        f"{rng.choice(_FORMAT[language])}"
    )
    answer = "```\n" + "\n".join(_rows(solution)) + "\n```"
    metadata = {
        "puzzle": puzzle,
        "solution": solution,
        "clues": LEVELS[level].clues,
        "technique": LEVELS[level].technique,
        "base_index": base_index,
    }
    return Generated(prompt, answer, metadata)


def parse_grid(block: str) -> tuple[str | None, str]:
    """(81 characters, "") from a code block's body, or (None, why it is not a grid).

    Lines without digits (blank lines, ``---``/``+---+`` rules, captions) are skipped.  A label
    ending in ``:`` (``Row 1:``, ``第1行：``) is dropped.  Digits may be separated by spaces,
    commas or ``|``.  ``.`` and ``0`` are read as unfilled cells.
    """
    if len(block) > MAX_BLOCK_CHARS:
        return None, "code block too long to be a 9x9 grid"
    rows = []
    for number, raw in enumerate(block.split("\n"), 1):
        line = normalize_width(raw).replace("：", ":")
        label_end = line.rfind(":")
        if label_end >= 0:
            line = line[label_end + 1:]
        cells = line.translate(_SEPARATORS)
        if not any(ch in _DIGITS for ch in cells):
            continue
        # ASCII only: '²'.isdigit() is True, and such characters must not pass as digits
        if not all(ch in _ROW_CHARS for ch in cells):
            return None, f"line {number} of the code block is not a row of digits"
        if len(cells) != 9:
            return None, f"line {number} of the code block has {len(cells)} cells, not 9"
        rows.append(cells)
        if len(rows) > 9:
            return None, "code block has more than 9 rows"
    if len(rows) != 9:
        return None, f"code block has {len(rows)} rows, not 9"
    return "".join(rows), ""


def _rule_break(grid: str) -> str:
    """'' when every row, column and box holds 1-9 once; else what breaks."""
    full = set("123456789")
    for k in range(9):
        if set(grid[k * 9:(k + 1) * 9]) != full:
            return f"row {k + 1} does not hold 1-9 once each"
        if set(grid[k::9]) != full:
            return f"column {k + 1} does not hold 1-9 once each"
        top, left = (k // 3) * 3, (k % 3) * 3
        box = {grid[(top + dr) * 9 + left + dc] for dr in range(3) for dc in range(3)}
        if box != full:
            return f"box {k + 1} does not hold 1-9 once each"
    return ""


def verify(answer_text: str, metadata: dict) -> Verdict:
    block = last_fenced_block(answer_text)
    if block is None:
        return Verdict.bad_format("no complete ``` code block with the grid")
    grid, why = parse_grid(block)
    if grid is None:
        return Verdict.bad_format(why)
    if "." in grid or "0" in grid:
        return Verdict.wrong("grid has unfilled cells")
    puzzle = metadata["puzzle"]
    for i in range(81):
        if puzzle[i] != "." and grid[i] != puzzle[i]:
            return Verdict.wrong(f"changes the given clue at row {i // 9 + 1}, column {i % 9 + 1}")
    broken = _rule_break(grid)
    if broken:
        return Verdict.wrong(broken)
    # Rules kept and every clue kept: with a unique puzzle this is the solution.
    return Verdict.ok()


TASK_TYPE = TaskType(
    name="sudoku", id_blocks=(7,), languages=("en", "zh"), zh_share=0.5, randomness="mt",
    levels=LEVELS, generate=generate, verify=verify, worked_solution=None,
    answer_formats=_FORMAT,
)
