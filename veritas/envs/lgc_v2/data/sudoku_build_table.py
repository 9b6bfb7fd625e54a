"""Build ``sudoku_table.txt``: base puzzles per difficulty level for the ``sudoku`` task type.

Run offline (minutes, not part of task generation):

    python3 veritas/envs/lgc_v2/data/sudoku_build_table.py [--per-level N] [--jobs J]

Every entry is a puzzle with exactly one solution, checked here by exhaustive search.  The task
generator turns each entry into ~10^12 distinct puzzles with transformations that keep validity
and uniqueness (digit relabelling, row/band and column/stack permutations, transposition).

Output format, one entry per line: ``<level> <81 chars>``, cells row by row; a clue is its digit
``1``-``9``, a blank is the letter ``a``-``i`` standing for its solution digit 1-9.  So one line
holds both the puzzle and its unique solution.

Levels fix the clue count and the solving technique the puzzle needs (the same numbers as
``LEVELS`` in ``sudoku.py``; a test checks they agree):
    technique "naked"  : naked singles alone solve it
    technique "singles": naked + hidden singles solve it
    technique "any"    : no restriction
    technique "hard"   : naked + hidden singles alone get stuck
The build is deterministic: each entry uses its own rng seeded by (level, index), so the defaults
reproduce the committed table byte for byte, whatever ``--jobs``.
"""
from __future__ import annotations

import argparse
import random
import sys
from multiprocessing import Pool
from pathlib import Path

# level -> (clue count, technique); mirrored in sudoku.LEVELS
LEVEL_SPECS = {
    1: (45, "naked"),
    2: (42, "naked"),
    3: (39, "singles"),
    4: (36, "singles"),
    5: (33, "singles"),
    6: (31, "singles"),
    7: (29, "any"),
    8: (27, "any"),
    9: (25, "any"),
    10: (24, "hard"),
}

ALL = 0x3FE  # bits 1..9
ROW = [i // 9 for i in range(81)]
COL = [i % 9 for i in range(81)]
BOX = [(i // 27) * 3 + (i % 9) // 3 for i in range(81)]
UNITS = (
    [[r * 9 + c for c in range(9)] for r in range(9)]
    + [[r * 9 + c for r in range(9)] for c in range(9)]
    + [[(b // 3) * 27 + (b % 3) * 3 + (k // 3) * 9 + k % 3 for k in range(9)] for b in range(9)]
)
PEERS = [sorted({j for u in UNITS if i in u for j in u} - {i}) for i in range(81)]
BITS = [[d for d in range(1, 10) if m >> d & 1] for m in range(1024)]


def count_solutions(grid: list[int], limit: int = 2) -> int:
    """Number of solutions of ``grid`` (0 = blank), stopping at ``limit``.

    Depth-first search on the blank with fewest candidates, row/column/box bitmasks.
    """
    rows, cols, boxes = [0] * 9, [0] * 9, [0] * 9
    blanks = []
    for i, d in enumerate(grid):
        if d:
            bit = 1 << d
            if rows[ROW[i]] & bit or cols[COL[i]] & bit or boxes[BOX[i]] & bit:
                return 0
            rows[ROW[i]] |= bit
            cols[COL[i]] |= bit
            boxes[BOX[i]] |= bit
        else:
            blanks.append(i)
    found = 0

    def search() -> bool:  # True: stop, the limit is reached
        nonlocal found
        best, best_mask, best_n = -1, 0, 10
        for k, i in enumerate(blanks):
            if i < 0:
                continue
            m = ALL & ~(rows[ROW[i]] | cols[COL[i]] | boxes[BOX[i]])
            n = len(BITS[m])
            if n < best_n:
                best, best_mask, best_n = k, m, n
                if n <= 1:
                    break
        if best < 0:
            found += 1
            return found >= limit
        if best_n == 0:
            return False
        i = blanks[best]
        blanks[best] = -1
        r, c, b = ROW[i], COL[i], BOX[i]
        for d in BITS[best_mask]:
            bit = 1 << d
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            stop = search()
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
            if stop:
                blanks[best] = i
                return True
        blanks[best] = i
        return False

    search()
    return found


def random_solution(rng: random.Random) -> list[int]:
    """A uniformly shuffled search for a complete valid grid."""
    grid = [0] * 81
    order = list(range(1, 10))

    def fill(i: int) -> bool:
        if i == 81:
            return True
        used = {grid[j] for j in PEERS[i]}
        digits = order[:]
        rng.shuffle(digits)
        for d in digits:
            if d not in used:
                grid[i] = d
                if fill(i + 1):
                    return True
        grid[i] = 0
        return False

    fill(0)
    return grid


def singles_rating(grid: list[int]) -> str:
    """'naked', 'singles' or 'hard': the least technique set that solves ``grid``."""
    for hidden in (False, True):
        g = grid[:]
        cand = [0 if g[i] else ALL for i in range(81)]
        for i in range(81):
            if g[i]:
                for j in PEERS[i]:
                    cand[j] &= ~(1 << g[i])
        progress = True
        while progress:
            progress = False
            for i in range(81):
                if not g[i] and len(BITS[cand[i]]) == 1:
                    _place(g, cand, i, BITS[cand[i]][0])
                    progress = True
            if hidden and not progress:
                for unit in UNITS:
                    for d in range(1, 10):
                        spots = [i for i in unit if not g[i] and cand[i] >> d & 1]
                        if len(spots) == 1 and not any(g[i] == d for i in unit):
                            _place(g, cand, spots[0], d)
                            progress = True
        if all(g):
            return "singles" if hidden else "naked"
    return "hard"


def _place(g, cand, i, d):
    g[i] = d
    cand[i] = 0
    for j in PEERS[i]:
        cand[j] &= ~(1 << d)


def technique_ok(rating: str, technique: str) -> bool:
    if technique == "naked":
        return rating == "naked"
    if technique == "singles":
        return rating in ("naked", "singles")
    if technique == "hard":
        return rating == "hard"
    return True


def make_entry(args: tuple[int, int]) -> str:
    level, index = args
    clues, technique = LEVEL_SPECS[level]
    rng = random.Random(f"veritas/sudoku-table/{level}/{index}")
    while True:
        solution = random_solution(rng)
        puzzle = solution[:]
        cells = list(range(81))
        rng.shuffle(cells)
        remaining = 81
        for i in cells:
            if remaining == clues:
                break
            d = puzzle[i]
            puzzle[i] = 0
            # unique iff no other digit in this cell leads to a solution
            if any(count_solutions(puzzle[:i] + [e] + puzzle[i + 1:], 1) for e in range(1, 10) if e != d):
                puzzle[i] = d
            else:
                remaining -= 1
        if remaining != clues or not technique_ok(singles_rating(puzzle), technique):
            continue
        assert count_solutions(puzzle, 2) == 1
        return f"{level} " + "".join(str(p) if p else "abcdefghi"[s - 1] for p, s in zip(puzzle, solution))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-level", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("sudoku_table.txt"))
    args = ap.parse_args()
    work = [(level, k) for level in LEVEL_SPECS for k in range(args.per_level)]
    with Pool(args.jobs) as pool:
        lines = pool.map(make_entry, work, chunksize=4)
    args.out.write_text("".join(line + "\n" for line in lines))
    print(f"wrote {len(lines)} entries to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
