// Triplet losses and their gradients (mining.h). With u = a - p, v = a - n (rows of E) and
// dp = |u|^2, dn = |v|^2:
//   squared   : D_ap = dp,        dD_ap/da = 2u,       dD_ap/dp = -2u      (Deep Ranking, eq. 2)
//   euclidean : D_ap = sqrt(dp),  dD_ap/da = u / D_ap, dD_ap/dp = -u / D_ap (0 when D_ap = 0)
// and the same for (a, n) with v. With z = margin + D_ap - D_an (hinge) or D_ap - D_an (soft):
//   hinge : l = max(0, z),  dl/dz = [z > 0]
//   soft  : l = log(1 + e^z) = max(z, 0) + log1p(e^-|z|),  dl/dz = sigmoid(z)
// so grad_a += (c_p u - c_n v) / T, grad_p -= c_p u / T, grad_n += c_n v / T with
// c_p = dl/dz * (2 or 1 / D_ap) and c_n = dl/dz * (2 or 1 / D_an).
// Per-triplet terms run in parallel; the scatter into grad is one sequential pass in double.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "mining/cpu/checks.h"
#include "mining/cpu/scratch.h"
#include "mining/mining.h"
#if SIMSAGE_WITH_CUDA
#include "mining/cuda/mining_cuda.h"
#endif

namespace simsage {

namespace {

constexpr int64_t kTripletsPerTask = 256;

template <class T>
TripletLossResult loss_impl(const TripletLossParamsT<T>& p) {
  mining::cpu::check_triplet_loss(p);
  const int64_t nt = p.n_triplets, dim = p.dim;
  if (p.grad) std::fill(p.grad, p.grad + p.b * dim, T(0));
  TripletLossResult res;
  if (nt == 0) return res;
  const bool euclid = p.distance == TripletDistance::Euclidean;
  using mining::cpu::Slot;
  double* loss = mining::cpu::scratch<double, Slot::LossTerms>(static_cast<size_t>(3 * nt));
  double *cp = loss + nt, *cn = loss + 2 * nt;
  parallel_chunks(nt, kTripletsPerTask, p.threads, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      const T* a = p.embeddings + p.triplets[3 * t] * dim;
      const T* q = p.embeddings + p.triplets[3 * t + 1] * dim;
      const T* n = p.embeddings + p.triplets[3 * t + 2] * dim;
      double dp = 0, dn = 0;
      for (int64_t d = 0; d < dim; ++d) {
        const double u = static_cast<double>(a[d]) - q[d], v = static_cast<double>(a[d]) - n[d];
        dp += u * u;
        dn += v * v;
      }
      double Dp = dp, Dn = dn, gp = 2.0, gn = 2.0;  // D and dD/d(squared distance) * 2
      if (euclid) {
        Dp = std::sqrt(dp), Dn = std::sqrt(dn);
        gp = Dp > 0 ? 1.0 / Dp : 0.0;
        gn = Dn > 0 ? 1.0 / Dn : 0.0;
      }
      double l, dz;
      if (p.soft_margin) {
        const double z = Dp - Dn;
        l = std::max(z, 0.0) + std::log1p(std::exp(-std::fabs(z)));
        dz = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
      } else {
        const double z = static_cast<double>(p.margin) + Dp - Dn;
        l = z > 0 ? z : 0.0;
        dz = z > 0 ? 1.0 : 0.0;
      }
      loss[t] = l;
      cp[t] = dz * gp;
      cn[t] = dz * gn;
    }
  });
  double sum = 0;
  for (int64_t t = 0; t < nt; ++t) {
    sum += loss[t];
    res.active += loss[t] > 0;
  }
  res.loss = sum / static_cast<double>(nt);
  if (!p.grad) return res;
  const double inv_t = 1.0 / static_cast<double>(nt);
  double* g = mining::cpu::scratch<double, Slot::LossGrad>(static_cast<size_t>(p.b * dim));
  std::fill(g, g + p.b * dim, 0.0);
  for (int64_t t = 0; t < nt; ++t) {
    if (cp[t] == 0 && cn[t] == 0) continue;
    const int64_t ia = p.triplets[3 * t], iq = p.triplets[3 * t + 1], in = p.triplets[3 * t + 2];
    const T *a = p.embeddings + ia * dim, *q = p.embeddings + iq * dim, *n = p.embeddings + in * dim;
    double *ga = g + ia * dim, *gq = g + iq * dim, *gn = g + in * dim;
    const double kp = cp[t] * inv_t, kn = cn[t] * inv_t;
    for (int64_t d = 0; d < dim; ++d) {
      const double u = static_cast<double>(a[d]) - q[d], v = static_cast<double>(a[d]) - n[d];
      ga[d] += kp * u - kn * v;
      gq[d] -= kp * u;
      gn[d] += kn * v;
    }
  }
  for (int64_t i = 0; i < p.b * dim; ++i) p.grad[i] = static_cast<T>(g[i]);
  return res;
}

}  // namespace

TripletLossResult triplet_loss(const TripletLossParamsT<float>& p) {
#if SIMSAGE_WITH_CUDA
  if (preferred_backend() == Backend::Cuda) return mining::cuda::triplet_loss(p);
#endif
  return loss_impl(p);
}
TripletLossResult triplet_loss(const TripletLossParamsT<double>& p) { return loss_impl(p); }

}  // namespace simsage
