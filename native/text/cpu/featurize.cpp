// The featuriser (text.h): strings split over the thread pool in chunks of kChunk; each chunk
// decodes its strings to code points, finds the words and streams every token through the hasher
// into chunk-local arrays, which are then concatenated in chunk order.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "text/cpu/hash.h"
#include "text/text.h"

namespace simsage {

namespace text {
namespace cpu {

namespace {

constexpr int64_t kChunk = 256;

struct ChunkOut {
  std::vector<uint64_t> hashes;
  std::vector<uint8_t> kinds;
  std::vector<int64_t> counts;     // tokens per string
  std::vector<uint32_t> cps;       // code points of the string being featurised
  std::vector<uint32_t> mlo, mhi;  // their lane mixes (TokenHasher::mix_lo / mix_hi)
};

void emit(ChunkOut* o, uint64_t h, uint8_t kind) {
  o->hashes.push_back(h);
  o->kinds.push_back(kind);
}

// Tokens of one string (text.h's order) appended to o. Each code point is mixed once; a token
// streams the mixes of its code points (and of the '#' and ' ' marks) through the lanes.
void featurize_one(const TextFeaturizeParams& p, const uint16_t* units, int64_t len, ChunkOut* o) {
  std::vector<uint32_t>& cps = o->cps;
  cps.clear();
  for (int64_t i = 0; i < len;) cps.push_back(next_code_point(units, len, &i));
  const int64_t n = static_cast<int64_t>(cps.size());
  o->mlo.resize(static_cast<size_t>(n));
  o->mhi.resize(static_cast<size_t>(n));
  const uint32_t* ml = o->mlo.data();
  const uint32_t* mh = o->mhi.data();
  for (int64_t i = 0; i < n; ++i) {
    o->mlo[static_cast<size_t>(i)] = TokenHasher::mix_lo(cps[static_cast<size_t>(i)]);
    o->mhi[static_cast<size_t>(i)] = TokenHasher::mix_hi(cps[static_cast<size_t>(i)]);
  }
  const uint32_t mark_lo = TokenHasher::mix_lo('#'), mark_hi = TokenHasher::mix_hi('#');
  const uint32_t space_lo = TokenHasher::mix_lo(' '), space_hi = TokenHasher::mix_hi(' ');
  int64_t prev_b = -1, prev_e = -1;
  for (int64_t i = 0; i < n;) {
    if (!is_word_char(cps[static_cast<size_t>(i)])) {
      ++i;
      continue;
    }
    const int64_t b = i;
    while (i < n && is_word_char(cps[static_cast<size_t>(i)])) ++i;
    const int64_t e = i;
    if (p.trigrams) {
      // "#" w "#": trigram t covers positions t-1, t, t+1 of w, '#' outside [b, e).
      for (int64_t t = b; t < e; ++t) {
        TokenHasher h(p.seed, kTextTrigram);
        if (t == b) {
          h.add_mixed(mark_lo, mark_hi);
        } else {
          h.add_mixed(ml[t - 1], mh[t - 1]);
        }
        h.add_mixed(ml[t], mh[t]);
        if (t + 1 == e) {
          h.add_mixed(mark_lo, mark_hi);
        } else {
          h.add_mixed(ml[t + 1], mh[t + 1]);
        }
        emit(o, h.finish(), kTextTrigram);
      }
    }
    if (p.words) {
      TokenHasher h(p.seed, kTextWord);
      for (int64_t t = b; t < e; ++t) h.add_mixed(ml[t], mh[t]);
      emit(o, h.finish(), kTextWord);
    }
    if (p.bigrams && prev_b >= 0) {
      TokenHasher h(p.seed, kTextBigram);
      for (int64_t t = prev_b; t < prev_e; ++t) h.add_mixed(ml[t], mh[t]);
      h.add_mixed(space_lo, space_hi);
      for (int64_t t = b; t < e; ++t) h.add_mixed(ml[t], mh[t]);
      emit(o, h.finish(), kTextBigram);
    }
    prev_b = b;
    prev_e = e;
  }
}

}  // namespace

}  // namespace cpu
}  // namespace text

uint64_t text_token_hash(uint64_t seed, int kind, const uint32_t* cps, int64_t n) {
  text::cpu::TokenHasher h(seed, kind);
  for (int64_t i = 0; i < n; ++i) h.add(cps[i]);
  return h.finish();
}

void text_featurize(const TextFeaturizeParams& p, TextFeatures* out) {
  using text::cpu::ChunkOut;
  text_featurize_check(p);
  const int64_t N = p.count;
  const int64_t chunks = (N + text::cpu::kChunk - 1) / text::cpu::kChunk;
  std::vector<ChunkOut> parts(static_cast<size_t>(chunks));
  parallel_chunks(N, text::cpu::kChunk, p.threads, [&](int64_t b, int64_t e, int) {
    ChunkOut& o = parts[static_cast<size_t>(b / text::cpu::kChunk)];
    o.hashes.reserve(static_cast<size_t>(p.offsets[e] - p.offsets[b]) * 3);
    o.kinds.reserve(o.hashes.capacity());
    for (int64_t i = b; i < e; ++i) {
      const size_t before = o.hashes.size();
      text::cpu::featurize_one(p, p.units + p.offsets[i], p.offsets[i + 1] - p.offsets[i], &o);
      o.counts.push_back(static_cast<int64_t>(o.hashes.size() - before));
    }
  });
  int64_t total = 0;
  for (const ChunkOut& o : parts) total += static_cast<int64_t>(o.hashes.size());
  need(total < (int64_t(1) << 31), ErrorCode::DimMismatch, "text_featurize",
       "the batch has " + std::to_string(total) + " tokens, more than 2^31 - 1");
  out->offsets.assign(static_cast<size_t>(N + 1), 0);
  out->hashes.resize(static_cast<size_t>(total));
  out->kinds.resize(static_cast<size_t>(total));
  int64_t at = 0, s = 0;
  for (const ChunkOut& o : parts) {
    if (!o.hashes.empty()) {
      std::memcpy(out->hashes.data() + at, o.hashes.data(), o.hashes.size() * sizeof(uint64_t));
      std::memcpy(out->kinds.data() + at, o.kinds.data(), o.kinds.size());
    }
    for (int64_t c : o.counts) {
      at += c;
      out->offsets[static_cast<size_t>(++s)] = static_cast<int32_t>(at);
    }
  }
}

}  // namespace simsage
