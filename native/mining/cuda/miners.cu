// CUDA twins of mining/cpu/miners.cpp's batch-hard and semi-hard miners (the filter miner is in
// filtered.cu), plus the pieces every device miner shares: the distance matrix, positive-pair
// offsets, the one-block scan, host-form checks and uploads.
//
// Order: per-anchor results land in slots fixed by an exclusive scan of per-anchor counts, so the
// triplets come out in the CPU's order (anchor order; (a, p) order for semi-hard).
// Ties: each lane scans j = lane, lane + 32, ... ascending and keeps the first best (strict compare);
// the warp reduction prefers the better value, then the smaller index: the best value with the
// smallest index, as the CPU's lane reduction.
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "core/cuda/check.cuh"
#include "mining/cuda/common.cuh"
#include "mining/cuda/mining_cuda.h"

namespace simsage::mining::cuda {

using simsage::cuda::blocks_for;
using simsage::cuda::stream;

namespace {

constexpr int kScanThreads = 1024;

__global__ void __launch_bounds__(kScanThreads)
    exclusive_scan_kernel(const int64_t* __restrict__ counts, int64_t n, int64_t* __restrict__ offsets) {
  if (threadIdx.x == 0) offsets[0] = 0;
  int64_t carry = 0;  // same value in every thread: the sum of the chunks before
  for (int64_t base = 0; base < n; base += blockDim.x) {
    const int64_t i = base + threadIdx.x;
    const int64_t v = i < n ? counts[i] : 0;
    int64_t total = 0;
    const int64_t ex = block_exclusive_scan(v, &total);
    if (i < n) offsets[i + 1] = carry + ex + v;
    carry += total;
  }
}

// counts[a] = #{q != a : labels[q] == labels[a]}: one warp per anchor.
__global__ void count_positives_kernel(const int32_t* __restrict__ lab, int64_t b, int64_t* __restrict__ counts) {
  const int64_t a = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (a >= b) return;
  const int32_t la = lab[a];
  int c = 0;
  for (int64_t j = lane; j < b; j += 32) c += (j != a) & (lab[j] == la);
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) c += __shfl_xor_sync(kFull, c, o);
  if (lane == 0) counts[a] = c;
}

// Batch-hard: one warp per anchor; pos/neg get the farthest positive and the closest negative (or
// -1), counts[a] = 1 when both exist.
__global__ void hardest_kernel(const float* __restrict__ d, const int32_t* __restrict__ lab, int64_t b,
                               int32_t* __restrict__ pos, int32_t* __restrict__ neg, int64_t* __restrict__ counts) {
  const int64_t a = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (a >= b) return;
  const float* row = d + a * b;
  const int32_t la = lab[a];
  float pv = -INFINITY, nv = INFINITY;
  int32_t pi = -1, ni = -1;
  for (int64_t j = lane; j < b; j += 32) {
    const float v = row[j];
    const bool same = lab[j] == la;
    if (same && j != a && v > pv) pv = v, pi = static_cast<int32_t>(j);
    if (!same && v < nv) nv = v, ni = static_cast<int32_t>(j);
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float opv = __shfl_down_sync(kFull, pv, o), onv = __shfl_down_sync(kFull, nv, o);
    const int32_t opi = __shfl_down_sync(kFull, pi, o), oni = __shfl_down_sync(kFull, ni, o);
    if (opi >= 0 && (pi < 0 || opv > pv || (opv == pv && opi < pi))) pv = opv, pi = opi;
    if (oni >= 0 && (ni < 0 || onv < nv || (onv == nv && oni < ni))) nv = onv, ni = oni;
  }
  if (lane == 0) {
    pos[a] = pi;
    neg[a] = ni;
    counts[a] = (pi >= 0) & (ni >= 0);
  }
}

__global__ void write_hardest_kernel(int64_t b, const int32_t* __restrict__ pos, const int32_t* __restrict__ neg,
                                     const int64_t* __restrict__ off, int32_t* __restrict__ out) {
  const int64_t a = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (a >= b || pos[a] < 0 || neg[a] < 0) return;
  int32_t* t = out + 3 * off[a];
  t[0] = static_cast<int32_t>(a), t[1] = pos[a], t[2] = neg[a];
}

// Semi-hard: one block per anchor a. Warp 0 lists a's positives into its pair slots; then each warp
// takes pairs (a, q) and scans the row for argmin { d[n] : n negative, d[n] > d[q] } (or -1);
// valid[a] counts the pairs that found one.
template <bool kShared>
__global__ void __launch_bounds__(kBlock)
    semihard_kernel(const float* __restrict__ d, const int32_t* __restrict__ lab, int64_t b,
                    const int64_t* __restrict__ pair_off, int32_t* posv, int32_t* negv, int64_t* __restrict__ valid) {
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
    const float dp = drow[posv[s0 + i]];
    float bv = INFINITY;
    int32_t bi = -1;
    for (int64_t j = lane; j < b; j += 32) {
      const float v = row(j);
      if (v > dp && v < bv) bv = v, bi = static_cast<int32_t>(j);
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_down_sync(kFull, bv, o);
      const int32_t oi = __shfl_down_sync(kFull, bi, o);
      if (oi >= 0 && (bi < 0 || ov < bv || (ov == bv && oi < bi))) bv = ov, bi = oi;
    }
    if (lane == 0) negv[s0 + i] = bi;
  }
  __syncthreads();
  int64_t c = 0;
  for (int64_t i = threadIdx.x; i < P; i += blockDim.x) c += negv[s0 + i] >= 0;
  int64_t total = 0;
  block_exclusive_scan(c, &total);
  if (threadIdx.x == 0) valid[a] = total;
}

// One warp per anchor: its pairs with a negative, in slot order, to out[3 off[a] ...].
__global__ void write_pairs_kernel(int64_t b, const int64_t* __restrict__ pair_off, const int32_t* __restrict__ posv,
                                   const int32_t* __restrict__ negv, const int64_t* __restrict__ off,
                                   int32_t* __restrict__ out) {
  const int64_t a = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (a >= b) return;
  const int64_t s0 = pair_off[a], P = pair_off[a + 1] - s0;
  int64_t n = off[a];
  for (int64_t base = 0; base < P; base += 32) {
    const int64_t i = base + lane;
    const bool f = i < P && negv[s0 + i] >= 0;
    const unsigned m = __ballot_sync(kFull, f);
    if (f) {
      int32_t* t = out + 3 * (n + __popc(m & ((1u << lane) - 1u)));
      t[0] = static_cast<int32_t>(a), t[1] = posv[s0 + i], t[2] = negv[s0 + i];
    }
    n += __popc(m);
  }
}

void check_device_mine(const MineParams& p) {
  check_device_batch(p.embeddings, p.b, p.dim);
  if (!p.labels) throw_error(ErrorCode::InvalidArgument, "null labels");
  check_margin(p.margin);
}

unsigned warps_blocks(int64_t b) { return blocks_for(b * 32, kBlock); }

}  // namespace

// ---- shared pieces (common.cuh) ------------------------------------------------------------------

void exclusive_scan(const int64_t* counts, int64_t n, int64_t* offsets) {
  SIMSAGE_CUDA_LAUNCH(1, kScanThreads, 0, exclusive_scan_kernel)(counts, n, offsets);
  SIMSAGE_CUDA_LAUNCHED("exclusive_scan_kernel");
}

int64_t read_int64(const int64_t* p) {
  int64_t v = 0;
  simsage::cuda::copy_to_host(&v, p, sizeof(v));
  return v;
}

const float* device_distances(const MineParams& p) {
  if (p.distances) return p.distances;
  float* buf = p.distance_buffer;
  if (!buf) buf = device_scratch<float, DSlot::Dist>(static_cast<size_t>(p.b * p.b));
  PairwiseParams pp;
  pp.embeddings = p.embeddings;
  pp.b = p.b;
  pp.dim = p.dim;
  pp.metric = p.metric;
  pp.out = buf;
  pairwise_distances_device(pp);
  return buf;
}

int64_t positive_pairs(const int32_t* labels, int64_t b, int64_t** pair_off) {
  int64_t* counts = device_scratch<int64_t, DSlot::PairCounts>(static_cast<size_t>(b));
  int64_t* off = device_scratch<int64_t, DSlot::PairOff>(static_cast<size_t>(b + 1));
  SIMSAGE_CUDA_LAUNCH(warps_blocks(b), kBlock, 0, count_positives_kernel)(labels, b, counts);
  SIMSAGE_CUDA_LAUNCHED("count_positives_kernel");
  exclusive_scan(counts, b, off);
  *pair_off = off;
  return read_int64(off + b);
}

void check_host_mine(const MineParams& p) {
  check_mining_batch(p.embeddings, p.labels, p.b, p.dim);
  if (!p.labels) throw_error(ErrorCode::InvalidArgument, "null labels");
  check_margin(p.margin);
}

MineParams upload_mine(const MineParams& p) {
  MineParams q = p;
  const size_t b = static_cast<size_t>(p.b), dim = static_cast<size_t>(p.dim);
  float* e = device_scratch<float, DSlot::Emb>(b * dim);
  int32_t* l = device_scratch<int32_t, DSlot::Labels>(b);
  simsage::cuda::copy_to_device(e, p.embeddings, b * dim * sizeof(float));
  simsage::cuda::copy_to_device(l, p.labels, b * sizeof(int32_t));
  q.embeddings = e;
  q.labels = l;
  q.distance_buffer = nullptr;
  if (p.distances) {
    float* g = device_scratch<float, DSlot::Given>(b * b);
    simsage::cuda::copy_to_device(g, p.distances, b * b * sizeof(float));
    q.distances = g;
  }
  return q;
}

DeviceArray<int32_t>& host_form_triplets() {
  thread_local DeviceArray<int32_t> t;
  return t;
}

namespace {
void download_triplets(const DeviceArray<int32_t>& t, int64_t n, std::vector<int32_t>* out) {
  out->resize(static_cast<size_t>(3 * n));
  if (n > 0) t.download(out->data(), static_cast<size_t>(3 * n));
}
}  // namespace

// ---- batch-hard ----------------------------------------------------------------------------------

int64_t mine_batch_hard_device(const MineParams& p, DeviceArray<int32_t>* out) {
  check_device_mine(p);
  const int64_t b = p.b;
  const float* d = device_distances(p);
  int32_t* pos = device_scratch<int32_t, DSlot::Hard>(static_cast<size_t>(2 * b));
  int32_t* neg = pos + b;
  int64_t* counts = device_scratch<int64_t, DSlot::Counts>(static_cast<size_t>(b));
  int64_t* off = device_scratch<int64_t, DSlot::Offsets>(static_cast<size_t>(b + 1));
  SIMSAGE_CUDA_LAUNCH(warps_blocks(b), kBlock, 0, hardest_kernel)(d, p.labels, b, pos, neg, counts);
  SIMSAGE_CUDA_LAUNCHED("hardest_kernel");
  exclusive_scan(counts, b, off);
  const int64_t n = read_int64(off + b);
  if (n > 0) {
    out->reserve(static_cast<size_t>(3 * n));
    SIMSAGE_CUDA_LAUNCH(blocks_for(b, kBlock), kBlock, 0, write_hardest_kernel)(b, pos, neg, off, out->data());
    SIMSAGE_CUDA_LAUNCHED("write_hardest_kernel");
  }
  return n;
}

void mine_batch_hard(const MineParams& p, std::vector<int32_t>* out) {
  check_host_mine(p);
  DeviceArray<int32_t>& t = host_form_triplets();
  const int64_t n = mine_batch_hard_device(upload_mine(p), &t);
  download_triplets(t, n, out);
}

// ---- semi-hard -----------------------------------------------------------------------------------

int64_t mine_semi_hard_device(const MineParams& p, DeviceArray<int32_t>* out) {
  check_device_mine(p);
  const int64_t b = p.b;
  const float* d = device_distances(p);
  int64_t* pair_off = nullptr;
  const int64_t pairs = positive_pairs(p.labels, b, &pair_off);
  int32_t* posv = device_scratch<int32_t, DSlot::PairPos>(static_cast<size_t>(pairs));
  int32_t* negv = device_scratch<int32_t, DSlot::PairNeg>(static_cast<size_t>(pairs));
  int64_t* valid = device_scratch<int64_t, DSlot::Counts>(static_cast<size_t>(b));
  int64_t* off = device_scratch<int64_t, DSlot::Offsets>(static_cast<size_t>(b + 1));
  const unsigned grid = static_cast<unsigned>(b);
  if (row_fits_shared(b)) {
    SIMSAGE_CUDA_LAUNCH(grid, kBlock, b * sizeof(float), semihard_kernel<true>)
    (d, p.labels, b, pair_off, posv, negv, valid);
  } else {
    SIMSAGE_CUDA_LAUNCH(grid, kBlock, 0, semihard_kernel<false>)(d, p.labels, b, pair_off, posv, negv, valid);
  }
  SIMSAGE_CUDA_LAUNCHED("semihard_kernel");
  exclusive_scan(valid, b, off);
  const int64_t n = read_int64(off + b);
  if (n > 0) {
    out->reserve(static_cast<size_t>(3 * n));
    SIMSAGE_CUDA_LAUNCH(warps_blocks(b), kBlock, 0, write_pairs_kernel)(b, pair_off, posv, negv, off, out->data());
    SIMSAGE_CUDA_LAUNCHED("write_pairs_kernel");
  }
  return n;
}

void mine_semi_hard(const MineParams& p, std::vector<int32_t>* out) {
  check_host_mine(p);
  DeviceArray<int32_t>& t = host_form_triplets();
  const int64_t n = mine_semi_hard_device(upload_mine(p), &t);
  download_triplets(t, n, out);
}

}  // namespace simsage::mining::cuda
