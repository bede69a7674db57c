#!/usr/bin/env bash
# The GPU checks, as one script for a machine with an NVIDIA GPU, CUDA, CMake and Python/PyTorch (no
# Node.js needed): builds the native library, its C++ tests and bench_cuda with plain CMake, runs every
# C++ test (the CUDA ones compare each CUDA entry point with the CPU path), then bench_cuda and its
# PyTorch peer on the same shapes, and prints the paired report.
#
#   bash scripts/gpu-check.sh [out-dir]        (default out-dir: ./gpu-check-out)
#   GPU_CHECK_QUICK=1  small shapes (a smoke run of the benchmark, not a measurement)
#   CUDA_ARCH=90       architectures to build (default: native, the GPU present)
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/gpu-check-out}"
mkdir -p "$out"
build="$out/build"
jobs="$(nproc 2>/dev/null || echo 4)"
quick=()
[ "${GPU_CHECK_QUICK:-0}" = 1 ] && quick=(--quick)

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSIMSAGE_TESTS=ON -DSIMSAGE_BENCH=ON \
  -DSIMSAGE_CUDA=on -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-native}" >"$out/cmake.log" 2>&1 ||
  { tail -30 "$out/cmake.log"; exit 1; }
cmake --build "$build" -j "$jobs" >"$out/build.log" 2>&1 || { grep -m20 -B2 -A8 'error' "$out/build.log"; exit 1; }

status=0
(cd "$build" && ctest --output-on-failure -j 4) 2>&1 | tee "$out/ctest.log" || status=1
# the CUDA tests must have run here, not skipped
if grep -E 'test_cuda_\w+ .*(Skipped|Not Run)' "$out/ctest.log"; then
  echo "gpu-check: a CUDA test skipped on a GPU machine"
  status=1
fi

"$build/bench_cuda" "${quick[@]}" >"$out/simsage.jsonl" 2> >(tee "$out/bench_cuda.log" >&2) || status=1
python3 "$root/native/bench/bench_cuda_torch.py" "${quick[@]}" >"$out/torch.jsonl" \
  2> >(tee "$out/torch.log" >&2) || status=1
python3 "$root/native/bench/bench_cuda_report.py" "$out/simsage.jsonl" "$out/torch.jsonl" | tee "$out/report.txt"
exit $status
