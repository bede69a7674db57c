// The per-ISA search kernels. Each of search_scalar.cpp / search_avx2.cpp / search_avx512.cpp
// instantiates search.inl with its core/simd trait and returns a table of function pointers;
// search_kernels_for() picks one by SimdLevel.
#pragma once
#include <atomic>
#include <cstdint>

#include "core/cpu_features.h"
#include "similarity/cpu/topk_buffer.h"
#include "similarity/similarity.h"

namespace simsage {
namespace similarity {
namespace cpu {

// Cosine rows of a caller-held corpus whose float32 |x|^2 falls outside [kCosineFastMin,
// kCosineFastMax] (a zero row, subnormal or huge entries) are scaled or scored in double instead:
// in float their |x|^2 underflows or overflows, or loses precision to subnormal squares (the error
// of |x|^2 is at most dim * 2^-149 absolute, below 2^-29 relative above 2^-100 for dim <= 2^20).
constexpr float kCosineFastMin = 0x1p-100f;
constexpr float kCosineFastMax = 0x1p100f;

// What every task of one search shares.
struct Ctx {
  // Caller-held corpora are not validated up front (that would cost a pass over them): every score
  // vector is checked instead, and a non-finite one (a NaN/Inf corpus value, or overflow) raises
  // *nonfinite; so does an ip / l2 row over the magnitude bound (checked where the kernels compute
  // row norms). Index corpora were validated when added, so their searches skip the check.
  bool check_finite = false;
  std::atomic<int>* nonfinite = nullptr;
  const float* q = nullptr;  // nq x dim, row-major, normalised for cosine
  // The same queries packed in tiles of kMr (the table's): query i, dimension d at
  // qpack[(i / kMr) * dim * kMr + d * kMr + i % kMr]; the last tile is zero-padded.
  const float* qpack = nullptr;
  // Coded (reduced-precision) corpora: the packed query tiles use pdim = coded_dim(dim) rows of
  // dimensions (zero past dim); pdim = dim otherwise. scales: i8 per-row scales, else null.
  int64_t pdim = 0;
  const float* scales = nullptr;
  // The fast coded paths (FastCodedKernels): queries rounded to 32-bit groups of codes (bf16 pairs,
  // or i8 quads offset to u8), tiles of kMr: query i, group g at
  // qpack32[(i / kMr) * (pdim / G) * kMr + g * kMr + i % kMr]; the last tile is zero-padded.
  // qscale: i8 per-query scale s_q (indexed by query of the batch); code_sums: i8 per-row code sums.
  const uint32_t* qpack32 = nullptr;
  const float* qscale = nullptr;
  const int32_t* code_sums = nullptr;
  // For the transposed row-major tile (search_rowmajor.inl): queries in panels of 16, query q, dimension d
  // at qpanel[(q / 16) * dim * 16 + d * 16 + q % 16]; the last panel is zero-padded. Null otherwise.
  const float* qpanel = nullptr;
  int64_t dim = 0;
  int64_t k = 0;
  Metric metric = Metric::InnerProduct;
  const RowFilter* filter = nullptr;
  const int64_t* ids = nullptr;  // row ids or null (id = row index)
  int64_t n = 0;                 // corpus rows
};

struct SearchKernels {
  // Queries [qb, qe) against local panels [pb, pe); absolute row = row_offset + local row.
  void (*run_block)(const Ctx& c, TopkBuffer* bufs, int64_t qb, int64_t qe, const float* panels, int64_t pb, int64_t pe,
                    const float* norms, int64_t row_offset) = nullptr;
  // Row-major rows [r0, r0 + rows) -> panels at dst (+ |x|^2 for l2, unit rows for cosine).
  // Returns false when an ip / l2 row is not below the magnitude bound (kMaxSqNorm).
  bool (*pack_rows)(const float* src, int64_t r0, int64_t rows, int64_t dim, Metric metric, float* dst,
                    float* norms_out) = nullptr;
  // Queries [qb, qe) against row-major rows [r0, r1) (absolute), without packing (few queries).
  void (*scan_rows)(const Ctx& c, TopkBuffer* bufs, int64_t qb, int64_t qe, const float* rows, int64_t r0,
                    int64_t r1) = nullptr;
  // All nq queries (Ctx::qpanel) against row-major rows [r0, r1) (absolute), without packing rows.
  void (*run_rows)(const Ctx& c, TopkBuffer* bufs, int64_t nq, const float* rows, int64_t r0, int64_t r1) = nullptr;
  // run_block over a coded corpus (search_coded.inl), indexed by Storage (entry F32 unused): `panels`
  // points at the coded elements; Ctx::pdim and Ctx::scales describe them.
  void (*run_coded[4])(const Ctx& c, TopkBuffer* bufs, int64_t qb, int64_t qe, const void* panels, int64_t pb,
                       int64_t pe, const float* norms, int64_t row_offset) = {nullptr, nullptr, nullptr, nullptr};
  int kMr = 1;  // queries per micro-tile
  int kNp = 1;  // panels per micro-tile
};

SearchKernels search_kernels_scalar();
#if defined(SIMSAGE_X86)
SearchKernels search_kernels_avx2();
SearchKernels search_kernels_avx512();
#endif

// The fast coded paths (similarity.h), AVX-512 only: run_coded's signature over Ctx::qpack32.
// Each entry is null where the build lacks it; call one only when the CPU has its extension.
struct FastCodedKernels {
  void (*bf16_dpbf16)(const Ctx& c, TopkBuffer* bufs, int64_t qb, int64_t qe, const void* panels, int64_t pb,
                      int64_t pe, const float* norms, int64_t row_offset) = nullptr;
  void (*i8_vnni)(const Ctx& c, TopkBuffer* bufs, int64_t qb, int64_t qe, const void* panels, int64_t pb, int64_t pe,
                  const float* norms, int64_t row_offset) = nullptr;
  int kMr = 1;  // queries per micro-tile (qpack32 tiles)
};
#if defined(SIMSAGE_X86)
// search_avx512x.cpp. Only returns function addresses (no AVX-512 instructions run).
FastCodedKernels search_fast_kernels_avx512x();
#endif

// Level -> table (a level the CPU lacks or the build left out steps down); `used` gets the level.
const SearchKernels& search_kernels_for(SimdLevel level, SimdLevel* used = nullptr);

}  // namespace cpu
}  // namespace similarity
}  // namespace simsage
