// CUDA twins of the similarity family's exact top-k (similarity.h), built only with SIMSAGE_WITH_CUDA.
// A plain C++ header: no CUDA types, so tests, benchmarks and the CPU dispatcher include it.
//
// The search is fused (topk_kernels.cuh): blocks of BQ queries x a slice of the corpus compute FP32 dot
// products on CUDA cores and keep each query's running top-k in shared memory; each (query, slice)
// writes at most min(k, n) candidates, and a second pass merges a query's slices. No Q x N score
// matrix is ever written. Scores, metrics, filters, tie order (higher internal score, then smaller id;
// l2 runs of equal distances toward the smaller id), counts and padding (id -1, score NaN) are the
// CPU's (similarity.h); FP32 sums run in another order, so scores differ from the CPU's by rounding.
//
// Supported here (else the CPU runs): f32, bf16 and f16 storage, 1 <= min(k, n) <= kMaxK, n < 2^31 - 2^16,
// nq >= 1, nq x k <= 2^28. i8 storage and re-ranking requests stay on the CPU. TopkStats::kernel:
//   "cuda-f32"                : FP32 on CUDA cores.
//   "cuda-bf16", "cuda-f16"   : stored values widened exactly to f32 on CUDA cores (the CPU's widening
//                               path); batches of < 16 queries, k > 128, or TopkParams::widen_only.
//   "cuda-bf16-mma", "-f16-mma": tensor cores (mma.sync m16n8k16, f32 accumulators) with the QUERY
//                               rounded to the storage type, as the CPU's bf16-dpbf16 fast path does:
//                               score = <round(q), x> (mma_kernels.cuh); other batches of bf16 / f16.
#pragma once
#include <cstdint>

#include "similarity/similarity.h"

namespace simsage {
namespace similarity {
namespace cuda {

constexpr int64_t kMaxK = 1024;  // min(k, n) above this runs on the CPU

// True when the twins below take these params for a corpus of n rows (shape checks aside: an invalid
// call is "supported" only when the CPU would reject it too, so callers fall back and get its error).
bool supports(const TopkParams& p, int64_t n);

// ---- the device mirror of a VectorStore's f32 panels (device_corpus.cu) -----------------------------

// Device copies of a panel-major corpus (similarity.h layouts: f32 panels, or bf16 / f16 coded panels
// stored as the CPU stores them), its ids and (l2) |x|^2, with a row capacity that grows by 1.5x.
// Opaque to C++ callers; freed by destroy_device_corpus.
struct DeviceCorpus;
DeviceCorpus* create_device_corpus(int64_t dim, Metric metric, Storage storage = Storage::F32);
void destroy_device_corpus(DeviceCorpus* c) noexcept;
// Grows the capacity to at least `rows` (contents kept). ERR_SIMSAGE_OUT_OF_MEMORY when the device is full.
void reserve_device_corpus(DeviceCorpus* c, int64_t rows);
// Copies `host` (panels or coded elements of the corpus's storage, ids or null, sq_norms for l2) to the device: every
// row when `all`, else the panels listed (any order, repeats allowed; panels at or past ceil(host.n / 16) are ignored).
// Grows the capacity first (a regrowth uploads every row). Synchronises: the copies are complete on return.
void upload_device_corpus(DeviceCorpus* c, const PanelCorpus& host, const int64_t* panels, int64_t n_panels, bool all);
// The device copy as a PanelCorpus of device pointers (for topk_panels_device).
PanelCorpus device_corpus_view(const DeviceCorpus& c);
int64_t device_corpus_rows(const DeviceCorpus& c);  // rows uploaded
int64_t device_corpus_capacity(const DeviceCorpus& c);

// ---- searches (search.cu) -----------------------------------------------------------------------------

// Host form of topk_panels: p and c exactly as the CPU function takes them (host pointers); uploads the
// corpus, queries and filters per call, searches, downloads the outputs. stats.backend = "cuda".
TopkStats topk_panels(const TopkParams& p, const PanelCorpus& c);
// Host queries, filters and outputs against a resident device corpus (what VectorStore::search calls).
TopkStats topk_panels_resident(const TopkParams& p, const DeviceCorpus& c);
// Device form: every pointer in p (queries, filter arrays, outputs) and c (panels, sq_norms, ids) is a
// device pointer; queries are not checked for magnitude (the host forms do). Stream-ordered on this
// thread's stream; returns without synchronising. Scratch is kept per thread between calls.
TopkStats topk_panels_device(const TopkParams& p, const PanelCorpus& c);

// Host form of topk_rowmajor (corpus n x dim row-major, host memory): uploads it per call and lays it out
// in panels on the device (cosine rows scaled to unit length in double, l2 |x|^2). A corpus row that is
// not finite, or (ip, l2) not below the magnitude bound, runs the CPU search instead, which raises the
// CPU's error (stats then say "cpu").
TopkStats topk_rowmajor(const TopkParams& p, const float* corpus, int64_t n);
// Device form (p and corpus device pointers). A row the host form would hand to the CPU raises
// ERR_SIMSAGE_NON_FINITE here (synchronises once to read the flag).
TopkStats topk_rowmajor_device(const TopkParams& p, const float* corpus, int64_t n);

}  // namespace cuda
}  // namespace similarity
}  // namespace simsage
