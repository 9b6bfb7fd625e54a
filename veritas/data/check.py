"""``veritas check-data FILE``: validate a dataset before training spends GPU time on it.

Checks, in order: the file exists and is readable; it has the required columns with the right
types (parquet) or keys (JSONL); it is not empty; every row parses (chat lists well formed,
task_id a valid LGC-V2 id whose type and seed match the row, difficulty and language valid,
data_source ``lgc-v2/<task_type>``, metadata a JSON object, no task twice, seeds inside
``--split``'s range when given); and the text each row claims is correct verifies, for every row
or a fixed random ``--sample``:

* ``rl``: ``reward_model.ground_truth`` against ``extra_info.metadata`` (what the reward sees);
* ``sft``: the task is regenerated from (task_id, difficulty, language), its prompt must equal
  the row's, and ``response`` must verify against it;
* ``jsonl``: ``answer`` and ``response`` against the row's metadata.

The first problem is printed as ONE line, ``check-data: FILE: row N: PROBLEM`` (parquet rows
count from 0; JSONL uses ``line N``, counting from 1), exit code 1.  Success prints one summary
line, exit code 0.

With ``--max-length N --tokenizer DIR`` (``sft`` only), every row's ``messages`` are also rendered
with the tokenizer's chat template and counted, as verl's SFT dataset counts them: a row longer
than N tokens is a problem (verl's ``data.truncation: error`` would stop training at the batch
that holds it, minutes in, without naming the file).
"""
from __future__ import annotations

import json
import os
import random
import sys
from collections import Counter
from typing import Any, Iterator

from veritas.data import formats
from veritas.envs.base import Task
from veritas.envs.lgc_v2 import registry

KINDS = ("sft", "rl", "jsonl")
_ROLES = ("system", "user", "assistant")


class CheckError(Exception):
    def __init__(self, problem: str, where: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.where = where


def add_arguments(p) -> None:
    p.add_argument("file")
    p.add_argument("--kind", choices=KINDS, default=None,
                   help="dataset format; default: jsonl for *.jsonl, else told apart by the parquet columns")
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="verify N rows chosen at random with a fixed seed (default: every row)")
    p.add_argument("--split", choices=list(registry.SPLITS), default=None,
                   help="also require every task's seed to lie in this split's range")
    p.add_argument("--max-length", type=int, default=None, metavar="N",
                   help="sft: no row may be longer than N tokens with the chat template (needs --tokenizer)")
    p.add_argument("--tokenizer", default=None, metavar="DIR",
                   help="sft: the model directory whose tokenizer and chat template count --max-length")


# ---------------------------------------------------------------- field checks

def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _nonempty_str(v: Any, name: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise CheckError(f"{name} is {'empty' if isinstance(v, str) else type(v).__name__}, expected a non-empty string")
    return v


def check_identity(task_id: Any, task_type: Any, seed: Any, difficulty: Any, language: Any,
                   split: str | None) -> None:
    """task_id decodes to (task_type, seed); the type exists here; level and language are valid."""
    if not _is_int(task_id):
        raise CheckError(f"task_id is {type(task_id).__name__}, expected an integer")
    try:
        id_type, id_seed = registry.split_task_id(task_id)
    except registry.TaskIdError:
        raise CheckError(f"task_id {task_id} is out of range (0..{registry.max_task_id()})") from None
    if task_type != id_type:
        raise CheckError(f"task_type {task_type!r} does not match task_id {task_id} (a {id_type} task)")
    if seed is not None and seed != id_seed:
        raise CheckError(f"seed {seed!r} does not match task_id {task_id} (seed {id_seed})")
    languages = registry.task_type_contract(id_type).languages
    if not _is_int(difficulty) or not 1 <= difficulty <= 10:
        raise CheckError(f"difficulty {difficulty!r} of task {task_id} is not a level 1..10")
    if language not in languages:
        raise CheckError(f"language {language!r} of task {task_id} is not one of {id_type}'s {languages}")
    if split is not None:
        lo, hi = registry.split_seed_range(split)
        if not lo <= id_seed < hi:
            raise CheckError(f"task {task_id} (seed {id_seed}) is not in the {split} split (seeds {lo}..{hi - 1})")


def check_chat(messages: Any, name: str, *, assistant_last: bool) -> list[dict]:
    """An optional system message, a user message, then (for SFT) the assistant's."""
    if not isinstance(messages, list) or not messages:
        raise CheckError(f"{name} is not a non-empty list of messages")
    for k, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise CheckError(f"{name}[{k}] is not a {{role, content}} message with role in {_ROLES}")
        if not m["content"].strip():
            raise CheckError(f"{name}[{k}] ({m['role']}) has empty content")
    roles = [m["role"] for m in messages]
    expected = ["user", "assistant"] if assistant_last else ["user"]
    if roles not in (expected, ["system"] + expected):
        raise CheckError(f"{name} roles are {roles}, expected {['system'] + expected} with the system message optional")
    return messages


def _verify(task: Task, text: str, what: str) -> None:
    verdict = registry.verify_task(task, text)
    if not verdict.correct:
        raise CheckError(f"{what} does not verify for task {task.task_id} ({task.task_type}): {verdict.reason}")


def check_sft_row(row: dict, split: str | None, verify: bool) -> str:
    prompt = _nonempty_str(row["prompt"], "prompt")
    response = _nonempty_str(row["response"], "response")
    messages = check_chat(row["messages"], "messages", assistant_last=True)
    if messages[-2]["content"] != prompt:
        raise CheckError("messages' user content differs from prompt")
    if messages[-1]["content"] != response:
        raise CheckError("messages' assistant content differs from response")
    if row.get("response_style", "answer") not in formats.RESPONSE_STYLES:
        raise CheckError(f"response_style {row.get('response_style')!r} is not one of {formats.RESPONSE_STYLES}")
    check_identity(row["task_id"], row["task_type"], row.get("seed"), row["difficulty"], row["language"], split)
    if verify:
        task = registry.generate(row["task_id"], row["difficulty"], row["language"])
        if task.prompt != prompt:
            raise CheckError(f"prompt differs from task {task.task_id} ({task.task_type}) as this checkout generates it "
                             "(made by another version, or edited?)")
        _verify(task, response, "response")
    return row["task_type"]


def check_rl_row(row: dict, split: str | None, verify: bool) -> str:
    info = row["extra_info"]
    if not isinstance(info, dict):
        raise CheckError("extra_info is not a struct")
    task_type = info.get("task_type")
    expected_source = formats.data_source(task_type) if isinstance(task_type, str) else None
    if row["data_source"] != expected_source:
        raise CheckError(f"data_source {row['data_source']!r} does not match task_type {task_type!r} "
                         f"(expected {expected_source!r})")
    check_chat(row["prompt"], "prompt", assistant_last=False)
    _nonempty_str(row["ability"], "ability")
    reward = row["reward_model"]
    if not isinstance(reward, dict) or reward.get("style") != formats.REWARD_STYLE:
        raise CheckError(f"reward_model.style is not {formats.REWARD_STYLE!r}")
    _nonempty_str(reward.get("ground_truth"), "reward_model.ground_truth")
    check_identity(info.get("task_id"), task_type, info.get("seed"), info.get("difficulty"), info.get("language"), split)
    try:
        task = formats.task_from_rl_row(row)
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckError(f"extra_info.metadata of task {info.get('task_id')} is not a JSON object: {exc}") from None
    if verify:
        _verify(task, task.answer, "reference answer")
    return task_type


def check_jsonl_row(row: Any, split: str | None, verify: bool) -> str:
    if not isinstance(row, dict):
        raise CheckError(f"line is a JSON {type(row).__name__}, expected an object")
    for key, typ in formats.JSONL_FIELDS.items():
        if key not in row:
            raise CheckError(f"missing key {key!r}")
        if not isinstance(row[key], typ) or (typ is int and isinstance(row[key], bool)):
            raise CheckError(f"{key} is {type(row[key]).__name__}, expected {typ.__name__}")
    _nonempty_str(row["prompt"], "prompt")
    _nonempty_str(row["answer"], "answer")
    _nonempty_str(row["response"], "response")
    check_identity(row["task_id"], row["task_type"], row["seed"], row["difficulty"], row["language"], split)
    if verify:
        task = Task.from_dict(row)
        _verify(task, task.answer, "reference answer")
        if row["response"] != task.answer:
            _verify(task, row["response"], "response")
    return row["task_type"]


ROW_CHECKS = {"sft": check_sft_row, "rl": check_rl_row, "jsonl": check_jsonl_row}


def _task_id_of(kind: str, row: dict) -> Any:
    return row["extra_info"]["task_id"] if kind == "rl" else row["task_id"]


# ---------------------------------------------------------------- readers

def _type_compatible(actual, expected) -> bool:
    """Same logical type; string widths and integer widths may differ (files written by pandas)."""
    import pyarrow.types as pt

    if pt.is_string(expected):
        return pt.is_string(actual) or pt.is_large_string(actual) or getattr(pt, "is_string_view", lambda _: False)(actual)
    if pt.is_integer(expected):
        return pt.is_integer(actual)
    if pt.is_list(expected):
        return (pt.is_list(actual) or pt.is_large_list(actual)) and _type_compatible(actual.value_type, expected.value_type)
    if pt.is_struct(expected):
        if not pt.is_struct(actual):
            return False
        names = [actual.field(k).name for k in range(actual.num_fields)]
        for k in range(expected.num_fields):
            want = expected.field(k)
            if want.name not in names or not _type_compatible(actual.field(want.name).type, want.type):
                return False
        return True
    return actual.equals(expected)


def _kind_of(path: str, kind: str | None, columns: list[str] | None) -> str:
    if kind is not None:
        return kind
    if columns is None:
        return "jsonl"
    if "reward_model" in columns:
        return "rl"
    if "messages" in columns or "response" in columns:
        return "sft"
    raise CheckError("cannot tell whether this is an sft or rl parquet; pass --kind")


def _parquet_rows(path: str, kind: str | None) -> tuple[str, int, Iterator[tuple[str, dict]]]:
    import pyarrow.parquet as pq

    if os.path.getsize(path) == 0:
        raise CheckError("file is empty (0 bytes)")
    try:
        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
    except Exception as exc:
        raise CheckError(f"not a readable parquet file ({type(exc).__name__}: {exc})") from None
    kind = _kind_of(path, kind, schema.names)
    if kind == "jsonl":
        raise CheckError("--kind jsonl given for a parquet file")
    expected = formats.SCHEMAS[kind]
    for want in expected:
        if want.name not in schema.names:
            raise CheckError(f"missing column {want.name!r} required in {kind} data")
        got = schema.field(want.name).type
        if not _type_compatible(got, want.type):
            raise CheckError(f"column {want.name!r} has type {got}, expected {want.type}")
    n_rows = pf.metadata.num_rows
    if n_rows == 0:
        raise CheckError("file has no rows")

    def rows() -> Iterator[tuple[str, dict]]:
        index = 0
        try:
            for batch in pf.iter_batches(batch_size=1024, columns=expected.names):
                for row in batch.to_pylist():
                    yield f"row {index}", row
                    index += 1
        except CheckError:
            raise
        except Exception as exc:
            raise CheckError(f"unreadable data from row {index} on ({type(exc).__name__}: {exc})") from None

    return kind, n_rows, rows()


def _jsonl_rows(path: str) -> tuple[str, int, Iterator[tuple[str, Any]]]:
    from veritas.data.writers import iter_jsonl

    n_rows = 0
    with open(path, "rb") as f:
        for raw in f:
            n_rows += 1
            last = raw
    if n_rows == 0:
        raise CheckError("file has no rows")
    if not last.endswith(b"\n"):
        # a killed `generate` leaves this; --resume repairs it
        raise CheckError(f"line {n_rows}: cut off (no final newline: an interrupted write?); "
                         "rerun `veritas generate ... --resume` to repair it")

    def rows() -> Iterator[tuple[str, Any]]:
        for lineno, raw in iter_jsonl(path):
            try:
                row = json.loads(raw)
            except ValueError as exc:
                raise CheckError(f"not valid JSON ({exc})", f"line {lineno}") from None
            yield f"line {lineno}", row

    return "jsonl", n_rows, rows()


# ---------------------------------------------------------------- driver

_LENGTH_BATCH = 2048  # rows rendered and tokenized at a time (bounded memory, the fast tokenizer's threads)


def _longest_rows(where_and_messages: list[tuple[str, list]], tokenizer_dir: str, max_length: int) -> int:
    """Tokens of the longest row with the chat template; CheckError at the first row over
    ``max_length``.  One render of the whole conversation: verl's SFT dataset tokenizes it message
    by message and checks that the two agree."""
    from transformers import AutoTokenizer  # only here: the other checks need no model

    try:
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    except Exception as exc:  # noqa: BLE001 - any failure to load is one line about the tokenizer
        raise CheckError(f"--tokenizer {tokenizer_dir}: cannot load a tokenizer ({type(exc).__name__}: {exc})") from None
    if not getattr(tokenizer, "chat_template", None):
        raise CheckError(f"--tokenizer {tokenizer_dir}: the tokenizer has no chat template")
    longest = 0
    for start in range(0, len(where_and_messages), _LENGTH_BATCH):
        chunk = where_and_messages[start:start + _LENGTH_BATCH]
        texts = tokenizer.apply_chat_template([messages for _, messages in chunk], tokenize=False)
        for (where, _), ids in zip(chunk, tokenizer(texts, add_special_tokens=False)["input_ids"]):
            if len(ids) > max_length:
                raise CheckError(f"{len(ids)} tokens with the chat template of {tokenizer_dir}, over the "
                                 f"maximum of {max_length} (data.max_length: raise it, or make shorter rows)",
                                 where)
            longest = max(longest, len(ids))
    return longest


def check_file(path: str, kind: str | None = None, sample: int | None = None, split: str | None = None,
               max_length: int | None = None, tokenizer: str | None = None) -> str:
    """Validate ``path``; returns the summary (without the ``check-data: PATH:`` prefix).
    Raises CheckError naming the first problem."""
    if not os.path.exists(path):
        raise CheckError("no such file")
    if not os.path.isfile(path):
        raise CheckError("not a regular file")
    if sample is not None and sample < 1:
        raise CheckError("--sample must be >= 1")
    if (max_length is None) != (tokenizer is None):
        raise CheckError("--max-length and --tokenizer go together")
    if max_length is not None and max_length < 1:
        raise CheckError("--max-length must be >= 1")
    is_jsonl = kind == "jsonl" or (kind is None and path.endswith((".jsonl", ".jsonl.tmp")))
    kind, n_rows, rows = _jsonl_rows(path) if is_jsonl else _parquet_rows(path, kind)
    if max_length is not None and kind != "sft":
        raise CheckError(f"--max-length counts chat rows: the file is {kind}, not sft")
    lengths: list[tuple[str, list]] = []
    chosen = None
    if sample is not None and sample < n_rows:
        chosen = set(random.Random(f"check-data/{sample}").sample(range(n_rows), sample))
    check_row = ROW_CHECKS[kind]
    per_type: Counter = Counter()
    seen_ids: set[int] = set()
    verified = 0
    for index, (where, row) in enumerate(rows):
        verify = chosen is None or index in chosen
        try:
            try:
                task_type = check_row(row, split, verify)
            except (KeyError, TypeError, AttributeError) as exc:
                raise CheckError(f"malformed row ({type(exc).__name__}: {exc})") from None
            task_id = _task_id_of(kind, row)
            if task_id in seen_ids:
                raise CheckError(f"task {task_id} appears twice")
        except CheckError as exc:
            exc.where = exc.where or where
            raise
        seen_ids.add(task_id)
        per_type[task_type] += 1
        verified += verify
        if max_length is not None:
            lengths.append((where, row["messages"]))
    length_note = ""
    if max_length is not None:
        length_note = f"; longest {_longest_rows(lengths, tokenizer, max_length)} tokens (max {max_length})"
    order = [t for t in registry.task_types() if per_type[t]]
    types = ", ".join(f"{t}={per_type[t]}" for t in order)
    split_note = f", split {split}" if split else ""
    return f"OK: {n_rows} rows ({kind}{split_note}), {verified} verified{length_note}; per type: {types}"


def one_line(text: str, limit: int = 600) -> str:
    """Control characters out, whitespace runs collapsed, long text shortened: the error is ONE line."""
    cleaned = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    cleaned = " ".join(cleaned.split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def run(args) -> int:
    try:
        summary = check_file(args.file, args.kind, args.sample, args.split, args.max_length, args.tokenizer)
    except CheckError as exc:
        where = f" {exc.where}:" if exc.where else ""
        print(one_line(f"check-data: {args.file}:{where} {exc.problem}"), file=sys.stderr)
        return 1
    print(f"check-data: {args.file}: {summary}")
    return 0
