"""``veritas show TASK_ID``: print a task, its reference answer and (optionally) a worked solution."""
from __future__ import annotations

import json

from veritas.envs import lgc_v2


def add_arguments(p):
    p.add_argument("task_id", type=int)
    p.add_argument("--difficulty", type=int, default=None)
    p.add_argument("--language", choices=["en", "zh"], default=None)
    p.add_argument("--worked", action="store_true", help="also print the worked solution")
    p.add_argument("--json", action="store_true", help="print the whole task as JSON")


def run(args) -> int:
    task = lgc_v2.generate(args.task_id, args.difficulty, args.language)
    if args.json:
        print(json.dumps(task.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"# task {task.task_id}: {task.task_type} seed={task.seed} level={task.difficulty} lang={task.language}\n")
    print(task.prompt)
    print("\n# reference answer\n")
    print(task.answer)
    if args.worked:
        print("\n# worked solution\n")
        print(lgc_v2.worked_solution(task) or "(this type has no worked solution)")
    return 0
