"""Read a ``.env`` file for the launchers (``train/scripts/common.sh``, ``load_dotenv``).

    python -m veritas.verl_adapters.dotenv_env FILE

The file is parsed by python-dotenv (``dotenv_values``), never sourced by a shell: ``$(cmd)`` and
backticks stay literal text, ``${VAR}`` expands from the environment.  stdout carries one
``KEY=VALUE`` entry per variable, each ended by a NUL byte, then the end marker
``__VERITAS_DOTENV_END__`` (NUL-ended), which tells the shell that the parser finished; the shell
exports the keys it does not have yet (the caller's environment wins) and names, never shows, them.

A line python-dotenv cannot parse is skipped with one notice naming the file and the line number,
never the line's text (it may hold a secret).  A file that cannot be read at all, or a missing
python-dotenv, is one ``error: ...`` line and exit status 1.  Keys without a value (``KEY`` alone)
and entries holding a NUL byte are left out.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

END_MARKER = "__VERITAS_DOTENV_END__"
# The warning python-dotenv logs (logger "dotenv.main") for each statement it skips.
_UNPARSED = "python-dotenv could not parse statement starting at line"


class DotenvError(RuntimeError):
    pass


class _UnparsedLines(logging.Handler):
    """Collects the line numbers of python-dotenv's "could not parse" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith(_UNPARSED) and record.args:
            self.lines.append(int(record.args[0]))


def read_env_file(path: str | Path) -> tuple[dict[str, str], list[int]]:
    """The variables ``path`` sets (interpolated as python-dotenv does) and the numbers of the
    lines it could not parse."""
    try:
        from dotenv import dotenv_values
    except ImportError as exc:
        raise DotenvError("python-dotenv is not installed (pip install python-dotenv); cannot read .env") from exc
    logger = logging.getLogger("dotenv.main")
    handler = _UnparsedLines()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # its own message names neither the file nor our notice's form
    try:
        values = dotenv_values(path, interpolate=True)
    except Exception as exc:  # a parse or read problem, reported without echoing file content
        raise DotenvError(f"cannot parse {path}: {type(exc).__name__}") from None
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
    kept = {k: v for k, v in values.items() if v is not None and "\0" not in k and "\0" not in v}
    return kept, handler.lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m veritas.verl_adapters.dotenv_env FILE", file=sys.stderr)
        return 2
    path = args[0]
    try:
        values, unparsed = read_env_file(path)
    except DotenvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in unparsed:
        print(f"notice: {path}:{line}: python-dotenv cannot parse this line; it is ignored", file=sys.stderr)
    out = sys.stdout.buffer
    for key, value in values.items():
        out.write(key.encode() + b"=" + value.encode() + b"\0")
    out.write(END_MARKER.encode() + b"\0")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
