#!/usr/bin/env bash
# Runs a family's CUDA tests (native/tests/test_cuda_<family>*.cpp) on the CPU emulation
# (cuda_runtime.h here): the .cu sources compiled as C++ with ASan + UBSan, kernels as CPU fibers,
# linked against a CPU-only simsage_core.
#   bash native/tests/cuda_emu/run.sh <cpu-only build dir> temporal
# (the build dir: cmake -S . -B DIR -G Ninja -DSIMSAGE_CUDA=off -DSIMSAGE_TESTS=ON && ninja -C DIR simsage_core)
# SIMSAGE_TEST_FILTER=a,b runs only the cases whose names contain a or b (native/tests/check.h).
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
build="$1"
family="$2"
out="$build/cuda_emu_$family"
mkdir -p "$out"
flags=(-std=c++17 -O1 -g -fno-strict-aliasing -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -DSIMSAGE_WITH_CUDA=1 -I"$root/native/tests/cuda_emu" -I"$root/native" -I"$root/native/tests")
objs=()
for cu in "$root"/native/"$family"/cuda/*.cu; do
  o="$out/$(basename "$cu").o"
  g++ "${flags[@]}" -x c++ -c "$cu" -o "$o"
  objs+=("$o")
done
# The family's dispatch code, recompiled with SIMSAGE_WITH_CUDA: linked before the CPU-only library,
# these objects replace its copies, and the emulated device (emu_device.h) makes the dispatch choose CUDA.
for cpp in $(grep -l SIMSAGE_WITH_CUDA "$root"/native/"$family"/cpu/*.cpp); do
  o="$out/dispatch_$(basename "$cpp").o"
  g++ "${flags[@]}" -c "$cpp" -o "$o"
  objs+=("$o")
done
echo '#include "emu_device.h"' | g++ "${flags[@]}" -x c++ -c - -o "$out/device.o"
status=0
for test in "$root"/native/tests/test_cuda_"$family"*.cpp; do
  name="$(basename "$test" .cpp)"
  g++ "${flags[@]}" -Dmain=cuda_test_main_unused -c "$test" -o "$out/$name.o"
  g++ "${flags[@]}" "${objs[@]}" "$out/$name.o" "$out/device.o" "$build/libsimsage_core.a" -lpthread -o "$out/$name"
  echo "== $name (emulated)"
  ASAN_OPTIONS=detect_leaks=0 "$out/$name" || status=1
done
exit $status
