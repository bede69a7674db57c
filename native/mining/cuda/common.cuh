// Device pieces shared by the mining family's CUDA twins (only included by .cu files): per-thread
// device scratch, warp and block prefix sums, the one-block exclusive scan of per-anchor counts, and
// the argument checks of the device forms.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/cuda/check.cuh"
#include "core/cuda/runtime.h"
#include "core/error.h"
#include "mining/mining.h"

namespace simsage::mining::cuda {

using simsage::cuda::DeviceArray;

// What each per-thread device scratch buffer holds within one call (two calls on one thread never
// overlap; the host forms' uploads and the device forms' buffers use different slots).
enum class DSlot {
  Emb,         // host forms: the uploaded embeddings (b x dim float)
  Labels,      // host forms: the uploaded labels (b int32)
  Given,       // host forms: the uploaded precomputed distances (b x b float)
  Dist,        // the b x b matrix when the caller gave no buffer
  Aux,         // pairwise: b norms or inverse norms (float)
  Counts,      // miners: b per-anchor counts (int64)
  Offsets,     // miners: b + 1 exclusive prefix sums of Counts (int64)
  PairCounts,  // miners: b positive-pair counts (int64)
  PairOff,     // miners: b + 1 offsets of the anchors' positive pairs (int64)
  PairPos,     // miners: one slot per positive pair (a, q): q (int32)
  PairNeg,     // semi-hard: the pair's negative or -1 (int32)
  PairStart,   // filter: the pair's first triplet, relative to its anchor's (int64)
  Hard,        // batch-hard: 2 b, farthest positive and closest negative per anchor (int32)
  Triplets,    // host forms: the device triplets before the download (int32)
  Trip,        // loss host form: the uploaded triplets (int32)
  Grad,        // loss host form: the b x dim gradient (float)
  Sums,        // loss: the loss sum (double) and the active count
};

// A device buffer of at least n elements of T for `slot` on the calling thread (contents unspecified).
template <class T, DSlot slot>
T* device_scratch(size_t n) {
  // n * sizeof(T) must not wrap (b x b matrices of b near 2^31).
  need(n <= std::numeric_limits<size_t>::max() / sizeof(T), ErrorCode::OutOfMemory, "cuda", "device buffer too large");
  thread_local DeviceArray<T> a;
  a.reserve(n > 0 ? n : 1);
  return a.data();
}

constexpr unsigned kFull = 0xffffffffu;
constexpr int kBlock = 256;  // threads per block of the per-anchor kernels (8 warps)

// Anchor a's row as the negative scans see it: d[a b + j] when labels[j] != labels[a], NaN otherwise
// (NaN fails every comparison the scans make, so a non-negative is never counted or chosen, and a NaN
// distance behaves as it does on the CPU). kShared: staged once per block in shared memory (b floats,
// when they fit); otherwise read from global memory with the label test.
template <bool kShared>
struct NegRow {
  const float* smem;
  const float* d;  // row a of the matrix
  const int32_t* lab;
  int32_t la;
  __device__ __forceinline__ float operator()(int64_t j) const {
    if (kShared) return smem[j];
    return lab[j] != la ? d[j] : __int_as_float(0x7fc00000);
  }
};

// Fills `row` (b floats of shared memory) with anchor a's NegRow; the whole block calls it (and syncs after).
__device__ __forceinline__ void stage_negatives(const float* d, const int32_t* lab, int64_t b, int32_t la, float* row) {
  for (int64_t j = threadIdx.x; j < b; j += blockDim.x) row[j] = lab[j] != la ? d[j] : __int_as_float(0x7fc00000);
}

// Warp 0 of a block writes anchor a's positives q (q != a, labels[q] == la), ascending, to dst.
__device__ __forceinline__ void list_positives(const int32_t* lab, int64_t b, int64_t a, int32_t la, int32_t* dst) {
  const int lane = threadIdx.x & 31;
  int64_t n = 0;
  for (int64_t base = 0; base < b; base += 32) {
    const int64_t j = base + lane;
    const bool f = j < b && j != a && lab[j] == la;
    const unsigned m = __ballot_sync(kFull, f);
    if (f) dst[n + __popc(m & ((1u << lane) - 1u))] = static_cast<int32_t>(j);
    n += __popc(m);
  }
}

// Shared memory for a per-anchor kernel's staged row: b floats when they fit the default 48 KiB per
// block with room for the kernels' static shared memory (block_exclusive_scan's 256 bytes).
inline bool row_fits_shared(int64_t b) { return b * int64_t(sizeof(float)) <= 44 * 1024; }

// Inclusive prefix sum over the 32 lanes of a warp.
__device__ __forceinline__ int64_t warp_inclusive_scan(int64_t x) {
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const int64_t y = __shfl_up_sync(kFull, x, o);
    if (lane >= o) x += y;
  }
  return x;
}

// Exclusive prefix sum of v over the block (blockDim.x a multiple of 32, at most 1024); *total gets
// the block's sum. Every thread of the block must call it (it synchronises the block).
__device__ __forceinline__ int64_t block_exclusive_scan(int64_t v, int64_t* total) {
  __shared__ int64_t warp_sums[32];
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  const int64_t incl = warp_inclusive_scan(v);
  if (lane == 31) warp_sums[w] = incl;
  __syncthreads();
  if (w == 0) {
    int64_t s = lane < nw ? warp_sums[lane] : 0;
    s = warp_inclusive_scan(s);
    if (lane < nw) warp_sums[lane] = s;
  }
  __syncthreads();
  const int64_t before = w > 0 ? warp_sums[w - 1] : 0;
  *total = warp_sums[nw - 1];
  __syncthreads();  // warp_sums is reused by the next call
  return before + incl - v;
}

// offsets[0] = 0, offsets[i + 1] = offsets[i] + counts[i] for i < n (device arrays), on this thread's
// stream: one block of 1024 threads walks the counts 1024 at a time (n is a batch size: a few passes).
// Defined in miners.cu.
void exclusive_scan(const int64_t* counts, int64_t n, int64_t* offsets);

// One int64 from the device (synchronises the stream).
int64_t read_int64(const int64_t* p);

// The b x b matrix a device-form miner reads: p.distances, or computed (pairwise_distances_device)
// into p.distance_buffer or this thread's scratch. Defined in miners.cu.
const float* device_distances(const MineParams& p);

// Positive pairs (a, q), q != a, labels[q] == labels[a], in (a, q) order: *pair_off gets the b + 1
// offsets of each anchor's pairs (device); returns their number. Defined in miners.cu.
int64_t positive_pairs(const int32_t* labels, int64_t b, int64_t** pair_off);

// The host forms' checks (the CPU miners' distances_for: check_mining_batch, labels, margin) and
// uploads: the returned params hold device copies of embeddings, labels and, when given, distances;
// no distance_buffer. Defined in miners.cu.
void check_host_mine(const MineParams& p);
MineParams upload_mine(const MineParams& p);

// This thread's device triplet list for the host forms.
DeviceArray<int32_t>& host_form_triplets();

// The device forms' checks: the scalar half of check_mining_batch (same codes and messages).
inline void check_device_batch(const void* embeddings, int64_t b, int64_t dim) {
  if (dim <= 0) throw_error(ErrorCode::DimMismatch, "dim must be a positive integer");
  if (b <= 0) throw_error(ErrorCode::InvalidArgument, "empty batch: embeddings must hold at least one row");
  if (b > std::numeric_limits<int32_t>::max())
    throw_error(ErrorCode::InvalidArgument, "batch too large: at most 2^31 - 1 rows (triplets are int32)");
  if (!embeddings) throw_error(ErrorCode::InvalidArgument, "null embeddings");
}

}  // namespace simsage::mining::cuda
