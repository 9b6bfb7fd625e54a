"""LGC-V2 task family.  Public API re-exported from the registry."""
from veritas.envs.lgc_v2.registry import (  # noqa: F401
    ENV_NAME,
    SPLITS,
    TASK_TYPES,
    TYPE_IDS,
    TaskIdError,
    generate,
    generate_by_type,
    make_task_id,
    split_seed_range,
    split_task_id,
    task_module,
    verify,
    verify_task,
    worked_solution,
)
