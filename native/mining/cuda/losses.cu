// CUDA twin of mining/cpu/losses.cpp (float entry point). The equations are the CPU file's: with
// u = a - p, v = a - n, D_ap = |u|^2 or |u|, z = margin + D_ap - D_an (hinge) or D_ap - D_an (soft),
//   l = max(0, z) or log(1 + e^z),  c_p = dl/dz * (2 or 1 / D_ap),  c_n = dl/dz * (2 or 1 / D_an),
//   grad_a += (c_p u - c_n v) / T,  grad_p -= c_p u / T,  grad_n += c_n v / T.
// One warp per triplet (grid-stride): lanes split the dim, per-triplet terms in double as on the CPU;
// the loss sum and the active count by one double / integer atomic per warp, the gradient by float
// atomics (order not fixed: the gradient matches the CPU's within float rounding, not bit for bit).
#include <cuda_runtime.h>

#include <cstdint>

#include "core/cuda/check.cuh"
#include "mining/cpu/checks.h"
#include "mining/cuda/common.cuh"
#include "mining/cuda/mining_cuda.h"

namespace simsage::mining::cuda {

using simsage::cuda::stream;

namespace {

struct LossSums {
  double loss;
  unsigned long long active;
};

__global__ void __launch_bounds__(kBlock)
    triplet_loss_kernel(const float* __restrict__ e, int64_t dim, const int32_t* __restrict__ trip, int64_t nt,
                        double margin, bool euclid, bool soft, double inv_t, float* __restrict__ grad,
                        LossSums* __restrict__ sums) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  double loss_acc = 0;
  unsigned long long active = 0;
  for (int64_t t = warp; t < nt; t += warps) {
    const int64_t ia = trip[3 * t], iq = trip[3 * t + 1], in = trip[3 * t + 2];
    const float *a = e + ia * dim, *q = e + iq * dim, *n = e + in * dim;
    double dp = 0, dn = 0;
    for (int64_t d = lane; d < dim; d += 32) {
      const double u = static_cast<double>(a[d]) - q[d], v = static_cast<double>(a[d]) - n[d];
      dp += u * u;
      dn += v * v;
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      dp += __shfl_xor_sync(kFull, dp, o);
      dn += __shfl_xor_sync(kFull, dn, o);
    }
    double Dp = dp, Dn = dn, gp = 2.0, gn = 2.0;
    if (euclid) {
      Dp = sqrt(dp), Dn = sqrt(dn);
      gp = Dp > 0 ? 1.0 / Dp : 0.0;
      gn = Dn > 0 ? 1.0 / Dn : 0.0;
    }
    double l, dz;
    if (soft) {
      const double z = Dp - Dn;
      l = fmax(z, 0.0) + log1p(exp(-fabs(z)));
      dz = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
    } else {
      const double z = margin + Dp - Dn;
      l = z > 0 ? z : 0.0;
      dz = z > 0 ? 1.0 : 0.0;
    }
    loss_acc += l;
    active += l > 0;
    const double kp = dz * gp * inv_t, kn = dz * gn * inv_t;
    if (grad && (kp != 0 || kn != 0)) {
      float *ga = grad + ia * dim, *gq = grad + iq * dim, *gn_ = grad + in * dim;
      for (int64_t d = lane; d < dim; d += 32) {
        const double u = static_cast<double>(a[d]) - q[d], v = static_cast<double>(a[d]) - n[d];
        atomicAdd(ga + d, static_cast<float>(kp * u - kn * v));
        atomicAdd(gq + d, static_cast<float>(-kp * u));
        atomicAdd(gn_ + d, static_cast<float>(kn * v));
      }
    }
  }
  // Every lane holds the same loss_acc and active (the terms are computed warp-uniformly).
  if (lane == 0 && (loss_acc != 0 || active != 0)) {
    atomicAdd(&sums->loss, loss_acc);
    atomicAdd(&sums->active, active);
  }
}

}  // namespace

TripletLossResult triplet_loss_device(const TripletLossParams& p) {
  check_device_batch(p.embeddings, p.b, p.dim);
  if (p.n_triplets < 0 || (p.n_triplets > 0 && !p.triplets))
    throw_error(ErrorCode::InvalidArgument, "bad triplet array");
  check_margin(static_cast<double>(p.margin));
  const int64_t nt = p.n_triplets;
  if (p.grad) simsage::cuda::fill_zero(p.grad, static_cast<size_t>(p.b * p.dim) * sizeof(float));
  TripletLossResult res;
  res.backend = Backend::Cuda;
  if (nt == 0) return res;
  LossSums* sums = device_scratch<LossSums, DSlot::Sums>(1);
  simsage::cuda::fill_zero(sums, sizeof(LossSums));
  // Enough warps to fill the device (16 blocks of 8 warps per SM); each walks triplets grid-stride.
  const int64_t want = simsage::cuda::blocks_for(nt * 32, kBlock);
  const int64_t cap = int64_t(16) * simsage::cuda::sm_count();
  const unsigned grid = static_cast<unsigned>(want < cap ? want : cap);
  SIMSAGE_CUDA_LAUNCH(grid, kBlock, 0, triplet_loss_kernel)
  (p.embeddings, p.dim, p.triplets, nt, static_cast<double>(p.margin), p.distance == TripletDistance::Euclidean,
   p.soft_margin, 1.0 / static_cast<double>(nt), p.grad, sums);
  SIMSAGE_CUDA_LAUNCHED("triplet_loss_kernel");
  LossSums h{};
  simsage::cuda::copy_to_host(&h, sums, sizeof(h));
  res.loss = h.loss / static_cast<double>(nt);
  res.active = static_cast<int64_t>(h.active);
  return res;
}

TripletLossResult triplet_loss(const TripletLossParams& p) {
  cpu::check_triplet_loss(p);
  const size_t b = static_cast<size_t>(p.b), dim = static_cast<size_t>(p.dim);
  const size_t nt = static_cast<size_t>(p.n_triplets);
  TripletLossParams q = p;
  float* e = device_scratch<float, DSlot::Emb>(b * dim);
  simsage::cuda::copy_to_device(e, p.embeddings, b * dim * sizeof(float));
  q.embeddings = e;
  if (nt > 0) {
    int32_t* t = device_scratch<int32_t, DSlot::Trip>(3 * nt);
    simsage::cuda::copy_to_device(t, p.triplets, 3 * nt * sizeof(int32_t));
    q.triplets = t;
  }
  if (p.grad) q.grad = device_scratch<float, DSlot::Grad>(b * dim);
  const TripletLossResult r = triplet_loss_device(q);
  if (p.grad) simsage::cuda::copy_to_host(p.grad, q.grad, b * dim * sizeof(float));
  return r;
}

}  // namespace simsage::mining::cuda
