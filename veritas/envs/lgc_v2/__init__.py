"""LGC-V2 task family.  Public API re-exported from the registry."""
from veritas.envs.lgc_v2.registry import (  # noqa: F401
    ENV_NAME,
    SPLITS,
    TaskIdError,
    generate,
    generate_by_type,
    language_for,
    make_task_id,
    max_task_id,
    split_seed_range,
    split_task_id,
    task_module,
    task_type_contract,
    task_types,
    type_ids,
    verify,
    verify_task,
    worked_solution,
)


def __getattr__(name: str):
    # TASK_TYPES, TYPE_IDS, MAX_TASK_ID: derived from the registry's TYPE_MODULES when read
    if name in ("TASK_TYPES", "TYPE_IDS", "MAX_TASK_ID"):
        from veritas.envs.lgc_v2 import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
