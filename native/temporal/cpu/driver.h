// Internal pieces of the temporal drivers shared by conv.cpp, block.cpp and stream.cpp: packing W
// as the B operand of the folded-tap GEMM, and running conv tasks over the thread pool.
#pragma once
#include <cstdint>
#include <vector>

#include "temporal/cpu/conv_kernels.h"

namespace simsage {
namespace temporal {
namespace cpu {

// Panels of 16 columns for n columns, padded to a multiple of the table's np.
int64_t panel_count(const ConvKernels& tb, int64_t n);

// W (cout x cin x K, PyTorch) as the forward B operand: row l = k * cin + c, column o, value
// W[o, c, k]; `panels` panels of (K * cin) x 16 floats into dst (resized).
void pack_w_forward(const float* w, int64_t cin, int64_t cout, int64_t taps, int64_t panels, std::vector<float>* dst);

// Runs `proto` over global rows [0, rows) and all panels: tasks of a few register tiles of rows,
// split further over panel groups when rows are too few for the threads. Task edges depend on the
// shapes and the thread count, but every output element is computed by one task in the same order,
// so results do not depend on the thread count.
void run_conv_tasks(const ConvKernels& tb, const ConvTask& proto, int64_t rows, int64_t panels, int threads);

}  // namespace cpu
}  // namespace temporal
}  // namespace simsage
