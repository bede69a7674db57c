#!/usr/bin/env python3
"""Pairs bench_cuda's and bench_cuda_torch.py's JSON lines by (family, case) and prints, per cell,
both times, simsage's TFLOP/s and GB/s with their fraction of the device's measured peaks, and the ratio
torch time / simsage time (> 1: simsage is faster).

Usage: python3 bench_cuda_report.py simsage.jsonl torch.jsonl
"""
import json
import sys


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rows.append(json.loads(line))
    return rows


def main():
    ours, theirs = load(sys.argv[1]), load(sys.argv[2])
    peak = {r["case"]: r["value"] for r in ours if r["family"] == "peak"}
    bw, fma = peak.get("copy_read_bytes_per_s", 0), peak.get("fp32_fma_flops", 0)
    print(f"device peaks (measured): copy read {bw * 1e-9:.1f} GB/s, FP32 FMA {fma * 1e-12:.1f} TFLOP/s")
    torch_by = {(r["family"], r["case"]): r for r in theirs}
    print(f"{'family':<11} {'case':<52} {'simsage ms':>11} {'torch ms':>10} {'ratio':>6} "
          f"{'TFLOP/s':>8} {'%fma':>5} {'GB/s':>8} {'%copy':>6}")
    for r in ours:
        if r["family"] == "peak":
            continue
        t = torch_by.get((r["family"], r["case"]))
        s = r["seconds"]
        tf = r["flops"] / s * 1e-12 if r["flops"] else 0
        gb = r["bytes"] / s * 1e-9 if r["bytes"] else 0
        ratio = f"{t['seconds'] / s:6.2f}" if t else "     -"
        tms = f"{t['seconds'] * 1e3:10.3f}" if t else "         -"
        pf = f"{r['flops'] / s / fma * 100:5.0f}" if r["flops"] and fma else "    -"
        pb = f"{r['bytes'] / s / bw * 100:6.0f}" if r["bytes"] and bw else "     -"
        print(f"{r['family']:<11} {r['case']:<52} {s * 1e3:11.3f} {tms} {ratio} {tf:8.2f} {pf} {gb:8.1f} {pb}")
    missing = [k for k in torch_by if k not in {(r["family"], r["case"]) for r in ours}]
    for fam, case in missing:
        print(f"{fam:<11} {case:<52} (torch only)")


if __name__ == "__main__":
    main()
