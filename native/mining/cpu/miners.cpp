// Miners (mining.h): filter / batch-all, batch-hard, semi-hard, distance-weighted sampling. Each
// runs over anchor rows of a B x B distance matrix in parallel; per-anchor results land in slots
// fixed in advance (or are counted first and prefix-summed), so the output order never depends on
// the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "core/random.h"
#include "mining/cpu/row_kernels.h"
#include "mining/cpu/scratch.h"
#include "mining/filter_range.h"
#include "mining/mining.h"
#if SIMSAGE_WITH_CUDA
#include "mining/cuda/mining_cuda.h"
#endif

namespace simsage {

namespace {

constexpr int64_t kAnchorsPerTask = 8;
// Anchors with more positives than this use the sorted (rank) semi-hard search: O((P + N) log P)
// instead of P row scans.
constexpr int64_t kSemiHardScanMaxPositives = 48;

using mining::cpu::scratch;
using mining::cpu::Slot;

// The distance matrix a miner reads: the caller's, or one computed here (into the caller's
// buffer when there is one).
struct Distances {
  std::vector<float> owned;
  const float* d = nullptr;
};

Distances distances_for(SimdLevel level, const MineParams& p) {
  check_mining_batch(p.embeddings, p.labels, p.b, p.dim);
  if (!p.labels) throw_error(ErrorCode::InvalidArgument, "null labels");
  check_margin(p.margin);
  Distances r;
  if (p.distances) {
    r.d = p.distances;
    return r;
  }
  float* buf = p.distance_buffer;
  if (!buf) {
    r.owned.resize(static_cast<size_t>(p.b * p.b));
    buf = r.owned.data();
  }
  PairwiseParams pp;
  pp.embeddings = p.embeddings;
  pp.b = p.b;
  pp.dim = p.dim;
  pp.metric = p.metric;
  pp.out = buf;
  pp.threads = p.threads;
  pairwise_distances_at(level, pp);
  r.d = buf;
  return r;
}

}  // namespace

TripletFilter parse_triplet_filter(const char* name) {
  const std::string s = name ? name : "";
  if (s == "any") return TripletFilter::Any;
  if (s == "all") return TripletFilter::All;
  if (s == "hard") return TripletFilter::Hard;
  if (s == "semihard") return TripletFilter::SemiHard;
  if (s == "easy") return TripletFilter::Easy;
  throw_error(ErrorCode::InvalidArgument,
              "unknown triplet type '" + s + "' (expected 'any', 'all', 'hard', 'semihard' or 'easy')");
}

// ---- filter / batch-all ------------------------------------------------------------------------

int64_t mine_filtered_at(SimdLevel level, const MineParams& p, TripletFilter filter, int64_t max_triplets,
                         std::vector<int32_t>* out) {
  Distances dist = distances_for(level, p);
  const mining::cpu::RowKernels& k = mining::cpu::row_kernels_for(level);
  const int64_t b = p.b;
  const int32_t* lab = p.labels;
  int64_t* offset = scratch<int64_t, Slot::Offsets>(static_cast<size_t>(b + 1));
  offset[0] = 0;
  parallel_chunks(b, kAnchorsPerTask, p.threads, [&](int64_t a0, int64_t a1, int) {
    for (int64_t a = a0; a < a1; ++a) {
      const float* row = dist.d + a * b;
      int64_t c = 0;
      for (int64_t q = 0; q < b; ++q) {
        if (q == a || lab[q] != lab[a]) continue;
        float lo = 0.f, hi = 0.f;
        triplet_filter_range(filter, row[q], p.margin, &lo, &hi);
        c += k.collect(row, lab, lab[a], b, lo, hi, nullptr);
      }
      offset[a + 1] = c;
    }
  });
  for (int64_t a = 0; a < b; ++a) offset[a + 1] += offset[a];
  const int64_t total = offset[b];
  const int64_t limit = max_triplets < 0 ? total : std::min(total, max_triplets);
  out->resize(static_cast<size_t>(limit * 3));  // every slot is written below
  parallel_chunks(b, kAnchorsPerTask, p.threads, [&](int64_t a0, int64_t a1, int) {
    int32_t* negs = scratch<int32_t, Slot::RowList>(static_cast<size_t>(b));
    for (int64_t a = a0; a < a1 && offset[a] < limit; ++a) {
      const float* row = dist.d + a * b;
      int32_t* dst = out->data() + offset[a] * 3;
      int64_t pos = offset[a];
      for (int64_t q = 0; q < b && pos < limit; ++q) {
        if (q == a || lab[q] != lab[a]) continue;
        float lo = 0.f, hi = 0.f;
        triplet_filter_range(filter, row[q], p.margin, &lo, &hi);
        const int64_t c = std::min(k.collect(row, lab, lab[a], b, lo, hi, negs), limit - pos);
        for (int64_t i = 0; i < c; ++i, dst += 3) {
          dst[0] = static_cast<int32_t>(a), dst[1] = static_cast<int32_t>(q), dst[2] = negs[i];
        }
        pos += c;
      }
    }
  });
  return total;
}

int64_t mine_filtered(const MineParams& p, TripletFilter filter, int64_t max_triplets, std::vector<int32_t>* out,
                      Backend* ran) {
#if SIMSAGE_WITH_CUDA
  if (preferred_backend() == Backend::Cuda) {
    if (ran) *ran = Backend::Cuda;
    return mining::cuda::mine_filtered(p, filter, max_triplets, out);
  }
#endif
  if (ran) *ran = Backend::Cpu;
  return mine_filtered_at(active_simd_level(), p, filter, max_triplets, out);
}

// ---- batch-hard --------------------------------------------------------------------------------

void mine_batch_hard_at(SimdLevel level, const MineParams& p, std::vector<int32_t>* out) {
  Distances dist = distances_for(level, p);
  const mining::cpu::RowKernels& k = mining::cpu::row_kernels_for(level);
  const int64_t b = p.b;
  int64_t* pos = scratch<int64_t, Slot::Hardest>(static_cast<size_t>(2 * b));
  int64_t* neg = pos + b;
  parallel_chunks(b, kAnchorsPerTask, p.threads, [&](int64_t a0, int64_t a1, int) {
    for (int64_t a = a0; a < a1; ++a) k.hardest(dist.d + a * b, p.labels, a, b, &pos[a], &neg[a]);
  });
  int64_t n = 0;
  for (int64_t a = 0; a < b; ++a) n += pos[a] >= 0 && neg[a] >= 0;
  out->resize(static_cast<size_t>(3 * n));
  int32_t* dst = out->data();
  for (int64_t a = 0; a < b; ++a) {
    if (pos[a] < 0 || neg[a] < 0) continue;
    dst[0] = static_cast<int32_t>(a), dst[1] = static_cast<int32_t>(pos[a]), dst[2] = static_cast<int32_t>(neg[a]);
    dst += 3;
  }
}

Backend mine_batch_hard(const MineParams& p, std::vector<int32_t>* out) {
#if SIMSAGE_WITH_CUDA
  if (preferred_backend() == Backend::Cuda) {
    mining::cuda::mine_batch_hard(p, out);
    return Backend::Cuda;
  }
#endif
  mine_batch_hard_at(active_simd_level(), p, out);
  return Backend::Cpu;
}

// ---- semi-hard ---------------------------------------------------------------------------------

namespace {
// For each positive q of anchor a (positives[0..P), any order) writes into res[i] the closest
// negative farther than d[positives[i]] or -1. Positives sorted by distance; each negative n with
// dn is a candidate for exactly the positives ranked below r(n) = #{q : dq < dn}; the answer for
// rank i is the (dn, n)-smallest candidate over r > i (a suffix minimum).
void semihard_by_rank(const float* d, const int32_t* lab, int64_t a, int64_t b, const int32_t* positives, int64_t P,
                      int32_t* res) {
  float* dps = scratch<float, Slot::RankDist>(static_cast<size_t>(P));
  int32_t* order = scratch<int32_t, Slot::RankOrder>(static_cast<size_t>(P));
  for (int64_t i = 0; i < P; ++i) order[i] = static_cast<int32_t>(i);
  std::sort(order, order + P, [&](int32_t x, int32_t y) { return d[positives[x]] < d[positives[y]]; });
  for (int64_t i = 0; i < P; ++i) dps[i] = d[positives[order[i]]];
  int64_t* best = scratch<int64_t, Slot::RankBest>(static_cast<size_t>(P + 1));  // best negative per rank r
  std::fill(best, best + P + 1, int64_t(-1));
  for (int64_t n = 0; n < b; ++n) {
    if (lab[n] == lab[a]) continue;
    const int64_t r = std::lower_bound(dps, dps + P, d[n]) - dps;
    if (r == 0) continue;
    int64_t& cur = best[r];
    if (cur < 0 || d[n] < d[cur]) cur = n;  // n ascending: ties keep the smaller index
  }
  int64_t run = -1;
  for (int64_t r = P; r >= 1; --r) {
    const int64_t c = best[r];
    if (c >= 0 && (run < 0 || d[c] < d[run] || (d[c] == d[run] && c < run))) run = c;
    res[order[r - 1]] = static_cast<int32_t>(run);
  }
}
}  // namespace

void mine_semi_hard_at(SimdLevel level, const MineParams& p, std::vector<int32_t>* out) {
  Distances dist = distances_for(level, p);
  const mining::cpu::RowKernels& k = mining::cpu::row_kernels_for(level);
  const int64_t b = p.b;
  const int32_t* lab = p.labels;
  // Slot of every (a, q) positive pair, in (a, q) order.
  int64_t* offset = scratch<int64_t, Slot::Offsets>(static_cast<size_t>(b + 1));
  offset[0] = 0;
  parallel_chunks(b, kAnchorsPerTask, p.threads, [&](int64_t a0, int64_t a1, int) {
    for (int64_t a = a0; a < a1; ++a) {
      int64_t c = 0;
      for (int64_t q = 0; q < b; ++q) c += (lab[q] == lab[a]) & (q != a);
      offset[a + 1] = c;
    }
  });
  for (int64_t a = 0; a < b; ++a) offset[a + 1] += offset[a];
  int32_t* posv = scratch<int32_t, Slot::PairPos>(static_cast<size_t>(offset[b]));
  int32_t* negv = scratch<int32_t, Slot::PairNeg>(static_cast<size_t>(offset[b]));
  parallel_chunks(b, kAnchorsPerTask, p.threads, [&](int64_t a0, int64_t a1, int) {
    for (int64_t a = a0; a < a1; ++a) {
      const float* row = dist.d + a * b;
      // The anchor's positives, in index order, straight into its pair slots.
      int32_t* positives = posv + offset[a];
      const int64_t P = offset[a + 1] - offset[a];
      for (int64_t q = 0, i = 0; q < b; ++q)
        if (q != a && lab[q] == lab[a]) positives[i++] = static_cast<int32_t>(q);
      int32_t* res = negv + offset[a];
      if (P > kSemiHardScanMaxPositives) {
        semihard_by_rank(row, lab, a, b, positives, P, res);
      } else {
        for (int64_t i = 0; i < P; ++i)
          res[i] = static_cast<int32_t>(k.semihard(row, lab, lab[a], b, row[positives[i]]));
      }
    }
  });
  int64_t n = 0;
  for (int64_t s = 0; s < offset[b]; ++s) n += negv[s] >= 0;
  out->resize(static_cast<size_t>(3 * n));
  int32_t* dst = out->data();
  for (int64_t a = 0; a < b; ++a)
    for (int64_t s = offset[a]; s < offset[a + 1]; ++s)
      if (negv[s] >= 0) dst[0] = static_cast<int32_t>(a), dst[1] = posv[s], dst[2] = negv[s], dst += 3;
}

Backend mine_semi_hard(const MineParams& p, std::vector<int32_t>* out) {
#if SIMSAGE_WITH_CUDA
  if (preferred_backend() == Backend::Cuda) {
    mining::cuda::mine_semi_hard(p, out);
    return Backend::Cuda;
  }
#endif
  mine_semi_hard_at(active_simd_level(), p, out);
  return Backend::Cpu;
}

// ---- distance-weighted sampling -----------------------------------------------------------------

void distance_weighted_probs(const float* dist_row, const int32_t* labels, int64_t b, int64_t a, int64_t dim,
                             const DistanceWeightedParams& dw, double* probs) {
  // log(1 / q(d)) = -(n - 2) log d - ((n - 3) / 2) log(1 - d^2 / 4), d clipped to [cutoff, 2).
  const double n = static_cast<double>(dim);
  double max_lw = -std::numeric_limits<double>::infinity();
  int64_t negatives = 0;
  for (int64_t j = 0; j < b; ++j) {
    probs[j] = -std::numeric_limits<double>::infinity();
    if (labels[j] == labels[a]) continue;
    ++negatives;
    const double dj = dist_row[j];
    if (dj >= dw.nonzero_loss_cutoff) continue;
    const double d = std::max(dj, static_cast<double>(dw.cutoff));
    const double lw = -(n - 2.0) * std::log(d) - 0.5 * (n - 3.0) * std::log(std::max(1.0 - 0.25 * d * d, 1e-8));
    probs[j] = lw;
    max_lw = std::max(max_lw, lw);
  }
  double total = 0;
  for (int64_t j = 0; j < b; ++j) {
    probs[j] = std::isinf(probs[j]) ? 0.0 : std::exp(probs[j] - max_lw);
    total += probs[j];
  }
  for (int64_t j = 0; j < b; ++j) {
    if (total > 0)
      probs[j] /= total;
    else
      probs[j] = (labels[j] != labels[a] && negatives > 0) ? 1.0 / static_cast<double>(negatives) : 0.0;
  }
}

void mine_distance_weighted(const MineParams& p, const DistanceWeightedParams& dw, std::vector<int32_t>* out) {
  check_mining_batch(p.embeddings, p.labels, p.b, p.dim);
  if (!p.labels) throw_error(ErrorCode::InvalidArgument, "null labels");
  if (!(dw.cutoff >= 0.f) || !(dw.nonzero_loss_cutoff > dw.cutoff) || !std::isfinite(dw.nonzero_loss_cutoff))
    throw_error(ErrorCode::InvalidArgument, "distance-weighted sampling needs 0 <= cutoff < nonzeroLossCutoff");
  const int64_t b = p.b, dim = p.dim;
  const int32_t* lab = p.labels;
  float* unit = scratch<float, Slot::Unit>(static_cast<size_t>(b * dim));
  for (int64_t i = 0; i < b; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += static_cast<double>(p.embeddings[i * dim + d]) * p.embeddings[i * dim + d];
    const double inv = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
    for (int64_t d = 0; d < dim; ++d) unit[i * dim + d] = static_cast<float>(p.embeddings[i * dim + d] * inv);
  }
  std::vector<float> owned;
  float* dist = p.distance_buffer;
  if (!dist) {
    owned.resize(static_cast<size_t>(b * b));
    dist = owned.data();
  }
  PairwiseParams pp;
  pp.embeddings = unit;
  pp.b = b;
  pp.dim = dim;
  pp.metric = DistanceMetric::Euclidean;
  pp.out = dist;
  pp.threads = p.threads;
  pairwise_distances_at(active_simd_level(), pp);  // CPU-only miner (no CUDA twin): same draws on every backend

  int64_t* offset = scratch<int64_t, Slot::Offsets>(static_cast<size_t>(b + 1));
  offset[0] = 0;
  for (int64_t a = 0; a < b; ++a) {
    int64_t c = 0;
    for (int64_t q = 0; q < b; ++q) c += (lab[q] == lab[a]) & (q != a);
    offset[a + 1] = offset[a] + c;
  }
  out->resize(static_cast<size_t>(offset[b] * 3));  // every slot is written below
  parallel_chunks(b, kAnchorsPerTask, p.threads, [&](int64_t a0, int64_t a1, int) {
    double* cdf = scratch<double, Slot::Cdf>(static_cast<size_t>(b));
    for (int64_t a = a0; a < a1; ++a) {
      if (offset[a + 1] == offset[a]) continue;
      distance_weighted_probs(dist + a * b, lab, b, a, dim, dw, cdf);
      for (int64_t j = 1; j < b; ++j) cdf[j] += cdf[j - 1];
      // One stream per anchor: the draws do not depend on how anchors are split over threads.
      SplitMix64 rng(dw.seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(a + 1)));
      int32_t* dst = out->data() + offset[a] * 3;
      for (int64_t q = 0; q < b; ++q) {
        if (q == a || lab[q] != lab[a]) continue;
        const double u = rng.uniform() * cdf[b - 1];
        int64_t n = std::upper_bound(cdf, cdf + b, u) - cdf;
        n = std::min(n, b - 1);
        while (n > 0 && lab[n] == lab[a]) --n;  // rounding at the top end: step back to a negative
        while (lab[n] == lab[a]) ++n;
        dst[0] = static_cast<int32_t>(a), dst[1] = static_cast<int32_t>(q), dst[2] = static_cast<int32_t>(n);
        dst += 3;
      }
    }
  });
}

}  // namespace simsage
