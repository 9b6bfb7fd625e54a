"""Greedy failures as training rows: `veritas eval --split train` (the vLLM path with a stand-in
engine) judges tasks of the train split, `veritas generate --tasks-from RUN --verdict wrong` writes
rows of exactly the tasks it got wrong, generated again by the package (the same rows `veritas
generate` writes for those tasks), and the reward scores such a row; bad runs are refused with one
clear error."""
from __future__ import annotations

import json
from pathlib import Path

from test_eval_backends import CharTokenizer, FakeLLM, FakeSamplingParams

from veritas.cli import main
from veritas.data.formats import chat_prompt
from veritas.envs.lgc_v2 import registry
from veritas.evaluation import backends, cli
from veritas.evaluation.backends import VLLMBackend

TYPES = ["dyck_language", "operation"]


def _model(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"x")
    return model


def fake_eval(tmp_path: Path, monkeypatch, name: str, *args: str, right=lambda task: task.seed % 3 == 0,
              split: str | None = "train", n: int = 6) -> Path:
    """`veritas eval` of TYPES through a stand-in vLLM that answers a task right when ``right(task)``."""
    selection = cli.heldout_selection(TYPES, n, (3, 5), int(args[args.index("--seed") + 1]) if "--seed" in args else 0,
                                      None, split or "test")
    tasks = [selection.task(i) for i in range(len(selection))]
    tok = CharTokenizer()
    by_prompt = {tok.apply_chat_template(chat_prompt(t)): t for t in tasks}
    llm = FakeLLM(lambda prompt, j: (by_prompt[prompt].answer if right(by_prompt[prompt]) else "no idea", "stop"))
    monkeypatch.setattr(backends, "load_backend", lambda name_, model_dir, seed, gpu=None: VLLMBackend(
        llm, tok, FakeSamplingParams, seed))
    out = tmp_path / name
    split_args = ["--split", split] if split else []
    assert main(["eval", "--model", str(_model(tmp_path)), "--task-types", ",".join(TYPES), "--n-per-type", str(n),
                 "--difficulty", "3-5", "--backend", "vllm", *split_args, *args, "--output", str(out)]) == 0
    return out


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in (path / "samples.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------- eval --split

def test_eval_split_train_judges_train_split_tasks_and_records_the_split(tmp_path, monkeypatch):
    out = fake_eval(tmp_path, monkeypatch, "train")
    lo, hi = registry.split_seed_range("train")
    rows = _rows(out)
    assert len(rows) == 12
    seeds = [registry.split_task_id(r["task_id"])[1] for r in rows]
    assert all(lo <= s < hi for s in seeds) and min(seeds) == lo  # --seed 0: from the split's start
    assert json.loads((out / "results.json").read_text())["settings"]["split"] == "train"
    assert json.loads((out / "run.json").read_text())["split"] == "train"
    # the same order as the test split's tasks, only the seed range differs
    test = cli.heldout_tasks(TYPES, 6, (3, 5), 0)
    assert [r["task_type"] for r in rows] == [t.task_type for t in test]
    assert [s - lo for s in seeds] == [t.seed - registry.split_seed_range("test")[0] for t in test]


def test_eval_without_split_is_the_held_out_test_split_as_before(tmp_path, monkeypatch):
    out = fake_eval(tmp_path, monkeypatch, "default", split=None)
    lo, hi = registry.split_seed_range("test")
    assert [r["task_id"] for r in _rows(out)] == [t.task_id for t in cli.heldout_tasks(TYPES, 6, (3, 5), 0)]
    assert all(lo <= registry.split_task_id(r["task_id"])[1] < hi for r in _rows(out))
    assert json.loads((out / "results.json").read_text())["settings"]["split"] == "test"


def test_a_run_folder_of_one_split_is_not_resumed_with_another(tmp_path, monkeypatch, capsys):
    fake_eval(tmp_path, monkeypatch, "run")
    assert main(["eval", "--model", str(_model(tmp_path)), "--task-types", ",".join(TYPES), "--n-per-type", "6",
                 "--difficulty", "3-5", "--backend", "vllm", "--output", str(tmp_path / "run")]) == 2
    assert "other settings (split)" in capsys.readouterr().err


def test_compare_refuses_runs_of_different_splits_with_one_clear_error(tmp_path, monkeypatch, capsys):
    train = fake_eval(tmp_path, monkeypatch, "train")
    test = fake_eval(tmp_path, monkeypatch, "test", split="test")
    capsys.readouterr()
    assert main(["eval", "--compare", str(train), str(test)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "different splits" in err[0] and "the train split" in err[0] and "the test split" in err[0]
    assert main(["eval", "--compare", str(test), str(test), "--split-by", str(train)]) == 2
    assert "different splits" in capsys.readouterr().err
    assert main(["eval", "--compare", str(train), str(train)]) == 0
