"""Row builders and schemas of the three dataset formats: one definition each.

* ``jsonl``: the whole task (``Task.to_dict()``) plus the ``response`` of the chosen style and
  that style's name; ``metadata`` is a JSON object.  One JSON object per line.
* ``sft``: verl's SFT parquet.  ``prompt``/``response`` strings for the single-turn trainer and
  ``messages`` (chat list of ``{role, content}``) for ``sft_trainer`` with
  ``data.messages_key=messages``; plus the task's identity so ``check-data`` can regenerate it.
* ``rl``: verl's RL parquet (``data_source``, ``prompt`` chat list, ``ability``,
  ``reward_model {style, ground_truth}``, ``extra_info``).  ``extra_info.metadata`` is a JSON
  string: metadata shapes differ across task types, so a struct column could not hold them all
  in one file.  Readers go through :func:`parse_metadata`, which accepts the JSON string and an
  already-decoded dict alike (verl's dynamic dataset hands dicts, parquet hands strings).

The verl adapters build their dynamic-dataset rows with :func:`rl_row`, so the on-the-fly
dataset and the RL parquet cannot drift apart.
"""
from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from veritas.envs.base import Task
from veritas.envs.lgc_v2 import registry

FORMATS = ("jsonl", "sft", "rl")
RESPONSE_STYLES = ("answer", "worked")
ABILITY = "logic"
REWARD_STYLE = "rule"

# Asks for reasoning in <think> tags; the verifiers judge only the text after </think>.
REASONING_INSTRUCTION = {
    "en": "Think the problem through step by step inside <think> and </think>, then give your final answer after </think>.",
    "zh": "请先在 <think> 和 </think> 之间逐步思考，然后在 </think> 之后给出最终答案。",
}

_MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
CHAT = pa.list_(_MESSAGE)

SFT_SCHEMA = pa.schema(
    [
        ("prompt", pa.string()),
        ("response", pa.string()),
        ("messages", CHAT),
        ("task_id", pa.int64()),
        ("task_type", pa.string()),
        ("seed", pa.int64()),
        ("difficulty", pa.int64()),
        ("language", pa.string()),
        ("response_style", pa.string()),  # the style actually used: "worked" or "answer"
    ]
)

EXTRA_INFO = pa.struct(
    [
        ("task_id", pa.int64()),
        ("task_type", pa.string()),
        ("seed", pa.int64()),
        ("difficulty", pa.int64()),
        ("language", pa.string()),
        ("index", pa.int64()),
        ("split", pa.string()),
        ("metadata", pa.string()),  # JSON object as text; see parse_metadata
    ]
)

RL_SCHEMA = pa.schema(
    [
        ("data_source", pa.string()),
        ("prompt", CHAT),
        ("ability", pa.string()),
        ("reward_model", pa.struct([("style", pa.string()), ("ground_truth", pa.string())])),
        ("extra_info", EXTRA_INFO),
    ]
)

# JSONL keys -> JSON value type; metadata is a JSON object here, not text.
JSONL_FIELDS: dict[str, type] = {
    "task_id": int,
    "task_type": str,
    "seed": int,
    "difficulty": int,
    "language": str,
    "prompt": str,
    "answer": str,
    "metadata": dict,
    "response": str,
    "response_style": str,
}

SCHEMAS: dict[str, pa.Schema] = {"sft": SFT_SCHEMA, "rl": RL_SCHEMA}


def data_source(task_type: str) -> str:
    """verl groups validation metrics by data_source, so one per task type."""
    return f"{registry.ENV_NAME}/{task_type}"


def task_type_of_data_source(value: str) -> str | None:
    prefix = registry.ENV_NAME + "/"
    return value[len(prefix):] if isinstance(value, str) and value.startswith(prefix) else None


def dump_metadata(metadata: dict) -> str:
    # sorted keys: the same metadata always gives the same bytes
    return json.dumps(metadata, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def parse_metadata(value: Any) -> dict:
    """Task metadata from ``extra_info["metadata"]``: a JSON string (parquet) or a dict (in memory)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes, bytearray)):
        decoded = json.loads(value)
        if isinstance(decoded, dict):
            return decoded
        raise ValueError(f"metadata JSON is a {type(decoded).__name__}, not an object")
    raise ValueError(f"metadata is {type(value).__name__}, not a JSON string or dict")


def response_for(task: Task, style: str) -> tuple[str, str]:
    """(response text, style used).  ``worked`` falls back to the plain answer for types without
    a worked solution; the second item says which one was used."""
    if style not in RESPONSE_STYLES:
        raise ValueError(f"response style must be one of {RESPONSE_STYLES}, got {style!r}")
    if style == "worked":
        worked = registry.worked_solution(task)
        if worked:
            return worked, "worked"
    return task.answer, "answer"


def system_text(task: Task, system_prompt: str | None = None, reasoning: bool = False) -> str | None:
    """The system message, if any: ``system_prompt`` and/or the reasoning instruction in the task's language."""
    parts = [system_prompt] if system_prompt else []
    if reasoning:
        parts.append(REASONING_INSTRUCTION.get(task.language, REASONING_INSTRUCTION["en"]))
    return "\n\n".join(parts) if parts else None


def chat_prompt(task: Task, system_prompt: str | None = None, reasoning: bool = False) -> list[dict[str, str]]:
    system = system_text(task, system_prompt, reasoning)
    head = [{"role": "system", "content": system}] if system else []
    return head + [{"role": "user", "content": task.prompt}]


def jsonl_row(task: Task, style: str = "answer", *, response: str | None = None, used_style: str | None = None) -> dict:
    if response is None:
        response, used_style = response_for(task, style)
    row = task.to_dict()
    row["response"] = response
    row["response_style"] = used_style or style
    return row


def sft_row(
    task: Task,
    style: str = "answer",
    *,
    system_prompt: str | None = None,
    reasoning: bool = False,
    response: str | None = None,
    used_style: str | None = None,
) -> dict:
    """One SFT row.  ``response``/``used_style`` override the style's response (generate passes
    the plain answer when a worked solution failed to verify)."""
    if response is None:
        response, used_style = response_for(task, style)
    messages = chat_prompt(task, system_prompt, reasoning) + [{"role": "assistant", "content": response}]
    return {
        "prompt": task.prompt,
        "response": response,
        "messages": messages,
        "task_id": task.task_id,
        "task_type": task.task_type,
        "seed": task.seed,
        "difficulty": task.difficulty,
        "language": task.language,
        "response_style": used_style or style,
    }


def rl_row(
    task: Task,
    *,
    index: int = 0,
    split: str = "",
    system_prompt: str | None = None,
    reasoning: bool = False,
) -> dict:
    """One RL row in verl's schema; the reward reads ``extra_info`` (see :func:`task_from_rl_row`)."""
    return {
        "data_source": data_source(task.task_type),
        "prompt": chat_prompt(task, system_prompt, reasoning),
        "ability": ABILITY,
        "reward_model": {"style": REWARD_STYLE, "ground_truth": task.answer},
        "extra_info": {
            "task_id": task.task_id,
            "task_type": task.task_type,
            "seed": task.seed,
            "difficulty": task.difficulty,
            "language": task.language,
            "index": index,
            "split": split,
            "metadata": dump_metadata(task.metadata),
        },
    }


def row_response(kind: str, row: dict) -> str:
    """The text a row claims is correct: SFT/JSONL response, RL ground truth."""
    if kind == "rl":
        return row["reward_model"]["ground_truth"]
    return row["response"]


def task_from_rl_row(row: dict) -> Task:
    """The task behind an RL row, from the row alone (what the reward function sees)."""
    info = row["extra_info"]
    user = [m["content"] for m in row["prompt"] if m["role"] == "user"]
    return Task(
        task_id=int(info["task_id"]),
        task_type=info["task_type"],
        seed=int(info["seed"]),
        difficulty=int(info["difficulty"]),
        language=info["language"],
        prompt=user[-1] if user else "",
        answer=row["reward_model"]["ground_truth"],
        metadata=parse_metadata(info["metadata"]),
    )
