"""veritas.verl_adapters.main_ppo: the GRPO launcher's trainer command, our checks in the trainer's
own process before verl's main_ppo (the launch itself: tests/test_grpo_launcher.py)."""
from __future__ import annotations

import os

import pytest

from veritas.verl_adapters import main_ppo
from veritas.verl_adapters.compose import ConfigError

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "train", "config")


def test_the_command_line_is_split_as_hydra_reads_it():
    assert main_ppo.split_command_line(["--config-path=/c", "--config-name=n", "a=1", "+b.c=2"]) == ("/c", "n", ["a=1", "+b.c=2"])
    assert main_ppo.split_command_line(["-cp", "/c", "-cn", "n"]) == ("/c", "n", [])
    assert main_ppo.split_command_line(["--config-name", "n", "x=a=b"]) == (None, "n", ["x=a=b"])
    for bad, message in ((["a=1"], "--config-name is required"), (["--config-name"], "needs a value"),
                         (["--config-name=n", "--cfg", "job"], "--cfg: this entry takes")):
        with pytest.raises(ConfigError, match=message):
            main_ppo.split_command_line(bad)


def test_failed_checks_never_reach_verl(monkeypatch, capsys):
    verl_main = pytest.importorskip("verl.trainer.main_ppo")

    monkeypatch.setattr(verl_main, "main", lambda: pytest.fail("verl's main_ppo was reached"))
    assert main_ppo.main(["--config-name=grpo-smollm2-135m-1gpu", f"--config-path={CONFIG_DIR}", "data.no_such_key=1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "data.no_such_key" in err and len(err.strip().splitlines()) == 1
    assert main_ppo.main(["--multirun"]) == 1
