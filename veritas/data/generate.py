"""``veritas generate``: LGC-V2 tasks to JSONL, verl SFT parquet or verl RL parquet.

Row ``i`` of a run is a pure function of the arguments and ``i``: with ``T`` task types (in the
registry's order) and ``g = base + i``, its type is ``types[g % T]`` and its seed is
``split_start + g // T``.  ``--seed S`` sets ``base = S * T`` (every type starts at seed offset
``S``); ``--start-task-id X`` sets ``base`` so that row 0 is task ``X``.  Rows are made in chunks,
in worker processes when ``--concurrency`` > 1, and written in row order, so the output is
byte-identical whatever the concurrency.  Seeds come only from the split's range
(``registry.SPLITS``), so two splits can never share a task.

``--tasks-from RUN [--verdict wrong|right]`` makes rows of exactly the tasks a greedy ``veritas
eval`` run judged wrong (or right), in the run's order (``veritas.data.mine``): row ``i`` is the
run's ``i``-th such task, generated again from its type, seed, level and language.  With
``--right-per-wrong R`` (``--verdict wrong`` only) the wrong tasks are followed by ``round(R x
wrong)`` of the tasks the run judged right, taken in turn from each type (capped at those
there are); the summary line ends with ``; W wrong + K right``.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
from collections import Counter, deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Iterator

from veritas.data import formats
from veritas.data.mine import VERDICTS, MineError, TaskList, check_right_per_wrong, tasks_from_run
from veritas.data.writers import (
    DEFAULT_ROW_GROUP_SIZE,
    AtomicParquetWriter,
    JsonlWriter,
    dumps_line,
    iter_jsonl,
    repair_jsonl_tail,
)
from veritas.envs.lgc_v2 import registry
from veritas.envs.lgc_v2.selection import Selection, SelectionError, parse_level_range

LANGUAGE_CHOICES = ("en", "zh", "mix")
DEFAULT_CHUNK_SIZE = 128


class UsageError(ValueError):
    """Bad arguments: exit code 2."""


class GenerationError(RuntimeError):
    """A task could not be made into a correct row: exit code 1."""


class ResumeError(GenerationError):
    """The existing output cannot be resumed: exit code 1, nothing was written."""


@dataclass(frozen=True)
class Plan:
    """Everything that decides the rows (pickled to the worker processes)."""

    selection: Selection | TaskList  # row i is selection.task(i): round_robin, or the tasks of --tasks-from
    num_samples: int
    language: str  # en | zh | mix as asked (the selection holds None for mix): for the fallback report
    fmt: str
    style: str
    system_prompt: str | None = None
    reasoning: bool = False
    verify: bool = True
    note: str = ""  # added to the summary line: --tasks-from's counts of wrong and right tasks

    @property
    def types(self) -> tuple[str, ...]:
        return self.selection.types

    @property
    def split(self) -> str:
        return self.selection.split

    def index_of(self, task_type: str, seed: int) -> int | None:
        """(task type, seed) -> row index, or None when that task is not in this plan."""
        i = self.selection.index_of(task_type, seed)
        return i if i is not None and i < self.num_samples else None


@dataclass
class ChunkResult:
    rows: list  # JSON lines (jsonl) or row dicts (parquet)
    per_type: Counter = field(default_factory=Counter)
    worked_missing: Counter = field(default_factory=Counter)  # type has no worked solution
    worked_unverified: list = field(default_factory=list)  # task ids whose worked solution failed
    language_fallback: Counter = field(default_factory=Counter)


def make_rows(plan: Plan, indices: list[int]) -> ChunkResult:
    """Rows for the given row indices, in that order.  Runs in worker processes."""
    out = ChunkResult(rows=[])
    for i in indices:
        task_type, seed, _ = plan.selection.locate(i)
        try:
            task = plan.selection.task(i)
        except Exception as exc:  # a generator bug: name the task so it can be reproduced
            raise GenerationError(f"task {registry.make_task_id(task_type, seed)} ({task_type}): "
                                  f"generation failed: {type(exc).__name__}: {exc}") from None
        out.per_type[task_type] += 1
        if plan.language != "mix" and task.language != plan.language:  # the type lacks it: fallback
            out.language_fallback[task_type] += 1
        if plan.verify:
            verdict = registry.verify_task(task, task.answer)
            if not verdict.correct:
                raise GenerationError(f"task {task.task_id} ({task_type}): reference answer does not verify: {verdict.reason}")
        if plan.fmt == "rl":
            out.rows.append(formats.rl_row(task, index=i, split=plan.split,
                                           system_prompt=plan.system_prompt, reasoning=plan.reasoning))
            continue
        response, used = formats.response_for(task, plan.style)
        if plan.style == "worked" and used == "answer":
            out.worked_missing[task_type] += 1
        if plan.verify and used == "worked" and not registry.verify_task(task, response).correct:
            # never train on a wrong solution: fall back to the plain answer and report it
            out.worked_unverified.append(task.task_id)
            response, used = task.answer, "answer"
        if plan.fmt == "sft":
            out.rows.append(formats.sft_row(task, plan.style, system_prompt=plan.system_prompt,
                                            reasoning=plan.reasoning, response=response, used_style=used))
        else:
            out.rows.append(dumps_line(formats.jsonl_row(task, plan.style, response=response, used_style=used)))
    return out


# ---------------------------------------------------------------- arguments -> plan

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", choices=[registry.ENV_NAME], default=registry.ENV_NAME)
    p.add_argument("--task-types", default="all",
                   help=f"comma-separated types, or 'all' (default); known: {', '.join(registry.task_types())}")
    p.add_argument("--num-samples", type=int, default=None,
                   help="total rows, spread evenly over the types (required unless --tasks-from)")
    p.add_argument("--tasks-from", metavar="RUN", default=None,
                   help="instead: one row for each task a greedy `veritas eval` run (results folder) judged "
                        "--verdict, generated again from its id, level and language; --split must be the run's")
    p.add_argument("--verdict", choices=VERDICTS, default="wrong", help="with --tasks-from: which tasks (default wrong)")
    p.add_argument("--right-per-wrong", type=float, default=None, metavar="R",
                   help="with --tasks-from and --verdict wrong: after the wrong tasks, round(R x wrong) of those the "
                        "run judged right, one of each type in turn (at most all of them); default 0: none")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--seed", type=int, default=0,
                       help="seed offset inside the split's seed range where every type starts (default 0)")
    start.add_argument("--start-task-id", type=int, default=None,
                       help="make row 0 this task (must lie in the split); later rows continue round-robin")
    p.add_argument("--difficulty", default=None,
                   help="a level (5) or a range (3-7) cycled through by seed; default: the registry's mix")
    p.add_argument("--language", choices=LANGUAGE_CHOICES, default="mix",
                   help="mix (default): each type's own share of zh prompts")
    p.add_argument("--split", choices=list(registry.SPLITS), default="train")
    p.add_argument("--format", dest="fmt", choices=formats.FORMATS, default=None,
                   help="jsonl (default for a .jsonl output), sft or rl (verl parquet)")
    p.add_argument("--response-style", choices=formats.RESPONSE_STYLES, default="answer",
                   help="SFT/JSONL response: the plain answer or the worked solution (falls back to the answer)")
    p.add_argument("--system-prompt", default=None, help="add this system message to every chat prompt")
    p.add_argument("--reasoning", action="store_true",
                   help="add a system instruction to reason inside <think>...</think> first")
    p.add_argument("--output", "-o", required=True, help="output file (.jsonl or .parquet)")
    p.add_argument("--concurrency", type=int, default=1, help="worker processes (output does not depend on it)")
    existing = p.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true",
                          help="keep the rows already in --output and add the missing ones")
    existing.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="rows per work unit (and per JSONL flush)")
    p.add_argument("--row-group-size", type=int, default=DEFAULT_ROW_GROUP_SIZE, help="parquet rows per row group")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip verifying each reference answer / response while generating")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_task_types(text: str) -> tuple[str, ...]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = registry.task_types()
    if not names or names == ["all"]:
        names = list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown task type(s) {', '.join(unknown)}; known: {', '.join(known)}")
    # the registry's order, duplicates dropped: the same set always gives the same rows
    return tuple(t for t in known if t in names)


def resolve_format(fmt: str | None, output: str) -> str:
    """The format, checked against the output's extension: JSONL in a .parquet file (or the
    reverse) is always a mistake."""
    suffix = os.path.splitext(output)[1].lower()
    if fmt is None:
        if suffix == ".jsonl":
            return "jsonl"
        raise UsageError("pass --format jsonl, sft or rl (only a .jsonl output implies its format)")
    if (fmt == "jsonl" and suffix == ".parquet") or (fmt != "jsonl" and suffix == ".jsonl"):
        raise UsageError(f"--format {fmt} does not fit the output's extension {suffix}")
    return fmt


def build_plan(args) -> Plan:
    if args.concurrency < 1 or args.chunk_size < 1 or args.row_group_size < 1:
        raise UsageError("--concurrency, --chunk-size and --row-group-size must be >= 1")
    args.fmt = resolve_format(args.fmt, args.output)
    if args.tasks_from is not None:
        return plan_from_run(args)
    if args.right_per_wrong is not None:
        raise UsageError("--right-per-wrong replays right tasks of a run after its wrong ones: it needs --tasks-from RUN")
    if args.num_samples is None:
        raise UsageError("--num-samples is required (or --tasks-from RUN)")
    if args.num_samples < 1:
        raise UsageError("--num-samples must be >= 1")
    types = parse_task_types(args.task_types)
    seed_lo, seed_hi = registry.split_seed_range(args.split)
    n_types = len(types)
    if args.start_task_id is not None:
        try:
            first_type, first_seed = registry.split_task_id(args.start_task_id)
        except registry.TaskIdError as exc:
            raise UsageError(f"--start-task-id: {exc}") from None
        if first_type not in types:
            raise UsageError(f"--start-task-id {args.start_task_id} is a {first_type} task, not one of --task-types")
        if not seed_lo <= first_seed < seed_hi:
            raise UsageError(f"--start-task-id {args.start_task_id} (seed {first_seed}) is not in the {args.split} "
                             f"split (seeds {seed_lo}..{seed_hi - 1})")
        offset = (first_seed - seed_lo) * n_types + types.index(first_type)
    else:
        if args.seed < 0:
            raise UsageError("--seed must be >= 0 (an offset inside the split's seed range)")
        offset = args.seed * n_types
    last_seed = seed_lo + (offset + args.num_samples - 1) // n_types
    if last_seed >= seed_hi:
        raise UsageError(f"{args.num_samples} rows from this start need seeds up to {last_seed}, past the end of the "
                         f"{args.split} split ({seed_hi - 1})")
    try:
        levels = parse_level_range(args.difficulty)
    except SelectionError as exc:
        raise UsageError(f"--difficulty: {exc}") from None
    selection = Selection(types, order="round_robin", split=args.split, offset=offset, levels=levels,
                          language=None if args.language == "mix" else args.language)
    return Plan(
        selection=selection, num_samples=args.num_samples, language=args.language, fmt=args.fmt,
        style=args.response_style, system_prompt=args.system_prompt, reasoning=args.reasoning, verify=args.verify,
    )


def plan_from_run(args) -> Plan:
    """The plan of ``--tasks-from RUN``: the run's tasks of ``--verdict``, its prompt settings."""
    given = [flag for flag, set_ in (("--num-samples", args.num_samples is not None),
                                     ("--start-task-id", args.start_task_id is not None), ("--seed", args.seed != 0),
                                     ("--difficulty", args.difficulty is not None),
                                     ("--language", args.language != "mix"), ("--task-types", args.task_types != "all"))
             if set_]
    if given:
        raise UsageError(f"--tasks-from takes the tasks from the run: {', '.join(given)} cannot be given with it")
    if args.right_per_wrong is not None and args.verdict != "wrong":
        raise UsageError(f"--right-per-wrong replays right tasks after the wrong ones: it needs --verdict wrong "
                         f"(not {args.verdict})")
    try:
        right_per_wrong = check_right_per_wrong(args.right_per_wrong or 0.0)
    except MineError as exc:
        raise UsageError(f"--right-per-wrong {exc}") from None
    try:
        mined = tasks_from_run(args.tasks_from, args.verdict, right_per_wrong)
    except MineError as exc:
        raise UsageError(f"--tasks-from: {exc}") from None
    run = mined.settings
    if mined.tasks.split != args.split:
        raise UsageError(f"--tasks-from {args.tasks_from} judged tasks of the {mined.tasks.split} split: pass "
                         f"--split {mined.tasks.split} to make rows of them (not --split {args.split})")
    if (run.get("system_prompt"), bool(run.get("reasoning"))) != (args.system_prompt, args.reasoning):
        raise UsageError(f"--tasks-from {args.tasks_from} judged its tasks with system prompt "
                         f"{run.get('system_prompt')!r} and reasoning {bool(run.get('reasoning'))}: a verdict on one "
                         "prompt says nothing of another; pass the same --system-prompt and --reasoning")
    shown = ", ".join(f"{t}={mined.chosen[t]}/{mined.judged[t]}" for t in registry.task_types() if mined.judged[t])
    chosen = sum(mined.chosen.values())
    print(f"generate: {args.tasks_from}: {chosen} of {sum(mined.judged.values())} tasks judged "
          f"{args.verdict} (per type: {shown})", file=sys.stderr)
    note = ""
    if right_per_wrong:
        capped = (f" (capped: {right_per_wrong:g} x {chosen} asks for {mined.replay_wanted}, the run judged only "
                  f"{mined.replayed} right)") if mined.replayed < mined.replay_wanted else ""
        note = f"; {chosen} wrong + {mined.replayed} right{capped}"
    return Plan(selection=mined.tasks, num_samples=len(mined.tasks), language="mix", fmt=args.fmt,
                style=args.response_style, system_prompt=args.system_prompt, reasoning=args.reasoning, verify=args.verify,
                note=note)


# ---------------------------------------------------------------- resume

def _mark(plan: Plan, done: bytearray, task_id, where: str) -> bool:
    """Mark an existing row's task as done; False when it is not part of this plan."""
    try:
        task_type, seed = registry.split_task_id(task_id)
    except registry.TaskIdError as exc:
        raise ResumeError(f"--resume: {where}: {exc}") from None
    i = plan.index_of(task_type, seed)
    if i is None:
        return False
    done[i] = 1
    return True


def scan_jsonl(plan: Plan, path: str, done: bytearray) -> tuple[int, int]:
    """(rows kept, rows not in this plan); repairs a cut-off last line first."""
    import json

    with open(path, "rb") as f:
        head = f.read(1)
    if head not in (b"", b"{"):
        # never "repair" (truncate) a file that is not ours, e.g. a parquet file
        raise ResumeError(f"--resume: {path} does not look like a JSONL file written by generate")
    cut = repair_jsonl_tail(path)
    if cut:
        print(f"generate: {path}: removed a partially written last line ({cut} bytes)", file=sys.stderr)
    kept = foreign = 0
    for lineno, raw in iter_jsonl(path):
        try:
            task_id = json.loads(raw)["task_id"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ResumeError(f"--resume: {path}: line {lineno} is not a generated row ({type(exc).__name__}); "
                                  "not resuming a file this tool did not write") from None
        kept += 1
        foreign += not _mark(plan, done, task_id, f"{path}: line {lineno}")
    return kept, foreign


def _parquet_task_ids(pf, fmt: str) -> Iterator[int]:
    column = "extra_info" if fmt == "rl" else "task_id"
    for batch in pf.iter_batches(columns=[column], batch_size=65536):
        values = batch.column(0)
        if fmt == "rl":
            values = values.field("task_id")
        yield from values.to_pylist()


def open_existing_parquet(plan: Plan, path: str, done: bytearray):
    """(ParquetFile, rows kept, rows not in this plan) for --resume of a parquet output."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise ResumeError(f"--resume: {path} is not a readable parquet file ({exc}); remove it or pass --overwrite") from None
    if not pf.schema_arrow.equals(formats.SCHEMAS[plan.fmt]):
        raise ResumeError(f"--resume: {path} does not have the {plan.fmt} schema; remove it or pass --overwrite")
    kept = foreign = 0
    for task_id in _parquet_task_ids(pf, plan.fmt):
        kept += 1
        foreign += not _mark(plan, done, task_id, path)
    return pf, kept, foreign


# ---------------------------------------------------------------- running

def pending_chunks(done: bytearray, chunk_size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for i, is_done in enumerate(done):
        if not is_done:
            chunk.append(i)
            if len(chunk) == chunk_size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _ignore_sigint() -> None:
    # Ctrl-C is handled once, by the parent, which then stops the pool
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_chunks(plan: Plan, chunks: Iterator[list[int]], concurrency: int) -> Iterator[ChunkResult]:
    """Results in chunk order; at most ~2 chunks per worker in flight (bounded memory)."""
    if concurrency <= 1:
        for chunk in chunks:
            yield make_rows(plan, chunk)
        return
    # spawn: workers start clean (no inherited threads or locks from pyarrow/tqdm in the parent)
    pool = ProcessPoolExecutor(concurrency, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint)
    window: deque = deque()
    try:
        for chunk in chunks:
            window.append(pool.submit(make_rows, plan, chunk))
            if len(window) >= 2 * concurrency:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class Totals:
    written: int = 0
    per_type: Counter = field(default_factory=Counter)
    worked_missing: Counter = field(default_factory=Counter)
    worked_unverified: list = field(default_factory=list)
    language_fallback: Counter = field(default_factory=Counter)

    def add(self, r: ChunkResult) -> None:
        self.written += len(r.rows)
        self.per_type.update(r.per_type)
        self.worked_missing.update(r.worked_missing)
        self.worked_unverified.extend(r.worked_unverified)
        self.language_fallback.update(r.language_fallback)


def _progress(total: int, args, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="row", desc=desc, file=sys.stderr, disable=args.no_progress,
                mininterval=0.5, dynamic_ncols=True)


def generate_file(plan: Plan, args) -> tuple[Totals, int, int]:
    """Write the output; returns (totals of new rows, rows kept from the existing file, foreign rows)."""
    path = args.output
    exists = os.path.exists(path)
    if exists and not (args.resume or args.overwrite):
        raise UsageError(f"{path} exists; pass --resume to complete it or --overwrite to replace it")
    resuming = exists and args.resume
    done = bytearray(plan.num_samples)
    totals = Totals()
    kept = foreign = 0
    existing_pf = None
    if resuming and plan.fmt == "jsonl":
        kept, foreign = scan_jsonl(plan, path, done)
    elif resuming:
        existing_pf, kept, foreign = open_existing_parquet(plan, path, done)
    todo = plan.num_samples - sum(done)
    if resuming and todo == 0:
        return totals, kept, foreign
    desc = f"{plan.fmt} {plan.split}"
    chunks = pending_chunks(done, args.chunk_size)
    if plan.fmt == "jsonl":
        with JsonlWriter(path, append=resuming) as writer, _progress(todo, args, desc) as bar:
            for result in run_chunks(plan, chunks, args.concurrency):
                writer.write_lines(result.rows)
                totals.add(result)
                bar.update(len(result.rows))
        return totals, kept, foreign
    with AtomicParquetWriter(path, formats.SCHEMAS[plan.fmt], row_group_size=args.row_group_size) as writer, \
            _progress(todo, args, desc) as bar:
        if existing_pf is not None:
            # rows already there come first, unchanged, streamed a row group at a time
            import pyarrow as pa

            for batch in existing_pf.iter_batches(batch_size=args.row_group_size):
                writer.write_table(pa.Table.from_batches([batch]))
        for result in run_chunks(plan, chunks, args.concurrency):
            writer.write_rows(result.rows)
            totals.add(result)
            bar.update(len(result.rows))
    return totals, kept, foreign


def _counts(counter: Counter, types: tuple[str, ...]) -> str:
    return ", ".join(f"{t}={counter[t]}" for t in types if counter[t])


class Terminated(BaseException):
    """SIGTERM, turned into an exception so the writers clean up (temp parquet removed, JSONL flushed)."""


def _raise_terminated(signum, frame):
    raise Terminated()


def run(args) -> int:
    try:
        previous_term = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        previous_term = None
    try:
        return _run(args)
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def _run(args) -> int:
    try:
        plan = build_plan(args)
        totals, kept, foreign = generate_file(plan, args)
    except UsageError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    except GenerationError as exc:
        resumable = args.fmt == "jsonl" and not isinstance(exc, ResumeError)
        kept_note = "; rows written before it are kept (fix, then --resume)" if resumable else ""
        print(f"generate: {exc}{kept_note}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Terminated, BrokenProcessPool) as exc:
        what = {KeyboardInterrupt: "interrupted", Terminated: "terminated"}.get(type(exc), f"a worker process died ({exc})")
        keep = "rows written so far are kept; rerun with --resume" if args.fmt == "jsonl" else \
            "the output was left as it was (parquet is replaced only when complete)"
        print(f"generate: {what}; {keep}", file=sys.stderr)
        return {KeyboardInterrupt: 130, Terminated: 143}.get(type(exc), 1)
    if foreign:
        print(f"generate: note: {foreign} existing rows of {args.output} are not part of this run's plan "
              "(different --seed/--num-samples/--task-types?); they were kept", file=sys.stderr)
    if totals.worked_missing:
        print(f"generate: note: {sum(totals.worked_missing.values())} rows use the plain answer because their type "
              f"has no worked solution ({_counts(totals.worked_missing, plan.types)})", file=sys.stderr)
    if totals.worked_unverified:
        ids = ", ".join(str(t) for t in totals.worked_unverified[:10])
        print(f"generate: WARNING: {len(totals.worked_unverified)} worked solutions did not verify and were replaced "
              f"by the plain answer (task ids: {ids}{', ...' if len(totals.worked_unverified) > 10 else ''})",
              file=sys.stderr)
    if totals.language_fallback:
        print(f"generate: note: {sum(totals.language_fallback.values())} rows are in en because their type has no "
              f"{plan.language} prompts ({_counts(totals.language_fallback, plan.types)})", file=sys.stderr)
    per_type = _counts(totals.per_type, plan.types) or "-"
    style = f", style {plan.style}" if plan.fmt != "rl" else ""
    print(f"generate: {args.output}: {kept + totals.written} rows ({totals.written} new, {kept} kept); "
          f"format {plan.fmt}, split {plan.split}{style}; new per type: {per_type}{plan.note}")
    return 0
