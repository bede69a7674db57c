// Scalar references of the text family (text.h): the featuriser one string at a time with words
// collected first, and the hash bag in double precision. Ground truth for tests.
#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "text/cpu/hash.h"
#include "text/text.h"

namespace simsage {

void text_featurize_reference(const TextFeaturizeParams& p, TextFeatures* out) {
  text_featurize_check(p);
  out->offsets.assign(1, 0);
  out->hashes.clear();
  out->kinds.clear();
  const uint32_t hash_mark = '#', space = ' ';
  for (int64_t s = 0; s < p.count; ++s) {
    std::vector<std::vector<uint32_t>> words;
    std::vector<uint32_t> cur;
    for (int64_t i = p.offsets[s]; i < p.offsets[s + 1];) {
      const uint32_t c = text::cpu::next_code_point(p.units, p.offsets[s + 1], &i);
      if (text::cpu::is_word_char(c)) {
        cur.push_back(c);
      } else if (!cur.empty()) {
        words.push_back(cur);
        cur.clear();
      }
    }
    if (!cur.empty()) words.push_back(cur);
    auto add = [&](int kind, const std::vector<uint32_t>& cps) {
      out->hashes.push_back(text_token_hash(p.seed, kind, cps.data(), static_cast<int64_t>(cps.size())));
      out->kinds.push_back(static_cast<uint8_t>(kind));
    };
    for (size_t w = 0; w < words.size(); ++w) {
      std::vector<uint32_t> marked{hash_mark};
      marked.insert(marked.end(), words[w].begin(), words[w].end());
      marked.push_back(hash_mark);
      if (p.trigrams)
        for (size_t t = 0; t + 3 <= marked.size(); ++t) add(kTextTrigram, {marked[t], marked[t + 1], marked[t + 2]});
      if (p.words) add(kTextWord, words[w]);
      if (p.bigrams && w > 0) {
        std::vector<uint32_t> bi = words[w - 1];
        bi.push_back(space);
        bi.insert(bi.end(), words[w].begin(), words[w].end());
        add(kTextBigram, bi);
      }
    }
    out->offsets.push_back(static_cast<int32_t>(out->hashes.size()));
  }
}

void hash_bag_forward_reference(const HashBagParams& p) {
  hash_bag_check(p);
  const int64_t D = p.dim;
  std::vector<double> s(static_cast<size_t>(D));
  for (int64_t j = 0; j < p.segments; ++j) {
    std::fill(s.begin(), s.end(), 0.0);
    for (int64_t t = p.offsets[j]; t < p.offsets[j + 1]; ++t) {
      const HashRows r = text_hash_rows(p.hashes[t], p.rows, p.importance_rows);
      for (int64_t i = 0; i < D; ++i)
        s[i] += double(p.importance[2 * r.q]) * p.table[r.a * D + i] +
                double(p.importance[2 * r.q + 1]) * p.table[r.b * D + i];
    }
    double mu = 0, var = 0;
    for (double v : s) mu += v;
    mu /= double(D);
    for (double v : s) var += (v - mu) * (v - mu);
    var /= double(D);
    const double rs = 1.0 / std::sqrt(var + double(p.eps));
    p.mean[j] = float(mu);
    p.rstd[j] = float(rs);
    for (int64_t i = 0; i < D; ++i) {
      p.pooled[j * D + i] = float(s[i]);
      p.y[j * D + i] = float((s[i] - mu) * rs * (p.gamma ? p.gamma[i] : 1.0) + (p.beta ? p.beta[i] : 0.0));
    }
  }
}

void hash_bag_backward_reference(const HashBagBackwardParams& p) {
  hash_bag_backward_check(p);
  const HashBagParams& f = p.fwd;
  const int64_t D = f.dim;
  std::map<int32_t, std::vector<double>> dt, dp;
  std::vector<double> dg(static_cast<size_t>(D), 0.0), db(static_cast<size_t>(D), 0.0), ds(static_cast<size_t>(D));
  for (int64_t j = 0; j < f.segments; ++j) {
    // Layer norm backward in double from the pooled row (mean and rstd recomputed).
    const float* x = f.pooled + j * D;
    const float* dy = p.dy + j * D;
    double mu = 0, var = 0;
    for (int64_t i = 0; i < D; ++i) mu += x[i];
    mu /= double(D);
    for (int64_t i = 0; i < D; ++i) var += (x[i] - mu) * (x[i] - mu);
    var /= double(D);
    const double rs = 1.0 / std::sqrt(var + double(f.eps));
    double a = 0, b = 0;
    for (int64_t i = 0; i < D; ++i) {
      const double xh = (x[i] - mu) * rs, g = dy[i] * (f.gamma ? f.gamma[i] : 1.0);
      a += g;
      b += g * xh;
      dg[i] += dy[i] * xh;
      db[i] += dy[i];
    }
    a /= double(D);
    b /= double(D);
    for (int64_t i = 0; i < D; ++i) {
      const double xh = (x[i] - mu) * rs, g = dy[i] * (f.gamma ? f.gamma[i] : 1.0);
      ds[i] = rs * (g - a - xh * b);
    }
    for (int64_t t = f.offsets[j]; t < f.offsets[j + 1]; ++t) {
      const HashRows r = text_hash_rows(f.hashes[t], f.rows, f.importance_rows);
      const int64_t rows[2] = {r.a, r.b};
      for (int k = 0; k < 2; ++k) {
        std::vector<double>& g = dt[int32_t(rows[k])];
        g.resize(static_cast<size_t>(D), 0.0);
        std::vector<double>& gp = dp[int32_t(r.q)];
        gp.resize(2, 0.0);
        double dot = 0;
        for (int64_t i = 0; i < D; ++i) {
          g[i] += f.importance[2 * r.q + k] * ds[i];
          dot += double(f.table[rows[k] * D + i]) * ds[i];
        }
        gp[k] += dot;
      }
    }
  }
  auto emit = [](const std::map<int32_t, std::vector<double>>& m, int64_t width, SparseRows* out) {
    if (!out) return;
    out->width = width;
    out->rows.clear();
    out->values.clear();
    for (const auto& kv : m) {
      out->rows.push_back(kv.first);
      for (double v : kv.second) out->values.push_back(float(v));
    }
  };
  emit(dt, D, p.table_grad);
  emit(dp, 2, p.importance_grad);
  for (int64_t i = 0; i < D; ++i) {
    if (p.dgamma) p.dgamma[i] = float(dg[i]);
    if (p.dbeta) p.dbeta[i] = float(db[i]);
  }
}

}  // namespace simsage
