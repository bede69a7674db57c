"""PyTorch's cells for the mining section of bench_cuda (same shapes and case strings as
native/bench/bench_cuda_mining.cpp): what a PyTorch user writes for each step, FP32 on the GPU.

B = 4096 rows of d = 128 (N(0, 1/d), seeded), labels i % 64; --quick: B = 512. Every miner cell
computes its distance matrix, as the simsage cells do.
  pairwise sqeuclidean  |x_i|^2 + |x_j|^2 - 2 x_i.x_j by addmm, clamped at 0 (faster than cdist().pow(2))
  batch_hard            masked max / min and argmax / argmin over the matrix
  semi_hard             per positive pair (from the label mask), the closest negative farther than the
                        positive: masked min over chunks of pairs (a pairs x B block at a time)
  batch_all_count       per positive pair, the negatives with d(a, n) < d(a, p) + margin, counted in chunks
  triplet_loss+grad     gather a, p, n rows, hinge on squared distances, mean, autograd backward
"""
import torch

CLASSES = 64
D = 128
MARGIN = 0.2
CHUNK_ELEMENTS = 1 << 26  # pairs x B elements per chunk (256 MB of float)


def sq_distances(x):
    n = (x * x).sum(1)
    return (n[:, None] + n[None, :]).addmm_(x, x.t(), alpha=-2.0).clamp_min_(0.0)


def masks(labels):
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def batch_hard(x, labels):
    d = sq_distances(x)
    pos, neg = masks(labels)
    p = d.masked_fill(~pos, float("-inf")).argmax(1)
    n = d.masked_fill(~neg, float("inf")).argmin(1)
    keep = pos.any(1) & neg.any(1)
    a = torch.arange(x.shape[0], device=x.device)
    return torch.stack([a[keep], p[keep], n[keep]], 1)


def positive_pairs(labels):
    pos, neg = masks(labels)
    return pos.nonzero(), neg


def semi_hard(x, labels):
    d = sq_distances(x)
    pairs, neg = positive_pairs(labels)
    b = x.shape[0]
    step = max(1, CHUNK_ELEMENTS // b)
    out = []
    for s in range(0, pairs.shape[0], step):
        a, p = pairs[s:s + step, 0], pairs[s:s + step, 1]
        da = d[a]  # (pairs, B)
        dp = d[a, p][:, None]
        cand = torch.where(neg[a] & (da > dp), da, torch.full_like(da, float("inf")))
        best, n = cand.min(1)
        keep = torch.isfinite(best)
        out.append(torch.stack([a[keep], p[keep], n[keep]], 1))
    return torch.cat(out)


def batch_all_count(x, labels):
    d = sq_distances(x)
    pairs, neg = positive_pairs(labels)
    b = x.shape[0]
    step = max(1, CHUNK_ELEMENTS // b)
    total = torch.zeros((), dtype=torch.int64, device=x.device)
    for s in range(0, pairs.shape[0], step):
        a, p = pairs[s:s + step, 0], pairs[s:s + step, 1]
        da = d[a]
        dp = d[a, p][:, None]
        total += (neg[a] & (da < dp + MARGIN)).sum()
    return int(total)  # the count on the host, as simsage's cell reads it


def loss_and_grad(x, trip):
    xg = x.detach().requires_grad_(True)
    xa, xp, xn = xg[trip[:, 0]], xg[trip[:, 1]], xg[trip[:, 2]]
    dp = ((xa - xp) ** 2).sum(1)
    dn = ((xa - xn) ** 2).sum(1)
    loss = torch.relu(MARGIN + dp - dn).mean()
    loss.backward()
    return loss, xg.grad


def run(args, emit, time_device):
    b = 512 if args.quick else 4096
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(2024)
    x = torch.randn(b, D, device=dev, generator=g) * (1.0 / D ** 0.5)
    labels = torch.arange(b, device=dev, dtype=torch.int32) % CLASSES
    shape = f"b={b} d={D}"

    s = time_device(args, lambda: sq_distances(x))
    emit("mining", f"pairwise sqeuclidean {shape}", s, 2.0 * b * b * D, 4.0 * b * b)
    s = time_device(args, lambda: batch_hard(x, labels).shape[0])  # .shape reads the count, as simsage does
    emit("mining", f"batch_hard {shape}", s, 0, 0)
    s = time_device(args, lambda: semi_hard(x, labels).shape[0])
    emit("mining", f"semi_hard {shape} margin={MARGIN}", s, 0, 0)
    s = time_device(args, lambda: batch_all_count(x, labels))
    emit("mining", f"batch_all_count {shape} margin={MARGIN}", s, 0, 0)

    # Triplets (a, q, (q + 1) % B) for every positive pair (a, q), as bench_cuda_mining.cpp builds them.
    rows = []
    for a in range(b):
        for q in range(a % CLASSES, b, CLASSES):
            if q != a:
                rows.append((a, q, (q + 1) % b))
    trip = torch.tensor(rows, dtype=torch.int64, device=dev)
    s = time_device(args, lambda: loss_and_grad(x, trip))
    emit("mining", f"triplet_loss+grad {shape} triplets={len(rows)}", s, 0, 0)
