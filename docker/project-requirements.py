"""Print the pip requirements docker/Dockerfile installs for this project, read from pyproject.toml.

    python3 docker/project-requirements.py [--pyproject FILE] [--stack FILE] [--extras train,test,demo]

The project's dependencies and the chosen extras (default: those setup-env.sh installs), one
requirement a line as pyproject.toml spells it, less what the image has by construction:

* BASE_IMAGE_PROVIDES: verl's image (verlai/verl) ships verl with its own stack; the [train]
  extra lists some of those only because verl 0.9.1 imports them without declaring them;
* every distribution docker/gpu-stack.txt pins: the Dockerfile installs them from that file.

So a dependency added to pyproject.toml reaches the image without a second list to keep.  Runs on
the image's Python (3.10+: tomllib, else tomli, else pip's vendored copy) and needs nothing else.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    try:
        import tomli as tomllib
    except ImportError:
        from pip._vendor import tomli as tomllib
try:
    from packaging.requirements import Requirement
except ImportError:  # pip always vendors packaging
    from pip._vendor.packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
DEFAULT_EXTRAS = ("train", "test", "demo")
# In verl's image by construction (verl and what it runs on), never a pip target of ours.
BASE_IMAGE_PROVIDES = ("verl", "torch", "ray", "tensordict", "uvicorn", "fastapi", "cachetools")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def stack_names(stack: Path) -> set[str]:
    """The distributions a pin file (``name==version`` lines, ``#`` comments) pins."""
    names = set()
    for line in stack.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(canonical(Requirement(line).name))
    return names


def requirements(pyproject: Path, extras: list[str], stack: Path | None) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise SystemExit(f"error: {pyproject} has no extra {', '.join(unknown)} (it has: {', '.join(sorted(optional))})")
    skip = set(map(canonical, BASE_IMAGE_PROVIDES)) | (stack_names(stack) if stack else set())
    out, seen = [], set()
    for line in [*project.get("dependencies", []), *(r for e in extras for r in optional[e])]:
        name = canonical(Requirement(line).name)
        if name not in skip and line not in seen:
            seen.add(line)
            out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pyproject", type=Path, default=HERE.parent / "pyproject.toml")
    p.add_argument("--stack", type=Path, default=HERE / "gpu-stack.txt", help="pins installed from their own file")
    p.add_argument("--extras", default=",".join(DEFAULT_EXTRAS), help="comma-separated extras of pyproject.toml")
    args = p.parse_args(argv)
    extras = [e for e in args.extras.split(",") if e]
    print("\n".join(requirements(args.pyproject, extras, args.stack)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
