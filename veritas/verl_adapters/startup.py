"""Where a GRPO launch's start-up goes, read from the timestamps in its log.

``main_ppo`` (verl 0.9.1, v1 trainer) logs a few milestones with wall-clock times, and our
launchers log when they start the trainer (``checks took N s; running the command at HH:MM:SS``,
local time like verl's).  This module turns them into phases::

    launcher checks      launcher start -> the trainer command
    to Ray               the command -> "Started a local Ray instance"
    datasets             Ray -> "train and validate dataloader initialized" (task runner, TransferQueue, datasets)
    worker group         -> "create worker group"
    actor and reference  -> "actor and ref model engine initialized"
    vLLM server process  -> the vLLM server actor's first INFO line (reward workers start meanwhile)
    vLLM engine process  -> its engine-core process's "Initializing a V1 LLM engine"
    vLLM GPU worker      -> the GPU worker process's first INFO line
    vLLM engine set-up   -> "init engine (profile, create kv cache, warmup model) took"
    rollout servers      -> "checkpoint engine manager initialized" (the rest of the servers' start)
    weights to rollout   -> "all initialize finished, ready to fit"
    agent-loop workers   -> an agent-loop worker's first timestamped line (verl starts them only
                            now; they log when the first prompts reach them)
    first step           -> the first step's metrics (when the caller knows when they came)

The vLLM lines are INFO lines: the GRPO launcher keeps vLLM's own level (verl lowers it to WARN).
A milestone missing from the log (another verl or vLLM version, vLLM at WARN, a run that joined
an existing Ray cluster, a log cut short) is skipped, and its phase merges into the next one
found: without vLLM's lines, "rollout servers" covers all of the servers' start.  Nothing in a
log makes this raise.

    python -m veritas.verl_adapters.startup LOG    # e.g. the recipe's logs/grpo.log

``tests/benchmarks/bench_gpu.py`` adds these phases, with the first step, to each GRPO result.
"""
from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta

LAUNCHER = re.compile(r"\] checks took (\d+) s; running the command at (\d\d):(\d\d):(\d\d)")
STAMP = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})"  # date and time, then milliseconds
# vLLM's logger: month-day and time, no year ("INFO 12-05 10:33:18 [core.py:114] ...")
VLLM_STAMP = r"INFO (\d\d-\d\d \d\d:\d\d:\d\d) "
# how a milestone's time is written: Ray's and verl's loggers give the date (STAMP), vLLM's not the year
DATED, NO_YEAR = "dated", "no year"


def _verl(message: str) -> re.Pattern:
    return re.compile("INFO:" + STAMP + ":" + re.escape(message))


# (phase that ends there, how its time is written, the milestone's line), in start-up order.  Ray
# prefixes each actor's lines with "(ActorName pid=N)" (colour codes around it): "\S*\s+" skips
# those codes and, in front of a vLLM line, requires the line to be that process's own.
STAMPED = (
    ("to Ray", DATED, re.compile(STAMP + r"\s+INFO \S+ -- Started a local Ray instance")),
    ("datasets", DATED, _verl("train and validate dataloader initialized")),
    ("worker group", DATED, _verl("create worker group")),
    ("actor and reference", DATED, _verl("actor and ref model engine initialized")),
    ("vLLM server process", NO_YEAR, re.compile(r"\(vLLMHttpServer pid=\d+\)\S*\s+" + VLLM_STAMP)),
    ("vLLM engine process", NO_YEAR, re.compile(r"\(EngineCore pid=\d+\)\S*\s+" + VLLM_STAMP
                                                + r"\[core\.py:\d+\] Initializing a V1 LLM engine")),
    ("vLLM GPU worker", NO_YEAR, re.compile(r"\(Worker pid=\d+\)\S*\s+" + VLLM_STAMP)),
    ("vLLM engine set-up", NO_YEAR, re.compile(VLLM_STAMP + r"\[core\.py:\d+\] init engine ")),
    ("rollout servers", DATED, _verl("checkpoint engine manager initialized")),
    ("weights to rollout", DATED, _verl("all initialize finished")),
    ("agent-loop workers", DATED, re.compile(r"\(AgentLoopWorker\w* pid=\d+\)\S*\s+[A-Z]+:" + STAMP)),
)


def _time(kind: str, match: re.Match, year: int | None) -> datetime | None:
    if kind == DATED:
        return datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S") + timedelta(milliseconds=int(match.group(2)))
    if year is None:  # a vLLM time needs a year from one of verl's lines before it
        return None
    return datetime.strptime(f"{year}-{match.group(1)}", "%Y-%m-%d %H:%M:%S")


def milestones(text: str) -> list[tuple[str, datetime]]:
    """(phase that ends there, time) of each milestone found, in the order of STAMPED; the first
    entry, when the launcher's line is there, is ("launcher checks", the trainer command's time)."""
    found = []
    for name, kind, pattern in STAMPED:
        match = pattern.search(text)
        if not match:
            continue
        try:
            when = _time(kind, match, found[-1][1].year if found else None)
        except ValueError:  # not a date after all (or 02-29 in another year): that milestone is missing
            continue
        if when is None:
            continue
        if found and when < found[-1][1] - timedelta(days=180):
            when = when.replace(year=when.year + 1)  # vLLM's month-day just after New Year's Eve
        found.append((name, when))
    launcher = LAUNCHER.search(text)
    if launcher and found:
        # the launcher logs the time of day only: its date is the first milestone's, or the day
        # before when that would put it after the milestone (a launch just before midnight)
        first = found[0][1]
        try:
            command = first.replace(hour=int(launcher.group(2)), minute=int(launcher.group(3)),
                                    second=int(launcher.group(4)), microsecond=0)
        except ValueError:
            return found
        if command > first:
            command -= timedelta(days=1)
        found.insert(0, ("launcher checks", command))
        found.insert(0, ("", command - timedelta(seconds=int(launcher.group(1)))))
    return found


def phases(text: str, launched: datetime | None = None, first_step: datetime | None = None) -> list[tuple[str, float]]:
    """(phase, seconds) between consecutive milestones, from the launch (the launcher's line, else
    ``launched``) to the first step's metrics (``first_step``), when given."""
    found = milestones(text)
    if launched is not None and not (found and found[0][0] == ""):
        found.insert(0, ("", launched))
    if first_step is not None:
        found.append(("first step", first_step))
    out = []
    for (_, start), (name, end) in zip(found, found[1:]):
        out.append((name, round((end - start).total_seconds(), 1)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m veritas.verl_adapters.startup", description=__doc__.split("\n")[0])
    parser.add_argument("log", help="a GRPO launcher's log (stdout and stderr)")
    args = parser.parse_args(argv)
    try:
        with open(args.log, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as exc:
        print(f"startup: {args.log}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    rows = phases(text)
    if not rows:
        print(f"startup: {args.log}: no two start-up milestones found (a verl main_ppo log?)", file=sys.stderr)
        return 1
    print("| phase | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **total** | {sum(s for _, s in rows):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
