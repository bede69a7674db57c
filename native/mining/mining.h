// Triplet mining for metric learning (Deep Ranking, Wang et al. CVPR 2014; FaceNet, Schroff et al.
// 2015; Hermans et al. 2017; Wu et al. 2017): pairwise distance matrices of a batch, miners that
// turn (embeddings, labels) into (anchor, positive, negative) index triplets, and triplet losses
// with their gradient with respect to the embeddings.
//
// Shapes: embeddings are B x D floats, row-major, stride D. Labels are B int32 class ids. A
// distance matrix is B x B floats, row-major. Triplets are T x 3 int32, row-major: (a, p, n).
// A triplet is valid when a != p, label[a] == label[p] and label[n] != label[a].
//
// Every metric yields a *distance* (smaller = more similar), so every miner works on every metric:
//   sqeuclidean : |x_i - x_j|^2            computed as |x_i|^2 + |x_j|^2 - 2 <x_i, x_j>, clamped >= 0
//   euclidean   : |x_i - x_j|              sqrt of the above
//   cosine      : 1 - <x_i, x_j> / (|x_i| |x_j|)   in [0, 2]; a zero vector is at distance 1
//   dot         : -<x_i, x_j>              (negative inner product, may be negative)
// The diagonal is exactly 0 for sqeuclidean and euclidean. <x_i, x_j> comes from one GEMM (E E^T,
// nn/nn.h); the per-row work (norms, the transform, the miners' row scans) has scalar, AVX2 and
// AVX-512 variants, and rows run in parallel on the thread pool.
//
// Errors (simsage::Error codes): B == 0, fewer than two classes, a negative margin, bad triplet
// indices -> InvalidArgument; dim <= 0 -> DimMismatch; NaN or +-Inf in the embeddings -> NonFinite;
// an unknown metric name -> UnknownMetric. The caller checks that labels hold B entries (the
// addon and the TypeScript API report a mismatch as DimMismatch).
#pragma once
#include <cstdint>
#include <vector>

#include "core/backend.h"
#include "core/cpu_features.h"

namespace simsage {

enum class DistanceMetric { SqEuclidean = 0, Euclidean = 1, Cosine = 2, Dot = 3 };
const char* distance_metric_name(DistanceMetric m);
// "sqeuclidean" | "euclidean" | "cosine" | "dot"; anything else throws UnknownMetric.
DistanceMetric parse_distance_metric(const char* name);

// ---- pairwise distances ------------------------------------------------------------------------

struct PairwiseParams {
  const float* embeddings = nullptr;  // b x dim
  int64_t b = 0;
  int64_t dim = 0;
  DistanceMetric metric = DistanceMetric::SqEuclidean;
  float* out = nullptr;  // b x b
  int threads = 0;       // <= 0: default_threads()
};

// The public entry points (no _at) run the CUDA twin (mining/cuda/mining_cuda.h) when
// preferred_backend() is Cuda, the CPU otherwise, and report the backend that ran (a return value,
// `ran` or TripletLossResult::backend). The *_at variants name a SIMD level and always run on the CPU.
Backend pairwise_distances(const PairwiseParams& p);
void pairwise_distances_at(SimdLevel level, const PairwiseParams& p);
// Direct double-precision formulas (|x_i - x_j|^2 summed term by term): ground truth for tests.
void pairwise_distances_reference(const PairwiseParams& p);

// ---- miners ------------------------------------------------------------------------------------

// Which valid triplets the filter miner keeps, with dp = d(a, p), dn = d(a, n), margin m
// (pytorch-metric-learning's TripletMarginMiner; easy, semihard and hard partition all triplets):
//   Any      : every valid triplet
//   All      : dn < dp + m            (margin violators: non-zero hinge loss)
//   Hard     : dn < dp
//   SemiHard : dp <= dn < dp + m
//   Easy     : dn >= dp + m
enum class TripletFilter { Any = 0, All = 1, Hard = 2, SemiHard = 3, Easy = 4 };
// "any" | "all" | "hard" | "semihard" | "easy"; anything else throws InvalidArgument.
TripletFilter parse_triplet_filter(const char* name);

struct MineParams {
  const float* embeddings = nullptr;  // b x dim
  const int32_t* labels = nullptr;    // b
  int64_t b = 0;
  int64_t dim = 0;
  DistanceMetric metric = DistanceMetric::SqEuclidean;
  float margin = 0.f;  // >= 0; used by the filter miner only
  int threads = 0;
  // Optional precomputed b x b distance matrix (pairwise_distances with `metric`); when null the
  // miner computes it. Its contents are trusted.
  const float* distances = nullptr;
  // Optional b x b buffer (overwritten) the miner computes its distance matrix into when
  // `distances` is null; when both are null it allocates one per call. A caller that mines batch
  // after batch keeps one buffer: a fresh b x b matrix per call costs b^2 / 1024 page faults.
  float* distance_buffer = nullptr;
};

// Filter miner (batch-all when filter is Any or All). Triplets come in (a, p, n) lexicographic
// order. All valid triplets number up to B^3 / 4, so at most max_triplets are written (the first
// ones in that order; max_triplets < 0 means no cap). Returns the number of triplets that pass the
// filter, which is larger than out->size() / 3 when the cap cut the list.
int64_t mine_filtered(const MineParams& p, TripletFilter filter, int64_t max_triplets, std::vector<int32_t>* out,
                      Backend* ran = nullptr);
int64_t mine_filtered_at(SimdLevel level, const MineParams& p, TripletFilter filter, int64_t max_triplets,
                         std::vector<int32_t>* out);

// Batch-hard (Hermans et al. 2017): per anchor, the farthest positive and the closest negative
// (ties: smallest index). Anchors without a positive (a singleton class) are skipped. Triplets in
// anchor order.
Backend mine_batch_hard(const MineParams& p, std::vector<int32_t>* out);
void mine_batch_hard_at(SimdLevel level, const MineParams& p, std::vector<int32_t>* out);

// Semi-hard (FaceNet, Schroff et al. 2015, eq. 4 and sec. 3.2): for every positive pair (a, p), the
// closest negative that is farther than the positive: n = argmin { dn : dn > dp } (ties: smallest
// index). The margin does not enter the selection: this is TF-Addons' triplet_semihard_loss code
// (its docstring adds "within the margin", which only drops pairs whose selected negative has zero
// hinge loss anyway). A pair with no farther negative is dropped (TF-Addons falls back to the
// farthest negative, which is a hard triplet, not a semi-hard one). Triplets in (a, p) order.
Backend mine_semi_hard(const MineParams& p, std::vector<int32_t>* out);
void mine_semi_hard_at(SimdLevel level, const MineParams& p, std::vector<int32_t>* out);

// Distance-weighted sampling (Wu et al. 2017, "Sampling Matters in Deep Embedding Learning",
// sec. 4). Embeddings are L2-normalised internally (the paper's setting: points on the unit
// sphere S^(n-1), n = dim) and d is the Euclidean distance between them. Pairwise distances of
// uniform points on S^(n-1) have density q(d) ~ d^(n-2) (1 - d^2/4)^((n-3)/2); each negative is
// weighted by 1 / q(max(d, cutoff)), and negatives with d >= nonzero_loss_cutoff get weight 0
// (they cannot violate the margin). Weights are computed in log space and shifted by the row max.
// One negative is drawn per positive pair (a, p) from anchor a's weights; when every weight of
// a's negatives is 0, the draw is uniform over them (the paper's code). Triplets in (a, p) order.
struct DistanceWeightedParams {
  float cutoff = 0.5f;               // distances are clipped below here (paper: 0.5)
  float nonzero_loss_cutoff = 1.4f;  // negatives at or beyond get weight 0 (paper: 1.4)
  uint64_t seed = 0;                 // same seed, same triplets, on every platform and thread count
};
void mine_distance_weighted(const MineParams& p, const DistanceWeightedParams& dw, std::vector<int32_t>* out);
// Anchor a's normalised sampling probabilities over all b rows (0 for non-negatives), from unit
// distances `dist_row` (b floats): exposed for the statistical test.
void distance_weighted_probs(const float* dist_row, const int32_t* labels, int64_t b, int64_t a, int64_t dim,
                             const DistanceWeightedParams& dw, double* probs);

// ---- losses ------------------------------------------------------------------------------------

enum class TripletDistance { Squared = 0, Euclidean = 1 };

// Triplet loss over T triplets, D(x, y) = |x - y|^2 (Squared, Deep Ranking eq. 2) or |x - y|:
//   hinge       : l_t = max(0, margin + D(a, p) - D(a, n))
//   soft margin : l_t = log(1 + exp(D(a, p) - D(a, n)))    (Hermans et al. 2017; margin unused)
// Reduction: loss = (1 / T) sum_t l_t, the mean over all T triplets (active or not); T == 0 gives
// loss 0 and a zero gradient. `active` counts triplets with l_t > 0. grad (b x dim, overwritten,
// may be null) is d loss / d embeddings. For Euclidean D the gradient of |a - p| at a == p is taken
// as 0 (a subgradient). Accumulates in double.
template <class T>
struct TripletLossParamsT {
  const T* embeddings = nullptr;  // b x dim
  int64_t b = 0;
  int64_t dim = 0;
  const int32_t* triplets = nullptr;  // n_triplets x 3
  int64_t n_triplets = 0;
  T margin = T(0);  // >= 0
  TripletDistance distance = TripletDistance::Squared;
  bool soft_margin = false;
  T* grad = nullptr;  // b x dim or null
  int threads = 0;
};
using TripletLossParams = TripletLossParamsT<float>;

struct TripletLossResult {
  double loss = 0;
  int64_t active = 0;
  Backend backend = Backend::Cpu;  // where it ran (the double entry point: always the CPU)
};

TripletLossResult triplet_loss(const TripletLossParamsT<float>& p);
TripletLossResult triplet_loss(const TripletLossParamsT<double>& p);  // for gradient checks

// Scratch: besides the b x b matrix (distance_buffer), the drivers keep their O(b), O(b dim) and
// O(T) buffers per thread between calls (mining/cpu/scratch.h), and `out` vectors keep their
// capacity: mining batch after batch of one size allocates nothing after the first call.

// ---- shared checks (also used by the addon) ------------------------------------------------------

// b > 0, dim > 0, finite embeddings; with labels: at least two distinct classes.
void check_mining_batch(const float* embeddings, const int32_t* labels, int64_t b, int64_t dim);
void check_margin(double margin);

}  // namespace simsage
