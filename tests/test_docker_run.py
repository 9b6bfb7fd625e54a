"""train/docker_run_verl.sh against a `docker` stand-in that records every call's argv (these
machines have the docker client but no engine), and static checks of docker/Dockerfile and the
root .dockerignore (its build context is the repository root)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "train" / "docker_run_verl.sh"
DOCKERFILE = REPO / "docker" / "Dockerfile"
WORKDIR = "/workspace/veritas-rl"
_CALLER_VARS = ("IMAGE", "VERITAS_IMAGE", "BASE_IMAGE", "SKIP_BUILD", "GPUS", "SHM_SIZE", "HF_CACHE", "ENV_FILE",
                "DOCKER")


@pytest.fixture
def docker(tmp_path):
    """A `docker` on PATH writing each call's argv, NUL-separated, to calls/NNN; FAIL_ON=<verb>
    makes that verb exit 1."""
    bindir, calls = tmp_path / "bin", tmp_path / "calls"
    bindir.mkdir()
    calls.mkdir()
    (bindir / "docker").write_text(
        "#!/usr/bin/env bash\n"
        f'n=$(find "{calls}" -type f | wc -l)\n'
        f'printf "%s\\0" "$@" > "{calls}/$(printf %03d "$n")"\n'
        '[[ "${FAIL_ON:-}" == "$1" ]] && exit 1\n'
        "exit 0\n"
    )
    (bindir / "docker").chmod(0o755)
    return bindir, calls


def run(tmp_path, docker, *args, tty=False, **env_vars):
    bindir, calls = docker
    env = {k: v for k, v in os.environ.items() if k not in _CALLER_VARS}
    env.update({"PATH": f"{bindir}:{env['PATH']}", "HOME": str(tmp_path / "home"),
                "ENV_FILE": str(tmp_path / "absent.env")})
    env.update({k: str(v) for k, v in env_vars.items()})
    if tty:
        # stdin and stdout on a pseudo-terminal, as in an interactive shell
        master, slave = os.openpty()
        try:
            proc = subprocess.run(["bash", str(SCRIPT), *args], env=env, stdin=slave, stdout=slave,
                                  stderr=subprocess.PIPE, text=True, timeout=60)
        finally:
            os.close(slave)
            os.close(master)
        out = ""
    else:
        proc = subprocess.run(["bash", str(SCRIPT), *args], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)
        out = proc.stdout
    recorded = [(calls / name).read_bytes().decode().split("\0")[:-1] for name in sorted(os.listdir(calls))]
    return proc.returncode, out, proc.stderr, recorded


def expected_run(tmp_path, *tail, env_file=None, tty=False, gpus=("--gpus", "all"), shm="32g"):
    argv = ["run", "--rm", *gpus, "--shm-size", shm, "--ipc=host"]
    if env_file:
        argv += ["--env-file", str(env_file)]
    argv += ["-v", f"{REPO}:{WORKDIR}", "-v", f"{tmp_path}/home/.cache/huggingface:/root/.cache/huggingface",
             "-w", WORKDIR]
    if tty:
        argv.append("-it")
    return argv + list(tail)


BUILD = ["build", "-f", str(DOCKERFILE), "-t", "veritas-rl:latest", str(REPO)]


def test_default_builds_then_runs_a_shell(tmp_path, docker):
    rc, out, err, calls = run(tmp_path, docker)
    assert rc == 0, err
    assert calls == [BUILD, expected_run(tmp_path, "veritas-rl:latest", "bash")]
    assert (tmp_path / "home" / ".cache" / "huggingface").is_dir()  # made by us, not by docker as root
    assert "+ docker build" in err and "+ docker run" in err


def test_command_passthrough_keeps_every_argument(tmp_path, docker):
    cmd = ["train/scripts/lgc-v2-RL-GRPO-trainer.sh", "--dry-run", "trainer.save_freq=7", "a b", "'q'", "$HOME", ""]
    rc, _, err, calls = run(tmp_path, docker, *cmd)
    assert rc == 0, err
    assert calls[-1] == expected_run(tmp_path, "veritas-rl:latest", *cmd)


def test_env_file_only_when_present(tmp_path, docker):
    env_file = tmp_path / "dot.env"
    env_file.write_text("HF_TOKEN=hf_plainSecret_123\nWANDB_PROJECT=p\n")
    rc, _, err, calls = run(tmp_path, docker, "true", ENV_FILE=env_file)
    assert rc == 0, err
    assert calls[-1] == expected_run(tmp_path, "veritas-rl:latest", "true", env_file=env_file)
    assert "notice" not in err and "hf_plainSecret_123" not in err


def test_env_file_values_docker_would_misread_are_named_not_shown(tmp_path, docker):
    env_file = tmp_path / "dot.env"
    env_file.write_text('HF_TOKEN="hf_quotedSecret_456"\nexport WANDB_MODE=offline\nGOOD=1\n'
                        "  OTHER='x'\n")
    rc, _, err, calls = run(tmp_path, docker, "true", ENV_FILE=env_file)
    assert rc == 0, err
    assert "write HF_TOKEN OTHER WANDB_MODE as plain KEY=value" in err
    assert "hf_quotedSecret_456" not in err
    assert "--env-file" in calls[-1]


def test_tty_adds_it(tmp_path, docker):
    rc, _, err, calls = run(tmp_path, docker, tty=True)
    assert rc == 0, err
    assert calls[-1] == expected_run(tmp_path, "veritas-rl:latest", "bash", tty=True)


def test_image_is_pulled_instead_of_built(tmp_path, docker):
    rc, _, err, calls = run(tmp_path, docker, "nvidia-smi", IMAGE="registry.example/veritas:1")
    assert rc == 0, err
    assert calls == [["pull", "registry.example/veritas:1"],
                     expected_run(tmp_path, "registry.example/veritas:1", "nvidia-smi")]


def test_knobs(tmp_path, docker):
    rc, _, err, calls = run(tmp_path, docker, VERITAS_IMAGE="mine:dev", BASE_IMAGE="verlai/verl:other",
                            GPUS='"device=0,1"', SHM_SIZE="64g", HF_CACHE=tmp_path / "hf")
    assert rc == 0, err
    assert calls[0] == ["build", "-f", str(DOCKERFILE), "-t", "mine:dev", "--build-arg",
                        "BASE_IMAGE=verlai/verl:other", str(REPO)]
    assert calls[1] == ["run", "--rm", "--gpus", '"device=0,1"', "--shm-size", "64g", "--ipc=host",
                        "-v", f"{REPO}:{WORKDIR}", "-v", f"{tmp_path}/hf:/root/.cache/huggingface",
                        "-w", WORKDIR, "mine:dev", "bash"]
    # no GPUs, and the image used as it is
    rc, _, err, calls = run(tmp_path, docker, GPUS="", SKIP_BUILD="1")
    assert calls[-1] == expected_run(tmp_path, "veritas-rl:latest", "bash", gpus=())
    assert len(calls) == 3  # no build this time


def test_failures_are_one_line(tmp_path, docker):
    rc, _, err, calls = run(tmp_path, docker, FAIL_ON="build")
    assert rc == 1 and err.rstrip().splitlines()[-1] == "error: docker build of veritas-rl:latest failed (see above)"
    assert calls == [BUILD]  # nothing run after a failed build
    rc, _, err, calls = run(tmp_path, docker, FAIL_ON="pull", IMAGE="x/y:z")
    assert rc == 1 and "error: docker pull x/y:z failed" in err
    rc, _, err, _ = run(tmp_path, docker, DOCKER="no-such-docker")
    assert rc == 1 and "error: no-such-docker not found" in err


# ------------------------------------------------------------------ the image definition

def test_dockerfile():
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE_IMAGE=verlai/verl:vllm024\.latest$", text, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.M)
    assert re.search(r"^WORKDIR /workspace/veritas-rl$", text, re.M)
    assert "pip install --no-deps -e ." in text
    assert "pip install -c /opt/image-constraints.txt -r /opt/veritas/gpu-overlay.txt" in text
    # the image's core is never a pip target: only docker/gpu-stack.txt's overlay may move packages
    installs = " ".join(re.findall(r"pip install[^;]*", text.replace("\\\n", " ")))
    for pinned in ("torch", "vllm", "verl", "transformers", "ray", "flash-attn", "flash_attn"):
        assert not re.search(rf"(?<![\w-]){re.escape(pinned)}(?![\w-])", installs.replace("--no-deps", "")), pinned
    for line in text.splitlines():  # nothing secret is baked in
        assert not re.search(r"\b(HF_TOKEN|WANDB_API_KEY)\b", line) or line.lstrip().startswith("#"), line


PROJECT_REQUIREMENTS = REPO / "docker" / "project-requirements.py"


def project_requirements(*args) -> list[str]:
    proc = subprocess.run([sys.executable, str(PROJECT_REQUIREMENTS), *map(str, args)], capture_output=True, text=True,
                          check=True)
    return proc.stdout.splitlines()


def test_dockerfile_installs_the_requirements_derived_from_pyproject():
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    assert "COPY docker/image-constraints.py docker/project-requirements.py docker/gpu-stack.txt pyproject.toml /opt/veritas/" in text
    assert re.search(r"project-requirements\.py --pyproject /opt/veritas/pyproject\.toml\s+--stack /opt/veritas/gpu-stack\.txt "
                     r"> /opt/veritas/project-requirements\.txt", text)
    assert re.search(r"pip install -c /opt/image-constraints\.txt -r /opt/veritas/gpu-overlay\.txt\s+"
                     r"-r /opt/veritas/project-requirements\.txt;", text)
    # no hand-kept list beside it: no requirement of pyproject is spelt out in the Dockerfile
    for line in project_requirements():
        assert line not in text, line


def test_project_requirements_are_pyproject_less_the_image(tmp_path):
    """Every dependency and [train]/[test]/[demo] requirement of pyproject.toml, except what verl's
    image brings and what docker/gpu-stack.txt pins; adding one to pyproject adds it here."""
    import tomllib

    from packaging.requirements import Requirement

    def name(line):
        return re.sub(r"[-_.]+", "-", Requirement(line).name).lower()

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [r for e in ("train", "test", "demo") for r in project["optional-dependencies"][e]]
    stack = {name(line.split("#")[0]) for line in (REPO / "docker" / "gpu-stack.txt").read_text().splitlines()
             if line.split("#")[0].strip()}
    image = {"verl", "torch", "ray", "tensordict", "uvicorn", "fastapi", "cachetools"}
    now = project_requirements()
    assert now == [r for r in declared if name(r) not in stack | image]
    assert set(project["dependencies"]) <= set(now) and "python-dotenv>=1.0" in now
    assert not {name(r) for r in now} & (stack | image)

    text = (REPO / "pyproject.toml").read_text()
    copy = tmp_path / "pyproject.toml"
    copy.write_text(text.replace('    "pyarrow>=14",\n', '    "pyarrow>=14",\n    "veritas-new-dep>=1.2",\n', 1)
                        .replace('    "hypothesis>=6.100",\n', '    "hypothesis>=6.100",\n    "Other_Dep[x]; python_version >= \'3.10\'",\n'
                                 '    "vllm>=0.1",\n    "Ray[default]",\n', 1))
    assert copy.read_text() != text
    changed = project_requirements("--pyproject", copy)
    assert changed == [*now[:2], "veritas-new-dep>=1.2", *now[2:now.index("hypothesis>=6.100") + 1],
                       "Other_Dep[x]; python_version >= '3.10'", *now[now.index("hypothesis>=6.100") + 1:]]
    # only the extras asked for; an unknown one is one error line
    assert "pytest>=8" not in project_requirements("--pyproject", copy, "--extras", "train")
    bad = subprocess.run([sys.executable, str(PROJECT_REQUIREMENTS), "--extras", "gpu"], capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.strip().endswith("has no extra gpu (it has: demo, test, train)")


def test_dockerignore_keeps_secrets_and_bulk_out_of_the_context():
    assert not (REPO / "docker" / ".dockerignore").exists()  # would be ignored: the context is the root
    patterns = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    for needed in (".env", ".git", ".venv", "train/models", "train/artifacts", "train/outputs", "train/parquet",
                   "**/*.safetensors", "**/*.parquet"):
        assert needed in patterns, needed
    for kept in ("docker", "veritas", "pyproject.toml", "train", "train/tools"):
        assert kept not in patterns


def test_image_constraints_pin_the_installed_distributions():
    proc = subprocess.run([sys.executable, str(REPO / "docker" / "image-constraints.py")], capture_output=True,
                          text=True, check=True)
    lines = proc.stdout.splitlines()
    assert lines and all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*==\S+", line) for line in lines), lines[:5]
    names = [line.split("==")[0].lower().replace("_", "-") for line in lines]
    assert len(names) == len(set(names))  # one pin per distribution
    assert "pytest" in names


def test_gpu_stack_pins_agree_with_pyproject_and_leave_the_image_core_alone(tmp_path):
    """docker/gpu-stack.txt (the Docker image and the GPU wheelhouse) and pyproject's [train]
    extra pin one stack; image-constraints.py --stack unpins what the stack moves and refuses a
    base image whose torch/vllm/verl differ."""
    import tomllib

    from packaging.requirements import Requirement

    stack = {}
    for line in (REPO / "docker" / "gpu-stack.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"gpu-stack.txt: {line!r} is not pinned with =="
            stack[name.lower()] = version
    train = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["train"]
    for req in map(Requirement, train):
        if req.name.lower() in stack:
            assert req.specifier.contains(stack[req.name.lower()]), f"pyproject {req} vs gpu-stack {stack[req.name.lower()]}"
    assert {"verl", "vllm", "transformers", "flash-attn-4"} <= set(stack)

    script = REPO / "docker" / "image-constraints.py"
    fake = tmp_path / "stack.txt"
    fake.write_text("pytest==0.0.1\n# a comment\n")
    out = subprocess.run([sys.executable, str(script), "--stack", str(fake)], capture_output=True, text=True, check=True)
    assert not any(line.lower().startswith("pytest==") for line in out.stdout.splitlines())  # unpinned: may move
    fake.write_text("torch==0.0.1\n")
    bad = subprocess.run([sys.executable, str(script), "--stack", str(fake)], capture_output=True, text=True)
    assert bad.returncode != 0 and "pins 0.0.1" in bad.stderr
