"""veritas.verl_ext.liger: whether liger-kernel is installed when a run config asks for it (verl 0.9.1
fails late on model.use_liger without it, and silently falls back to its torch kernel on
fused_kernel_options.impl_backend=liger)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from _shared import fake_site

REPO = Path(__file__).resolve().parents[1]


def check(site: Path | None, use_liger: str, backend: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": f"{site}:{REPO}" if site else str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "veritas.verl_ext.liger", "check", use_liger, backend], env=env,
                          capture_output=True, text=True, timeout=60)


def test_nothing_is_asked_when_neither_setting_wants_liger():
    # what the composed config prints for verl's defaults, and other spellings
    for use_liger, backend in (("False", "torch"), ("false", "triton"), ("False", "None")):
        proc = check(None, use_liger, backend)
        assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", (use_liger, backend)


def test_a_missing_liger_is_one_line_naming_the_settings_that_ask(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = check(empty, "True", "liger")
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("error: the liger-kernel distribution (docker/gpu-stack.txt), asked for by "
                                  "use_liger=true and fused_kernel_options.impl_backend=liger, is not installed")
    only_backend = check(empty, "False", "liger")
    assert only_backend.returncode == 1 and "asked for by fused_kernel_options.impl_backend=liger," in only_backend.stderr


def test_an_installed_liger_is_named_and_an_old_one_refused(tmp_path):
    site = fake_site(tmp_path / "new", "liger-kernel", "0.8.5", ["liger_kernel"])
    ok = check(site, "true", "torch")
    assert ok.returncode == 0 and ok.stdout.strip() == "liger-kernel 0.8.5 (use_liger=true)"
    old = fake_site(tmp_path / "old", "liger-kernel", "0.5.10", ["liger_kernel"])
    refused = check(old, "False", "liger")
    assert refused.returncode == 1
    assert "liger-kernel 0.5.10 of" in refused.stderr and "older than verl 0.9.1's minimum, 0.8.2" in refused.stderr
    # the distribution's metadata without an importable package is not an installed kernel
    broken = tmp_path / "broken"
    (broken / "liger_kernel-0.8.5.dist-info").mkdir(parents=True)
    (broken / "liger_kernel-0.8.5.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: liger-kernel\nVersion: 0.8.5\n")
    assert check(broken, "true", "torch").returncode == 1


def test_usage_errors_exit_2():
    assert check(None, "false", "").returncode == 0  # an empty backend is no backend
    proc = subprocess.run([sys.executable, "-m", "veritas.verl_ext.liger", "check", "true"], capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and proc.stderr.startswith("usage:")
