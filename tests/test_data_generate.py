"""`veritas generate`: formats, determinism, splits, resume, atomic parquet, response styles."""
from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from veritas.cli import main
from veritas.data import formats, generate, writers
from veritas.envs import lgc_v2
from veritas.envs.lgc_v2.selection import Selection
from veritas.envs.lgc_v2 import registry


ALL_TYPES = list(lgc_v2.task_types())
TYPES = ALL_TYPES[:3]  # enough to exercise round-robin, few enough to stay fast
EXT = {"jsonl": "jsonl", "sft": "parquet", "rl": "parquet"}


def gen(capsys, out, *extra, n=24, fmt="jsonl", types=None):
    argv = ["generate", "--task-types", ",".join(types or TYPES), "--num-samples", str(n), "--format", fmt,
            "--output", str(out), "--no-progress", *map(str, extra)]
    capsys.readouterr()
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def read_rows(path, fmt):
    if fmt == "jsonl":
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f]
    return pq.read_table(path).to_pylist()


def task_of(fmt, row):
    """(task_type, seed, task_id) of a row of any format."""
    info = row["extra_info"] if fmt == "rl" else row
    return info["task_type"], info["seed"], info["task_id"]


# ---------------------------------------------------------------- schemas

@pytest.mark.parametrize("fmt", formats.FORMATS)
def test_schema_of_each_format(tmp_path, capsys, fmt):
    out = tmp_path / f"data.{EXT[fmt]}"
    rc, stdout, _ = gen(capsys, out, "--system-prompt", "Be careful.", fmt=fmt)
    assert rc == 0 and "24 rows" in stdout
    rows = read_rows(out, fmt)
    assert len(rows) == 24
    if fmt != "jsonl":
        assert pq.read_schema(out).equals(formats.SCHEMAS[fmt])
    for i, row in enumerate(rows):
        task_type, seed, task_id = task_of(fmt, row)
        assert registry.split_task_id(task_id) == (task_type, seed)
        if fmt == "jsonl":
            assert set(row) == set(formats.JSONL_FIELDS)
            assert isinstance(row["metadata"], dict)
        elif fmt == "sft":
            assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
            assert row["messages"][0]["content"] == "Be careful."
            assert row["messages"][1]["content"] == row["prompt"]
            assert row["messages"][2]["content"] == row["response"]
        else:
            assert row["data_source"] == f"lgc-v2/{task_type}"
            assert row["ability"] == "logic"
            assert row["reward_model"]["style"] == "rule"
            assert [m["role"] for m in row["prompt"]] == ["system", "user"]
            info = row["extra_info"]
            assert info["index"] == i and info["split"] == "train"
            assert isinstance(info["metadata"], str)
            task = formats.task_from_rl_row(row)
            assert lgc_v2.verify_task(task, row["reward_model"]["ground_truth"]).correct
    # without a system prompt the chat has no system message
    rc, _, _ = gen(capsys, tmp_path / f"plain.{EXT[fmt]}", fmt=fmt, n=3)
    plain = read_rows(tmp_path / f"plain.{EXT[fmt]}", fmt)
    if fmt == "sft":
        assert [m["role"] for m in plain[0]["messages"]] == ["user", "assistant"]
    if fmt == "rl":
        assert [m["role"] for m in plain[0]["prompt"]] == ["user"]


def test_rl_row_builder_and_metadata_parsing():
    task = lgc_v2.generate_by_type(TYPES[0], 5)
    row = formats.rl_row(task, index=7, split="val", system_prompt="S", reasoning=True)
    assert row["prompt"][0]["role"] == "system" and row["prompt"][0]["content"].startswith("S\n\n")
    assert "<think>" in row["prompt"][0]["content"]
    assert row["extra_info"]["index"] == 7 and row["extra_info"]["split"] == "val"
    # the same schema holds the builder's rows
    pa.Table.from_pylist([row], schema=formats.RL_SCHEMA)
    assert formats.parse_metadata(row["extra_info"]["metadata"]) == json.loads(json.dumps(task.metadata))
    assert formats.parse_metadata({"a": 1}) == {"a": 1}
    for bad in ("[1, 2]", 5, None, "not json"):
        with pytest.raises(ValueError):
            formats.parse_metadata(bad)


# ---------------------------------------------------------------- every response verifies

@pytest.mark.parametrize("task_type", ALL_TYPES)
def test_every_response_of_both_styles_verifies(task_type):
    """Raw make_rows output (its own verification off, so nothing is patched over)."""
    for style in formats.RESPONSE_STYLES:
        plan = generate.Plan(selection=Selection((task_type,)), num_samples=40, language="mix", fmt="sft",
                             style=style, verify=False)
        result = generate.make_rows(plan, list(range(40)))
        has_worked = hasattr(lgc_v2.task_module(task_type), "worked_solution")
        for row in result.rows:
            task = lgc_v2.generate(row["task_id"], row["difficulty"], row["language"])
            verdict = lgc_v2.verify_task(task, row["response"])
            assert verdict.correct, (style, row["task_id"], verdict)
            assert row["response_style"] == ("worked" if style == "worked" and has_worked else "answer")
        assert sum(result.worked_missing.values()) == (40 if style == "worked" and not has_worked else 0)


def test_worked_fallback_is_counted_and_reported(tmp_path, capsys, monkeypatch):
    rc, _, err = gen(capsys, tmp_path / "w.jsonl", "--response-style", "worked", n=12)
    assert rc == 0
    missing = [t for t in TYPES if not hasattr(lgc_v2.task_module(t), "worked_solution")]
    rows = read_rows(tmp_path / "w.jsonl", "jsonl")
    fell_back = [r for r in rows if r["response_style"] == "answer"]
    assert {r["task_type"] for r in fell_back} == set(missing)
    if missing:
        assert f"{len(fell_back)} rows use the plain answer" in err
    # a worked solution that does not verify is never written: the plain answer replaces it
    monkeypatch.setattr(registry, "worked_solution", lambda task: "I give up.")
    rc, _, err = gen(capsys, tmp_path / "bad.jsonl", "--response-style", "worked", n=6)
    assert rc == 0 and "6 worked solutions did not verify" in err
    assert all(r["response"] == r["answer"] for r in read_rows(tmp_path / "bad.jsonl", "jsonl"))


def test_wrong_reference_answer_stops_generation(tmp_path, capsys, monkeypatch):
    real = registry.verify_task
    monkeypatch.setattr(registry, "verify_task", lambda task, resp: real(task, "nonsense"))
    rc, _, err = gen(capsys, tmp_path / "x.jsonl", n=4)
    assert rc == 1 and "reference answer does not verify" in err and "task " in err


# ---------------------------------------------------------------- plan: spread, splits, start

def test_rows_spread_evenly_in_round_robin(capsys, tmp_path):
    n = 3 * len(TYPES) + 1
    gen(capsys, tmp_path / "a.jsonl", n=n)
    rows = read_rows(tmp_path / "a.jsonl", "jsonl")
    assert [r["task_type"] for r in rows] == [TYPES[i % len(TYPES)] for i in range(n)]
    assert [r["seed"] for r in rows] == [i // len(TYPES) for i in range(n)]
    # type order on the command line does not matter
    gen(capsys, tmp_path / "b.jsonl", n=n, types=list(reversed(TYPES)))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_train_and_val_never_share_a_task(capsys, tmp_path):
    ids = {}
    for split in ("train", "val", "test"):
        out = tmp_path / f"{split}.jsonl"
        rc, _, _ = gen(capsys, out, "--split", split, n=30)
        assert rc == 0
        lo, hi = lgc_v2.SPLITS[split]
        rows = read_rows(out, "jsonl")
        assert all(lo <= r["seed"] < hi for r in rows)
        ids[split] = {r["task_id"] for r in rows}
    assert not ids["train"] & ids["val"] and not ids["train"] & ids["test"] and not ids["val"] & ids["test"]
    # a start or a size that would leave the split is refused
    val_task = lgc_v2.make_task_id(TYPES[0], lgc_v2.SPLITS["val"][0])
    rc, _, err = gen(capsys, tmp_path / "bad.jsonl", "--split", "train", "--start-task-id", val_task)
    assert rc == 2 and "not in the train split" in err
    rc, _, err = gen(capsys, tmp_path / "bad.jsonl", "--split", "val", "--seed", 9_999_999, n=10 * len(TYPES))
    assert rc == 2 and "past the end of the val split" in err
    assert not (tmp_path / "bad.jsonl").exists()


def test_seed_offset_and_start_task_id(capsys, tmp_path):
    gen(capsys, tmp_path / "all.jsonl", n=6 * len(TYPES))
    full = read_rows(tmp_path / "all.jsonl", "jsonl")
    gen(capsys, tmp_path / "off.jsonl", "--seed", 2, n=2 * len(TYPES))
    assert read_rows(tmp_path / "off.jsonl", "jsonl") == full[2 * len(TYPES):4 * len(TYPES)]
    start = full[5]["task_id"]
    gen(capsys, tmp_path / "start.jsonl", "--start-task-id", start, n=4)
    assert read_rows(tmp_path / "start.jsonl", "jsonl") == full[5:9]


def test_difficulty_and_language(capsys, tmp_path):
    gen(capsys, tmp_path / "d.jsonl", "--difficulty", "3-5", "--language", "en", n=30)
    rows = read_rows(tmp_path / "d.jsonl", "jsonl")
    assert {r["difficulty"] for r in rows} == {3, 4, 5}
    assert {r["language"] for r in rows} == {"en"}
    gen(capsys, tmp_path / "z.jsonl", "--difficulty", "7", "--language", "zh", n=12)
    rows = read_rows(tmp_path / "z.jsonl", "jsonl")
    assert {r["difficulty"] for r in rows} == {7}
    for r in rows:
        assert r["language"] == ("zh" if "zh" in lgc_v2.task_type_contract(r["task_type"]).languages else "en")
    for bad in ("0", "3-11", "7-3", "x", "1-2-3"):
        rc, _, err = gen(capsys, tmp_path / "bad.jsonl", "--difficulty", bad, n=2)
        assert rc == 2 and "--difficulty" in err


def test_unknown_type_and_existing_output_are_refused(capsys, tmp_path):
    rc, _, err = gen(capsys, tmp_path / "u.jsonl", types=["nonexistent"])
    assert rc == 2 and "unknown task type" in err
    out = tmp_path / "e.jsonl"
    assert gen(capsys, out, n=2)[0] == 0
    rc, _, err = gen(capsys, out, n=2)
    assert rc == 2 and "--resume" in err and "--overwrite" in err
    assert gen(capsys, out, "--overwrite", n=3)[0] == 0
    assert len(read_rows(out, "jsonl")) == 3


# ---------------------------------------------------------------- concurrency

@pytest.mark.parametrize("fmt", ["jsonl", "rl"])
def test_output_identical_across_concurrency(capsys, tmp_path, fmt):
    outs = []
    for c in (1, 2):
        out = tmp_path / f"c{c}.{EXT[fmt]}"
        rc, _, _ = gen(capsys, out, "--concurrency", c, "--chunk-size", 5, "--row-group-size", 16,
                       "--response-style", "worked", n=60, fmt=fmt)
        assert rc == 0
        outs.append(out)
    if outs[0].read_bytes() != outs[1].read_bytes():
        rows = [read_rows(o, fmt) for o in outs]
        first = next((i for i, (a, b) in enumerate(zip(*rows)) if a != b), None)
        pytest.fail(f"concurrency 1 and 2 differ: {len(rows[0])} vs {len(rows[1])} rows; first differing row "
                    f"{first}: {rows[0][first] if first is not None else ''!r:.600} vs "
                    f"{rows[1][first] if first is not None else ''!r:.600}")


# ---------------------------------------------------------------- resume

def test_resume_repairs_a_cut_off_line_and_completes_the_file(capsys, tmp_path):
    full = tmp_path / "full.jsonl"
    gen(capsys, full, n=20)
    data = full.read_bytes()
    lines = data.split(b"\n")
    cut = tmp_path / "cut.jsonl"
    # 7 whole lines, then half of the 8th: what a kill during a write leaves
    cut.write_bytes(b"\n".join(lines[:7]) + b"\n" + lines[7][: len(lines[7]) // 2])
    rc, stdout, err = gen(capsys, cut, "--resume", n=20)
    assert rc == 0 and "partially written last line" in err and "13 new, 7 kept" in stdout
    assert cut.read_bytes() == data
    # resuming a complete file does nothing
    rc, stdout, _ = gen(capsys, cut, "--resume", n=20)
    assert rc == 0 and "0 new, 20 kept" in stdout and cut.read_bytes() == data
    # resuming with more rows extends it to what one run of that size makes
    gen(capsys, tmp_path / "big.jsonl", n=26)
    gen(capsys, cut, "--resume", n=26)
    assert cut.read_bytes() == (tmp_path / "big.jsonl").read_bytes()


def test_interrupted_run_keeps_written_chunks_and_resumes(capsys, tmp_path, monkeypatch):
    full = tmp_path / "full.jsonl"
    gen(capsys, full, "--chunk-size", 4, n=20)
    real = generate.make_rows
    calls = []

    def interrupted(plan, indices):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(plan, indices)

    monkeypatch.setattr(generate, "make_rows", interrupted)
    out = tmp_path / "int.jsonl"
    rc, _, err = gen(capsys, out, "--chunk-size", 4, n=20)
    assert rc == 130 and "--resume" in err
    assert out.read_bytes() == b"".join(full.read_bytes().split(b"\n")[i] + b"\n" for i in range(8))
    monkeypatch.setattr(generate, "make_rows", real)
    assert gen(capsys, out, "--chunk-size", 4, "--resume", n=20)[0] == 0
    assert out.read_bytes() == full.read_bytes()


def test_resume_of_a_parquet_keeps_its_rows_and_adds_the_missing(capsys, tmp_path):
    out = tmp_path / "s.parquet"
    gen(capsys, out, n=10, fmt="sft")
    before = pq.read_table(out).to_pylist()
    rc, stdout, _ = gen(capsys, out, "--resume", n=25, fmt="sft")
    assert rc == 0 and "15 new, 10 kept" in stdout
    gen(capsys, tmp_path / "fresh.parquet", n=25, fmt="sft")
    after = pq.read_table(out).to_pylist()
    assert after[:10] == before and after == pq.read_table(tmp_path / "fresh.parquet").to_pylist()


# ---------------------------------------------------------------- atomic parquet

def _tmp_leftovers(folder):
    return [p for p in os.listdir(folder) if p.endswith(".tmp")]


def test_atomic_parquet_writer_keeps_the_earlier_file_on_failure(tmp_path):
    schema = pa.schema([("x", pa.int64())])
    target = tmp_path / "t.parquet"
    with writers.AtomicParquetWriter(str(target), schema, row_group_size=3) as w:
        w.write_rows({"x": i} for i in range(7))
    assert pq.read_table(target).column("x").to_pylist() == list(range(7))
    assert pq.ParquetFile(target).num_row_groups == 3
    with pytest.raises(RuntimeError):
        with writers.AtomicParquetWriter(str(target), schema, row_group_size=3) as w:
            w.write_rows({"x": 100 + i} for i in range(10))  # row groups already on disk
            raise RuntimeError("boom")
    assert pq.read_table(target).column("x").to_pylist() == list(range(7))
    assert not _tmp_leftovers(tmp_path)
    # no earlier file: nothing at the target at all
    fresh = tmp_path / "new.parquet"
    with pytest.raises(RuntimeError):
        with writers.AtomicParquetWriter(str(fresh), schema) as w:
            w.write_row({"x": 1})
            raise RuntimeError("boom")
    assert not fresh.exists() and not _tmp_leftovers(tmp_path)


def test_failed_generate_leaves_earlier_parquet_intact(capsys, tmp_path, monkeypatch):
    out = tmp_path / "rl.parquet"
    gen(capsys, out, n=6, fmt="rl")
    before = out.read_bytes()
    real = generate.make_rows
    calls = []

    def failing(plan, indices):
        calls.append(1)
        if len(calls) == 3:
            raise generate.GenerationError("task 1 (x): simulated failure")
        return real(plan, indices)

    monkeypatch.setattr(generate, "make_rows", failing)
    rc, _, err = gen(capsys, out, "--overwrite", "--chunk-size", 4, "--row-group-size", 4, n=40, fmt="rl")
    assert rc == 1 and "simulated failure" in err
    assert out.read_bytes() == before and not _tmp_leftovers(tmp_path)


def test_repair_jsonl_tail(tmp_path):
    p = tmp_path / "x.jsonl"
    for content, kept in [(b"", b""), (b"abc", b""), (b"a\nb", b"a\n"), (b"a\nb\n", b"a\nb\n"),
                          (b"a\n" + b"z" * 200_000, b"a\n")]:
        p.write_bytes(content)
        assert writers.repair_jsonl_tail(str(p)) == len(content) - len(kept)
        assert p.read_bytes() == kept


def test_format_must_fit_the_extension_and_resume_never_truncates_foreign_files(capsys, tmp_path):
    rc, _, err = gen(capsys, tmp_path / "x.parquet", fmt="jsonl")
    assert rc == 2 and "does not fit" in err
    rc, _, err = gen(capsys, tmp_path / "x.jsonl", fmt="rl")
    assert rc == 2 and "does not fit" in err
    capsys.readouterr()
    assert main(["generate", "--task-types", TYPES[0], "--num-samples", "2", "--output", str(tmp_path / "y.parquet"),
                 "--no-progress"]) == 2
    assert "pass --format" in capsys.readouterr().err
    # a parquet file under another name is not "repaired" as JSONL
    other = tmp_path / "rows.data"
    gen(capsys, tmp_path / "r.parquet", fmt="rl", n=3)
    other.write_bytes((tmp_path / "r.parquet").read_bytes())
    before = other.read_bytes()
    rc, _, err = gen(capsys, other, "--resume", fmt="jsonl", n=3)
    assert rc == 1 and "does not look like a JSONL file" in err and other.read_bytes() == before


def test_progress_bar_goes_to_stderr(capsys, tmp_path):
    capsys.readouterr()
    rc = main(["generate", "--task-types", TYPES[0], "--num-samples", "5", "--output", str(tmp_path / "p.jsonl")])
    out = capsys.readouterr()
    assert rc == 0 and "5/5" in out.err and "5/5" not in out.out


def test_sigterm_leaves_no_partial_parquet(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "big.parquet"
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "veritas.cli", "generate", "--task-types", TYPES[0], "--num-samples", "5000000",
         "--format", "rl", "--row-group-size", "64", "--no-progress", "--output", str(out)],
        env=dict(os.environ, PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", "")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not _tmp_leftovers(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert _tmp_leftovers(tmp_path), proc.communicate()
    time.sleep(0.3)  # some row groups on disk
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert b"terminated" in err
    assert not out.exists() and not _tmp_leftovers(tmp_path)
