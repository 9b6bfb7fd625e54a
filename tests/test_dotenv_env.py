"""veritas/verl_adapters/dotenv_env.py, the .env reader behind common.sh's load_dotenv: the entries
it hands the shell, lines it cannot parse named by file and line (never their text), one error
line when python-dotenv cannot read the file.  The launchers' own .env tests are in
tests/test_sft_launcher.py."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dotenv")

from veritas.verl_adapters.dotenv_env import END_MARKER, main, read_env_file  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECRET = "hf_dotenvSecret_77aa"


def test_values_are_data_interpolated_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VERITAS_TEST_HOME", "/home/x")
    env = tmp_path / "test.env"
    env.write_text(
        "# a comment\n"
        "PLAIN=1\n"
        "CMD=$(touch pwned)\n"
        "TICKS=`id`\n"
        'QUOTED="a b"\n'
        "export EXPORTED=yes\n"
        "HOME_DIR=${VERITAS_TEST_HOME}/m\n"
        "BARE\n"
    )
    values, unparsed = read_env_file(env)
    assert values == {"PLAIN": "1", "CMD": "$(touch pwned)", "TICKS": "`id`", "QUOTED": "a b", "EXPORTED": "yes",
                      "HOME_DIR": "/home/x/m"}  # BARE has no value: left out
    assert unparsed == [] and not (tmp_path / "pwned").exists()


def test_unparsable_lines_are_named_by_file_and_line_never_shown(tmp_path, capsysbinary):
    env = tmp_path / "bad.env"
    env.write_text(f"A=1\nexport EVIL='x'; touch pwned\nHF_TOKEN={SECRET}\nthis line {SECRET} is no statement\nB=2\n")
    assert main([str(env)]) == 0
    out, err = capsysbinary.readouterr()
    assert out.split(b"\0") == [b"A=1", f"HF_TOKEN={SECRET}".encode(), b"B=2", END_MARKER.encode(), b""]
    err = err.decode()
    assert err.splitlines() == [f"notice: {env}:2: python-dotenv cannot parse this line; it is ignored",
                                f"notice: {env}:4: python-dotenv cannot parse this line; it is ignored"]
    assert SECRET not in err and "touch" not in err


def test_unreadable_content_is_one_error_line_without_content(tmp_path, capsysbinary):
    env = tmp_path / "binary.env"
    env.write_bytes(b"A=1\nB=\xff\xfe" + SECRET.encode() + b"\n")
    assert main([str(env)]) == 1
    out, err = capsysbinary.readouterr()
    assert out == b""  # no end marker: the shell stops
    assert err.decode().splitlines() == [f"error: cannot parse {env}: UnicodeDecodeError"]


def test_runs_as_a_module_from_the_checkout(tmp_path):
    """common.sh runs it as `python -m` with only the checkout on PYTHONPATH."""
    env = tmp_path / "test.env"
    env.write_text("X=1\n")
    proc = subprocess.run([sys.executable, "-m", "veritas.verl_adapters.dotenv_env", str(env)], cwd=tmp_path,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"X=1\0" + END_MARKER.encode() + b"\0"
