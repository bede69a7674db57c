// Batched exact similarity search: Q queries (Q x D, row-major) against a corpus, returning each
// query's top-k ids and scores. The search is fused: blocked dot products feed a running per-query
// top-k; a Q x N score matrix is never materialised.
//
// Metrics and the score each returns:
//   ip     : s = <q, x>                         (descending)
//   cosine : s = <q, x> / (|q| |x|)             (descending; a zero vector scores 0)
//   l2     : s = |q - x|^2, squared distance    (ascending)
// Ties break toward the smaller id. A query that has fewer than k admissible candidates (filters,
// k > N) reports its count; the rest of its row is padded with id -1 and score NaN. Internal
// candidate buffers hold min(k, N) per query, so a huge k costs only the nq x k outputs (the addon
// sizes those by min(k, N) too and reports that k).
//
// Magnitudes (one rule for index and caller-held corpora, every SIMD level):
//   ip, l2 : every vector that enters a search (stored, query, caller-held corpus row) must have
//            |x|^2 < kMaxSqNorm = 2^124 (|x| < 2^62 ~ 4.61e18); else ERR_SIMSAGE_NON_FINITE. Then
//            no score and no term of the l2 expansion |q|^2 - 2<q,x> + |x|^2 (<= (|q| + |x|)^2 <
//            2^126) overflows float32. Known gap: a caller-held ip corpus searched with Q <= 256
//            (the in-place row paths) computes no row norms (measured: 40% of an in-cache scan
//            at Q = 1), so an ip row over the bound fails there only when one of its scores
//            overflows; every other case (index, queries, l2, ip with Q > 256) checks the norm.
//   cosine : scale-invariant, no bound: any finite vector is normalised with a scale computed in
//            double (subnormal and huge entries included); only an exact zero vector scores 0.
//
// Two corpus layouts:
//   row-major   (topk over caller memory): N x D floats, stride D.
//   panel-major (VectorStore): rows grouped in panels of kPanel = 16; panel p holds D x 16 floats,
//               element (r, d) at panel (r / 16), offset d * 16 + r % 16. The SIMD micro-kernels
//               load 16 consecutive rows' values of one dimension at once, so one pass over the
//               corpus serves a whole block of queries from registers.
//
// Reduced-precision storage (VectorStore only; caller-held corpora are always f32). The query stays
// f32; every score is the dot product of the f32 query with the DECODED stored values, accumulated
// in f32 (the kernels widen each stored element to f32 exactly):
//   f32  : 4 bytes / element, the panel layout above.
//   f16  : IEEE binary16, round-to-nearest-even; 2 bytes / element, same layout (one element per
//          lane). An ip / l2 entry whose f16 rounding overflows (|x| >= 65520) is rejected with
//          ERR_SIMSAGE_NON_FINITE (no saturation); tiny entries round to f16 subnormals or zero.
//   bf16 : the top 16 bits of the f32, round-to-nearest-even; 2 bytes / element, pairs of
//          dimensions interleaved per row: (r, d) at panel offset (d / 2) * 32 + (r % 16) * 2 + d % 2.
//   i8   : symmetric per-vector scale s: code = round(x / s) in [-127, 127], decoded x = s * code.
//          ip / l2: s = max|x| / 127. cosine: codes from the unit vector, and s = 1 / |code| so the
//          decoded vector has unit length. 1 byte / element + 4 (the scale); quads of dimensions
//          interleaved per row: (r, d) at (d / 4) * 64 + (r % 16) * 4 + d % 4.
//   i8 with per-dimension scales (VectorStore i8_dim_scales): one scale s_d per dimension, learned
//          from the first add (learn_dim_scales in cpu/quant.h: s_d = max |x_d| / 127 over its rows)
//          or set before any row (set_dim_scales, a loaded file), and a row scale r (ip / l2: 1;
//          cosine: 1 / |s * c| so the decoded row is unit length): code c_d = round(x_d / s_d)
//          SATURATED to [-127, 127] (later rows outside the learned range; counted), decoded x_d =
//          r * s_d * c_d. Same layout, codes and kernels as i8: the driver folds s into the query
//          (q'_d = q_d * s_d, in f32) and the row scale plays the per-vector scale's part, so the
//          widening and VNNI paths run unchanged (the VNNI path quantises q').
//   Layouts with pairs / quads pad dim up to a multiple of 2 / 4 with zeros (coded_dim()).
//   Cosine normalises (in double) before quantising; l2 uses |x|^2 of the decoded vector.
//
// Fast paths (TopkStats::kernel says which ran). At the AVX-512 level only (the active or requested
// level; SIMSAGE_SIMD / setSimd stepping down disables them), on CPUs that have the instructions,
// unless TopkParams::widen_only. They round the QUERY too, so their scores differ slightly from the
// widening path's (re-ranking, TopkParams::rerank, makes the final order exact):
//   bf16-dpbf16 (AVX512_BF16 vdpbf16ps): the query (cosine: the unit query) rounded to bf16 (round
//          to nearest even), dotted with the stored pairs; each instruction adds the exact products
//          of a pair of dimensions to an f32 accumulator, odd dimension first, each add rounded (RNE),
//          subnormal inputs and results flushed to zero. Score = <bf16(q), x> (l2: |q|^2 - 2 that +
//          |x|^2, with |q|^2 of the f32 query, clamped at 0 as every l2 distance).
//   i8-vnni (AVX512_VNNI vpdpbusd): the query quantised like a stored row (s_q = max|q| / 127, codes
//          c_q = round(q / s_q) in [-127, 127]) and offset to unsigned bytes (c_q + 128); the int32
//          dot with the stored codes is corrected by 128 x the row's code sum (PanelCorpus::
//          code_sums), which makes it the exact integer sum(c_q * c_x). Score = float(that) * s_x *
//          s_q, in that order in f32. Needs code_sums and coded_dim <= 65536 (no int32 overflow);
//          otherwise the widening path runs.
#pragma once
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "core/cpu_features.h"

namespace simsage {

namespace similarity {
namespace cuda {
struct DeviceCorpus;  // the device mirror of a VectorStore (cuda/similarity_cuda.h)
}  // namespace cuda
}  // namespace similarity

enum class Metric { InnerProduct = 0, Cosine = 1, L2 = 2 };
const char* metric_name(Metric m);
Metric parse_metric(const char* name);  // "ip" | "cosine" | "l2", else ERR_SIMSAGE_UNKNOWN_METRIC

enum class Storage { F32 = 0, BF16 = 1, F16 = 2, I8 = 3 };
const char* storage_name(Storage s);
// "f32" | "bf16" | "f16" | "i8", else ERR_SIMSAGE_INVALID_ARGUMENT.
Storage parse_storage(const char* name);
// Dimensions per 32-bit lane group in a coded panel (1 f32 / f16, 2 bf16, 4 i8) and bytes per element.
int storage_group(Storage s);
int storage_bytes(Storage s);
// dim rounded up to a multiple of storage_group(s).
int64_t coded_dim(int64_t dim, Storage s);

constexpr int kPanel = 16;
constexpr float kMaxSqNorm = 0x1p124f;  // ip / l2: |x|^2 must be below this (see above)

// A corpus in panel-major layout (see above). `norms` holds, per row, the value the metric needs:
// |x|^2 for l2, unused for ip/cosine (cosine corpora are stored L2-normalised). `ids` may be null,
// in which case a row's id is its index.
struct PanelCorpus {
  const float* panels = nullptr;  // ceil(n / 16) * dim * 16 floats; padding lanes are zero
  // Reduced-precision storage (see the top of this file): when storage != F32, `coded` holds
  // ceil(n / 16) * coded_dim(dim) * 16 elements in the coded layout and `panels` is unused;
  // `scales` holds n per-row scales for i8.
  Storage storage = Storage::F32;
  const void* coded = nullptr;
  const float* scales = nullptr;
  // i8 only, optional: n per-row sums of the row's codes (the VNNI path's offset correction); null
  // leaves the i8 search on the widening path.
  const int32_t* code_sums = nullptr;
  // i8 with per-dimension scales: dim scales s_d (above), folded into the query; null: per-vector.
  const float* dim_scales = nullptr;
  const float* sq_norms = nullptr;  // n floats (l2 only), may be null otherwise
  const int64_t* ids = nullptr;     // n ids or null
  int64_t n = 0;
  int64_t dim = 0;
};

// Row filters, in row space of the corpus being searched (the index maps ids to rows).
struct RowFilter {
  const uint64_t* allow_bits = nullptr;  // bit r set => row r may be returned; null: all allowed
  const uint64_t* deny_bits = nullptr;   // bit r set => row r is never returned; null: none denied
  // Per-query exclusions: rows exclude_rows[exclude_offsets[q] .. exclude_offsets[q+1]) (sorted
  // ascending) are never returned for query q. exclude_offsets null: no exclusions.
  const int64_t* exclude_offsets = nullptr;  // nq + 1 entries
  const int64_t* exclude_rows = nullptr;
};

struct TopkParams {
  const float* queries = nullptr;  // nq x dim, row-major, stride dim
  int64_t nq = 0;
  int64_t dim = 0;
  int64_t k = 0;
  Metric metric = Metric::InnerProduct;
  int threads = 0;  // <= 0: default_threads()
  RowFilter filter;
  // Outputs, nq x k each, row-major; counts: nq entries.
  int64_t* out_ids = nullptr;
  float* out_scores = nullptr;
  int32_t* out_counts = nullptr;
  // VectorStore searches only (ignored elsewhere): re-score the best max(rerank, k) candidates of the
  // reduced-precision scan exactly, from the f32 copies (VectorStore keep_f32). 0: no re-ranking.
  int64_t rerank = 0;
  // Reduced precision: never take a fast path that rounds the query (bf16-dpbf16, i8-vnni; see the
  // top of this file); the widening path runs at every level. For tests and benchmarks.
  bool widen_only = false;
};

struct TopkStats {
  SimdLevel simd = SimdLevel::Scalar;
  int threads_used = 1;
  const char* backend = "cpu";
  // The scan kernel: "f32", "<storage>-widen" (stored values widened to f32 at any SIMD level),
  // "bf16-dpbf16" or "i8-vnni" (the fast paths at the top of this file); with backend "cuda":
  // "cuda-f32", "cuda-bf16" / "cuda-f16", "cuda-bf16-mma" / "cuda-f16-mma" (cuda/similarity_cuda.h).
  const char* kernel = "f32";
  bool reranked = false;  // the final order came from exact f32 re-scoring
};

// Search a row-major corpus (n x dim, stride dim) held by the caller; ids are row indices.
TopkStats topk_rowmajor(const TopkParams& p, const float* corpus, int64_t n);

// Search a panel-major corpus.
TopkStats topk_panels(const TopkParams& p, const PanelCorpus& corpus);

// Same as the above with an explicit SIMD level (tests compare each level to scalar).
TopkStats topk_panels_at(SimdLevel level, const TopkParams& p, const PanelCorpus& corpus);
TopkStats topk_rowmajor_at(SimdLevel level, const TopkParams& p, const float* corpus, int64_t n);

// Scalar reference: straightforward loops, exact formulas (direct |q - x|^2 for l2), no blocking.
// Used by tests as ground truth.
void topk_reference(const TopkParams& p, const float* corpus, int64_t n, const int64_t* ids);

// ---- filters in id space (cpu/filters.cpp) -----------------------------------------------------

// Filters as the caller gives them, in id space; build_filter turns them into a RowFilter.
struct FilterSpec {
  bool has_allow = false;  // an empty allow list admits nothing
  const int64_t* allow = nullptr;
  int64_t n_allow = 0;
  const int64_t* deny = nullptr;
  int64_t n_deny = 0;
  // Per-query exclusions in CSR form: ids exclude_ids[offsets[q] .. offsets[q+1]); offsets has nq+1
  // entries, or is null for none.
  const int64_t* exclude_offsets = nullptr;
  const int64_t* exclude_ids = nullptr;
};

// Owns the bitsets and sorted row lists a RowFilter points into.
struct OwnedFilter {
  std::vector<uint64_t> allow_bits, deny_bits;
  std::vector<int64_t> exclude_offsets, exclude_rows;
  bool has_allow = false, has_deny = false, has_exclude = false;
  RowFilter view() const;
};

// id_to_row returns the row of an id or -1 when absent (absent ids are ignored: an allow list of
// only unknown ids admits nothing). Throws ERR_SIMSAGE_INVALID_ARGUMENT on malformed offsets.
OwnedFilter build_filter(const FilterSpec& spec, int64_t n_rows, int64_t nq,
                         const std::function<int64_t(int64_t)>& id_to_row);

// ---- the store behind EmbeddingIndex (cpu/vector_store.cpp) -----------------------------------

// Vectors in panel-major layout (above) so searches run the fused kernel without repacking, their
// ids, |x|^2 for l2, and an id -> row map.
//
// Concurrency: searches take a shared lock, mutations an exclusive one, so a search never sees a
// half-applied add. A mutation waits for searches in flight (documented in the TS API).
// Cosine stores unit-length vectors, normalised in double so that any finite non-zero vector
// (subnormal entries included) becomes unit length; a zero vector stays zero and scores 0.
// Storage: see the top of this file. keep_f32: also keep each vector in f32 (row-major; cosine: the
// unit vector) for exact re-ranking (TopkParams::rerank) and for export; costs 4 x dim bytes a row.
class VectorStore {
 public:
  // i8_dim_scales: i8 storage with per-dimension scales (top of this file); ignored otherwise.
  VectorStore(int64_t dim, Metric metric, Storage storage = Storage::F32, bool keep_f32 = false,
              bool i8_dim_scales = false);
  ~VectorStore();
  VectorStore(const VectorStore&) = delete;
  VectorStore& operator=(const VectorStore&) = delete;

  int64_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  Storage storage() const { return storage_; }
  bool keeps_f32() const { return keep_f32_; }
  bool dim_scaled() const { return dim_scaled_; }
  // Per-dimension scales (dim values), or empty while none are learned / set.
  std::vector<float> dim_scales() const;
  // Sets the per-dimension scales (dim values in (0, 2^62 / 127], else ERR_SIMSAGE_NON_FINITE) of an
  // empty dim-scaled store, e.g. from a file before add_records; else ERR_SIMSAGE_INVALID_ARGUMENT
  // (scales of a store holding rows are fixed: its codes depend on them).
  void set_dim_scales(const float* scales);
  // Values that saturated when encoded with the per-dimension scales (add; 0 otherwise).
  int64_t saturated_values() const;
  // Bytes one stored vector takes: coded elements (padded dim), the i8 scale, |x|^2 (l2), the f32 copy.
  int64_t vector_bytes() const;
  // Time spent checking and encoding vectors in add() (seconds) and the rows that went through it.
  double quantize_seconds() const;
  int64_t quantized_rows() const;
  int64_t size() const;
  int64_t capacity() const;

  // Adds `count` vectors (count x dim, row-major). A dim-scaled store without scales learns them
  // from this call's rows (all of them) first. An id already present is replaced; within one
  // call a repeated id keeps its last vector. Everything is checked (ids >= 0 and <= 2^53 - 1,
  // finite values, |x|^2 < kMaxSqNorm for ip and l2) and memory reserved before anything changes:
  // on error nothing is applied.
  // `normalized`: vectors are already unit length (a loaded cosine file); skip renormalising.
  void add(const int64_t* ids, const float* vectors, int64_t count, bool normalized = false);

  // Reduced-precision storage only: adds rows given as stored records (record_bytes() each, the
  // index file's layout, little-endian): dim codes (2 bytes bf16 / f16, 1 byte i8) in dimension
  // order, then the i8 scale (f32), then with keep_f32 the dim f32 values (cosine: the unit vector).
  // The codes are kept as given (no re-encoding). Checked before anything changes, as add(): ids,
  // codes that decode to a finite value (i8: in [-127, 127], scale finite and >= 0), f32 copies
  // finite, and for ip / l2 the magnitude bound on the decoded row and the copy. Dim-scaled i8: the
  // scale slot holds the row scale r (ip / l2: exactly 1), and the store must have its scales
  // (set_dim_scales) first.
  void add_records(const int64_t* ids, const uint8_t* records, int64_t count);
  // Bytes of one record (reduced precision; f32 storage: dim x 4, plain values).
  int64_t record_bytes() const;
  // Copies all rows out as records (add_records' layout; f32 storage: the values), in row order.
  // `max_rows` guards the caller's buffers: fewer rows than size() is an error.
  void export_records(uint8_t* records, int64_t* ids, int64_t max_rows) const;

  // Removes the ids present; returns how many were removed. The last row moves into each hole.
  int64_t remove(const int64_t* ids, int64_t count);
  bool has(int64_t id) const;
  void reserve(int64_t rows);

  // Searches the stored vectors; p.dim must equal dim(). Filters are in id space. search and the
  // level-less search_sized run on CUDA when preferred_backend() is Cuda and the twin takes the params
  // (f32, bf16, f16 storage; cuda/similarity_cuda.h), against a device mirror of the rows: created by the first
  // such search, then updated with the panels that add / remove wrote since (dirty panels). The
  // *_at variants always run on the CPU. TopkStats::backend says which ran.
  TopkStats search(const TopkParams& p, const FilterSpec& filter) const;
  TopkStats search_at(SimdLevel level, const TopkParams& p, const FilterSpec& filter) const;
  // Like search_at, with the outputs sized under the lock, where the row count is known:
  // size_outputs(size(), &p) runs first and points p's outputs at buffers of p.nq x p.k (it may
  // lower p.k, e.g. to min(k, size()), keeping it >= 1).
  TopkStats search_sized(SimdLevel level, TopkParams p, const FilterSpec& filter,
                         const std::function<void(int64_t rows, TopkParams* p)>& size_outputs) const;
  // search_sized on the preferred backend (CUDA or the active SIMD level), as search() chooses.
  TopkStats search_sized(TopkParams p, const FilterSpec& filter,
                         const std::function<void(int64_t rows, TopkParams* p)>& size_outputs) const;

  // Copies all rows out in row order: vectors size() x dim (row-major), ids size(). Reduced
  // precision: the f32 copies when kept, else the decoded stored values (re-adding them gives the
  // same codes: encoding is idempotent on decoded values).
  // `max_rows` guards the caller's buffers: fewer rows than size() is an error.
  void export_rows(float* vectors, int64_t* ids, int64_t max_rows) const;

 private:
  void ensure_capacity(int64_t rows);  // requires the exclusive lock
  void write_row(int64_t row, const float* v);
  void move_row(int64_t from, int64_t to);
  void write_coded_row(int64_t row, const void* codes);  // codes: coded_dim() elements, row order
  void decode_row(int64_t row, float* out) const;
  // Steps 2-3 of add (under the exclusive lock): rows already checked and, reduced precision,
  // encoded: codes count x cdim_ elements, per row scale (i8), code sum (i8), |x|^2 (l2); src: the
  // f32 rows (f32 storage, or the copies when keep_f32_; else unused).
  // learned: dim-scaled scales learned by this add (adopted here), or null; saturated: its count.
  void apply_rows(const int64_t* ids, const float* src, const char* codes, const float* cscale, const int32_t* csum,
                  const float* cnorm, int64_t count, double qsec, const std::vector<float>* learned = nullptr,
                  int64_t saturated = 0);
  float dim_scale(int64_t d) const { return dim_scaled_ ? dim_scales_[d] : 1.f; }
  TopkStats rerank_locked(SimdLevel level, const TopkParams& p, const RowFilter& filter, const PanelCorpus& c) const;
  TopkStats search_locked(SimdLevel level, const TopkParams& p, const FilterSpec& filter) const;  // shared lock held
  // The backend choice of search / search_sized (cpu/vector_store_backend.cpp); shared lock held.
  TopkStats search_preferred_locked(const TopkParams& p, const FilterSpec& filter) const;
  // Row `row`'s panel changed (written, moved or cleared): the device mirror re-uploads it. Exclusive lock.
  void mark_dirty(int64_t row);
  void release_device() noexcept;

  const int64_t dim_;
  const Metric metric_;
  const Storage storage_;
  const bool keep_f32_;
  const bool dim_scaled_;
  const int64_t cdim_;
  std::vector<float> dim_scales_;  // i8 per-dimension scales: dim_ values once learned / set
  int64_t saturated_ = 0;
  std::mutex learn_mu_;        // dim-scaled adds: held from reading the scales to applying the rows              //
                               // coded_dim(dim_, storage_)
  void* coded_ = nullptr;      // reduced precision: capacity_ / 16 panels of cdim_ x 16 elements
  std::vector<float> scales_;  // i8: per row
  std::vector<int32_t> code_sums_;  // i8: per row, the sum of its codes (PanelCorpus::code_sums)
  std::vector<float> f32_;          // keep_f32: capacity_ x dim_ row-major
  double quant_seconds_ = 0;
  int64_t quant_rows_ = 0;
  mutable std::shared_mutex mu_;
  float* panels_ = nullptr;  // capacity_ / 16 panels of dim x 16 floats, 64-byte aligned
  int64_t capacity_ = 0;     // rows, multiple of 16
  int64_t n_ = 0;
  std::vector<float> sq_norms_;
  std::vector<int64_t> ids_;
  std::unordered_map<int64_t, int64_t> rows_;
  // The CUDA mirror (null until a search runs on CUDA) and the panels changed since its last upload.
  // Searches (shared lock) take device_mu_ to upload; mutations (exclusive lock) only append.
  mutable similarity::cuda::DeviceCorpus* device_ = nullptr;
  mutable std::vector<int64_t> dirty_panels_;
  mutable bool device_stale_ = true;  // upload every row at the next CUDA search
  mutable std::mutex device_mu_;
};

}  // namespace simsage
