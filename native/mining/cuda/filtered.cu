// CUDA twin of the filter miner (batch-all when the filter is Any or All) of mining/cpu/miners.cpp.
// Output order is the CPU's (a, p, n) lexicographic order, capped at max_triplets:
//   1. per positive pair (a, q): c_aq = #{n negative : lo(d_aq) <= d_an < hi(d_aq)} (one warp per
//      pair, one block per anchor), then within the anchor an exclusive scan of c_aq (the pair's
//      first triplet relative to its anchor) and the anchor's total;
//   2. an exclusive scan of the anchors' totals (the anchor's first triplet); total = the sum;
//   3. each pair whose first triplet is below the cap writes its negatives in ascending order (warp
//      ballots: lane order = index order), stopping at the cap.
// [lo, hi): triplet_filter_range (mining/filter_range.h), the CPU's own function.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/cuda/check.cuh"
#include "mining/cuda/common.cuh"
#include "mining/cuda/mining_cuda.h"
#include "mining/filter_range.h"

namespace simsage::mining::cuda {

using simsage::cuda::stream;

namespace {

// Step 1: one block per anchor a. pstart[slot] gets the pair's first triplet relative to a's first;
// acount[a] the anchor's number of triplets.
template <bool kShared>
__global__ void __launch_bounds__(kBlock)
    filter_count_kernel(const float* __restrict__ d, const int32_t* __restrict__ lab, int64_t b, TripletFilter filter,
                        float margin, const int64_t* __restrict__ pair_off, int32_t* posv, int64_t* pstart,
                        int64_t* __restrict__ acount) {
  SIMSAGE_CUDA_DYNAMIC_SHARED(float, srow);
  const int64_t a = blockIdx.x;
  const float* drow = d + a * b;
  const int32_t la = lab[a];
  const int64_t s0 = pair_off[a], P = pair_off[a + 1] - s0;
  if (kShared) stage_negatives(drow, lab, b, la, srow);
  if (threadIdx.x < 32) list_positives(lab, b, a, la, posv + s0);
  __syncthreads();
  const NegRow<kShared> row{srow, drow, lab, la};
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int64_t i = w; i < P; i += nw) {
    float lo = 0.f, hi = 0.f;
    triplet_filter_range(filter, drow[posv[s0 + i]], margin, &lo, &hi);
    int c = 0;
    for (int64_t j = lane; j < b; j += 32) {
      const float v = row(j);
      c += (v >= lo) & (v < hi);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(kFull, c, o);
    if (lane == 0) pstart[s0 + i] = c;
  }
  __syncthreads();
  int64_t carry = 0;  // the same in every thread
  for (int64_t base = 0; base < P; base += blockDim.x) {
    const int64_t i = base + threadIdx.x;
    const int64_t v = i < P ? pstart[s0 + i] : 0;
    int64_t total = 0;
    const int64_t ex = block_exclusive_scan(v, &total);
    if (i < P) pstart[s0 + i] = carry + ex;
    carry += total;
  }
  if (threadIdx.x == 0) acount[a] = carry;
}

// Step 3: one block per anchor whose first triplet is below the cap; one warp per pair.
template <bool kShared>
__global__ void __launch_bounds__(kBlock)
    filter_write_kernel(const float* __restrict__ d, const int32_t* __restrict__ lab, int64_t b, TripletFilter filter,
                        float margin, const int64_t* __restrict__ pair_off, const int32_t* __restrict__ posv,
                        const int64_t* __restrict__ pstart, const int64_t* __restrict__ aoff, int64_t limit,
                        int32_t* __restrict__ out) {
  SIMSAGE_CUDA_DYNAMIC_SHARED(float, srow);
  const int64_t a = blockIdx.x;
  const int64_t first = aoff[a];
  if (first >= limit) return;  // the whole block
  const float* drow = d + a * b;
  const int32_t la = lab[a];
  const int64_t s0 = pair_off[a], P = pair_off[a + 1] - s0;
  if (kShared) {
    stage_negatives(drow, lab, b, la, srow);
    __syncthreads();
  }
  const NegRow<kShared> row{srow, drow, lab, la};
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int64_t i = w; i < P; i += nw) {
    int64_t n = first + pstart[s0 + i];
    if (n >= limit) continue;
    const int32_t q = posv[s0 + i];
    float lo = 0.f, hi = 0.f;
    triplet_filter_range(filter, drow[q], margin, &lo, &hi);
    for (int64_t base = 0; base < b && n < limit; base += 32) {
      const int64_t j = base + lane;
      const float v = j < b ? row(j) : __int_as_float(0x7fc00000);
      const bool f = (v >= lo) & (v < hi);
      const unsigned m = __ballot_sync(kFull, f);
      const int64_t k = n + __popc(m & ((1u << lane) - 1u));
      if (f && k < limit) {
        int32_t* t = out + 3 * k;
        t[0] = static_cast<int32_t>(a), t[1] = q, t[2] = static_cast<int32_t>(j);
      }
      n += __popc(m);
    }
  }
}

}  // namespace

int64_t mine_filtered_device(const MineParams& p, TripletFilter filter, int64_t max_triplets, DeviceArray<int32_t>* out,
                             int64_t* written) {
  check_device_batch(p.embeddings, p.b, p.dim);
  if (!p.labels) throw_error(ErrorCode::InvalidArgument, "null labels");
  check_margin(p.margin);
  const int64_t b = p.b;
  const float* d = device_distances(p);
  int64_t* pair_off = nullptr;
  const int64_t pairs = positive_pairs(p.labels, b, &pair_off);
  int32_t* posv = device_scratch<int32_t, DSlot::PairPos>(static_cast<size_t>(pairs));
  int64_t* pstart = device_scratch<int64_t, DSlot::PairStart>(static_cast<size_t>(pairs));
  int64_t* acount = device_scratch<int64_t, DSlot::Counts>(static_cast<size_t>(b));
  int64_t* aoff = device_scratch<int64_t, DSlot::Offsets>(static_cast<size_t>(b + 1));
  const unsigned grid = static_cast<unsigned>(b);
  const bool shared = row_fits_shared(b);
  const size_t smem = shared ? static_cast<size_t>(b) * sizeof(float) : 0;
  if (shared) SIMSAGE_CUDA_LAUNCH(grid, kBlock, smem, filter_count_kernel<true>)
  (d, p.labels, b, filter, p.margin, pair_off, posv, pstart, acount);
  else SIMSAGE_CUDA_LAUNCH(grid, kBlock, 0, filter_count_kernel<false>)(d, p.labels, b, filter, p.margin, pair_off,
                                                                        posv, pstart, acount);
  SIMSAGE_CUDA_LAUNCHED("filter_count_kernel");
  exclusive_scan(acount, b, aoff);
  const int64_t total = read_int64(aoff + b);
  const int64_t limit = max_triplets < 0 ? total : std::min(total, max_triplets);
  if (limit > 0) {
    out->reserve(static_cast<size_t>(3 * limit));
    if (shared) SIMSAGE_CUDA_LAUNCH(grid, kBlock, smem, filter_write_kernel<true>)
    (d, p.labels, b, filter, p.margin, pair_off, posv, pstart, aoff, limit, out->data());
    else SIMSAGE_CUDA_LAUNCH(grid, kBlock, 0, filter_write_kernel<false>)(d, p.labels, b, filter, p.margin, pair_off,
                                                                          posv, pstart, aoff, limit, out->data());
    SIMSAGE_CUDA_LAUNCHED("filter_write_kernel");
  }
  if (written) *written = limit;
  return total;
}

int64_t mine_filtered(const MineParams& p, TripletFilter filter, int64_t max_triplets, std::vector<int32_t>* out) {
  check_host_mine(p);
  DeviceArray<int32_t>& t = host_form_triplets();
  int64_t written = 0;
  const int64_t total = mine_filtered_device(upload_mine(p), filter, max_triplets, &t, &written);
  out->resize(static_cast<size_t>(3 * written));
  if (written > 0) t.download(out->data(), static_cast<size_t>(3 * written));
  return total;
}

}  // namespace simsage::mining::cuda
