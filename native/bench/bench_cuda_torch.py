#!/usr/bin/env python3
"""PyTorch on the same GPU and shapes as bench_cuda: the tools a user would pick instead.

Usage: python3 bench_cuda_torch.py [--sections similarity,mining,temporal] [--n 10000000] [--reps 5] [--quick]

Prints one JSON line per cell, {"tool":"torch","family":...,"case":...,"seconds":...,"flops":...,"bytes":...},
with the same `case` strings bench_cuda prints, so bench_cuda_report.py pairs them. Each family's cells
are in torch_peer/<family>.py (a `run(args, emit, time_device)` function). Needs PyTorch with CUDA.
"""
import argparse
import json
import sys

import torch

from torch_peer import mining, similarity, temporal

SECTIONS = {"similarity": similarity.run, "mining": mining.run, "temporal": temporal.run}


def emit(family, case, seconds, flops, nbytes):
    print(json.dumps({"tool": "torch", "family": family, "case": case, "seconds": seconds,
                      "flops": flops, "bytes": nbytes}), flush=True)
    extra = ""
    if flops > 0:
        extra += f"  {flops / seconds * 1e-12:8.2f} TFLOP/s"
    if nbytes > 0:
        extra += f"  {nbytes / seconds * 1e-9:8.1f} GB/s"
    print(f"torch {family:<11} {case:<52} {seconds * 1e3:10.3f} ms{extra}", file=sys.stderr)


def time_device(args, fn):
    """Best device time of fn() over args.reps runs after one warm-up (CUDA events), as bench_cuda."""
    best = float("inf")
    for r in range(args.reps + 1):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        if r > 0:
            best = min(best, a.elapsed_time(b) * 1e-3)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sections", default="similarity,mining,temporal")
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench_cuda_torch: no CUDA device", file=sys.stderr)
        return 77
    # FP32 means FP32 here, as in simsage's FP32 kernels (no TF32 in matmul or conv).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}", file=sys.stderr)
    for name in args.sections.split(","):
        SECTIONS[name](args, emit, time_device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
