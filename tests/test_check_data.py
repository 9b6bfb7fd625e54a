"""`veritas check-data`: passes good files, and names file, row and problem for each broken case."""
from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from _shared import byte_tokenizer_dir
from veritas.cli import main
from veritas.data import formats
from veritas.envs import lgc_v2
from veritas.envs.base import Task


TYPES = list(lgc_v2.task_types())[:3]
N = 16


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """One good file of each kind (made once; tests break copies)."""
    folder = tmp_path_factory.mktemp("made")
    paths = {}
    for kind, ext in (("sft", "parquet"), ("rl", "parquet"), ("jsonl", "jsonl")):
        path = folder / f"{kind}.{ext}"
        rc = main(["generate", "--task-types", ",".join(TYPES), "--num-samples", str(N), "--format", kind,
                   "--response-style", "worked", "--output", str(path), "--no-progress"])
        assert rc == 0
        paths[kind] = path
    return paths


def check(capsys, path, *extra):
    capsys.readouterr()
    rc = main(["check-data", str(path), *map(str, extra)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def assert_fails(capsys, path, expected, *extra):
    rc, out, err = check(capsys, path, *extra)
    assert rc == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # ONE line
    assert lines[0].startswith(f"check-data: {path}: "), lines[0]
    assert expected in lines[0], lines[0]
    return lines[0]


def broken_copy(tmp_path, made, kind, edit):
    """Copy of the good file with edit(rows) applied."""
    rows = pq.read_table(made[kind]).to_pylist()
    rows = edit(rows)
    path = tmp_path / f"broken_{kind}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=formats.SCHEMAS[kind]), path)
    return path


def wrong_response_for(row_task, candidates):
    """A well-formed response (another task's) that is wrong for row_task."""
    for text in candidates:
        if not lgc_v2.verify_task(row_task, text).correct:
            return text
    return "I do not know."


# ---------------------------------------------------------------- good files

@pytest.mark.parametrize("kind", ["sft", "rl", "jsonl"])
def test_good_files_pass_with_one_summary_line(capsys, made, kind):
    rc, out, err = check(capsys, made[kind], "--split", "train")
    assert rc == 0, err
    line = out.strip()
    assert "\n" not in line and line.startswith(f"check-data: {made[kind]}: OK: {N} rows ({kind}")
    assert f"{N} verified" in line
    for t in TYPES:
        assert f"{t}=" in line
    # the kind is told apart without --kind, and --sample verifies only that many
    rc, out, _ = check(capsys, made[kind], "--sample", 5)
    assert rc == 0 and "5 verified" in out


# ---------------------------------------------------------------- file-level problems

def test_missing_file(capsys, tmp_path):
    assert_fails(capsys, tmp_path / "nope.parquet", "no such file", "--kind", "rl")


def test_empty_files(capsys, tmp_path, made):
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert_fails(capsys, empty, "file is empty (0 bytes)", "--kind", "sft")
    no_rows = tmp_path / "norows.parquet"
    pq.write_table(formats.RL_SCHEMA.empty_table(), no_rows)
    assert_fails(capsys, no_rows, "file has no rows", "--kind", "rl")
    empty_jsonl = tmp_path / "empty.jsonl"
    empty_jsonl.write_bytes(b"")
    assert_fails(capsys, empty_jsonl, "file has no rows")


def test_missing_column(capsys, tmp_path, made):
    table = pq.read_table(made["sft"]).drop_columns(["messages"])
    path = tmp_path / "nomsg.parquet"
    pq.write_table(table, path)
    assert_fails(capsys, path, "missing column 'messages'", "--kind", "sft")
    table = pq.read_table(made["rl"]).drop_columns(["reward_model"])
    pq.write_table(table, path)
    assert_fails(capsys, path, "missing column 'reward_model'", "--kind", "rl")


def test_wrong_column_type(capsys, tmp_path, made):
    table = pq.read_table(made["sft"])
    table = table.set_column(table.schema.get_field_index("task_id"), "task_id",
                             pa.array([str(v) for v in table.column("task_id").to_pylist()]))
    path = tmp_path / "strid.parquet"
    pq.write_table(table, path)
    assert_fails(capsys, path, "column 'task_id' has type string, expected int64", "--kind", "sft")


def test_garbled_parquet_bytes(capsys, tmp_path, made):
    data = bytearray(made["rl"].read_bytes())
    footer = tmp_path / "footer.parquet"
    footer.write_bytes(bytes(data[:-12]) + b"\xff" * 12)  # footer length and magic destroyed
    assert_fails(capsys, footer, "not a readable parquet file", "--kind", "rl")
    not_parquet = tmp_path / "text.parquet"
    not_parquet.write_bytes(b"this is not a parquet file at all\n" * 10)
    assert_fails(capsys, not_parquet, "not a readable parquet file", "--kind", "rl")
    # bytes garbled inside the data pages: some problem is found, on one line, exit 1
    middle = tmp_path / "middle.parquet"
    for k in range(200, min(len(data) - 200, 1200)):
        data[k] ^= 0x5A
    middle.write_bytes(bytes(data))
    assert_fails(capsys, middle, "", "--kind", "rl")


def test_jsonl_cut_off_and_garbled_lines(capsys, tmp_path, made):
    lines = made["jsonl"].read_bytes().split(b"\n")
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(b"\n".join(lines[:5]) + b"\n" + lines[5][:40])
    assert_fails(capsys, cut, "line 6: cut off")
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_bytes(b"\n".join(lines[:3] + [b'{"task_id": 12,'] + lines[4:]))
    assert_fails(capsys, garbled, "line 4: not valid JSON")


# ---------------------------------------------------------------- row-level problems

def test_sft_row_whose_response_is_wrong(capsys, tmp_path, made):
    rows = pq.read_table(made["sft"]).to_pylist()
    bad = next(i for i, r in enumerate(rows) if i >= 3 and r["task_type"] == rows[3]["task_type"])
    task = lgc_v2.generate(rows[bad]["task_id"], rows[bad]["difficulty"], rows[bad]["language"])
    wrong = wrong_response_for(task, [r["response"] for r in rows if r["task_id"] != task.task_id])

    def edit(rs):
        rs[bad]["response"] = wrong
        rs[bad]["messages"][-1]["content"] = wrong
        return rs

    path = broken_copy(tmp_path, made, "sft", edit)
    assert_fails(capsys, path, f"row {bad}: response does not verify for task {task.task_id} ({task.task_type}): ")


def test_rl_row_whose_ground_truth_is_wrong(capsys, tmp_path, made):
    rows = pq.read_table(made["rl"]).to_pylist()
    task = formats.task_from_rl_row(rows[2])
    wrong = wrong_response_for(task, [r["reward_model"]["ground_truth"] for r in rows[3:]])

    def edit(rs):
        rs[2]["reward_model"]["ground_truth"] = wrong
        return rs

    path = broken_copy(tmp_path, made, "rl", edit)
    assert_fails(capsys, path, f"row 2: reference answer does not verify for task {task.task_id}")
    # with --sample the wrong row may go unverified, but every row is still parsed
    rc, _, _ = check(capsys, path, "--sample", 1)
    assert rc in (0, 1)


def test_jsonl_row_whose_response_is_wrong(capsys, tmp_path, made):
    rows = [json.loads(line) for line in made["jsonl"].read_text(encoding="utf-8").splitlines()]
    t = Task.from_dict(rows[4])
    rows[4]["response"] = wrong_response_for(t, [r["answer"] for r in rows[5:]])
    path = tmp_path / "wrong.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert_fails(capsys, path, f"line 5: response does not verify for task {t.task_id}")


@pytest.mark.parametrize("case", ["data_source", "task_id_range", "type_mismatch", "metadata", "duplicate",
                                  "role", "level"])
def test_rl_rows_that_do_not_parse(capsys, tmp_path, made, case):
    def edit(rs):
        r = rs[5]
        if case == "data_source":
            r["data_source"] = "lgc-v2/not_this_type"
        elif case == "task_id_range":
            r["extra_info"]["task_id"] = lgc_v2.max_task_id() + 1  # past every type's id blocks
        elif case == "type_mismatch":
            other = next(t for t in lgc_v2.task_types() if t != r["extra_info"]["task_type"])
            r["extra_info"]["task_type"] = other
            r["data_source"] = formats.data_source(other)
        elif case == "metadata":
            r["extra_info"]["metadata"] = "{not json"
        elif case == "duplicate":
            rs[5] = rs[1]
        elif case == "role":
            r["prompt"][0]["role"] = "assistant"
        elif case == "level":
            r["extra_info"]["difficulty"] = 11
        return rs

    path = broken_copy(tmp_path, made, "rl", edit)
    expected = {
        "data_source": "row 5: data_source 'lgc-v2/not_this_type' does not match task_type",
        "task_id_range": f"row 5: task_id {lgc_v2.max_task_id() + 1} is out of range",
        "type_mismatch": "row 5: task_type",
        "metadata": "row 5: extra_info.metadata of task",
        "duplicate": "row 5: task",
        "role": "row 5: prompt roles are ['assistant']",
        "level": "row 5: difficulty 11 of task",
    }[case]
    line = assert_fails(capsys, path, expected)
    if case == "duplicate":
        assert "appears twice" in line


def test_sft_prompt_that_is_not_the_task(capsys, tmp_path, made):
    def edit(rs):
        rs[1]["prompt"] = rs[1]["messages"][-2]["content"] = "Solve something else entirely."
        return rs

    path = broken_copy(tmp_path, made, "sft", edit)
    assert_fails(capsys, path, "row 1: prompt differs from task")


def test_split_is_enforced(capsys, made):
    assert_fails(capsys, made["rl"], "row 0: task", "--split", "val")
    rc, _, err = check(capsys, made["rl"], "--split", "val")
    assert "is not in the val split" in err


def test_copy_of_good_file_still_passes(capsys, tmp_path, made):
    # rewriting through pandas-like defaults (no zstd) keeps a valid file valid
    path = tmp_path / "copy.parquet"
    shutil.copy(made["sft"], path)
    pq.write_table(pq.read_table(path), path, compression="snappy")
    assert check(capsys, path)[0] == 0


# ---------------------------------------------------------------- lengths with the chat template

_CHAT = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"


def _tokens(messages) -> int:
    """What the byte tokenizer counts for _CHAT: one token per UTF-8 byte of the rendered text."""
    return sum(len(f"<{m['role']}>{m['content']}\n".encode()) for m in messages)


def test_max_length_counts_every_row_with_the_chat_template(capsys, made, tmp_path):
    tokenizer = byte_tokenizer_dir(tmp_path / "tokenizer", _CHAT)
    lengths = [_tokens(row["messages"]) for row in pq.read_table(made["sft"]).to_pylist()]
    longest = max(lengths)
    rc, out, _ = check(capsys, made["sft"], "--max-length", longest, "--tokenizer", tokenizer)
    assert rc == 0 and f"longest {longest} tokens (max {longest})" in out, out
    # one token less: the first row of that length is named, also when --sample verifies fewer rows
    for extra in ((), ("--sample", 1)):
        line = assert_fails(capsys, made["sft"], f"row {lengths.index(longest)}: {longest} tokens with the chat "
                            f"template of {tokenizer}, over the maximum of {longest - 1}",
                            "--max-length", longest - 1, "--tokenizer", tokenizer, *extra)
        assert "data.max_length" in line


def test_max_length_refuses_what_it_cannot_count(capsys, made, tmp_path):
    assert_fails(capsys, made["sft"], "--max-length and --tokenizer go together", "--max-length", 100)
    no_template = byte_tokenizer_dir(tmp_path / "plain")
    assert_fails(capsys, made["sft"], "the tokenizer has no chat template", "--max-length", 100, "--tokenizer", no_template)
    assert_fails(capsys, made["sft"], "cannot load a tokenizer", "--max-length", 100, "--tokenizer", tmp_path / "none")
    chat = byte_tokenizer_dir(tmp_path / "chat", _CHAT)
    assert_fails(capsys, made["rl"], "--max-length counts chat rows: the file is rl", "--max-length", 100, "--tokenizer", chat)
