"""Greedy failures as training rows: `veritas eval --split train` (the vLLM path with a stand-in
engine) judges tasks of the train split, `veritas generate --tasks-from RUN --verdict wrong` writes
rows of exactly the tasks it got wrong, generated again by the package (the same rows `veritas
generate` writes for those tasks), and the reward scores such a row; bad runs are refused with one
clear error."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_eval_backends import CharTokenizer, FakeLLM, FakeSamplingParams

from veritas.cli import main
from veritas.data.formats import chat_prompt
from veritas.data.mine import MineError, MineSpec
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


# ---------------------------------------------------------------- generate --tasks-from

def _generate(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["generate", "--no-progress", *args])
    return rc, capsys.readouterr().err


def test_the_rows_are_the_tasks_judged_wrong_and_equal_generates_own_rows(tmp_path, monkeypatch, capsys):
    run = fake_eval(tmp_path, monkeypatch, "train")
    judged = _rows(run)
    wrong = [r for r in judged if not r["correct"]]
    assert 0 < len(wrong) < len(judged)
    out = tmp_path / "mined.parquet"
    rc, err = _generate(capsys, "--format", "rl", "--tasks-from", str(run), "--output", str(out))
    assert rc == 0, err
    per_type = {t: sum(r["task_type"] == t for r in wrong) for t in TYPES}
    assert f"{len(wrong)} of 12 tasks judged wrong (per type: dyck_language={per_type['dyck_language']}/6, " \
           f"operation={per_type['operation']}/6)" in err
    rows = pq.read_table(out).to_pylist()
    assert [r["extra_info"]["task_id"] for r in rows] == [r["task_id"] for r in wrong]
    assert all(r["extra_info"]["split"] == "train" for r in rows)
    assert [r["extra_info"]["index"] for r in rows] == list(range(len(rows)))
    # each row is what `veritas generate --format rl` writes for that task (its index apart)
    for i, (row, sample) in enumerate(zip(rows, wrong)):
        one = tmp_path / f"one-{i}.parquet"
        rc, err = _generate(capsys, "--format", "rl", "--split", "train", "--start-task-id", str(sample["task_id"]),
                            "--task-types", sample["task_type"], "--num-samples", "1",
                            "--difficulty", str(sample["difficulty"]), "--language", sample["language"],
                            "--output", str(one))
        assert rc == 0, err
        (reference,) = pq.read_table(one).to_pylist()
        assert reference["extra_info"].pop("index") == 0
        assert row["extra_info"].pop("index") == i
        assert row == reference
    # --verdict right: the others
    right = tmp_path / "right.parquet"
    assert _generate(capsys, "--format", "rl", "--tasks-from", str(run), "--verdict", "right", "--output", str(right))[0] == 0
    assert [r["extra_info"]["task_id"] for r in pq.read_table(right).to_pylist()] == \
        [r["task_id"] for r in judged if r["correct"]]
    # gzipped samples, as the recipe keeps them, give the same rows
    gz = tmp_path / "gz"
    gz.mkdir()
    shutil.copy(run / "results.json", gz / "results.json")
    with gzip.open(gz / "samples.jsonl.gz", "wt") as f:
        f.write((run / "samples.jsonl").read_text())
    again = tmp_path / "again.parquet"
    assert _generate(capsys, "--format", "rl", "--tasks-from", str(gz), "--output", str(again))[0] == 0
    assert pq.read_table(again).equals(pq.read_table(out))


def test_a_mined_row_is_scored_by_the_reward_as_its_task(tmp_path, monkeypatch, capsys):
    from veritas.verl_adapters.reward import compute_lgc_v2_score

    run = fake_eval(tmp_path, monkeypatch, "train")
    out = tmp_path / "mined.parquet"
    assert _generate(capsys, "--format", "rl", "--tasks-from", str(run), "--output", str(out))[0] == 0
    for row in pq.read_table(out).to_pylist():
        task = registry.generate(row["extra_info"]["task_id"], row["extra_info"]["difficulty"], row["extra_info"]["language"])
        kwargs = dict(data_source=row["data_source"], ground_truth=row["reward_model"]["ground_truth"],
                      extra_info=row["extra_info"])
        good = compute_lgc_v2_score(solution_str=task.answer, **kwargs)
        bad = compute_lgc_v2_score(solution_str="no idea", **kwargs)
        assert good["acc"] == 1.0 and good["score"] == 1.0
        assert bad["acc"] == 0.0 and bad["task_type_id"] == registry.type_ids()[task.task_type]


def _run_folder(tmp_path: Path, rows, settings=None) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(exist_ok=True)
    (folder / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "results.json").write_text(json.dumps({"settings": {"samples": 1, "temperature": 0.0, "split": "train",
                                                                  "system_prompt": None, "reasoning": False,
                                                                  **(settings or {})}}))
    return folder


def _sample(task, correct=False, **change):
    return {"task_id": task.task_id, "task_type": task.task_type, "sample": 0, "difficulty": task.difficulty,
            "language": task.language, "prompt": task.prompt, "response": "x", "correct": correct, **change}


@pytest.mark.parametrize("case,message", [
    ("sampled", "a sampled run (8 samples a task at temperature 1.0)"),
    ("no results", "results.json does not exist"),
    ("no samples", "holds no samples.jsonl or samples.jsonl.gz"),
    ("malformed", "row 2 is not a veritas eval sample"),
    ("wrong type", "is a dyck_language task, the row says operation"),
    ("other prompt", "another prompt than the one judged"),
    ("all right", "none of its 2 tasks was judged wrong"),
    ("test split run", "judged tasks of the test split: pass --split test"),
    ("other system prompt", "pass the same --system-prompt and --reasoning"),
])
def test_runs_that_cannot_be_mined_are_refused_naming_the_file(tmp_path, capsys, case, message):
    a, b = (registry.generate_by_type("dyck_language", s, 4, "en") for s in (7, 8))
    rows, settings = [_sample(a), _sample(b, correct=True)], {}
    if case == "sampled":
        settings = {"samples": 8, "temperature": 1.0}
    elif case == "malformed":
        rows[1] = {"task_id": b.task_id, "correct": "yes"}
    elif case == "wrong type":
        rows[0]["task_type"] = "operation"
    elif case == "other prompt":
        rows[0]["prompt"] += " (edited)"
    elif case == "all right":
        rows[0]["correct"] = True
    elif case == "test split run":
        a, b = (registry.generate_by_type("dyck_language", s, 4, "en") for s in (90_000_007, 90_000_008))
        rows, settings = [_sample(a), _sample(b)], {"split": "test"}
    elif case == "other system prompt":
        settings = {"system_prompt": "Be brief."}
    folder = _run_folder(tmp_path, rows, settings)
    if case == "no results":
        (folder / "results.json").unlink()
    elif case == "no samples":
        (folder / "samples.jsonl").unlink()
    out = tmp_path / "out.parquet"
    rc, err = _generate(capsys, "--format", "rl", "--tasks-from", str(folder), "--output", str(out))
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    if case not in ("test split run", "other system prompt", "sampled", "all right"):
        assert str(folder) in err  # names the file
    assert not out.exists()


def test_tasks_from_takes_no_task_choosing_flags(tmp_path, capsys):
    folder = _run_folder(tmp_path, [_sample(registry.generate_by_type("operation", 3, 3, "en"))])
    rc, err = _generate(capsys, "--format", "rl", "--tasks-from", str(folder), "--num-samples", "4", "--difficulty", "2",
                        "--output", str(tmp_path / "x.parquet"))
    assert rc == 2 and "--num-samples, --difficulty cannot be given with it" in err
    rc, err = _generate(capsys, "--format", "rl", "--output", str(tmp_path / "x.parquet"))
    assert rc == 2 and "--num-samples is required (or --tasks-from RUN)" in err


# ---------------------------------------------------------------- data.lgc_v2.mine

def test_mine_settings_are_validated():
    spec = MineSpec.from_mapping({"split": "train", "levels": [3, 5], "tasks_per_type": 512})
    assert spec == MineSpec("train", (3, 5), 512, 1) and spec.line() == "train 3-5 512 1 1000003 0"
    assert spec.first_seed() == 1_000_003
    assert MineSpec.from_mapping(None) is None
    for raw, message in [({"split": "test", "levels": [3, 5], "tasks_per_type": 8}, "held-out split"),
                         ({"split": "train", "levels": [5, 3], "tasks_per_type": 8}, "lo > hi"),
                         ({"split": "train", "levels": [3, 5], "tasks_per_type": 0}, "positive integer"),
                         ({"split": "train", "levels": [3, 5]}, "missing ['tasks_per_type']"),
                         ({"split": "train", "levels": [3, 5], "tasks_per_type": 8, "size": 3}, "unknown keys ['size']"),
                         ([3, 5], "must be a mapping"),
                         # eval's selection at seed 80 of the train split's 80M seeds wraps to its start
                         ({"split": "train", "levels": [3, 5], "tasks_per_type": 512, "seed": 80}, "would wrap"),
                         ({"split": "val", "levels": [3, 5], "tasks_per_type": 512, "seed": 10}, "would wrap")]:
        with pytest.raises(MineError, match=message.replace("[", r"\[").replace("]", r"\]")):
            MineSpec.from_mapping(raw)


# ---------------------------------------------------------------- right_per_wrong: the right tasks replayed

def _verdicts(tmp_path, pattern: str) -> tuple[Path, list]:
    """A run folder of tasks judged by ``pattern`` (W wrong, R right), types alternating as eval's
    round-robin samples do; (folder, rows)."""
    rows = []
    for i, verdict in enumerate(pattern):
        task = registry.generate_by_type(TYPES[i % 2], 7 + i // 2, 4, "en")
        rows.append(_sample(task, correct=verdict == "R"))
    return _run_folder(tmp_path, rows), rows


@pytest.mark.parametrize("pattern,ratio,replayed,wanted", [
    ("WRRWRRRW", 1.0, 3, 3),  # the wrong ones, then as many right ones, one of each type in turn
    ("WRRWRRRW", 0.5, 2, 2),  # round(1.5): Python rounds halves to even
    ("WRRWRRRW", 2.0, 5, 6),  # capped at the 5 right ones there are
    ("WRRWRRRW", 0.0, 0, 0),  # today's behaviour
    ("WWWWR", 0.1, 0, 0),  # round(0.4): none
])
def test_right_per_wrong_replays_the_first_right_tasks_after_the_wrong_ones(tmp_path, pattern, ratio, replayed, wanted):
    from veritas.data.mine import tasks_from_run

    folder, rows = _verdicts(tmp_path, pattern)
    mined = tasks_from_run(folder, "wrong", ratio)
    wrong = [r for r in rows if not r["correct"]]
    right = [r for r in rows if r["correct"]]
    ids = [registry.make_task_id(t, s) for t, s, _, _ in mined.tasks.entries]
    assert ids == [r["task_id"] for r in wrong + in_turn_by_type(right)[:replayed]]
    assert (mined.replayed, mined.replay_wanted) == (replayed, wanted)
    assert sum(mined.chosen.values()) == len(wrong)  # the verdict's own count, as before


def in_turn_by_type(rows: list) -> list:
    """rows one of each type in turn (types in order of first appearance), as the replay takes them."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(row["task_type"], []).append(row)
    out, lists = [], list(groups.values())
    for i in range(max(map(len, lists), default=0)):
        out += [group[i] for group in lists if i < len(group)]
    return out


def test_right_per_wrong_takes_the_right_tasks_in_turn_from_each_type_of_a_run_listed_type_by_type(tmp_path):
    """An evaluation lists its tasks type by type: the replayed right ones must still come from every
    type, not only the first types' (on the sixteenth run's mine folder the first 548 right tasks
    were all dyck_language and dyck_language2)."""
    from veritas.data.mine import tasks_from_run

    rows = []
    for t, task_type in enumerate(TYPES):
        for i in range(4):  # W R R R for each type, the types one after the other
            task = registry.generate_by_type(task_type, 7 + i, 4, "en")
            rows.append(_sample(task, correct=i > 0))
    mined = tasks_from_run(_run_folder(tmp_path, rows), "wrong", 1.5)  # 2 wrong -> 3 right
    replayed = [t for t, _, _, _ in mined.tasks.entries][2:]
    assert replayed == [TYPES[0], TYPES[1], TYPES[0]]
    seeds = [s for _, s, _, _ in mined.tasks.entries][2:]
    assert seeds == [8, 8, 9]  # within a type in the run's order


def test_right_per_wrong_is_refused_with_the_right_verdict_and_when_it_is_not_a_number_at_least_0(tmp_path):
    from veritas.data.mine import tasks_from_run

    folder, _ = _verdicts(tmp_path, "WRRW")
    with pytest.raises(MineError, match="needs verdict wrong"):
        tasks_from_run(folder, "right", 1.0)
    for bad, message in [(-0.5, "be >= 0"), (True, "not a bool"), ("1", "be a number >= 0"), (float("nan"), "finite")]:
        with pytest.raises(MineError, match=f"^right_per_wrong must .*{message}"):
            tasks_from_run(folder, "wrong", bad)


def _summary(capsys, *args: str) -> str:
    """generate's summary line (its last line of stdout), the run having succeeded."""
    capsys.readouterr()
    rc = main(["generate", "--no-progress", *args])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out.strip().splitlines()[-1]


def test_generate_right_per_wrong_writes_wrong_then_right_rows_and_says_so(tmp_path, capsys):
    folder, rows = _verdicts(tmp_path, "WRRWRRRW")
    out = tmp_path / "mined.parquet"
    summary = _summary(capsys, "--format", "rl", "--tasks-from", str(folder), "--right-per-wrong", "1", "--output", str(out))
    wrong = [r["task_id"] for r in rows if not r["correct"]]
    right = [r["task_id"] for r in in_turn_by_type([r for r in rows if r["correct"]])]
    assert [r["extra_info"]["task_id"] for r in pq.read_table(out).to_pylist()] == wrong + right[:3]
    # the recipe reads the row count (": N rows (") and the counts after it
    assert f"{out}: 6 rows (6 new, 0 kept); " in summary and summary.endswith("; 3 wrong + 3 right")
    capped = tmp_path / "capped.parquet"
    assert _summary(capsys, "--format", "rl", "--tasks-from", str(folder), "--right-per-wrong", "2",
                    "--output", str(capped)).endswith("; 3 wrong + 5 right (capped: 2 x 3 asks for 6, the run judged only 5 right)")
    # 0 (and no flag): the rows and the summary line of before
    plain, zero = tmp_path / "plain.parquet", tmp_path / "zero.parquet"
    before = _summary(capsys, "--format", "rl", "--tasks-from", str(folder), "--output", str(plain))
    assert before.endswith("new per type: dyck_language=1, operation=2")
    assert _summary(capsys, "--format", "rl", "--tasks-from", str(folder), "--right-per-wrong", "0",
                    "--output", str(zero)) == before.replace(str(plain), str(zero))
    assert pq.read_table(zero).equals(pq.read_table(plain)) and pq.read_table(plain).num_rows == 3


@pytest.mark.parametrize("args,message", [
    (["--num-samples", "4", "--right-per-wrong", "1"], "--right-per-wrong replays right tasks of a run after its "
                                                       "wrong ones: it needs --tasks-from RUN"),
    (["--tasks-from", "RUN", "--verdict", "right", "--right-per-wrong", "1"], "it needs --verdict wrong (not right)"),
    (["--tasks-from", "RUN", "--right-per-wrong", "-1"], "--right-per-wrong must be >= 0"),
    (["--tasks-from", "RUN", "--right-per-wrong", "inf"], "--right-per-wrong must be a finite number"),
])
def test_generate_refuses_right_per_wrong_without_tasks_from_wrong_or_below_0(tmp_path, capsys, args, message):
    folder, _ = _verdicts(tmp_path, "WRRW")
    args = [str(folder) if a == "RUN" else a for a in args]
    out = tmp_path / "x.parquet"
    rc, err = _generate(capsys, "--format", "rl", *args, "--output", str(out))
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_mine_settings_take_right_per_wrong_a_number_at_least_0():
    raw = {"split": "train", "levels": [3, 5], "tasks_per_type": 512}
    assert MineSpec.from_mapping(raw).right_per_wrong == 0.0
    assert MineSpec.from_mapping({**raw, "right_per_wrong": 1}).line() == "train 3-5 512 1 1000003 1"
    assert MineSpec.from_mapping({**raw, "right_per_wrong": 0.5}).line() == "train 3-5 512 1 1000003 0.5"
    for bad, message in [(-1, "be >= 0"), ("one", "be a number >= 0"), (True, "not a bool"), (float("inf"), "finite")]:
        with pytest.raises(MineError, match=f"^data.lgc_v2.mine.right_per_wrong must .*{message}"):
            MineSpec.from_mapping({**raw, "right_per_wrong": bad})


@pytest.mark.parametrize("overrides,line", [
    ([], "train 3-5 512 1 1000003 0"),
    (["++data.lgc_v2.mine.right_per_wrong=1.0"], "train 3-5 512 1 1000003 1"),
    (["++data.lgc_v2.mine.right_per_wrong=0.25"], "train 3-5 512 1 1000003 0.25"),
])
def test_compose_mine_prints_right_per_wrong_as_the_last_field(capsys, overrides, line):
    pytest.importorskip("verl")
    from veritas.verl_adapters import compose

    config_dir = Path(__file__).resolve().parents[1] / "train" / "config"
    assert compose.main(["--config-path", str(config_dir), "--config-name", "grpo-smollm2-135m-1gpu-greedy-failures",
                         "--mine", "--", *overrides]) == 0
    assert capsys.readouterr().out == line + "\n"
    assert compose.main(["--config-path", str(config_dir), "--config-name", "grpo-smollm2-135m-1gpu-greedy-failures",
                         "--mine", "--", "++data.lgc_v2.mine.right_per_wrong=-1"]) == 1
    assert "data.lgc_v2.mine.right_per_wrong must be >= 0" in capsys.readouterr().err
