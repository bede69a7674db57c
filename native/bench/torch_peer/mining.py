"""PyTorch's cells for the mining section of bench_cuda (same shapes and case strings)."""


def run(args, emit, time_device):
    raise NotImplementedError("the mining cells are not written yet")
