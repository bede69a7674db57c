"""PyTorch's cells for the similarity section of bench_cuda (same shapes and case strings).

What a PyTorch user writes for exact top-k: scores = q @ x.T, then torch.topk(scores, k). When the
Q x N score matrix would pass ~4 GiB, the corpus is split into chunks: topk per chunk, then topk over
the chunks' candidates. FP32 (TF32 is off in bench_cuda_torch.py), then x and q in bf16 and in f16
(scores in that dtype, tensor cores); ip metric; corpus resident on the GPU before timing, as in
bench_cuda_similarity.cpp.
"""

import torch

SCORE_BYTES_LIMIT = 4 << 30


def topk_chunked(q, x, k):
    nq, n = q.shape[0], x.shape[0]
    chunk = max(k, SCORE_BYTES_LIMIT // (q.element_size() * nq))
    if chunk >= n:
        return torch.topk(q @ x.T, k, dim=1)
    vals, idx = [], []
    for start in range(0, n, chunk):
        v, i = torch.topk(q @ x[start:start + chunk].T, min(k, min(chunk, n - start)), dim=1)
        vals.append(v)
        idx.append(i + start)
    v = torch.cat(vals, dim=1)
    i = torch.cat(idx, dim=1)
    best, pos = torch.topk(v, k, dim=1)
    return best, torch.gather(i, 1, pos)


def cells(args, emit, time_device, x, qall, n, d, name, value_bytes):
    for nq in (1, 64, 1024):
        q = qall[:nq].contiguous()
        for k in (10, 100):
            sec = time_device(args, lambda: topk_chunked(q, x, k))
            case = f"topk n={n} d={d} q={nq} k={k} {name}"
            emit("similarity", case, sec, 2.0 * n * d * nq, n * d * float(value_bytes) if nq == 1 else 0.0)


def run(args, emit, time_device):
    n = 100_000 if args.quick else args.n
    d = 128
    gen = torch.Generator(device="cuda").manual_seed(1)
    x = torch.rand((n, d), device="cuda", dtype=torch.float32, generator=gen) * 2 - 1
    qall = torch.rand((1024, d), device="cuda", dtype=torch.float32, generator=gen) * 2 - 1
    cells(args, emit, time_device, x, qall, n, d, "f32", 4)
    for name, dtype in (("bf16", torch.bfloat16), ("f16", torch.float16)):
        xh, qh = x.to(dtype), qall.to(dtype)
        cells(args, emit, time_device, xh, qh, n, d, name, 2)
        del xh, qh
        torch.cuda.empty_cache()
    del x
    torch.cuda.empty_cache()
