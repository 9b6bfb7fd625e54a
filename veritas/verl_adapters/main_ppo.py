"""verl's ``main_ppo`` with our checks in the same process: the GRPO launcher's trainer command.

    python -m veritas.verl_adapters.main_ppo --config-path=DIR --config-name=NAME OVERRIDE...

First what ``python -m veritas.verl_adapters.compose --expect ppo --validate`` does (compose the
run config with the overrides, verl's ``validate_config`` and our checks; one ``error:`` line and
exit 1 if they fail, before Ray or any GPU), then ``verl.trainer.main_ppo.main`` with the same
command line, which composes it again through Hydra and trains.  The checks import verl, as the
trainer does anyway: in one process that import is paid once instead of twice (9-14 s of start-up
on the GPU machines, docs/performance.md).  The launcher's ``--dry-run`` still runs the checks
alone, in their own process.
"""
from __future__ import annotations

import sys

from veritas.verl_adapters import compose

_FLAGS = {"--config-path": "path", "-cp": "path", "--config-name": "name", "-cn": "name"}


def split_command_line(args: list[str]) -> tuple[str | None, str, list[str]]:
    """(config path, config name, overrides) of a ``main_ppo`` command line; raises ConfigError
    for a Hydra flag this entry does not take (run ``verl.trainer.main_ppo`` for those)."""
    found: dict[str, str] = {}
    overrides: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        flag, eq, value = arg.partition("=")
        if flag in _FLAGS:
            if not eq:
                if i + 1 >= len(args):
                    raise compose.ConfigError(f"{flag} needs a value")
                i += 1
                value = args[i]
            found[_FLAGS[flag]] = value
        elif arg.startswith("-"):
            raise compose.ConfigError(f"{arg}: this entry takes --config-path, --config-name and overrides; "
                                      "for Hydra's other flags run verl.trainer.main_ppo")
        else:
            overrides.append(arg)
        i += 1
    if "name" not in found:
        raise compose.ConfigError("--config-name is required")
    return found.get("path"), found["name"], overrides


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        path, name, overrides = split_command_line(args)
    except compose.ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    checks = ["--config-name", name, "--expect", "ppo", "--validate", *(["--config-path", path] if path else []),
              "--", *overrides]
    if compose.main(checks) != 0:
        return 1
    from verl.trainer import main_ppo

    # Hydra reads sys.argv; argv[0] names its job ("main_ppo", as with python -m verl.trainer.main_ppo)
    sys.argv = [main_ppo.__file__, *args]
    main_ppo.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
