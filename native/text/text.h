// The text family: hashed text features and the hash embedding bag (Svenstrup, Hansen & Winther
// 2017, "Hash Embeddings for Efficient Word Representations"), the query/entity text encoder of
// OmniSearchSage (Agarwal et al. 2024).
//
// Featurisation. Input strings arrive as UTF-16 code units, already normalised by the caller
// (lib/text: NFKC, lower case, every non-ASCII code point that is not a letter, mark or number
// replaced by a space; ICU does that in V8, so this C++ library needs no Unicode tables). Here a
// code point is a word character when it is an ASCII letter or digit or any non-ASCII code point;
// everything else separates words. Surrogate pairs decode to one code point; a lone surrogate is a
// code point of its own value. Per string, in this order for each word w_i (code points):
//   trigrams of "#" w_i "#"  (|w_i| of them: "abc" -> "#ab", "abc", "bc#"; "a" -> "#a#"),
//   the word w_i itself,
//   the bigram w_{i-1} " " w_i  (for i >= 1).
// Each token is hashed over its code points c_0..c_{n-1} with its kind k (0 trigram, 1 word,
// 2 bigram) by two 32-bit lanes, lane lo seeded with s = seed mod 2^32 and lane hi with
// s = (seed div 2^32) xor 0x9E3779B9, with different per-code-point mixes:
//   h = s xor ((k + 1) * 0x85EBCA6B);  per c: h = rotl(h xor mix(c), 13) * 5 + 0xE6546B64,
//   mix_lo(c) = rotl(c * 0xCC9E2D51, 15) * 0x1B873593, mix_hi(c) = rotl(c * 0x1B873593, 17) * 0xCC9E2D51;
//   then H = fmix32(h xor n)  (MurmurHash3's body and finaliser, arithmetic mod 2^32);
// hash = H_hi << 32 | H_lo, the same on every platform and in lib/text's TypeScript twin (hashToken).
//
// Hash embedding bag. Table E [R, D], importance table P [Q, 2], layer norm gamma, beta [D]. A
// token with hash (H_hi, H_lo) uses rows a = range(H_lo, R), b = range(H_hi, R) and importance
// row q = range(fmix32(H_lo xor rotl(H_hi, 16)), Q), where range(h, n) = floor(h * n / 2^32)
// (Lemire's multiply-shift reduction of a 32-bit hash to [0, n): no division):
//   e_t = P[q, 0] E[a] + P[q, 1] E[b]
//   s_j = sum over the tokens t of segment j of e_t      (sum pooling; an empty segment gives 0)
//   y_j = LayerNorm(s_j) gamma + beta                     (population variance, eps inside sqrt)
// Segments are CSR: segment j holds tokens offsets[j] .. offsets[j+1]-1.
// Backward from dy: ds = LayerNorm backward; dE[a] += P[q,0] ds_j, dE[b] += P[q,1] ds_j,
// dP[q,0] += <E[a], ds_j>, dP[q,1] += <E[b], ds_j>; dgamma, dbeta dense. The table gradients are
// sparse: the sorted distinct rows touched and one gradient row each.
//
// Sparse optimizers update only the listed rows (lazily): Adagrad and lazy Adam (the moments of a
// row change only when the row is touched; bias correction uses the global step, as TensorFlow
// Addons' LazyAdam).
//
// Threads: the featuriser splits strings, the forward segments, the backward distinct rows and the
// optimizers rows, in chunks whose edges depend only on the sizes; every output is written by one
// task in a fixed order, so results do not depend on the thread count.
// Errors: ERR_SIMSAGE_DIM_MISMATCH for bad sizes, ERR_SIMSAGE_INVALID_ARGUMENT for null pointers,
// bad offsets or unsorted rows, ERR_SIMSAGE_NON_FINITE for NaN / Inf in the importance weights,
// gamma, beta, dy and optimizer gradients (the R x D table is not scanned: one pass less per call).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/cpu_features.h"

namespace simsage {

// ---- featurisation --------------------------------------------------------------------------------

enum TextTokenKind : uint8_t { kTextTrigram = 0, kTextWord = 1, kTextBigram = 2 };

// The hash above over n code points.
uint64_t text_token_hash(uint64_t seed, int kind, const uint32_t* cps, int64_t n);

struct TextFeaturizeParams {
  int64_t count = 0;                 // N strings
  const uint16_t* units = nullptr;   // UTF-16 code units of every string, concatenated
  const int64_t* offsets = nullptr;  // N + 1, nondecreasing: string i is units[offsets[i], offsets[i+1])
  uint64_t seed = 0;
  bool trigrams = true, words = true, bigrams = true;  // which kinds to emit
  int threads = 0;
};

// CSR of tokens: string i has tokens offsets[i] .. offsets[i+1]-1.
struct TextFeatures {
  std::vector<int32_t> offsets;  // N + 1
  std::vector<uint64_t> hashes;  // tokens
  std::vector<uint8_t> kinds;    // tokens (TextTokenKind)
};

void text_featurize_check(const TextFeaturizeParams& p);
void text_featurize(const TextFeaturizeParams& p, TextFeatures* out);
// One string at a time, words collected into vectors first: ground truth for tests.
void text_featurize_reference(const TextFeaturizeParams& p, TextFeatures* out);

// The rows of one token hash (see above).
struct HashRows {
  int64_t a, b, q;
};
inline uint32_t text_fmix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}
inline HashRows text_hash_rows(uint64_t hash, int64_t rows, int64_t importance_rows) {
  const uint32_t lo = static_cast<uint32_t>(hash), hi = static_cast<uint32_t>(hash >> 32);
  const uint32_t mixed = text_fmix32(lo ^ ((hi << 16) | (hi >> 16)));
  const uint64_t r = static_cast<uint64_t>(rows), q = static_cast<uint64_t>(importance_rows);
  return {static_cast<int64_t>((lo * r) >> 32), static_cast<int64_t>((hi * r) >> 32),
          static_cast<int64_t>((mixed * q) >> 32)};
}

// ---- hash embedding bag ---------------------------------------------------------------------------

struct HashBagParams {
  int64_t segments = 0;               // B >= 0
  int64_t tokens = 0;                 // = offsets[B]
  const int32_t* offsets = nullptr;   // B + 1, offsets[0] = 0, nondecreasing
  const uint64_t* hashes = nullptr;   // tokens
  int64_t rows = 0;                   // R >= 1
  int64_t dim = 0;                    // D >= 1
  int64_t importance_rows = 0;        // Q >= 1
  const float* table = nullptr;       // R x D
  const float* importance = nullptr;  // Q x 2
  const float* gamma = nullptr;       // D, or null (1)
  const float* beta = nullptr;        // D, or null (0)
  float eps = 1e-5f;
  float* pooled = nullptr;  // B x D: s (kept for the backward)
  float* mean = nullptr;    // B
  float* rstd = nullptr;    // B
  float* y = nullptr;       // B x D
  int threads = 0;
};
void hash_bag_check(const HashBagParams& p);
void hash_bag_forward(const HashBagParams& p);
void hash_bag_forward_at(SimdLevel level, const HashBagParams& p);
// Double accumulation, one segment at a time.
void hash_bag_forward_reference(const HashBagParams& p);

// Distinct rows of a table and one gradient row each (rows sorted ascending).
struct SparseRows {
  int64_t width = 0;          // floats per row
  std::vector<int32_t> rows;  // U, strictly increasing
  std::vector<float> values;  // U x width
};

struct HashBagBackwardParams {
  HashBagParams fwd;                      // the forward's arguments; pooled, mean, rstd as it wrote them
  const float* dy = nullptr;              // B x D
  SparseRows* table_grad = nullptr;       // width D, or null to skip
  SparseRows* importance_grad = nullptr;  // width 2, or null to skip
  float* dgamma = nullptr;                // D or null (overwritten)
  float* dbeta = nullptr;                 // D or null (overwritten)
  int threads = 0;
};
void hash_bag_backward_check(const HashBagBackwardParams& p);
void hash_bag_backward(const HashBagBackwardParams& p);
void hash_bag_backward_at(SimdLevel level, const HashBagBackwardParams& p);
void hash_bag_backward_reference(const HashBagBackwardParams& p);

// ---- sparse optimizers ----------------------------------------------------------------------------

// Row r of `table` (table_rows x dim) for each listed row, with its gradient row g:
//   Adagrad:   G_r += g*g;  w_r -= lr * g / (sqrt(G_r) + eps)
//   lazy Adam: m_r = b1 m_r + (1-b1) g;  v_r = b2 v_r + (1-b2) g*g;
//              w_r -= lr * (m_r / (1 - b1^t)) / (sqrt(v_r / (1 - b2^t)) + eps)
// with weight_decay > 0 adding weight_decay * w_r to g first (touched rows only).
struct SparseOptimParams {
  int64_t table_rows = 0, dim = 0;
  float* table = nullptr;         // table_rows x dim
  int64_t count = 0;              // U
  const int32_t* rows = nullptr;  // U, strictly increasing, each < table_rows
  const float* grad = nullptr;    // U x dim
  float* state1 = nullptr;        // table_rows x dim: Adagrad's G, Adam's m
  float* state2 = nullptr;        // table_rows x dim: Adam's v (null for Adagrad)
  float lr = 0.01f, eps = 1e-8f, beta1 = 0.9f, beta2 = 0.999f, weight_decay = 0.f;
  int64_t step = 1;  // Adam's t >= 1 (after this update)
  int threads = 0;
};
void sparse_optim_check(const SparseOptimParams& p, bool adam);
void sparse_adagrad_step(const SparseOptimParams& p);
void sparse_adam_step(const SparseOptimParams& p);

}  // namespace simsage
