"""PyTorch's cells for the temporal section of bench_cuda (same shapes and case strings).

conv1d: torch.nn.functional.conv1d on N x C x T tensors (PyTorch's layout, so no transpose is timed:
simsage's kernel reads B x T x C directly and pays none either). Causality is a left padding of
(K-1)*d steps; the input is padded once, outside the timed region, so the cell times conv1d alone
(cuDNN, FP32, TF32 off, cudnn.benchmark on): a conservative comparison for simsage, whose kernel
pays its padding inside. fwd+bwd: the forward then autograd's dx, dW and db.

tcn stream step: PyTorch's obvious batched approach to streaming a causal TCN: every stream keeps
its last receptive-field window of inputs (S x C x R, R = 1 + 2 (K-1) sum(d)), a step shifts the
new input in and runs the 4-block TCN over all windows at once (no_grad), keeping the last output.
"""
import torch
import torch.nn.functional as F


def conv_case(what, b, t, c, k, d):
    return f"conv1d {what} b={b} t={t} c={c} k={k} d={d}"


def conv_cells(args, emit, time_device):
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(1)
    B, T, K = (2, 64, 3) if args.quick else (32, 1024, 3)
    for C in ([16] if args.quick else [256, 64]):
        w = (torch.randn(C, C, K, device=dev, generator=g) * 0.05).requires_grad_()
        b = (torch.randn(C, device=dev, generator=g) * 0.1).requires_grad_()
        for d in (1, 4, 16):
            pad = (K - 1) * d
            x = F.pad(torch.randn(B, C, T, device=dev, generator=g), (pad, 0)).requires_grad_()
            dy = torch.randn(B, C, T, device=dev, generator=g)
            pass_flops = 2.0 * B * T * C * C * K
            io = 4.0 * (2 * B * T * C + C * C * K)

            def fwd():
                with torch.no_grad():
                    F.conv1d(x, w, b, dilation=d)

            emit("temporal", conv_case("fwd", B, T, C, K, d), time_device(args, fwd), pass_flops, io)

            def both():
                y = F.conv1d(x, w, b, dilation=d)
                torch.autograd.grad(y, (x, w, b), dy)

            emit("temporal", conv_case("fwd+bwd", B, T, C, K, d), time_device(args, both), 3 * pass_flops, 0)


def stream_cell(args, emit, time_device):
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(5)
    S, C, K, dils = (1000 if args.quick else 100000), 64, 3, (1, 2, 4, 8)
    R = 1 + 2 * (K - 1) * sum(dils)
    scale = 1.0 / (C * K) ** 0.5
    blocks = [tuple(torch.randn(*shape, device=dev, generator=g) * scale
                    for shape in ((C, C, K), (C,), (C, C, K), (C,))) for _ in dils]
    state = {"window": torch.zeros(S, C, R, device=dev)}
    x = torch.randn(S, C, device=dev, generator=g)

    def step():
        with torch.no_grad():
            win = torch.cat([state["window"][:, :, 1:], x[:, :, None]], dim=2)
            state["window"] = win
            h = win
            for (w1, b1, w2, b2), d in zip(blocks, dils):
                pad = (K - 1) * d
                a1 = F.relu(F.conv1d(F.pad(h, (pad, 0)), w1, b1, dilation=d))
                a2 = F.relu(F.conv1d(F.pad(a1, (pad, 0)), w2, b2, dilation=d))
                h = F.relu(a2 + h)
            return h[:, :, -1].contiguous()

    for _ in range(3):
        step()
    seconds = time_device(args, step)
    flops = 4 * 2 * 2.0 * S * C * C * K
    emit("temporal", f"tcn stream step streams={S} c={C} blocks=4 k={K}", seconds, flops, 0)


def run(args, emit, time_device):
    conv_cells(args, emit, time_device)
    stream_cell(args, emit, time_device)
