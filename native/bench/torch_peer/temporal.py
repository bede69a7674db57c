"""PyTorch's cells for the temporal section of bench_cuda (same shapes and case strings)."""


def run(args, emit, time_device):
    raise NotImplementedError("the temporal cells are not written yet")
