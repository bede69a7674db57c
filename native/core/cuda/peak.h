// The GPU's own limits, measured in the same run as a benchmark (never hard-coded): device-to-device
// copy bandwidth and the FP32 FMA peak of the CUDA cores. Built with the CUDA backend only.
#pragma once
#include <cstddef>

namespace simsage::cuda {

// Bytes read per second by cudaMemcpyAsync device-to-device over `bytes` (best of `reps`); the copy
// reads and writes each byte once, this counts the reads.
double measure_copy_read_bandwidth(size_t bytes, int reps);

// FP32 FLOP/s (2 per FMA) of a register-only FMA chain on every SM (best of `reps`).
double measure_fma_peak(int reps);

}  // namespace simsage::cuda
