"""PyTorch's cells for the similarity section of bench_cuda (same shapes and case strings)."""


def run(args, emit, time_device):
    raise NotImplementedError("the similarity cells are not written yet")
