"""Build ``cryptarithm_table.json``: proven-unique cryptarithms per level and shape.

``generate`` falls back to this table when its search budget runs out, so every entry must be
a puzzle with exactly one solution in the shape and letter range of its level's shape.  The
entries are found by the same candidate generator with an unbounded budget, deduplicated by
letter pattern, and each is re-proved independently by evaluating the equation for every
assignment of distinct digits to its letters (numpy, needed only here).

    python3 veritas/envs/lgc_v2/data/cryptarithm_build_table.py [--per-shape 40]

Deterministic: the same code and arguments write the same file.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

from veritas.envs.lgc_v2 import cryptarithm as C  # noqa: E402


_PERMUTATIONS: dict = {}  # n -> numpy array of digit rows


def digit_permutations(n: int):
    """All assignments of distinct digits to n letters, one row each (10!/(10-n)! rows)."""
    import numpy as np

    if n not in _PERMUTATIONS:
        rows = np.zeros((1, 0), dtype=np.int8)
        for _ in range(n):
            parts = []
            for d in range(10):
                keep = rows[~(rows == d).any(axis=1)]
                parts.append(np.hstack([keep, np.full((len(keep), 1), d, dtype=np.int8)]))
            rows = np.vstack(parts)
        _PERMUTATIONS[n] = rows
    return _PERMUTATIONS[n]


def solutions_by_enumeration(op: str, words: list[list[int]], n_letters: int) -> int:
    """Solutions of the lettered equation, counted by evaluating it for every assignment of
    distinct digits to the letters (vectorised with numpy; a build-time tool only)."""
    import numpy as np

    perms = digit_permutations(n_letters)
    ok = np.ones(len(perms), dtype=bool)
    for w in words:
        ok &= perms[:, w[0]] != 0
    if op == C.TIMES:
        values = []
        for w in words:  # at most 7 digits: int64 is ample
            v = np.zeros(len(perms), dtype=np.int64)
            for letter in w:
                v = v * 10 + perms[:, letter]
            values.append(v)
        ok &= values[0] * values[1] == values[2]
    else:
        weight = np.zeros(n_letters, dtype=np.int64)
        addends, total = C.addition_form(op, words[:-1], words[-1])
        for sign, group in ((1, addends), (-1, [total])):
            for w in group:
                for place, letter in enumerate(reversed(w)):
                    weight[letter] += sign * 10**place
        ok &= perms.astype(np.int32) @ weight.astype(np.int32) == 0
    return int(ok.sum())


def build(per_shape: int) -> dict:
    levels = {}
    for level, spec in C.LEVELS.items():
        shapes_out = []
        for index, (op, lengths, letters, _w) in enumerate(spec.shapes):
            rng = random.Random(f"cryptarithm-table/{level}/{index}")
            seen, entries = set(), []
            # small shapes have only a few unique puzzles: stop drawing when none are new
            for _ in range(per_shape * 50):
                if len(entries) >= per_shape:
                    break
                found = C.search_puzzle(rng, op, lengths, letters, budget=10**12)
                assert found is not None
                operands, result = found
                words, n_letters = C.pattern_of(operands + [result])
                key = tuple(tuple(w) for w in words)
                if key in seen:
                    continue
                seen.add(key)
                entries.append([operands, result])
            shapes_out.append(entries)
            print(f"level {level} shape {index} {op} {lengths}: {len(entries)}", file=sys.stderr)
        levels[str(level)] = shapes_out
    return {"about": "proven-unique cryptarithms per level and shape; built by cryptarithm_build_table.py",
            "levels": levels}


def check(table: dict, independent: bool) -> None:
    for level, shapes in table["levels"].items():
        spec = C.LEVELS[int(level)].shapes
        assert len(shapes) == len(spec)
        for (op, lengths, (lo, hi), _w), entries in zip(spec, shapes):
            for operands, result in entries:
                words, n = C.pattern_of(operands + [result])
                assert lo <= n <= hi
                count, _ = C.count_solutions(op, words[:-1], words[-1], n)
                assert count == 1, (level, operands, result)
                if independent:
                    assert solutions_by_enumeration(op, words, n) == 1, (level, operands, result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-shape", type=int, default=40)
    parser.add_argument("--output", type=Path, default=C.TABLE_PATH)
    args = parser.parse_args()
    table = build(args.per_shape)
    check(table, independent=True)
    text = table_text(table)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text)} bytes)", file=sys.stderr)


def table_text(table: dict) -> str:
    """JSON with one line per level and shape, so diffs stay readable."""
    compact = {"separators": (",", ":"), "ensure_ascii": False}
    levels = []
    for level, shapes in table["levels"].items():
        body = ",\n".join("  " + json.dumps(entries, **compact) for entries in shapes)
        levels.append(f"{json.dumps(level)}:[\n{body}\n]")
    return '{"about":' + json.dumps(table["about"], **compact) + ',"levels":{\n' + ",\n".join(levels) + "\n}}\n"


if __name__ == "__main__":
    main()
