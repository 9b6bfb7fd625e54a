"""The ``veritas`` command.  Each subcommand lives in its own module that defines
``add_arguments(parser)`` and ``run(args) -> int``; modules load only when their command runs."""
from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("veritas.data.generate", "generate LGC-V2 tasks to JSONL or verl parquet (SFT/RL)"),
    "check-data": ("veritas.data.check", "validate an SFT or RL parquet before training"),
    "eval": ("veritas.evaluation.cli", "per-task accuracy of a model on held-out tasks"),
    "bench": ("veritas.bench", "benchmark generation and verification speed per task type"),
    "prepare-model": ("veritas.models.embedded", "convert the embedded SmolLM2-135M GGUF to a HF checkpoint"),
    "show": ("veritas.show", "print one task (prompt, answer) by task_id"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="veritas", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser.print_help() if not argv or argv[0] in ("-h", "--help") else parser.error(f"unknown command {argv[0]!r}")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    cmd_parser = argparse.ArgumentParser(prog=f"veritas {name}", description=COMMANDS[name][1])
    module.add_arguments(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
