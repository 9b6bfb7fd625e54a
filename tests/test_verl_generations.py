"""`python -m veritas.verl_adapters.generations`: verl's dumped validation generations matched to
the run config's validation tasks by prompt and judged again with the package, beside verl's own
acc (a dump written in verl 0.9.1's layout: <step>.jsonl rows with input, output, score, acc)."""
from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.verl, pytest.mark.skipif(importlib.util.find_spec("verl") is None, reason="verl is not installed")]

REPO = Path(__file__).resolve().parents[1]
CONFIG = "grpo-smollm2-135m-1gpu"


def _input(prompt: str) -> str:
    # what verl decodes from the chat template's tokens without special tokens
    return f"system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face\nuser\n{prompt}\nassistant\n"


def test_rows_are_matched_by_prompt_judged_again_and_disagreements_counted(tmp_path, capsys):
    from veritas.verl_adapters.generations import main, validation_tasks

    tasks = validation_tasks(CONFIG, str(REPO / "train" / "config"), [])
    assert len(tasks) == 256 and {t.task_type for t in tasks} == {"boolean_expressions", "operation"}
    first = [t for t in tasks if t.task_type == "boolean_expressions"][:3]
    op = next(t for t in tasks if t.task_type == "operation")
    dump = tmp_path / "validation"
    dump.mkdir()
    rows0 = [
        {"input": _input(first[0].prompt), "output": first[0].answer, "score": 1.0, "acc": 1.0, "step": 0},
        {"input": _input(first[1].prompt), "output": "no idea", "score": 0.0, "acc": 0.0, "step": 0},
        # verl said right where the package says wrong: one disagreement
        {"input": _input(op.prompt), "output": "\\boxed{123456789}", "score": 1.0, "acc": 1.0, "step": 0},
        {"input": _input("a prompt of no task"), "output": "x", "score": 0.0, "acc": 0.0, "step": 0},
    ]
    rows6 = [{"input": _input(first[2].prompt), "output": first[2].answer, "score": 1.0, "acc": 1.0, "step": 6}]
    (dump / "0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows0))
    (dump / "6.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows6))
    out = tmp_path / "rejudged.jsonl.gz"
    assert main([str(dump), "--run-config", CONFIG, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| 0 | boolean_expressions | 2 | 50.0 | 50.0 | 0 |" in printed
    assert "| 0 | operation | 1 | 100.0 | 0.0 | 1 |" in printed
    assert "| 6 | boolean_expressions | 1 | 100.0 | 100.0 | 0 |" in printed
    assert "5 rows: 4 matched to a validation task, 1 to none, 0 to several" in printed
    judged = [json.loads(line) for line in gzip.open(out, "rt", encoding="utf-8")]
    assert [(r["task_id"], r["correct"], r["verl_acc"], r["step"]) for r in judged] == [
        (first[0].task_id, True, 1.0, 0), (first[1].task_id, False, 0.0, 0), (op.task_id, False, 1.0, 0),
        (first[2].task_id, True, 1.0, 6)]
    assert judged[1]["format_ok"] is False and judged[0]["difficulty"] == first[0].difficulty


def test_a_missing_or_broken_dump_is_one_clear_error(tmp_path, capsys):
    from veritas.verl_adapters.generations import main

    assert main([str(tmp_path / "absent"), "--run-config", CONFIG]) == 2
    assert "absent: no such folder" in capsys.readouterr().err
    assert main([str(tmp_path), "--run-config", CONFIG]) == 2
    assert "no <step>.jsonl files" in capsys.readouterr().err
    (tmp_path / "3.jsonl").write_text('{"input": "x"}\n')
    assert main([str(tmp_path), "--run-config", CONFIG]) == 2
    assert "3.jsonl: line 1: not a row with input and output text" in capsys.readouterr().err
    (tmp_path / "3.jsonl").write_text('[1, 2]\n{"input": "x", "output": "y"}\n')
    assert main([str(tmp_path), "--run-config", CONFIG]) == 2
    assert "3.jsonl: line 1: not a row with input and output text" in capsys.readouterr().err
    # a step that is no whole number would not sort beside the others'
    (tmp_path / "3.jsonl").write_text('{"input": "x", "output": "y", "step": "3"}\n{"input": "x", "output": "y"}\n')
    assert main([str(tmp_path), "--run-config", CONFIG]) == 2
    assert "3.jsonl: line 1: its step '3' is not a whole number" in capsys.readouterr().err
    (tmp_path / "3.jsonl").write_bytes(b'{"input": "\xff"}\n')
    assert main([str(tmp_path), "--run-config", CONFIG]) == 2
    assert "3.jsonl: 'utf-8' codec can't decode" in capsys.readouterr().err
    # a torn last line (verl still writing) is left out; the rest is read
    (tmp_path / "3.jsonl").write_text('{"input": "x", "output": "y"}\n{"input": "x", "outp')
    assert main([str(tmp_path), "--run-config", "no-such-config"]) == 2
    assert "no run config" in capsys.readouterr().err
    assert main([str(tmp_path), "--run-config", CONFIG, "--", "++data.lgc_v2.task_types=[nope]"]) == 2
    assert "run config grpo-smollm2-135m-1gpu: data.lgc_v2.weights has 5 entries for 1 task types" in capsys.readouterr().err
    assert main([str(tmp_path), "--run-config", CONFIG, "--output", str(tmp_path / "absent" / "x.jsonl")]) == 2
    assert "cannot write" in capsys.readouterr().err
    from veritas.verl_adapters.generations import read_dump
    assert len(read_dump(tmp_path)) == 1


def test_a_run_validated_on_a_parquet_is_matched_to_its_rows_and_set_beside_an_evaluation(tmp_path, capsys):
    """--val-data: the tasks of an RL parquet (the recipe's held-out validation set); --against: one
    step of the dump beside `veritas eval`'s samples of the same tasks, task by task."""
    import subprocess
    import sys

    from veritas.verl_adapters.generations import main, parquet_tasks

    val = tmp_path / "val.parquet"
    subprocess.run([sys.executable, "-m", "veritas", "generate", "--format", "rl", "--split", "test", "--task-types",
                    "boolean_expressions,operation", "--num-samples", "4", "--difficulty", "1-3", "--output", str(val),
                    "--no-progress"], cwd=REPO, check=True, capture_output=True)
    tasks = parquet_tasks(val)
    assert [t.task_type for t in tasks].count("operation") == 2 and len(tasks) == 4
    b1, b2 = [t for t in tasks if t.task_type == "boolean_expressions"]
    dump = tmp_path / "validation"
    dump.mkdir()
    step0 = [{"input": _input(b1.prompt), "output": b1.answer, "acc": 1.0, "step": 0},
             {"input": _input(b2.prompt), "output": "\\boxed{Z}", "acc": 0.0, "step": 0}]
    step5 = [{"input": _input(b2.prompt), "output": b2.answer, "acc": 1.0, "step": 5}]
    (dump / "0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in step0))
    (dump / "5.jsonl").write_text("".join(json.dumps(r) + "\n" for r in step5))
    samples = tmp_path / "sft" / "samples.jsonl.gz"
    samples.parent.mkdir()
    with gzip.open(samples, "wt", encoding="utf-8") as f:
        for task, response, correct in ((b1, b1.answer, True), (b2, b2.answer, True)):
            f.write(json.dumps({"task_id": task.task_id, "sample": 0, "response": response, "correct": correct}) + "\n")
    assert main([str(dump), "--val-data", str(val), "--against", str(samples.parent)]) == 0
    printed = capsys.readouterr().out
    assert "3 rows: 3 matched to a validation task, 0 to none, 0 to several" in printed
    # step 0: verl right on b1 only, the evaluation on both; one response the same
    assert "| 0 | boolean_expressions | 2 | 1 | 2 | 1 | 1 |" in printed
    assert main([str(dump), "--val-data", str(val), "--against", str(samples), "--step", "5"]) == 0
    assert "| 5 | boolean_expressions | 1 | 1 | 1 | 1 | 1 |" in capsys.readouterr().out

    assert main([str(dump), "--val-data", str(dump / "0.jsonl")]) == 2
    assert "0.jsonl: not an RL parquet with extra_info" in capsys.readouterr().err
    (tmp_path / "bad.jsonl").write_text('{"task_id": 1}\n')
    assert main([str(dump), "--val-data", str(val), "--against", str(tmp_path / "bad.jsonl")]) == 2
    assert "not veritas eval samples" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(dump), "--val-data", str(val), "--run-config", CONFIG])


def test_each_step_becomes_a_results_folder_that_compare_pairs(tmp_path, capsys):
    """--results-dir: each step of the dump is written as a `veritas eval` results folder (samples
    re-judged by the package, results.json from the same summary), and `--compare` pairs two steps
    task by task."""
    import subprocess
    import sys

    from veritas.evaluation.compare import compare_runs, load_run
    from veritas.verl_adapters.generations import main, parquet_tasks

    val = tmp_path / "val.parquet"
    subprocess.run([sys.executable, "-m", "veritas", "generate", "--format", "rl", "--split", "test", "--task-types",
                    "boolean_expressions,operation", "--num-samples", "4", "--difficulty", "1-3", "--output", str(val),
                    "--no-progress"], cwd=REPO, check=True, capture_output=True)
    tasks = parquet_tasks(val)
    dump = tmp_path / "validation"
    dump.mkdir()
    # step 0: only the first task right; step 24: all but the last (verl's acc is not what is kept)
    for step, right in ((0, {0}), (24, {0, 1, 2})):
        rows = [{"input": _input(t.prompt), "output": t.answer if i in right else "\\boxed{no}", "acc": 1.0, "step": step}
                for i, t in enumerate(tasks)]
        (dump / f"{step}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "val"
    assert main([str(dump), "--val-data", str(val), "--results-dir", str(out), "--name", "arm A"]) == 0
    assert "wrote 2 results folders under" in capsys.readouterr().out
    for step, right in ((0, 1), (24, 3)):
        results = json.loads((out / f"step-{step}" / "results.json").read_text())
        assert results["overall"]["samples"] == 4
        assert sum(v["correct"] for v in results["per_type"].values()) == right
        assert results["settings"]["step"] == step and results["settings"]["source"] == "verl validation dump"
        assert results["settings"]["model"] == f"arm A step {step}"
        assert all(v["mean_response_tokens"] is None for v in results["per_type"].values())
        rows = [json.loads(line) for line in gzip.open(out / f"step-{step}" / "samples.jsonl.gz", "rt", encoding="utf-8")]
        assert {r["task_id"] for r in rows} == {t.task_id for t in tasks} and "verl_acc" not in rows[0]
    comparison = compare_runs(load_run(out / "step-0"), load_run(out / "step-24"))
    assert comparison["macro"]["difference"] == pytest.approx(0.5)  # two more right of four
    assert main([str(dump), "--val-data", str(val), "--results-dir", str(val)]) == 2  # a file in the way
    assert "cannot write under" in capsys.readouterr().err


def test_match_pairs_a_row_with_the_one_task_whose_prompt_its_input_contains():
    """A row's tasks are those whose prompt its input contains: one is a pair, none or several are
    counted; repeated inputs (a rollout dump's rollout.n) give the same answer each time."""
    from types import SimpleNamespace

    from veritas.verl_adapters.generations import match

    alpha, alpha_beta, gamma, gamma_again, zeta = (SimpleNamespace(prompt=p) for p in
                                                    ("alpha", "alpha beta", "gamma", "gamma", "zeta"))
    tasks = [alpha, alpha_beta, gamma, gamma_again, zeta]
    rows = [{"input": _input(text)} for text in ("zeta", "alpha beta", "zeta", "gamma", "delta", "alpha", "zeta")]
    pairs, unmatched, ambiguous = match(rows, tasks)
    assert [(row["input"], task) for row, task in pairs] == [
        (_input("zeta"), zeta), (_input("zeta"), zeta), (_input("alpha"), alpha), (_input("zeta"), zeta)]
    assert pairs[0][0] is rows[0] and pairs[1][0] is rows[2]  # the rows themselves, in order
    assert (unmatched, ambiguous) == (1, 2)  # delta; alpha beta holds two prompts, gamma is two tasks'
