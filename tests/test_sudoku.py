"""sudoku: table soundness (uniqueness re-checked by an independent solver), perturbations of the
reference answer, hostile input, accepted answer layouts, and regressions for the public
environment's faults."""
from __future__ import annotations

import importlib.util
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from veritas.envs import lgc_v2
from veritas.envs.lgc_v2 import sudoku

N_SEEDS = 2000


def _task(seed, level=None, language=None):
    return lgc_v2.generate_by_type("sudoku", seed, level, language)


def _block(rows, info=""):
    return f"```{info}\n" + "\n".join(rows) + "\n```"


def _rows(grid81):
    return [grid81[r * 9:(r + 1) * 9] for r in range(9)]


def _valid(grid81):
    full = set("123456789")
    for k in range(9):
        top, left = (k // 3) * 3, (k % 3) * 3
        if (set(grid81[k * 9:k * 9 + 9]) != full or set(grid81[k::9]) != full
                or {grid81[(top + i) * 9 + left + j] for i in range(3) for j in range(3)} != full):
            return False
    return True


def count_solutions_exact_cover(puzzle, limit=2):
    """Independent of the table builder's solver: Sudoku as exact cover, Knuth's Algorithm X
    over dicts of sets, counting solutions up to ``limit``."""
    def constraints(r, c, d):
        return (("cell", r, c), ("row", r, d), ("col", c, d), ("box", (r // 3) * 3 + c // 3, d))

    given_keys = set()
    for i, ch in enumerate(puzzle):
        if ch != ".":
            for key in constraints(i // 9, i % 9, ch):
                if key in given_keys:
                    return 0
                given_keys.add(key)
    columns, rows_of = {}, {}
    for i, ch in enumerate(puzzle):
        if ch == ".":
            for d in "123456789":
                keys = constraints(i // 9, i % 9, d)
                if not any(k in given_keys for k in keys):
                    rows_of[(i, d)] = keys
                    for k in keys:
                        columns.setdefault(k, set()).add((i, d))
    for r in range(9):
        for c in range(9):
            for d in "123456789":
                for k in constraints(r, c, d):
                    if k not in given_keys and k not in columns:
                        return 0  # a rule the clues leave open can no longer be met

    def select(cand):
        removed = []
        for col in rows_of[cand]:
            for other in columns[col]:
                for col2 in rows_of[other]:
                    if col2 != col:
                        columns[col2].discard(other)
            removed.append(columns.pop(col))
        return removed

    def deselect(cand, removed):
        for col in reversed(rows_of[cand]):
            columns[col] = removed.pop()
            for other in columns[col]:
                for col2 in rows_of[other]:
                    if col2 != col:
                        columns[col2].add(other)

    count = 0

    def search():
        nonlocal count
        if not columns:
            count += 1
            return
        col = min(columns, key=lambda k: len(columns[k]))
        for cand in list(columns[col]):
            removed = select(cand)
            search()
            deselect(cand, removed)
            if count >= limit:
                return

    search()
    return count


def _decode(cells):
    puzzle = "".join(ch if ch in "123456789" else "." for ch in cells)
    solution = "".join(ch if ch in "123456789" else str("abcdefghi".index(ch) + 1) for ch in cells)
    return puzzle, solution


def _builder():
    spec = importlib.util.spec_from_file_location("sudoku_build_table", sudoku.TABLE_PATH.with_name("sudoku_build_table.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# --- the table -------------------------------------------------------------------------------

def test_solver_self_check():
    assert count_solutions_exact_cover("." * 81) == 2
    assert count_solutions_exact_cover("11" + "." * 79) == 0
    task = _task(0, 10)
    assert count_solutions_exact_cover(task.metadata["solution"]) == 1


def test_table_entries_have_exactly_one_solution_by_an_independent_solver():
    """Every 4th entry of each level (all with VERITAS_SUDOKU_FULL_CHECK=1, ~5 s): transformed
    tasks inherit uniqueness from their base entry."""
    step = 1 if os.environ.get("VERITAS_SUDOKU_FULL_CHECK") else 4
    table = sudoku._table()
    assert sorted(table) == list(range(1, 11))
    for level, entries in table.items():
        assert len(entries) == 200
        for k, cells in enumerate(entries):
            assert len(cells) == 81 and all(ch in "123456789abcdefghi" for ch in cells)
            puzzle, solution = _decode(cells)
            assert 81 - puzzle.count(".") == sudoku.LEVELS[level].clues
            assert _valid(solution)
            if k % step == 0:
                assert count_solutions_exact_cover(puzzle) == 1, (level, cells)


def test_table_matches_levels_and_techniques():
    builder = _builder()
    assert {lvl: sudoku.SudokuKnobs(c, t) for lvl, (c, t) in builder.LEVEL_SPECS.items()} == sudoku.LEVELS
    for level, entries in sudoku._table().items():
        for cells in entries[:25]:
            puzzle, _ = _decode(cells)
            grid = [0 if ch == "." else int(ch) for ch in puzzle]
            assert builder.technique_ok(builder.singles_rating(grid), sudoku.LEVELS[level].technique)


def test_generated_tasks_are_unique_and_consistent():
    """Fault: the public env never checked uniqueness.  Transformed tasks are re-checked too."""
    for seed in range(60):
        task = _task(seed, 1 + seed % 10)
        puzzle, solution = task.metadata["puzzle"], task.metadata["solution"]
        assert count_solutions_exact_cover(puzzle) == 1
        assert _valid(solution)
        assert all(p in (".", s) for p, s in zip(puzzle, solution))
        assert 81 - puzzle.count(".") == sudoku.LEVELS[task.difficulty].clues
        # every clue is shown in the prompt's grid, row by row
        shown = [line.replace(" ", "").replace("|", "") for line in task.prompt.split("\n")]
        shown = [s for s in shown if len(s) == 9 and set(s) <= set("123456789.")]
        assert "".join(shown) == puzzle


def test_transformations_give_many_distinct_tasks():
    puzzles = {_task(seed, 5).metadata["puzzle"] for seed in range(300)}
    assert len(puzzles) == 300


# --- perturbations ---------------------------------------------------------------------------

def _perturbations(task):
    sol = task.metadata["solution"]
    puzzle = task.metadata["puzzle"]
    blank = puzzle.index(".")
    clue = next(i for i, p in enumerate(puzzle) if p != ".")
    out = []
    # one blank filled with another digit
    other = "1" if sol[blank] != "1" else "2"
    out.append(("one cell", sol[:blank] + other + sol[blank + 1:]))
    # one clue changed
    other = "1" if sol[clue] != "1" else "2"
    out.append(("clue", sol[:clue] + other + sol[clue + 1:]))
    # two cells of a row swapped
    r = blank // 9
    j = r * 9 + (blank % 9 + 1) % 9
    g = list(sol)
    g[blank], g[j] = g[j], g[blank]
    out.append(("swap", "".join(g)))
    # a valid grid that ignores the clues: two digits exchanged everywhere
    a = puzzle[clue]
    b = "9" if a != "9" else "8"
    out.append(("relabel", sol.translate(str.maketrans(a + b, b + a))))
    # a valid grid: two rows of a band exchanged
    rows = _rows(sol)
    rows[0], rows[1] = rows[1], rows[0]
    out.append(("rows", "".join(rows)))
    transposed = "".join(sol[c * 9 + r] for r in range(9) for c in range(9))
    if transposed != sol:
        out.append(("transpose", transposed))
    out.append(("blank left", sol[:blank] + "." + sol[blank + 1:]))
    return out


def test_perturbed_grids_score_incorrect():
    for seed in range(N_SEEDS):
        task = _task(seed)
        for name, grid in _perturbations(task):
            assert grid != task.metadata["solution"]
            v = sudoku.verify(_block(_rows(grid)), task.metadata)
            assert not v.correct and v.format_ok, (seed, name, v)
        rows = _rows(task.metadata["solution"])
        for bad in (rows[:8], rows + rows[:1], [r[:8] for r in rows], [r + "1" for r in rows]):
            v = sudoku.verify(_block(bad), task.metadata)
            assert not v.correct and not v.format_ok, (seed, v)


def test_right_then_wrong_is_wrong_and_wrong_then_right_is_right():
    """Fault: the public env read the first 9 lines, so a right grid followed by a wrong one won."""
    for seed in range(200):
        task = _task(seed)
        right = _block(_rows(task.metadata["solution"]))
        for _, grid in _perturbations(task)[:3]:
            wrong = _block(_rows(grid))
            assert not sudoku.verify(right + "\nWait, let me fix that.\n" + wrong, task.metadata).correct
            assert sudoku.verify(wrong + "\nCorrection:\n" + right, task.metadata).correct


# --- accepted layouts and format decisions ---------------------------------------------------

def test_harmless_layouts_accepted():
    """Fault: the public env rejected "Row 1:" labels; separators and rules are fine too."""
    task = _task(7, 6)
    rows = _rows(task.metadata["solution"])
    spaced = [" ".join(r) for r in rows]
    boxed = []
    for k, r in enumerate(rows):
        if k in (3, 6):
            boxed.append("------+-------+------")
        boxed.append(" | ".join(" ".join(r[i:i + 3]) for i in (0, 3, 6)))
    framed = ["+-------+-------+-------+"]
    for k, r in enumerate(rows):
        framed.append("| " + " | ".join(" ".join(r[i:i + 3]) for i in (0, 3, 6)) + " |")
        if k % 3 == 2:
            framed.append("+-------+-------+-------+")
    variants = [
        _block(rows),
        _block(spaced),
        _block([f"Row {k + 1}: " + " ".join(r) for k, r in enumerate(rows)]),
        _block([f"row {k + 1}: " + ", ".join(r) for k, r in enumerate(rows)]),
        _block([f"第{k + 1}行：" + " ".join(r) for k, r in enumerate(rows)]),
        _block([",".join(r) for r in rows]),
        _block(["|".join(r) for r in rows]),
        _block(boxed),
        _block(framed),
        _block(["---"] + rows[:3] + ["---"] + rows[3:6] + ["---"] + rows[6:] + ["---"]),
        _block(rows, "text"),
        _block(rows, "sudoku"),
        "```\r\n" + "\r\n".join(rows) + "\r\n```",
        "```\n\n" + "\n".join(rows) + "\n\n```",
        "```\nSolution\n" + "\n".join(rows) + "\n```",
        # full-width digits, common in Chinese answers
        _block([r.translate(str.maketrans("0123456789", "０１２３４５６７８９")) for r in rows]),
        "I filled the grid row by row.\n\n" + _block(rows) + "\n\nEach row, column and box is complete.",
        "```\n" + "\n".join(rows[:4]) + "\n```\n(draft)\n" + _block(rows),  # last block counts
    ]
    for text in variants:
        v = sudoku.verify(text, task.metadata)
        assert v.correct, (text, v)


def test_clues_must_be_kept():
    """A valid complete grid that ignores the given clues is wrong."""
    for seed in range(100):
        task = _task(seed)
        relabelled = dict(_perturbations(task))["relabel"]
        assert _valid(relabelled)
        v = sudoku.verify(_block(_rows(relabelled)), task.metadata)
        assert not v.correct and "clue" in v.reason


def test_no_fenced_block_is_not_accepted():
    """Documented choice: without a complete ``` block there is no answer (format_ok False)."""
    task = _task(3)
    rows = _rows(task.metadata["solution"])
    for text in ("The answer is:\n" + "\n".join(rows), "\n".join(rows), "```\n" + "\n".join(rows)):
        v = sudoku.verify(text, task.metadata)
        assert not v.correct and not v.format_ok


def test_superscript_and_other_unicode_digits_never_raise():
    """Fault: the public env crashed on '²' ('²'.isdigit() is True)."""
    task = _task(11)
    rows = _rows(task.metadata["solution"])
    for odd in ("²", "³", "¹", "٣", "𝟙", "①", "⁹"):
        bad = rows[:]
        bad[4] = odd + bad[4][1:]
        v = sudoku.verify(_block(bad), task.metadata)
        assert not v.correct and not v.format_ok
        v = sudoku.verify(_block([odd * 9] * 9), task.metadata)
        assert not v.correct


# --- hostile input ---------------------------------------------------------------------------

_TASK = _task(5, 9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_text_never_raises_never_correct(text):
    meta = _TASK.metadata
    for candidate in (text, "```\n" + text + "\n```", "```" + text):
        v = sudoku.verify(candidate, meta)
        assert isinstance(v.correct, bool) and isinstance(v.reason, str)
        assert not v.correct
    # whatever follows a right answer never raises (it may or may not close a later block)
    v = sudoku.verify(_block(_rows(meta["solution"])) + text, meta)
    assert isinstance(v.correct, bool)
    if "```" not in text:
        assert v.correct


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789 ,|.-+:Row\t", min_size=0, max_size=30), min_size=0, max_size=14))
def test_fuzz_grid_like_blocks_never_raise(lines):
    v = sudoku.verify("```\n" + "\n".join(lines) + "\n```", _TASK.metadata)
    assert isinstance(v.correct, bool)
    if v.correct:  # only possible when the digits read are exactly the solution
        digits = "".join(ch for line in lines for ch in line.rpartition(":")[2] if ch.isdigit())
        assert digits == _TASK.metadata["solution"]


# megabyte responses; tests/benchmarks/bench_timings.py times them
HUGE_BLOCKS = ("```\n" + "1" * 1_000_000 + "\n```", "```\n" + "1 2 3\n" * 200_000 + "```",
               "```\n" + "Row 1: " * 150_000 + "\n```", "```\n" + "\n" * 1_000_000 + "```")
FENCE_FLOOD = "```\n" * 300_000


def test_huge_blocks_are_unreadable():
    for text in HUGE_BLOCKS:
        v = sudoku.verify(text, _TASK.metadata)
        assert not v.correct and not v.format_ok


def test_fence_flood_never_raises():
    assert not sudoku.verify(FENCE_FLOOD, _TASK.metadata).correct
