"""Golden digests: what the generators and every front end make, pinned byte for byte.

Committed evaluation samples and parquet files are re-judged by regenerating their tasks from
(task id, level, language), so a task must never change silently.  Each digest is a sha256 over
a deterministic JSON serialisation (sorted keys, no ASCII escaping) of what the code returns:

* ``registry.generate(task_id, level, language)`` for every type x level 1-10 x language, over
  ``CELL_SEEDS`` (small seeds plus each type's last seeds, which differ in their high digits);
  and ``registry.generate(task_id)`` (default level and language) over ``DEFAULT_SEEDS``;
* the rows of ``veritas generate`` (JSONL lines and the parquet formats' rows, not file bytes);
* the items of the dynamic dataset (``DynamicEnvDataset.__getitem__``) for fixed configs;
* the held-out task list of ``veritas eval`` for fixed arguments.

A changed digest is a changed task.  ``GOLDEN`` holds the values taken before the registry
refactor and is never edited; an intended change is an entry in ``EXCEPTIONS``: the digest's
name -> (its new value, the commit and why regenerated tasks may differ from committed ones).
Recompute with ``python tests/test_golden.py`` (prints every digest).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
from pathlib import Path

import pytest

from veritas.envs.lgc_v2 import registry

# digest name -> (new digest, why it changed: commit and reason); empty while no digest has
# changed since they were taken.
_STEPWISE = ("2026-12-05, worked solutions in single steps (boolean_expressions checks each fact, operation "
             "works one layer of arithmetic a stage): the worked-style responses changed, no task did")
_RUNNING_LIST = (_STEPWISE + "; 2026-12-05, boolean_expressions' worked solutions list the true statements so "
                 "far after each statement (the answer is a copy of the last list)")
_FRONT_SO_FAR = (_RUNNING_LIST + "; 2026-12-06, dyck_language2's worked solutions write the openers in front "
                 "so far on each closer without a partner (the answer's front is a copy of the last one)")
_FRACTION_ORDER = (_FRONT_SO_FAR + "; 2026-12-06, boolean_expressions' fraction facts write the cross products' "
                   "order and the fractions' true order before the truth value")
_MULTIPLES = (_FRACTION_ORDER + "; 2026-12-06, boolean_expressions' divisibility facts write the multiples of the "
              "divisor at the number, its digit sums one addition a step")
_CASE_ORDER = (_MULTIPLES + "; 2026-12-06, operation's worked solutions work a case condition out before judging "
               "it: the sides' values and their true order (or the value's parity), then the condition's verdict")
_RULE_FIRST = (_CASE_ORDER + "; 2026-12-07, operation's worked solutions write a rule that uses another operator "
               "before its inner applications' lines (\"x ◇ y = (x △ x) + y, where\"), then \"so x ◇ y = ...\": "
               "the model no longer has to foresee which inner application the case needs")
_ARITHMETIC_STEPS = (_RULE_FIRST + "; 2026-12-06, operation's worked solutions write arithmetic in the steps it is "
                     "made of: the sign first (25 - 130 = -(130 - 25) = ...), sums and differences of numbers "
                     "of two places or more one place at a time (36 + 12 = 46 + 2 = 48), products by place "
                     "value (28 × 5 = 20 × 5 + 8 × 5 = 100 + 40 = 140), powers as products first")
EXCEPTIONS: dict[str, tuple[str, str]] = {
    "generate/jsonl-mix": ("7b8e7bba3d792363ebdf6c8a108ab8af920606c6445f1f328d049c933ed75c7f", _ARITHMETIC_STEPS),
    "generate/sft-en-level": ("95e4fbd6617871ca127fc4e44e66fa1eb418fed57136ff4931c9a68b2fcbdb88", _ARITHMETIC_STEPS),
}

CELL_SEEDS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 1234, 80_000_017, 99_999_999)
DEFAULT_SEEDS = range(0, 400, 7)
# per type: the last seed of its id block(s), so the largest seed is exercised too
EXTRA_LAST_SEED = {"dyck_language2": 199_999_999}

# The eight public types: id blocks, languages.  Golden data for a type not listed here is not
# kept (a test adding a toy type patches the registry; it must not need digests).
PUBLIC_TYPES = (
    "dyck_language", "game_of_24", "operation", "cryptarithm",
    "dyck_language2", "boolean_expressions", "sudoku", "dyck_language_reasoning_errors",
)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _sha(lines) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


def _task_line(task) -> str:
    return _dumps(task._asdict())


# ---------------------------------------------------------------- what is hashed

def cell_digest(task_type: str, level: int, language: str) -> str:
    seeds = CELL_SEEDS + ((EXTRA_LAST_SEED[task_type],) if task_type in EXTRA_LAST_SEED else ())
    return _sha(_task_line(registry.generate(registry.make_task_id(task_type, s), level, language)) for s in seeds)


def default_digest(task_type: str) -> str:
    return _sha(_task_line(registry.generate(registry.make_task_id(task_type, s))) for s in DEFAULT_SEEDS)


def task_digests() -> dict[str, str]:
    out = {}
    for t in PUBLIC_TYPES:
        for language in registry.task_type_contract(t).languages:
            for level in range(1, 11):
                out[f"task/{t}/{language}/{level}"] = cell_digest(t, level, language)
        out[f"task/{t}/default"] = default_digest(t)
    return out


# veritas generate: name -> arguments (output path and format appended)
GENERATE_RUNS = {
    "generate/jsonl-mix": ["--num-samples", "64", "--response-style", "worked"],
    "generate/jsonl-zh-range": ["--num-samples", "40", "--language", "zh", "--difficulty", "3-7", "--seed", "5",
                                "--split", "val"],
    "generate/sft-en-level": ["--num-samples", "32", "--language", "en", "--difficulty", "9",
                              "--response-style", "worked", "--reasoning", "--system-prompt", "Be brief."],
    "generate/rl-types": ["--num-samples", "30", "--task-types", "sudoku,operation,dyck_language2",
                          "--start-task-id", "790000003", "--split", "test"],
}
_FORMAT_OF = {"generate/jsonl-mix": "jsonl", "generate/jsonl-zh-range": "jsonl", "generate/sft-en-level": "sft",
              "generate/rl-types": "rl"}


def generate_digest(name: str, tmp: Path) -> str:
    from veritas.cli import main as veritas_main

    fmt = _FORMAT_OF[name]
    out = tmp / (name.replace("/", "_") + (".jsonl" if fmt == "jsonl" else ".parquet"))
    argv = ["generate", *GENERATE_RUNS[name], "--format", fmt, "--output", str(out), "--no-progress"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert veritas_main(argv) == 0, argv
    if fmt == "jsonl":
        # row content, not bytes: parse and re-serialise each line
        return _sha(_dumps(json.loads(line)) for line in out.read_text(encoding="utf-8").splitlines())
    import pyarrow.parquet as pq

    return _sha(_dumps(row) for row in pq.read_table(out).to_pylist())


# dynamic dataset: name -> (data_files, data.lgc_v2 config, items hashed)
DATASET_CONFIGS = {
    "dataset/train-default": ("lgc_v2://train", {}, 64),
    "dataset/val-default": ("lgc_v2://val", {}, 32),
    "dataset/train-weighted": ("lgc_v2://train", {
        "task_types": ["sudoku", "dyck_language", "game_of_24", "boolean_expressions"],
        "weights": {"sudoku": 1, "dyck_language": 3, "game_of_24": 2, "boolean_expressions": 1},
        "difficulty_range": [2, 8], "language": "zh", "seed": 11, "size": 5000,
        "system_prompt": "You solve puzzles.", "prompt_template": "Task:\n{prompt}\nGo.", "reasoning": True}, 48),
    "dataset/test-level": ("lgc_v2://test", {"difficulty": 10, "language": "en", "seed": 3, "val_size": 40}, 40),
}


def dataset_digest(name: str) -> str:
    from veritas.verl_adapters.dataset import DynamicEnvDataset

    files, config, n = DATASET_CONFIGS[name]
    ds = DynamicEnvDataset(data_files=files, config={"lgc_v2": config})
    return _sha(_dumps({k: v for k, v in ds[i].items() if k != "dummy_tensor"}) for i in range(n))


# veritas eval: name -> heldout_tasks(task_types, n_per_type, difficulty, seed, language)
EVAL_ARGS = {
    "eval/default": (list(PUBLIC_TYPES), 6, None, 0, None),
    "eval/range-zh-seed": (["sudoku", "operation", "dyck_language", "cryptarithm"], 5, (4, 6), 7, "zh"),
    "eval/level-en": (["boolean_expressions", "game_of_24"], 5, (8, 8), 2, "en"),
}


def eval_digest(name: str) -> str:
    from veritas.evaluation.cli import heldout_tasks

    return _sha(_task_line(t) for t in heldout_tasks(*EVAL_ARGS[name]))


def all_digests(tmp: Path) -> dict[str, str]:
    out = task_digests()
    for name in GENERATE_RUNS:
        out[name] = generate_digest(name, tmp)
    for name in DATASET_CONFIGS:
        out[name] = dataset_digest(name)
    for name in EVAL_ARGS:
        out[name] = eval_digest(name)
    return out


# ---------------------------------------------------------------- the pinned values

GOLDEN: dict[str, str] = {
    'task/dyck_language/en/1': '1bdf55936b77da4567c34d21d0447f2f1b85eb6c45bdfe98da6409b3024813fc',
    'task/dyck_language/en/2': 'a382eb9eda34cb33b8684b8e57558f9d18a63a78ddd943d5c0f8ccf05cd096bb',
    'task/dyck_language/en/3': 'acfb6f52887ed147872629d17203888ce943350598962b2cbf96860f2f75a1c9',
    'task/dyck_language/en/4': '69df138beac882ffa7f6cb7052f6fee5fd646b0cd819b6aa93d40200dfbe5a81',
    'task/dyck_language/en/5': '7bce2373b9fa03d1833302617ce442df592f4f04e06441ca50a3c757e26427b4',
    'task/dyck_language/en/6': 'c3e03aa60b294720f39cdfb36db4c068add5ef00144617467c710cebbe2c3312',
    'task/dyck_language/en/7': '2f23191c2f030fe1c38a7de2ae3d9539e368b9bc942cd7b5b099eebb51b8413b',
    'task/dyck_language/en/8': '8f05c7ae74e5bc89aef4c07f39ef0e95e9ec384f7076c14f298c6f9bec420492',
    'task/dyck_language/en/9': '57587f6d2e2993ec64cab17f5a0b4e9ec49cfd7e44722b85f1ff3261037e5ce3',
    'task/dyck_language/en/10': '38a7ad2e69e6209a3b42d59e9f365801408c0521d185b1c0163dfc18b8dc5e82',
    'task/dyck_language/default': '77d86bab8d1d36f566e82cbad209a006487531232cf787ddcddc34a00440db37',
    'task/game_of_24/en/1': '12faee0d2a2e8167836cc3129d1f35deee3ddd00a5ad4690a15c5cbcad6a6a1d',
    'task/game_of_24/en/2': '61a577e7fe09be29af274bd12ba6d521697f17ec6ed65d153513221ed1de7961',
    'task/game_of_24/en/3': '18cf93caff63c782e89055063311948541451b7009e54888b240aa1e0e2d9e0a',
    'task/game_of_24/en/4': 'a932c1117f1dce98cb37aadf79e754355d2db67c03aca462810a01c35305cfa9',
    'task/game_of_24/en/5': '324f1db83f44c08efaa0a9845e02bdef2bb6f8b8b1e16d79b5283ecd257a2918',
    'task/game_of_24/en/6': 'c6d7f3425d20e696dc4ad0193aa717a6d8b5187fb22233efe22aeb653fa89dae',
    'task/game_of_24/en/7': '390b97c1942ca96c718e130887b46989f08cb7b1fcca16f02ec4d9c045ac85b1',
    'task/game_of_24/en/8': 'd67b6067a57cdb74bc57e49c1021f7bc295de908c39a7afafb4afb41b3b8f84b',
    'task/game_of_24/en/9': '55dd06334b29c5b4a995a132688920e40ac888cceaf75e648f959bc979a5f215',
    'task/game_of_24/en/10': 'fe5fc7d0e0e5a61105bb7c8789539aebab0e6a5949f0c6081b739cbb703f8876',
    'task/game_of_24/zh/1': '0210c67b17fad3cf87479cdeff8227a3ee36cea2c30ef005da2320cdeb6211a2',
    'task/game_of_24/zh/2': '50437e84306f1c81cb7880c140d0f05ed9a33b9104cc5bc2fcf78f849ba90377',
    'task/game_of_24/zh/3': 'eab964576f371203e9f695c5072e6a434337add87f28eb8f66f410c7c86e956c',
    'task/game_of_24/zh/4': '746394a5531ee76be2d8fbe86f3c187307c294fee3f0ba832e7b4667ce358625',
    'task/game_of_24/zh/5': 'ea24be5b812cf4b09d6d52151c5ff67814065824176cb298ffd967a05d3a3793',
    'task/game_of_24/zh/6': 'acc5e3cd693901b2d164903fadafe9a22d3435c5e730d680695d66dd4588aa83',
    'task/game_of_24/zh/7': 'f54d83a5c1c9431c6d0f2d91e64c391077f36b748f19d93471e5879ea0a54751',
    'task/game_of_24/zh/8': '3f7890bb9aaf28a71b59921f3fb1ae603de6aebacaea4be6a6cfde716766fe85',
    'task/game_of_24/zh/9': '2a1abf9fe34e2c5c0d083753163df14f5862d7d1a542e3e393d1d624ecc353e4',
    'task/game_of_24/zh/10': 'fd080bfe201e85f838b2e787f64ab41695783e971d7eb2987ea85dfb1a3c8295',
    'task/game_of_24/default': '93cc342b06263ca8a21e5e2ead42aae0d6774ed08425c611a4a3fe8f6abf1267',
    'task/operation/en/1': '441d6fcb7aa8a7f4d980a90b1751a94af1152cb4d58697179468180a338abc31',
    'task/operation/en/2': 'e3fb3245441a0cb6f938a3dd7311ef2b24bc309f4b58b83ae2b02202a17c04f4',
    'task/operation/en/3': 'fa65141c004b451cea5287bd230995a03909ad0ae2a7e6aa761af3d4875292d8',
    'task/operation/en/4': '47e0b0178e9c4f6f59e451c48f98d26a656b579c476be9b921aad6ebe7909766',
    'task/operation/en/5': 'b54ae7c62c37996364676e76b920575533574f65a02be790059704373b0014b2',
    'task/operation/en/6': 'cb948117f9196726228b06166c996cb2f942769071e72798fbaa8163062cb25b',
    'task/operation/en/7': 'dd498b3e33a35df06473c00cf719e38d137d029fdfe2840a3de8c39480be035f',
    'task/operation/en/8': '06ff0960128f3c0648a150a692d56fd376d4a620ff6a42045b3e3c5cee358afe',
    'task/operation/en/9': '59ef4d0e783f8fa8d84950af35f63164ca5854f5c0ecb24960594c6e3d7f065f',
    'task/operation/en/10': '2e864d658970a3d11b308264488b06b4ac3e0ae4c69999e0357d86e18351b1d9',
    'task/operation/zh/1': '32404b84a8f1e3c404eac2eff9f3d099dd634b43223ca22f0d417d33c83377f1',
    'task/operation/zh/2': '1b31fea54640b8df878e4802ae7151487e3eed93d158060d28c2a70105e188e0',
    'task/operation/zh/3': 'a931ae37102ec8f7ebeb08803dd97bd7c5a812334b54e25447102143d6a3d84b',
    'task/operation/zh/4': '1b932faa8fad8dabe74c4537976b7d7f005e9561d950b386f92f116ec5d17914',
    'task/operation/zh/5': '5ea3bf8dece4bba49209d69890f95e3d49b061b704ffaf52a498eb013d4b14e9',
    'task/operation/zh/6': 'bc3240009da5ff340497351145ac41b774d551b919deedcd8b7315d65b68123c',
    'task/operation/zh/7': '362081b5320447590e3c6e1420332ea0dd6f6b799e5bf957650f99cc5070a659',
    'task/operation/zh/8': '88072517fc233f74c3b8bdbd00694757b4bdfd3abc442661b71f743175275926',
    'task/operation/zh/9': 'f50df2333cd72be3789407ed8902390606eb18ea43189d8edae8ca7d4ed7adc5',
    'task/operation/zh/10': '16e45bc741bd77f40c81a56cb5f332a996605817c1a1ff64f3cbf605a26a631d',
    'task/operation/default': 'f58d655e5cc670f4e1e295f6688c601abc9ed3d23767b838846f16f1c511915b',
    'task/cryptarithm/en/1': '3e0434bc5e50f87408173ed98c78cad49856840ceb28e161b0a2227bf5632386',
    'task/cryptarithm/en/2': '437d687bdd82fc8b6c7038ba6770955ef7bb718db0236e6848d05889e12e2f7b',
    'task/cryptarithm/en/3': '2a44fd7cd51776b9366fc05257ee4d7951889db9f559af6e140451e2c272d77b',
    'task/cryptarithm/en/4': '32c9fdbf0fab5c86a21cab75ffb99ff110f24e523d5ce5b46ca83b99a16b4876',
    'task/cryptarithm/en/5': '8b2189e20ecfe1a1c99cf4cf9bd0b5da10ef04032efd40af3c5460e5aa5d3fc1',
    'task/cryptarithm/en/6': '04a93a73f3cf92521dd91736688a4c8b1c032e024d5798214bf7739847393259',
    'task/cryptarithm/en/7': '56fc08f2e54d8cc99d2bb1a8f939cccb04615eedbdeecf08c39d5835cfe23bc4',
    'task/cryptarithm/en/8': '2c4b20dc9a99aadae773970d706e1c1603f6fe58b31b1e35f843a15437996d05',
    'task/cryptarithm/en/9': '39c00b4d04399abbc3e7045e416a276121253389e56db5a68203f41cd3704e6b',
    'task/cryptarithm/en/10': 'd0ad8c2cc3bf1e9664de53888f641328d012ab280d88ea99032eed1c10ab1803',
    'task/cryptarithm/zh/1': '11addef980de1d32434de9593b408028005fcda71acf999c8dacc1a48bf09791',
    'task/cryptarithm/zh/2': '368c48efff07d9f66a5ca8733fbbffdb3057e0ae4901f1cae1e29854a2255ed0',
    'task/cryptarithm/zh/3': '9601410f3dce11e9b9236dd5a3db709419632e1bf321413c74b5be6b1d95c087',
    'task/cryptarithm/zh/4': '3353633b4abf98f7b53976bfb034a046efc1de10c56299cc164b9c15a5ad5616',
    'task/cryptarithm/zh/5': '49757e07420e90e5e9bfe47524c9b13e9bc9f5ac9e270fe9c8078b6647e5e2bb',
    'task/cryptarithm/zh/6': 'a78523e52bb6b7844ae9cfa5523a9b322c042f01e8e7cc7244534b29e9b99cbf',
    'task/cryptarithm/zh/7': 'afd2ccdec565676726d77512bc65e3ff8ffcdc99d71aa780c13e32efc45a9e09',
    'task/cryptarithm/zh/8': '9999ee38bd973cba7e9c7a56672ca43b661eab0c5317c4ab1143c859b258fde2',
    'task/cryptarithm/zh/9': '67b7a469069be7874e4c16e4972198eddb58c62ff4cbb64e7c2c659410a09ea7',
    'task/cryptarithm/zh/10': '4e6458677277493640f919929b995330db5003958448e82aaf236bc69459bc61',
    'task/cryptarithm/default': '9e71c63281e5cf82c8d28718894464f4451021a800a49c069f33162f27f753ff',
    'task/dyck_language2/en/1': '4931c4390ed0a568a8576c758fb259d59ee12d4b79c9307f94bdd4d903aaccb0',
    'task/dyck_language2/en/2': 'e96ce8fe84fa18d90231b2b9f1121307546b79457a770a8248f9c24279dfcacb',
    'task/dyck_language2/en/3': '9162fd82c5bc1a57c2d78ce868d80973e7d23f01ab8844550249abae3b0e7a46',
    'task/dyck_language2/en/4': '13cf5eaf33031124a53d228b7bd6b9d5ac55a41993e46587e5146290a0e25000',
    'task/dyck_language2/en/5': 'c1644d8111536c85e8a860abd8d9a73e2574db022216e62e0364da8fe2e4cbb4',
    'task/dyck_language2/en/6': 'ed299444668121eba51b58d5fd91dd05a1698655367e4cda22bee7e69723e453',
    'task/dyck_language2/en/7': 'edeb4e7d224fadbf93b4ffa1f2e962daa01d5eaf13cad99ff801093a3bd3e110',
    'task/dyck_language2/en/8': '36994e4530fc94bd862d1785203bc80774720613bdf61c8d1e15d1852583df97',
    'task/dyck_language2/en/9': 'edd63f8e4cd66ebbe2afb16de8aeca4b9c58b2b4bb4ec5c8dc23be412e5dac24',
    'task/dyck_language2/en/10': '2648038fa9ddb9a32eca02e2fadabf58b82167df7a270a9e1af3abd9911c710c',
    'task/dyck_language2/default': 'ed4c13a09a5c7ceecbfa3d491372e18627d18d63012fd4eb2fa3ed16db48a539',
    'task/boolean_expressions/en/1': 'c83342e91d35ed0053a0e344f7499d6d8e11a18f379bd344796a49e09532044d',
    'task/boolean_expressions/en/2': '7bd25317e13014d11e69534313b811e2ec13d82d3ca757af3a9ca84a5a22008b',
    'task/boolean_expressions/en/3': 'ecea4a2294bb8febd4442f1cbef9f2a3ecb2129f38a5594d7da122488c0d35c1',
    'task/boolean_expressions/en/4': '327794715a6b41326971992dd3f62cca5f2f2f1c5d52635b71a2f94cb9678f6c',
    'task/boolean_expressions/en/5': '884abfb6839cdd3d9a7ffb6847a9134947971ad1b02b514f37fba96d4b93fb4b',
    'task/boolean_expressions/en/6': 'db1e03604ef14b61fac3f4d9967ef88365c1828c0f3a04458ba37413a927c88a',
    'task/boolean_expressions/en/7': '03e707b35ff6dbbf51e8c6fa54e2755c49f25b5d2ab11898c6d9bc1a1865b986',
    'task/boolean_expressions/en/8': '577f5d95edc18e7e5458ee7c110657ed308860ffe28aa9f166faf5be0559b251',
    'task/boolean_expressions/en/9': '17de6cb278cf332eb5b0270ac9c71123f59c9ed2a996500b9b1313f003e77306',
    'task/boolean_expressions/en/10': '16345a74b4b5a04bfc2eaf6b607de96b1f7df581c3f3c56a17e13b2f69c1cab6',
    'task/boolean_expressions/zh/1': '1d27b2b42e694134a7051c64234c7bdbf007379e4304ca17c7e079d807155701',
    'task/boolean_expressions/zh/2': '0cb65e5c4e66352b35074a37c8f393cc4baab8c819fcb576640d07e148792d66',
    'task/boolean_expressions/zh/3': '050683337db8f8a0db8918c85fef958d0e994f645abdb49bf646e0d02ff0e55b',
    'task/boolean_expressions/zh/4': '7bc86813b4ca22169d8ce82c85324a01ceac4e9c1f2d624ed465e3d164846f58',
    'task/boolean_expressions/zh/5': 'f1cd5e369fe69f8883ae95a378ccc8da7f37b6bf9cd7a80f3d2133f74f24453b',
    'task/boolean_expressions/zh/6': '40f9e741c17c87f3979ebb87c63cd6805cdc882985ae30a744c82a1161423b7f',
    'task/boolean_expressions/zh/7': '3d0ef47f75ac9dc5b4e804b53d813f85efdacadb9bc8ddf48418d90027bd34d2',
    'task/boolean_expressions/zh/8': '125f86959878a5056482e581276717c92fc6cf5bdb243b2ff206407d2dcecba3',
    'task/boolean_expressions/zh/9': '0fe879099a06e6d5be65795bab9228bc98ed987dedde90e0f5e96801af55f804',
    'task/boolean_expressions/zh/10': 'abc7ca6157eea5bab421f00b5ace58d709b03c26f4fc2e5414954211d3ff17d1',
    'task/boolean_expressions/default': '0ae418d838a1c9c174993056213b9aaddc0b66007b1f5fcc1b0a1f40cddc890d',
    'task/sudoku/en/1': '25dd5901c42121963932529d0bf9aa2b693eeafc91f28d61c3a903eed11e29c2',
    'task/sudoku/en/2': '756d0e4cdf0aef70d5638b488a010e30501e667c4ae05073999759626fbe74d5',
    'task/sudoku/en/3': 'c3bcf8f7dd84cecd7fae6c5ddc840e4b73fd210cdb2c14f30c348130e8e82dcb',
    'task/sudoku/en/4': '8e15419bb3b2190bbb4cd23d0623104646c4c4017900dbad65a454804381a9e6',
    'task/sudoku/en/5': 'd0ffc6f99e836eb755a9774896ae8a599cc3dae3ab9a5108abe19c01ccfff2cc',
    'task/sudoku/en/6': 'cc8826cfd06ab24e184b473a0df22378426ff0ae30bccab14326fd9a8414c94d',
    'task/sudoku/en/7': '4bd5c0db17b4582f7abacf9cb4a76329b0306f2cb4d5da13954ad34b03a71ca9',
    'task/sudoku/en/8': '94e4d8900855c396e36059dd75d2132fdfd9cce59d4e2a3f26e3f5f0cb61ce06',
    'task/sudoku/en/9': '8b5d6c5ea92703d8171b5dec9ccbbcda9def83b568d6a19197d1ef3ab0b7dc87',
    'task/sudoku/en/10': '0a27a24ecf22ce1cefa91aec1df687043d59217ce8995e5bca9a44453775c55f',
    'task/sudoku/zh/1': '1bf1fd1db9bb3ea7109b206d147631e426762d5b74e4d41ef183336c33cbab60',
    'task/sudoku/zh/2': '480bba557a1de6c894fe950d56ce07fae5e9256001fb895327e34f8e664a110b',
    'task/sudoku/zh/3': '06ff8f6a54bbd6f2f0d4778f4ec9d24ccdfcd2139f74a8de0a76cc7948f0bd17',
    'task/sudoku/zh/4': '8188e3445dd18358a4a73c8e78cabfd2a2bcb5d43085f7415b9710536c8f2c2f',
    'task/sudoku/zh/5': '3743e2bee8ca4e998f34ff7a2c51803e9242d87ebb54085458e5f60d2dcc3c42',
    'task/sudoku/zh/6': 'a5dfdcc15de48bbdc77bcf36cf2bb4587ee14002cf55ed9e415d274fe32e0266',
    'task/sudoku/zh/7': '12ffb41f63dd7928771417447d655e3a2768c7ec090c67a8ff13553a6d16507b',
    'task/sudoku/zh/8': 'a398dfbe6f07d50175c3ed4f159a8a475ffa24c5a1b8575f38a9384df373f1ef',
    'task/sudoku/zh/9': '21591c3876db441ff893c11a7b35fd262f6f122953a823891fa901f1535e6fa8',
    'task/sudoku/zh/10': '807b201e704ac1c8f3d6830dccaff04efa4f8f02e2e18360e271b56d1fad9046',
    'task/sudoku/default': '83dfa2d67875ef5b1d3e274ff5efa9bc5d9809e339d5dfd6c82d4649deb9524b',
    'task/dyck_language_reasoning_errors/en/1': '409996f17cdaa402693d7241a2ed1c6554c268749d89385a49433dd6f245b8e8',
    'task/dyck_language_reasoning_errors/en/2': 'a0b2cdec08efc68cb90ff368b9c9ce38c61cbce5cbf0bb1d32ca31dc7baa1e61',
    'task/dyck_language_reasoning_errors/en/3': '1f90ba069be3f9d70af3a2986069b786c512af0e1c5264b0d44b8f535bbde1bd',
    'task/dyck_language_reasoning_errors/en/4': '1e7a55fbd956319412d98efeeac22e14d537814b364cb10e7c436c9a7a944e94',
    'task/dyck_language_reasoning_errors/en/5': 'efe2edbdc58626fa50593905a2f1c21790a7f070d6d5adc8b89d08158a5d6cd0',
    'task/dyck_language_reasoning_errors/en/6': '4bb123340935350bcc4d3b85e309fae29b9cd90ada52ff9e8240e173f116ad78',
    'task/dyck_language_reasoning_errors/en/7': 'b8ebbb7df927cf879a270c3250cfc7f1557e5cf6a00e129ee1afb76a6312a002',
    'task/dyck_language_reasoning_errors/en/8': '2bab20d74416537a45789d08dd5c52ec0d926a57d384acf18e1b0dd06a4e8f71',
    'task/dyck_language_reasoning_errors/en/9': 'a0532e9e5569a95c872830f37a38f9ae0f71e5735b2ea44ec9feb35e59803ef4',
    'task/dyck_language_reasoning_errors/en/10': '130a69265665164d8d1e4a188ee7faf46b00cfbe25aaf79c589da49936fad32e',
    'task/dyck_language_reasoning_errors/zh/1': '728e215ce30c104d645dc914b97dcc5b7ad8576caaec2ceddf6bb324c30fdcbe',
    'task/dyck_language_reasoning_errors/zh/2': '07eaec905465bcdfd10ef4a82cea4da2df3de0425a759d4796745ab14f051ef8',
    'task/dyck_language_reasoning_errors/zh/3': 'be5bfcfe3fa5597d8ddfefc17f412758abbd10ba302180da0efe46cd1d9327f5',
    'task/dyck_language_reasoning_errors/zh/4': '4615f45e180c81b0938f3b67b815ab0c8351cf66b69dec9f3c37efd914738460',
    'task/dyck_language_reasoning_errors/zh/5': 'a1817415bf5ee8138e41b009c085f4a88abdb93cbda6c1dc4e0dcecc2944a349',
    'task/dyck_language_reasoning_errors/zh/6': 'e5905a1cabe473b17257b53e25f565aab1fd796f0be2e9a417d0d8dd99347c9c',
    'task/dyck_language_reasoning_errors/zh/7': 'ff63f4d5365f8fae8d4edacea512877c1d6f4edea9023b9bf2b6dc47f8dc5240',
    'task/dyck_language_reasoning_errors/zh/8': '87c153989f39ab6d7d374c487deaa36484ac17a39fb503e4c534f091dc7d3f51',
    'task/dyck_language_reasoning_errors/zh/9': '00f4a8220c994d6e412f8ace6057e1ad0e29af898c6038c4d18aece9b826a36a',
    'task/dyck_language_reasoning_errors/zh/10': 'e2d2a66fd62dee3c22563880ea25a1083e3e178ee7bc44e2e97801ce3b0788f1',
    'task/dyck_language_reasoning_errors/default': 'baac7d51424e4cb46b67bfff922c0a736ba824b248efc5e968c601243dc1403f',
    'generate/jsonl-mix': '295a6b68ecfa9a9f0778300a2f4760599a5228e16586cf29b2b1a528ac3ade93',
    'generate/jsonl-zh-range': '1666659ef6321a3d5397011196c46b2445e4bb24722d528666badcb4b9b56602',
    'generate/sft-en-level': 'aa09f28f4eada94b6e4529b6d211d90840dda0a5f87f1fbfa4f30fdeacae5531',
    'generate/rl-types': 'f926e27eadcd925a984ae5d88f25aa769700e5a6f8da58ab0fbfa8a674d06fcb',
    'dataset/train-default': 'fa7acc093a209e64ee76a7f169363ef7f76b55216917d74ffeb2440cb90bd7a5',
    'dataset/val-default': 'b91d74e8d7fcdbde4908f5995b22ad13932d860f5aaed0e2b974ecdcb4d220ae',
    'dataset/train-weighted': '17c3d0ffcdc8d0f38f87ca76100802b245e7069e7a6ba7bb38bdf5b87b734349',
    'dataset/test-level': 'e291803b1e10b22b471b66e277ad4a40cc37f44e706375e9eebfcc1e0f670ad0',
    'eval/default': 'd062eb4cbe554533a787fafa2d191a4ecdf8b4841cc787b402568941ae4ff081',
    'eval/range-zh-seed': '1ad3b385500a289bce088efa3b494238a84e2505c056b5e9913d808aa8fbe18d',
    'eval/level-en': '7f7f36f961fde83063af2044111d282d60c2fd7cf5e1bfc345702a0edef1941c',
}


# ---------------------------------------------------------------- tests

def _check(name: str, got: str) -> None:
    expected = EXCEPTIONS[name][0] if name in EXCEPTIONS else GOLDEN[name]
    assert got == expected, (
        f"{name} changed: tasks made from the same arguments differ from the pinned ones. If this is "
        f"intended, add EXCEPTIONS[{name!r}] = ({got!r}, '<commit>: <why>')"
    )


def test_golden_covers_every_public_cell():
    expected = {f"task/{t}/{lang}/{level}" for t in PUBLIC_TYPES for lang in registry.task_type_contract(t).languages
                for level in range(1, 11)}
    expected |= {f"task/{t}/default" for t in PUBLIC_TYPES}
    expected |= set(GENERATE_RUNS) | set(DATASET_CONFIGS) | set(EVAL_ARGS)
    assert set(GOLDEN) == expected
    for name, (digest, reason) in EXCEPTIONS.items():
        assert name in GOLDEN and digest != GOLDEN[name] and reason.strip(), name


@pytest.mark.parametrize("task_type", PUBLIC_TYPES)
def test_tasks_per_level_and_language(task_type):
    for language in registry.task_type_contract(task_type).languages:
        for level in range(1, 11):
            name = f"task/{task_type}/{language}/{level}"
            _check(name, cell_digest(task_type, level, language))
    _check(f"task/{task_type}/default", default_digest(task_type))


@pytest.mark.parametrize("name", list(GENERATE_RUNS))
def test_generate_rows(name, tmp_path):
    _check(name, generate_digest(name, tmp_path))


@pytest.mark.parametrize("name", list(DATASET_CONFIGS))
def test_dynamic_dataset_items(name):
    _check(name, dataset_digest(name))


@pytest.mark.parametrize("name", list(EVAL_ARGS))
def test_eval_task_list(name):
    _check(name, eval_digest(name))


if __name__ == "__main__":
    import tempfile

    argparse.ArgumentParser(description="print every golden digest as Python source").parse_args()
    with tempfile.TemporaryDirectory() as d:
        digests = all_digests(Path(d))
    for k, v in digests.items():
        print(f"    {k!r}: {v!r},")
    sys.exit(0)
